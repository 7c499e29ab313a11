//! Edge slots: how each routed project environment reaches the proxy through a network that only
//! it and the proxy join, without the proxy ever changing when projects come and go.
//!
//! The platform owns N overlay networks, `platform_edge-00` ... (`platform.proxy.edge_slots`),
//! and the proxy joins all of them from the start. Adding a network to a Swarm service replaces
//! its task, so the proxy's spec must not depend on which projects exist: onboarding a project
//! then restarts nothing, and a project's apply never touches the proxy (100 applies of 100
//! projects can run at once).
//!
//! A routed deployment *claims* one slot with a Swarm config named like the slot's network
//! (`platform_edge-03`; configs and networks have separate namespaces). Config names are unique
//! cluster-wide, so creating the config is an atomic claim: two applies can never both hold a
//! slot. The claim lives at `<deployment>/config.edge-slot`, holds the deployment's id as its
//! data, and is labelled `berth.edge-slot=03`. Routed services join `platform_edge-03` (no
//! aliases), set `traefik.swarm.network=platform_edge-03`, and depend on the claim.
//!
//! The compiler cannot know what is claimed: it writes the placeholder slot [`UNASSIGNED`]
//! (`platform_edge-unassigned`), and [`EdgeSlots::assign`], a pure step of `plan()` that sees
//! the observed state, chooses the slot:
//! - a deployment whose claim is observed keeps its slot (so a second plan changes nothing);
//! - so does one whose claim is gone (deleted by hand) but whose services still use a slot that
//!   nobody else holds or uses: the claim is created again, and the services do not move;
//! - otherwise it gets the lowest slot that no observed claim holds and no project's services
//!   use (of any deployment, also one this plan deletes: its claim goes only after its services
//!   left the network) and that no other deployment of the same plan was just given;
//! - when none is free, planning fails: raise `platform.proxy.edge_slots`.
//!
//! Apply may find the planned slot claimed by a concurrent apply (its claim's create fails
//! because the name exists). It then picks another free slot ([`free_slots`] on a fresh
//! observed state) and rewrites that deployment's specs with [`rewrite_slot`].
//!
//! Slot numbers are zero-padded to one width for all slots, chosen from N: two digits, three
//! when N > 100. Raising N past 100 therefore renames every slot (and moves every project once).

use crate::compile::Desired;
use crate::error::{PlanError, PlanErrors};
use crate::observed::Observed;
use crate::resource::{label, Address, DeploymentId, Kind, Spec};
use std::collections::{BTreeMap, BTreeSet};

// Slot names are the bottom layer's, the slot addresses the resource model's; they are
// re-exported here, where callers (apply, the renderers) have always found them.
pub use crate::resource::{claim_address, is_claim, network_address};
pub use crate::swarm::label::TRAEFIK_NETWORK as TRAEFIK_NETWORK_LABEL;
pub use crate::swarm::slot::{
    network_name, network_short_name, slot_of, slot_text, slot_text_of, width, UNASSIGNED,
};

/// The slot a claim (or slot network) records: its `berth.edge-slot` label, else its name.
pub fn recorded_slot(spec: &Spec) -> Option<u32> {
    spec.labels()
        .get(label::EDGE_SLOT)
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .or_else(|| slot_of(spec.name()))
}

/// Moves a spec from one slot to another, both given as Swarm names (`platform_edge-03` →
/// `platform_edge-05`): a service's network attachments and its `traefik.swarm.network` label,
/// and a claim's name and `berth.edge-slot` label. Anything else is left as it is. Apply calls
/// it on every spec of a deployment whose planned slot a concurrent apply claimed first.
pub fn rewrite_slot(spec: &mut Spec, from: &str, to: &str) {
    let to_text = slot_text_of(to).unwrap_or(to).to_string();
    match spec {
        Spec::Service(s) => {
            let mut changed = false;
            for n in &mut s.task_template.networks {
                if n.target == from {
                    n.target = to.to_string();
                    changed = true;
                }
            }
            if changed {
                s.task_template.networks.sort();
            }
            if let Some(v) = s.labels.get_mut(TRAEFIK_NETWORK_LABEL) {
                if v == from {
                    *v = to.to_string();
                }
            }
        }
        Spec::Config(c) if c.name == from => {
            c.name = to.to_string();
            if c.labels.contains_key(label::EDGE_SLOT) {
                c.labels.insert(label::EDGE_SLOT.into(), to_text);
            }
        }
        _ => {}
    }
}

/// Moves dependencies from one slot's network to another's (names as in [`rewrite_slot`]).
pub fn rewrite_slot_dependencies(depends_on: &mut [Address], from: &str, to: &str) {
    let (Some(from), Some(to)) = (slot_text_of(from), slot_text_of(to)) else {
        return;
    };
    let from = network_address(from);
    for a in depends_on.iter_mut() {
        if *a == from {
            *a = network_address(to);
        }
    }
    depends_on.sort();
}

/// Who holds or uses each slot in the observed state.
struct Usage<'a> {
    /// slot → the deployments whose claims hold it.
    claims: BTreeMap<u32, BTreeSet<&'a DeploymentId>>,
    /// slot → the deployments whose services are attached to its network.
    users: BTreeMap<u32, BTreeSet<&'a DeploymentId>>,
}

