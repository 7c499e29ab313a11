//! What `berth rollback` needs from recorded state: the desired state a serial recorded (every
//! resource's spec as it was applied, with the dependencies the specs imply, so that a network
//! is created before the service that joins it), and the check that every secret or file-backed
//! config the rollback must create can be created with the recorded content. State records a
//! secret only by its digest, so when its source now holds another value berth cannot recreate
//! it, and refuses ([`ApplyError::RollbackSecretChanged`]) rather than guessing.

use crate::error::ApplyError;
use crate::payload::Payloads;
use crate::state::State;
use berth_planner::resource::label;
use berth_planner::{Action, Desired, Plan, Resource, Spec};
use std::collections::BTreeMap;

/// The desired state `state` recorded.
pub fn recorded_desired(state: &State) -> Desired {
    let by_name: BTreeMap<&str, _> = state
        .resources
        .iter()
        .map(|r| (r.spec.name(), r.address.clone()))
        .collect();
    let mut desired = Desired::default();
    for r in &state.resources {
        let mut depends_on = Vec::new();
        if let Spec::Service(s) = &r.spec {
            let c = &s.task_template.container_spec;
            let names = s
                .task_template
                .networks
                .iter()
                .map(|n| n.target.as_str())
                .chain(c.mounts.iter().map(|m| m.source.as_str()))
                .chain(c.secrets.iter().map(|x| x.secret_name.as_str()))
                .chain(c.configs.iter().map(|x| x.config_name.as_str()));
            for n in names {
                if let Some(a) = by_name.get(n) {
                    if !depends_on.contains(a) {
                        depends_on.push(a.clone());
                    }
                }
            }
            depends_on.sort();
        }
        desired.resources.insert(
            r.address.clone(),
            Resource {
                address: r.address.clone(),
                spec: r.spec.clone(),
                depends_on,
                span: None,
            },
        );
    }
    desired
}

/// Every secret (and config read from a file) that `plan` creates must have, in `payloads`,
/// the content whose digest the serial recorded.
pub fn check_payloads(plan: &Plan, payloads: &Payloads, state: &State) -> Result<(), ApplyError> {
    for c in plan
        .actionable()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
    {
        let recorded = match &c.after {
            Some(Spec::Secret(s)) => s.labels.get(label::DIGEST),
            Some(Spec::Config(s)) if s.data.is_none() => s.labels.get(label::DIGEST),
            _ => continue,
        };
        let now = payloads
            .get(&c.address.to_string())
            .map(berth_planner::units::sha256_hex);
        if recorded.is_none() || now.as_ref() != recorded {
            return Err(ApplyError::RollbackSecretChanged {
                deployment: Box::new(state.deployment.clone()),
                serial: state.serial,
                address: Box::new(c.address.clone()),
            });
        }
    }
    Ok(())
}
