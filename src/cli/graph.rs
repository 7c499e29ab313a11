//! `berth graph`: the resource dependency graph as DOT, for `dot -Tsvg`.

use super::session::{Failure, Selection, Session};
use super::ConfigArgs;
use berth_planner::ProxyPresence;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub selection: Selection,
}

/// The graph covers what a plan of the same selection from recorded state covers (the scope
/// rule, without a read of the cluster): the whole configuration draws the platform when it has
/// one or routes anything, a selection draws its deployments. A graph shows objects and their
/// edges, never contents, so drawing one reads no secret, certificate or key: every address the
/// compiler needs a digest for gets the same placeholder. A deployment whose edge slot is
/// claimed (recorded in its state) is drawn on that slot's network, not on the placeholder.
pub fn run(args: &GraphArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.config, &args.selection)?;
    let platform = session
        .scope(&args.selection, ProxyPresence::Unknown)
        .has_platform();
    let deployments: Vec<_> = session.selected.values().cloned().collect();
    let placeholder = "0".repeat(64);
    let digests =
        berth_planner::digests_needed(&deployments, platform.then_some(&session.config.platform))
            .into_iter()
            .map(|a| (a.to_string(), placeholder.clone()))
            .collect();
    let mut desired = session.desired(&digests, platform)?;
    claimed_slots(&session, &mut desired)?;
    print!("{}", berth_planner::dot(&desired));
    Ok(ExitCode::SUCCESS)
}

/// Draws each deployment whose edge-slot claim is recorded on its claimed slot, as a plan
/// against the recorded state would assign it; a deployment without a claim keeps the
/// placeholder slot (which one it gets is decided when it is applied).
fn claimed_slots(session: &Session, desired: &mut berth_planner::Desired) -> Result<(), Failure> {
    let recorded = session.recorded(session.store.deployments()?)?;
    let claimed: std::collections::BTreeSet<_> = recorded
        .resources
        .iter()
        .filter(|r| berth_planner::edge::is_claim(&r.address))
        .map(|r| r.address.deployment.clone())
        .collect();
    if claimed.is_empty() {
        return Ok(());
    }
    if let Ok(resolved) = berth_planner::edge::resolve(desired, &recorded) {
        for (address, resource) in resolved.resources {
            if claimed.contains(&address.deployment) {
                desired.resources.insert(address, resource);
            }
        }
    }
    Ok(())
}