impl<'a> Usage<'a> {
    fn of(observed: &'a Observed) -> Usage<'a> {
        let mut usage = Usage {
            claims: BTreeMap::new(),
            users: BTreeMap::new(),
        };
        for r in &observed.resources {
            let d = &r.address.deployment;
            match &r.spec {
                Spec::Config(_) if is_claim(&r.address) => {
                    if let Some(slot) = recorded_slot(&r.spec) {
                        usage.claims.entry(slot).or_default().insert(d);
                    }
                }
                Spec::Service(s) if !d.is_platform() => {
                    for n in &s.task_template.networks {
                        if let Some(slot) = slot_of(&n.target) {
                            usage.users.entry(slot).or_default().insert(d);
                        }
                    }
                }
                _ => {}
            }
        }
        usage
    }

    /// Held by a claim, or used by some project's services (a claim deleted by hand does not
    /// make its slot free while its services are still on the network).
    fn occupied(&self, slot: u32) -> bool {
        self.claims.contains_key(&slot) || self.users.contains_key(&slot)
    }

    /// Used by this deployment's services only, and claimed by nobody.
    fn only_used_by(&self, slot: u32, d: &DeploymentId) -> bool {
        !self.claims.contains_key(&slot)
            && self
                .users
                .get(&slot)
                .is_some_and(|u| u.len() == 1 && u.contains(d))
    }
}

/// The slots whose networks exist in `observed` and that no observed claim holds (nor any
/// project's services use), lowest first, as Swarm names (`platform_edge-05`). Where apply
/// moves a deployment when a concurrent apply claimed its planned slot first.
pub fn free_slots(observed: &Observed) -> Vec<String> {
    let usage = Usage::of(observed);
    let mut free: Vec<(u32, String)> = observed
        .resources
        .iter()
        .filter(|r| r.address.deployment.is_platform() && r.address.kind == Kind::Network)
        .filter_map(|r| {
            let slot = slot_of(r.name())?;
            (!usage.occupied(slot)).then(|| (slot, r.name().to_string()))
        })
        .collect();
    free.sort();
    free.dedup();
    free.into_iter().map(|(_, n)| n).collect()
}

/// The slot of each deployment of a plan that needs one, and how they are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeSlots {
    /// How many slots the platform has (`platform.proxy.edge_slots`).
    pub count: u32,
    /// The slot each routed deployment in scope gets.
    pub assigned: BTreeMap<DeploymentId, u32>,
}

