//! `berth show PLANFILE`: a saved plan rendered as `berth plan` would have shown it (for a
//! terminal, a pull-request comment or machines), so that the artifact a pipeline applies can be
//! reviewed as it is. It reads the file only: no configuration, state or cluster.

use super::failure::Failure;
use super::load::LoadError;
use super::plan::{render, PlanFormat};
use berth_planner::PlanFile;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file saved by `berth plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub file: PathBuf,
    /// How to show the plan: for a terminal, a pull-request comment, or machines.
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
}

pub fn run(args: &ShowArgs) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(&args.file).map_err(|source| {
        Failure::Load(LoadError::Io {
            path: args.file.clone(),
            source,
        })
    })?;
    let saved = PlanFile::from_json(&text).map_err(|e| {
        Failure::Usage(format!(
            "`{}` is not a berth plan file: {e}",
            args.file.display()
        ))
    })?;
    print!("{}", render(&saved.plan, args.format));
    if args.format == PlanFormat::Human {
        if let Some(origin) = &saved.origin {
            println!("\nPlanned from the configuration in {}.", origin.dir);
        }
    }
    Ok(ExitCode::SUCCESS)
}
