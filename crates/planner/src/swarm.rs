//! The planner's bottom layer, beside Docker's shapes (`docker.rs`): what Swarm assumes when a
//! spec leaves a field out, and the names berth gives Swarm objects and labels. Every module
//! that compiles, normalises or reads specs takes these from here, so a default or a name is
//! written once. Like `docker.rs`, it imports nothing of the planner above the bottom layer
//! (`tests/layers.rs` holds every module to the layers of `docs/planner.md`).

use berth_lang::model;

/// Label keys berth puts on every object it creates.
pub mod label {
    pub const MANAGED: &str = "berth.managed";
    pub const PROJECT: &str = "berth.project";
    pub const ENVIRONMENT: &str = "berth.environment";
    pub const ADDRESS: &str = "berth.address";
    /// The sha256 of a secret's or config's content.
    pub const DIGEST: &str = "berth.digest";
    /// A volume's declared size in bytes, as the storage quota counts it.
    pub const SIZE: &str = "berth.size";
    /// `docker stack ls` and `docker stack ps` group objects by this label.
    pub const STACK: &str = "com.docker.stack.namespace";
    /// The seed's network labels.
    pub const PROJECT_ID: &str = "project.id";
    pub const PROJECT_ENVIRONMENT: &str = "project.environment";
    /// The number of an edge slot (zero-padded, `03`), on the slot's network and on the claim
    /// that holds it.
    pub const EDGE_SLOT: &str = "berth.edge-slot";
    /// On a job: how long one run may take, in seconds (apply reads it).
    pub const JOB_TIMEOUT: &str = "berth.job.timeout";
    /// On a job: a digest of the specs of the services that depend on it, so that a change to
    /// any of them changes the job's spec, and Swarm runs the job again first.
    pub const JOB_TRIGGER: &str = "berth.job.trigger";
    /// Only on an observed job whose last run did not complete (see `observed.rs`).
    pub const JOB_LAST_RUN: &str = "berth.job.last-run";
    /// On a canary (the second version of a routed service): the stable service's name.
    pub const CANARY_OF: &str = "berth.canary.of";
    /// On a canary: the percentage of the stable's routed requests it receives while healthy.
    pub const CANARY_SHARE: &str = "berth.canary.share";
    /// The label Traefik reads to know which network reaches a service.
    pub const TRAEFIK_NETWORK: &str = "traefik.swarm.network";
}

/// A release's labels, read and written in one place (`compile/release.rs` writes them).
pub mod release {
    use super::label;
    use std::collections::BTreeMap;

    /// The label that sets the weight of the servers (tasks) of the Traefik service `router`.
    pub fn weight_label(router: &str) -> String {
        format!("traefik.http.services.{router}.loadbalancer.server.weight")
    }

    /// Whether `key` is such a weight label.
    pub fn is_weight(key: &str) -> bool {
        key.starts_with("traefik.http.services.") && key.ends_with(".loadbalancer.server.weight")
    }

    /// The weight labels among `labels`, in key order.
    pub fn weights(labels: &BTreeMap<String, String>) -> Vec<(&String, &String)> {
        labels.iter().filter(|(k, _)| is_weight(k)).collect()
    }

    /// For a canary's labels: its stable service's name and its declared share.
    pub fn canary_of(labels: &BTreeMap<String, String>) -> Option<(String, u8)> {
        let of = labels.get(label::CANARY_OF)?.clone();
        let share = labels
            .get(label::CANARY_SHARE)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some((of, share))
    }
}

/// The project and environment of the platform's own objects: `platform/proxy/...`.
pub const PLATFORM_PROJECT: &str = "platform";
pub const PLATFORM_ENV: &str = "proxy";
/// The stack namespace of the platform's objects (`platform_traefik`); `platform` is a reserved
/// word of the language, so no project can have this stack.
pub const PLATFORM_STACK: &str = "platform";
/// A network name berth reserves: it named each deployment's proxy network before edge slots,
/// and a project network called `edge` would be mistaken for one.
pub const EDGE_NETWORK: &str = "edge";
/// The name of each routed deployment's claim of an edge slot: `<deployment>/config.edge-slot`.
pub const EDGE_CLAIM: &str = "edge-slot";
/// The name of each deployment's implicit network.
pub const DEFAULT_NETWORK: &str = "default";