impl EdgeSlots {
    /// Chooses the slot of every deployment in `scope` whose compiled claim still has the
    /// placeholder slot (see the module's documentation for the rules). Errors: no free slot;
    /// a slot network that does not exist while the platform is outside the scope (apply the
    /// platform first); and, with the platform in scope, a slot network the plan would delete
    /// (fewer slots, or another width) that a deployment outside the scope still claims.
    pub fn assign(
        desired: &Desired,
        observed: &Observed,
        scope: &BTreeSet<DeploymentId>,
    ) -> Result<EdgeSlots, Vec<PlanError>> {
        let count = desired.edge_slots;
        let placeholder = network_name(UNASSIGNED);
        let wanting: Vec<&DeploymentId> = scope
            .iter()
            .filter(|d| {
                desired
                    .get(&claim_address(d))
                    .is_some_and(|r| r.name() == placeholder)
            })
            .collect();
        let usage = Usage::of(observed);
        let mut slots = EdgeSlots {
            count,
            assigned: BTreeMap::new(),
        };
        let mut errors = Vec::new();
        let mut given: BTreeSet<u32> = BTreeSet::new();
        // Deployments that hold a slot keep it (the lowest, should an interrupted apply have
        // left two claims).
        for d in &wanting {
            let kept = usage
                .claims
                .iter()
                .find(|(slot, holders)| {
                    **slot < count && holders.contains(*d) && !given.contains(*slot)
                })
                .map(|(slot, _)| *slot);
            if let Some(slot) = kept {
                given.insert(slot);
                slots.assigned.insert((*d).clone(), slot);
            }
        }
        // A deployment whose claim is gone (deleted by hand) but whose services still use a
        // slot nobody else holds or uses keeps that slot: the claim is created again and the
        // services do not move.
        for d in &wanting {
            if slots.assigned.contains_key(*d) {
                continue;
            }
            let kept = usage
                .users
                .keys()
                .find(|slot| {
                    **slot < count && !given.contains(*slot) && usage.only_used_by(**slot, d)
                })
                .copied();
            if let Some(slot) = kept {
                given.insert(slot);
                slots.assigned.insert((*d).clone(), slot);
            }
        }
        // The others get the lowest slot nobody holds or uses.
        let mut next = 0;
        for d in &wanting {
            if slots.assigned.contains_key(*d) {
                continue;
            }
            while next < count && (usage.occupied(next) || given.contains(&next)) {
                next += 1;
            }
            if next >= count {
                errors.push(PlanError::EdgeSlotsExhausted {
                    deployment: (*d).clone(),
                    count,
                });
                continue;
            }
            given.insert(next);
            slots.assigned.insert((*d).clone(), next);
        }
        let platform_in_scope = scope.contains(&DeploymentId::platform());
        if !platform_in_scope {
            for (d, slot) in &slots.assigned {
                let address = network_address(&slot_text(*slot, count));
                if observed.at(&address).next().is_none() {
                    errors.push(PlanError::EdgeNetworkMissing {
                        deployment: d.clone(),
                        network: network_name(&slot_text(*slot, count)),
                    });
                }
            }
        } else {
            // The plan deletes slot networks the platform no longer has (fewer slots, or
            // another width); one that a deployment outside the scope uses cannot go.
            for r in observed.resources.iter().filter(|r| is_claim(&r.address)) {
                if scope.contains(&r.address.deployment) {
                    continue;
                }
                let Some(text) = slot_text_of(r.name()) else {
                    continue;
                };
                let network = network_address(text);
                if !desired.resources.contains_key(&network)
                    && observed.at(&network).next().is_some()
                {
                    errors.push(PlanError::EdgeSlotStillClaimed {
                        deployment: r.address.deployment.clone(),
                        network: r.name().to_string(),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(slots)
        } else {
            Err(errors)
        }
    }

    /// The Swarm name of a deployment's slot (`platform_edge-03`), when it was assigned one.
    pub fn name(&self, deployment: &DeploymentId) -> Option<String> {
        self.assigned
            .get(deployment)
            .map(|s| network_name(&slot_text(*s, self.count)))
    }

    /// Writes a deployment's assigned slot into one of its specs and its dependencies, in
    /// place of the placeholder.
    pub fn resolve(&self, deployment: &DeploymentId, spec: &mut Spec, depends_on: &mut [Address]) {
        if let Some(name) = self.name(deployment) {
            let placeholder = network_name(UNASSIGNED);
            rewrite_slot(spec, &placeholder, &name);
            rewrite_slot_dependencies(depends_on, &placeholder, &name);
        }
    }

    /// Writes every assigned slot into the desired resources.
    pub fn apply(&self, desired: &mut Desired) {
        for r in desired.resources.values_mut() {
            self.resolve(&r.address.deployment, &mut r.spec, &mut r.depends_on);
        }
    }
}

/// The desired resources with the slots a plan of every deployment against `observed` would
/// assign: what apply creates. For tests and tools that need concrete specs without planning.
pub fn resolve(desired: &Desired, observed: &Observed) -> Result<Desired, PlanErrors> {
    let scope: BTreeSet<DeploymentId> = desired.deployments.keys().cloned().collect();
    let slots = EdgeSlots::assign(desired, observed, &scope).map_err(PlanErrors)?;
    let mut out = desired.clone();
    slots.apply(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{ConfigSpec, Labels, NetworkAttachment, ServiceSpec};

    #[test]
    fn names_and_widths() {
        assert_eq!(slot_text(3, 32), "03");
        assert_eq!(slot_text(3, 100), "03");
        assert_eq!(slot_text(3, 101), "003");
        assert_eq!(network_name("03"), "platform_edge-03");
        assert_eq!(
            network_address("03").to_string(),
            "platform/proxy/network.edge-03"
        );
        assert_eq!(slot_of("platform_edge-003"), Some(3));
        assert_eq!(slot_of("platform_edge-unassigned"), None);
        assert_eq!(slot_of("shop_edge-03"), None);
    }

    #[test]
    fn rewriting_moves_networks_labels_and_claims() {
        let mut s = ServiceSpec::default();
        s.task_template.networks = vec![
            NetworkAttachment {
                target: "platform_edge-03".into(),
                aliases: Vec::new(),
            },
            NetworkAttachment {
                target: "shop_default".into(),
                aliases: vec!["web".into()],
            },
        ];
        s.labels
            .insert(TRAEFIK_NETWORK_LABEL.into(), "platform_edge-03".into());
        let mut spec = Spec::Service(Box::new(s));
        rewrite_slot(&mut spec, "platform_edge-03", "platform_edge-05");
        let Spec::Service(s) = &spec else { panic!() };
        let targets: Vec<_> = s.task_template.networks.iter().map(|n| &n.target).collect();
        assert_eq!(targets, ["platform_edge-05", "shop_default"]);
        assert_eq!(s.labels[TRAEFIK_NETWORK_LABEL], "platform_edge-05");

        let mut claim = Spec::Config(ConfigSpec {
            name: "platform_edge-03".into(),
            labels: Labels::from([(label::EDGE_SLOT.to_string(), "03".to_string())]),
            data: None,
        });
        rewrite_slot(&mut claim, "platform_edge-03", "platform_edge-05");
        assert_eq!(claim.name(), "platform_edge-05");
        assert_eq!(claim.labels()[label::EDGE_SLOT], "05");

        let mut deps = vec![network_address("03"), network_address("01")];
        rewrite_slot_dependencies(&mut deps, "platform_edge-03", "platform_edge-05");
        assert_eq!(deps, [network_address("01"), network_address("05")]);
    }
}
