//! Reading a configuration from disk: the `*.berth` files of a directory in name order, and
//! variable values from var files, `BERTH_VAR_*` and `--var`, lowest precedence first.

use super::ConfigArgs;
use berth_lang::{Analysis, Input, Options, VarInput};
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a configuration could not even be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` is not a directory")]
    NotADirectory(PathBuf),
    #[error("var file `{path}`: {message}")]
    VarFile { path: PathBuf, message: String },
    #[error("`--var {0}` is not NAME=VALUE")]
    BadVar(String),
    /// The configuration a saved plan belongs to is not at `dir` (recorded in the plan file,
    /// or given with `--dir`).
    #[error("the plan file `{}` belongs to the configuration in `{}`, which {}", plan.display(), dir.display(), if *exists { "holds no .berth files" } else { "does not exist" })]
    PlanConfig {
        plan: PathBuf,
        dir: PathBuf,
        exists: bool,
        /// Whether `--dir` named it (else the plan file did).
        given: bool,
    },
}

/// The `*.berth` files of `dir`, sorted by name so every run reads them in the same order.
pub fn berth_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !dir.is_dir() {
        return Err(LoadError::NotADirectory(dir.to_path_buf()));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "berth") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

pub fn read_inputs(dir: &Path) -> Result<Vec<Input>, LoadError> {
    berth_files(dir)?
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(Input {
                name: display(&path),
                bytes,
            })
        })
        .collect()
}

/// A path as diagnostics name it: relative paths as given (without a leading `./`), and the
/// current directory by its absolute path, so that a message never names an empty path.
pub fn display(path: &Path) -> String {
    let shown = path.strip_prefix("./").unwrap_or(path);
    if shown.as_os_str().is_empty() || shown == Path::new(".") {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.display().to_string();
        }
        return ".".into();
    }
    shown.display().to_string()
}

/// Variable values, lowest precedence first: `BERTH_VAR_*`, var files, `--var`.
pub fn var_inputs(args: &ConfigArgs) -> Result<Vec<VarInput>, LoadError> {
    let mut out = Vec::new();
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix("BERTH_VAR_").map(|n| (n.to_string(), v)))
        .collect();
    env.sort();
    for (name, value) in env {
        out.push(VarInput {
            origin: format!("BERTH_VAR_{name}"),
            name,
            value,
        });
    }
    for path in &args.var_files {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| LoadError::VarFile {
                path: path.clone(),
                message: e.message().to_string(),
            })?;
        for (name, value) in table {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(LoadError::VarFile {
                        path: path.clone(),
                        message: format!(
                            "`{name}` is a {}, variables are strings, numbers or bools",
                            other.type_str()
                        ),
                    })
                }
            };
            out.push(VarInput {
                origin: display(path),
                name,
                value,
            });
        }
    }
    for raw in &args.vars {
        let (name, value) = raw
            .split_once('=')
            .ok_or_else(|| LoadError::BadVar(raw.clone()))?;
        out.push(VarInput {
            origin: "--var".into(),
            name: name.trim().to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

/// Reads and checks the configuration.
pub fn analyze(args: &ConfigArgs, strict: bool) -> Result<Analysis, LoadError> {
    let inputs = read_inputs(&args.dir)?;
    let options = Options {
        vars: var_inputs(args)?,
        strict,
        preview: false,
        ..Options::default()
    };
    let mut analysis = berth_lang::analyze(&display(&args.dir), inputs, &options);
    compose_hint(&args.dir, &mut analysis);
    Ok(analysis)
}

/// The names Compose looks for, in its order.
const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// A directory without `.berth` files but with a compose file gets one diagnostic that says so
/// and suggests the import (E0402), instead of "no .berth files".
pub fn compose_hint(dir: &Path, analysis: &mut Analysis) {
    use berth_lang::{Code, Diagnostic};
    let Some(file) = COMPOSE_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return;
    };
    for d in analysis.diagnostics.iter_mut() {
        if d.code == Code::EmptyConfig {
            *d = Diagnostic::unlocated(
                Code::ComposeDirectory,
                format!(
                    "`{}` has a compose file (`{}`) and no .berth files",
                    display(dir),
                    file.file_name().unwrap_or_default().to_string_lossy()
                ),
            )
            .with_help(format!(
                "translate it: `berth import compose {} --out {}`",
                display(&file),
                display(dir)
            ));
        }
    }
}

/// Checks where the secret and config sources of `project`'s deployments (all, without one)
/// really are: a symbolic link out of a project's directory is an error (E0174); with
/// `report_missing`, so is a file or variable that is not there (E0416). Adds the diagnostics
/// to the analysis and drops its model when there is an error. Only metadata is read, and
/// whether a variable is set.
pub fn check_sources(
    dir: &Path,
    analysis: &mut Analysis,
    project: Option<&str>,
    report_missing: bool,
) {
    use berth_apply::sources::SourceProblem;
    use berth_lang::{Code, Diagnostic};
    let Some(config) = &analysis.config else {
        return;
    };
    let selected: Vec<&berth_lang::model::Deployment> = config
        .deployments
        .iter()
        .filter(|d| project.is_none_or(|p| p == d.project))
        .collect();
    let problems = berth_apply::sources::check(dir, &selected);
    let mut errors = false;
    for p in problems {
        let d = match &p.problem {
            SourceProblem::Escapes { resolved, root, .. } => Diagnostic::new(
                Code::SourceOutsideProject,
                p.span,
                format!("`{}` {}", p.name, p.problem),
            )
            .with_label(format!("resolves to {}", resolved.display()))
            .with_help(format!(
                "keep the file itself inside `{}`, not a link to elsewhere",
                root.display()
            )),
            _ if report_missing => match missing_source(&p) {
                Some(d) => d,
                None => continue,
            },
            _ => continue,
        };
        errors = true;
        analysis.diagnostics.push(d);
    }
    if errors {
        analysis.config = None;
    }
}

/// The sources of `deployments` that are not there (E0416), one diagnostic each: `plan` and
/// `apply` refuse with these, as `validate` does, before any source is read.
pub fn missing_sources(
    dir: &Path,
    deployments: &[&berth_lang::model::Deployment],
) -> Vec<berth_lang::Diagnostic> {
    berth_apply::sources::check(dir, deployments)
        .iter()
        .filter_map(missing_source)
        .collect()
}

/// E0416 for a file that does not exist or a variable that is not set, at its `file` or `env`
/// value; `None` for any other problem.
fn missing_source(p: &berth_apply::sources::Located) -> Option<berth_lang::Diagnostic> {
    if matches!(
        p.problem,
        berth_apply::sources::SourceProblem::Escapes { .. }
    ) {
        return None;
    }
    Some(missing(
        p.span,
        &format!("{} `{}`", p.kind, p.name),
        &p.problem,
    ))
}

/// E0416 about `what` (`secret `key``), at `span`.
fn missing(
    span: berth_lang::Span,
    what: &str,
    problem: &berth_apply::sources::SourceProblem,
) -> berth_lang::Diagnostic {
    use berth_apply::sources::SourceProblem;
    use berth_lang::{Code, Diagnostic};
    let (label, help) = match problem {
        SourceProblem::UnsetVariable { var } => (
            "not set".to_string(),
            format!("set `{var}` in berth's environment (in CI, from its secret store)"),
        ),
        SourceProblem::MissingFile { resolved, .. } | SourceProblem::Escapes { resolved, .. } => (
            "no such file".to_string(),
            format!(
                "create `{}`, or correct the path: it is relative to the configuration directory",
                resolved.display()
            ),
        ),
    };
    Diagnostic::new(Code::SourceNotFound, span, format!("{what}: {problem}"))
        .with_label(label)
        .with_help(help)
}

/// The platform's files and variables that are not there (E0416), one diagnostic each: the CA
/// its ACME client trusts, each custom certificate's chain and key, and the dashboard's users
/// (the sources [`berth_planner::platform_sources`] reads). Only a plan or apply of the platform
/// needs them, so `validate`, which a tenant's CI runs without the platform's keys, does not ask.
pub fn missing_platform_sources(
    dir: &Path,
    platform: &berth_lang::model::Platform,
) -> Vec<berth_lang::Diagnostic> {
    use berth_apply::sources::SourceProblem;
    use berth_lang::model::SecretSource;
    let mut wanted: Vec<(String, String, SecretSource)> = Vec::new();
    if let Some(path) = &platform.acme_ca_certificate {
        wanted.push((
            "acme_ca_certificate".into(),
            "the CA certificate of the platform's ACME client".into(),
            SecretSource::File(path.clone()),
        ));
    }
    for c in &platform.certificates {
        wanted.push((
            format!("certificate.{}.cert", c.name),
            format!("the chain of certificate `{}`", c.name),
            SecretSource::File(c.cert.clone()),
        ));
        wanted.push((
            format!("certificate.{}.key", c.name),
            format!("the key of certificate `{}`", c.name),
            c.key.clone(),
        ));
    }
    if let (true, Some(users)) = (platform.proxy.dashboard, &platform.proxy.dashboard_users) {
        wanted.push((
            "proxy.dashboard_users".into(),
            "the dashboard's users".into(),
            users.clone(),
        ));
    }
    let mut out = Vec::new();
    for (attr, what, source) in wanted {
        let problem = match &source {
            // Only whether it is set: the value is dropped unread.
            SecretSource::Env(var) if std::env::var_os(var).is_none() => {
                SourceProblem::UnsetVariable { var: var.clone() }
            }
            SecretSource::File(path) if std::fs::metadata(dir.join(path)).is_err() => {
                let joined = dir.join(path);
                SourceProblem::MissingFile {
                    path: path.clone(),
                    resolved: std::path::absolute(&joined).unwrap_or(joined),
                }
            }
            _ => continue,
        };
        let span = platform
            .source_spans
            .get(&attr)
            .copied()
            .or(platform.span)
            .unwrap_or_default();
        out.push(missing(span, &what, &problem));
    }
    out
}

/// Writes the diagnostics of an analysis to stderr (human) or stdout (JSON).
pub fn report(analysis: &Analysis, format: super::Format) {
    match format {
        super::Format::Human => report_human(&analysis.diagnostics, &analysis.sources),
        super::Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&berth_lang::render::json(
                    &analysis.diagnostics,
                    &analysis.sources
                ))
                .unwrap_or_default()
            );
        }
    }
}

/// Writes diagnostics for a person to stderr.
pub fn report_human(diagnostics: &[berth_lang::Diagnostic], sources: &berth_lang::SourceMap) {
    let style = berth_lang::render::Style {
        color: super::output::color_stderr(),
        width: 100,
    };
    eprint!("{}", berth_lang::render::human(diagnostics, sources, style));
}

impl fmt::Display for super::Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            super::Format::Human => "human",
            super::Format::Json => "json",
        })
    }
}
