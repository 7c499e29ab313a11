//! `berth graph`: the resource dependency graph as DOT, for `dot -Tsvg`.

use super::session::{Failure, Selection, Session};
use super::ConfigArgs;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub selection: Selection,
}

pub fn run(args: &GraphArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.config, &args.selection, super::Format::Human)?;
    let (digests, _) = session.payloads(true)?;
    let desired = session.desired(&digests, true)?;
    print!("{}", berth_planner::dot(&desired));
    Ok(ExitCode::SUCCESS)
}