/// What Swarm assumes when a service spec leaves a field out. Normalisation writes these out
/// on both sides of a comparison; the compiler sends some of them explicitly (the proxy).
pub mod defaults {
    /// A restart policy's condition.
    pub const RESTART_CONDITION: &str = "any";
    /// A restart policy's delay between restarts (5 s).
    pub const RESTART_DELAY_NS: u64 = 5_000_000_000;
    /// A restart policy's attempts and window: 0, unlimited.
    pub const RESTART_MAX_ATTEMPTS: u64 = 0;
    pub const RESTART_WINDOW_NS: u64 = 0;
    /// An update (or rollback) config's tasks at once.
    pub const UPDATE_PARALLELISM: u64 = 1;
    /// An update config's failure action.
    pub const UPDATE_FAILURE_ACTION: &str = "pause";
    /// How long an update watches each new task (5 s).
    pub const MONITOR_NS: u64 = 5_000_000_000;
    /// An update config's order.
    pub const UPDATE_ORDER: &str = "stop-first";
    /// A service's endpoint mode.
    pub const ENDPOINT_MODE: &str = "vip";
    /// A published port's protocol and mode.
    pub const PORT_PROTOCOL: &str = "tcp";
    pub const PUBLISH_MODE: &str = "ingress";
    /// A replicated service's replicas.
    pub const REPLICAS: u64 = 1;
}

/// The update (or rollback) monitor berth sends for a model monitor of zero ("long enough"):
/// the health check's window by lang's rule ([`model::Health::monitor_window`], at least
/// [`model::MIN_MONITOR_NS`]). A window lang refused (E0190) saturates at the largest duration
/// Swarm stores, so that the planner never panics nor wraps.
pub fn auto_monitor(health: Option<&model::Health>) -> u64 {
    health.map_or(model::MIN_MONITOR_NS, |h| {
        h.monitor_window().unwrap_or(berth_lang::units::MAX_UNITS)
    })
}

/// Edge slots' names (what they mean is `edge.rs`'s): `platform_edge-03` is both the slot's
/// network and the config that claims it.
pub mod slot {
    use super::{label, PLATFORM_STACK};
    use crate::docker::Labels;

    /// The slot text compiled specs carry until a slot is assigned.
    pub const UNASSIGNED: &str = "unassigned";

    /// Digits of a slot number: two, three when there are more than 100 slots.
    pub fn width(count: u32) -> usize {
        if count > 100 {
            3
        } else {
            2
        }
    }

    /// A slot number as names and labels write it: `03` (or `003` with more than 100 slots).
    pub fn slot_text(slot: u32, count: u32) -> String {
        format!("{slot:0width$}", width = width(count))
    }

    /// The short name of a slot's network within the platform: `edge-03`.
    pub fn network_short_name(slot_text: &str) -> String {
        format!("edge-{slot_text}")
    }

    /// The Swarm name of a slot's network, which is also the name of the config claiming it:
    /// `platform_edge-03`.
    pub fn network_name(slot_text: &str) -> String {
        format!("{PLATFORM_STACK}_{}", network_short_name(slot_text))
    }

    /// The slot text of a slot network's or claim's Swarm name (`platform_edge-03` → `03`).
    pub fn slot_text_of(name: &str) -> Option<&str> {
        name.strip_prefix(PLATFORM_STACK)?
            .strip_prefix("_edge-")
            .filter(|t| !t.is_empty())
    }

    /// The slot number of a slot network's or claim's Swarm name (`platform_edge-03` → 3).
    pub fn slot_of(name: &str) -> Option<u32> {
        let text = slot_text_of(name)?;
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }

    /// The labels of a slot network or claim, besides berth's own.
    pub fn slot_labels(labels: &mut Labels, slot_text: &str) {
        labels.insert(label::EDGE_SLOT.into(), slot_text.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berths_least_monitor_is_swarms_default() {
        // lang states the rule's minimum as "what Swarm itself watches a new task for".
        assert_eq!(model::MIN_MONITOR_NS, defaults::MONITOR_NS);
        assert_eq!(auto_monitor(None), defaults::MONITOR_NS);
    }

    #[test]
    fn slot_names_round_trip() {
        let text = slot::slot_text(3, 10);
        assert_eq!(text, "03");
        assert_eq!(slot::slot_text(3, 101), "003");
        let name = slot::network_name(&text);
        assert_eq!(name, "platform_edge-03");
        assert_eq!(slot::slot_text_of(&name), Some("03"));
        assert_eq!(slot::slot_of(&name), Some(3));
        assert_eq!(slot::slot_of(&slot::network_name(slot::UNASSIGNED)), None);
    }
}
