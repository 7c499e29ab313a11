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
    let session = Session::open(&args.config, &args.selection)?;
    let desired = session.desired(&placeholder_digests(&session), true)?;
    print!("{}", berth_planner::dot(&desired));
    Ok(ExitCode::SUCCESS)
}

/// A graph shows objects and their edges, never contents, so drawing one reads no secret or
/// certificate: every secret and file-backed config gets the same placeholder digest.
fn placeholder_digests(session: &Session) -> berth_planner::Digests {
    use berth_lang::model::ConfigSource;
    let placeholder = "0".repeat(64);
    let mut out = berth_planner::Digests::new();
    for (id, d) in &session.selected {
        for s in &d.secrets {
            out.insert(format!("{id}/secret.{}", s.name), placeholder.clone());
        }
        for c in d
            .configs
            .iter()
            .filter(|c| matches!(c.source, ConfigSource::File(_)))
        {
            out.insert(format!("{id}/config.{}", c.name), placeholder.clone());
        }
    }
    for s in berth_planner::platform_sources(&session.config.platform) {
        out.insert(s.address.to_string(), placeholder.clone());
    }
    out
}
