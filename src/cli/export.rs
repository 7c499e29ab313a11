//! `berth export compose [DIR] -p P -e E`: one compiled project environment as a stack file
//! that `docker stack deploy` accepts, for whoever must be handed a compose file. It compiles
//! the configuration as `berth plan` does and reads no secret or config file: objects keep
//! their declared names, and the stack file names the files as the configuration does.

use super::failure::Failure;
use super::session::{Selection, Session};
use super::{load, ConfigArgs};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Write one project environment as a compose (stack) file.
    Compose(ExportCompose),
}

#[derive(Debug, Args)]
pub struct ExportCompose {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The project to export.
    #[arg(long, short = 'p', required = true)]
    pub project: String,
    /// Its environment (production, staging, preview, development).
    #[arg(long, short = 'e', default_value = "production")]
    pub env: String,
    /// Write the stack file here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &ExportArgs) -> Result<ExitCode, Failure> {
    let ExportWhat::Compose(args) = &args.what;
    let selection = Selection {
        project: Some(args.project.clone()),
        env: Some(args.env.clone()),
        pr: None,
        state_dir: None,
    };
    let session = Session::open(&args.config, &selection)?;
    let Some(deployment) = session.selected.values().next().cloned() else {
        // `Session::open` refuses a selection that matches nothing; this is its message.
        return Err(Failure::Usage(format!(
            "the configuration deploys no `{}` environment of project `{}`",
            args.env, args.project
        )));
    };
    let placeholder = "0".repeat(64);
    let digests = berth_planner::digests_needed(std::slice::from_ref(&deployment), None)
        .into_iter()
        .map(|a| (a.to_string(), placeholder.clone()))
        .collect();
    let desired = session.desired(&digests, false)?;
    let export = berth_compose::export::export(&deployment, &desired);
    load::report_human(&export.diagnostics, &berth_lang::SourceMap::new());
    match &args.out {
        Some(path) => std::fs::write(path, &export.yaml).map_err(|source| {
            Failure::Load(load::LoadError::Io {
                path: path.clone(),
                source,
            })
        })?,
        None => print!("{}", export.yaml),
    }
    Ok(ExitCode::SUCCESS)
}
