//! The binary's one error type. Every command returns `Result<ExitCode, Failure>`: a `Failure`
//! says as data what went wrong, becomes diagnostics of the one model every phase shares
//! (`berth_lang::Diagnostic`: code, span where the configuration is where the problem is, help,
//! notes), is rendered once at the edge for a person or as JSON, and maps to an exit code here
//! and nowhere else.
//!
//! What a command reports as its outcome (a plan with changes, drift, an unformatted file) is not
//! a failure: the command returns the exit code for it.

use super::load::LoadError;
use super::{output, Format, EXIT_ERROR, EXIT_USAGE};
use berth_apply::ApplyError;
use berth_lang::render::{self, Style};
use berth_lang::{Code, Diagnostic, SourceMap};
use berth_planner::PlanErrors;
use std::process::ExitCode;
use std::sync::Arc;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Diagnostics about the configuration (the language's, or the planner's pointing into it),
    /// with the sources they point into.
    #[error("the configuration has errors")]
    Diagnosed(Box<Diagnosed>),
    /// The access roles refused the actor; the refusals were shown as they were found.
    #[error("refused by the access roles")]
    Refused,
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The command line asks for something that cannot be: exit 64.
    #[error("{0}")]
    Usage(String),
    /// A problem the binary itself found, already a diagnostic (an unreadable file it was
    /// pointed at, a check that failed).
    #[error("{}", .0.message)]
    Found(Box<Diagnostic>),
}

/// Diagnostics and the sources their spans point into.
#[derive(Debug)]
pub struct Diagnosed {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Arc<SourceMap>,
}

impl Failure {
    /// The planner's errors, shown against the configuration they came from.
    pub fn plan(errors: &PlanErrors, sources: &Arc<SourceMap>) -> Failure {
        Failure::Diagnosed(Box::new(Diagnosed {
            diagnostics: errors.0.iter().map(|e| e.to_diagnostic()).collect(),
            sources: Arc::clone(sources),
        }))
    }

    /// The planner's errors where no configuration was read (a destroy, a drift check against
    /// recorded state): nothing to point at.
    pub fn plan_unlocated(errors: &PlanErrors) -> Failure {
        let diagnostics = errors
            .0
            .iter()
            .map(|e| {
                let mut d = e.to_diagnostic();
                d.span = None;
                d.secondary.clear();
                d
            })
            .collect();
        Failure::invalid(diagnostics, Arc::new(SourceMap::new()))
    }

    /// A configuration's error diagnostics (warnings are shown as they are found).
    pub fn invalid(diagnostics: Vec<Diagnostic>, sources: Arc<SourceMap>) -> Failure {
        Failure::Diagnosed(Box::new(Diagnosed {
            diagnostics,
            sources,
        }))
    }

    /// The exit code of each kind of failure, in one place.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Diagnosed(_)
            | Failure::Refused
            | Failure::Load(_)
            | Failure::Apply(_)
            | Failure::Found(_) => EXIT_ERROR,
        }
    }

    /// The failure as diagnostics, and the sources the located ones point into.
    pub fn diagnostics(&self) -> (Vec<Diagnostic>, Arc<SourceMap>) {
        let unlocated = |d: Diagnostic| (vec![d], Arc::new(SourceMap::new()));
        match self {
            Failure::Diagnosed(d) => (d.diagnostics.clone(), Arc::clone(&d.sources)),
            Failure::Refused => (Vec::new(), Arc::new(SourceMap::new())),
            Failure::Load(e) => unlocated(load_diagnostic(e)),
            Failure::Apply(e) => unlocated(apply_diagnostic(e)),
            Failure::Usage(message) => unlocated(
                Diagnostic::unlocated(Code::Usage, message.clone())
                    .with_help("`berth help <command>` lists a command's arguments"),
            ),
            Failure::Found(d) => unlocated((**d).clone()),
        }
    }

    /// Shows the failure: for a person on stderr, or as JSON on stdout (what `--format json`
    /// promises: machines read one JSON document, also when the command fails).
    pub fn report(&self, format: Format) {
        let (diagnostics, sources) = self.diagnostics();
        if diagnostics.is_empty() {
            return;
        }
        match format {
            Format::Human => {
                let style = Style {
                    color: output::color_stderr(),
                    width: 100,
                };
                eprint!("{}", render::human(&diagnostics, &sources, style));
            }
            Format::Json => println!(
                "{}",
                serde_json::to_string_pretty(&render::json(&diagnostics, &sources))
                    .unwrap_or_default()
            ),
        }
    }

    /// Reports the failure and gives its exit code.
    pub fn exit(self, format: Format) -> ExitCode {
        self.report(format);
        ExitCode::from(self.exit_code())
    }
}

fn load_diagnostic(e: &LoadError) -> Diagnostic {
    let d = Diagnostic::unlocated(Code::Unreadable, e.to_string());
    match e {
        LoadError::BadVar(_) => Diagnostic::unlocated(Code::Usage, e.to_string())
            .with_help("write `--var NAME=VALUE`, e.g. `--var pr=123`"),
        LoadError::NotADirectory(_) => {
            d.with_help("give the directory that holds the configuration's *.berth files")
        }
        LoadError::VarFile { .. } => {
            d.with_help("a var file is TOML: `name = \"value\"` lines, or `[project]` tables")
        }
        LoadError::Io { .. } => d,
        LoadError::PlanConfig { given, .. } => {
            let d = Diagnostic::unlocated(Code::PlanConfigNotFound, e.to_string());
            if *given {
                d.with_help(
                    "pass `--dir DIR` naming the directory that holds the configuration's *.berth files",
                )
            } else {
                d.with_help("pass `--dir DIR` with the directory of the configuration the plan was made from")
            }
        }
    }
}

/// A failed job's last log lines as notes, each line as the job printed it.
fn job_logs(mut d: Diagnostic, logs: &[String], indent: &str) -> Diagnostic {
    if logs.is_empty() {
        return d.with_note(format!("{indent}the job printed nothing"));
    }
    d = d.with_note(format!("{indent}the job's last {} log lines:", logs.len()));
    for line in logs {
        d = d.with_note(format!("{indent}  | {line}"));
    }
    d
}

/// An apply error as a diagnostic: its code, its hint as help, and the errors of the changes
/// that failed or of a service's tasks as notes.
fn apply_diagnostic(e: &ApplyError) -> Diagnostic {
    let mut d = Diagnostic::unlocated(e.code(), e.to_string());
    if let Some(hint) = e.hint() {
        d = d.with_help(hint);
    }
    match e {
        ApplyError::Failed { errors, .. } => {
            for err in errors {
                d = d.with_note(format!("[{}] {err}", err.code()));
                if let ApplyError::NotConverged { task_errors, .. }
                | ApplyError::RolledBack { task_errors, .. }
                | ApplyError::CanaryUnhealthy { task_errors, .. } = err
                {
                    for t in task_errors {
                        d = d.with_note(format!("  {t}"));
                    }
                }
                if let ApplyError::JobFailed { logs, .. } = err {
                    d = job_logs(d, logs, "  ");
                }
            }
        }
        ApplyError::JobFailed { logs, .. } => d = job_logs(d, logs, ""),
        ApplyError::NotConverged { task_errors, .. }
        | ApplyError::RolledBack { task_errors, .. }
        | ApplyError::CanaryUnhealthy { task_errors, .. } => {
            for t in task_errors {
                d = d.with_note(t.clone());
            }
        }
        _ => {}
    }
    d
}
