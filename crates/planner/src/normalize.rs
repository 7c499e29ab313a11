//! Normalisation: both sides of a comparison are brought to one canonical form first, so that an
//! unchanged configuration plans nothing however Swarm chose to store it.
//!
//! The rules (each one a perpetual diff seen in other tools):
//! - Images: `docker.io/library/`, `docker.io/` and `index.docker.io/` prefixes are dropped, an
//!   implicit tag becomes `:latest`, and the `@sha256:` digest Swarm pins is ignored unless the
//!   configuration pins one itself ([`align`]).
//! - Labels: engine-owned `com.docker.*` labels are dropped, except `com.docker.stack.namespace`.
//! - Order: env vars, mounts, secret and config references, capabilities, constraints, networks,
//!   aliases and published ports are sorted; placement preferences keep their order (it matters).
//! - IDs: network attachments name networks (Docker answers with IDs, mapped back through the
//!   observed networks); secret and config references are compared by name, without IDs.
//! - Defaults Swarm assumes when a field is absent are written out: restart policy (`any`, 5 s
//!   delay, unlimited attempts), update and rollback config (parallelism 1, `pause`, 5 s monitor,
//!   `stop-first`), endpoint mode `vip`, port protocol `tcp` and mode `ingress`, one replica;
//!   empty resources and placement become absent. Fields berth does not manage (`ForceUpdate`,
//!   `Runtime`, `Isolation`, `DNSConfig`, `Platforms`, ...) are never parsed.
//! - Networks: the overlay driver's `vxlanid_list` option is dropped; the IPAM Swarm allocated is
//!   ignored unless the configuration declares one. Volumes: an empty driver is `local`.

use crate::docker::*;
use crate::resource::Spec;
use crate::swarm::{defaults, label};
use std::collections::BTreeMap;

/// Normalises a spec in place. `network_name` maps a network ID to its name.
pub fn spec(spec: &mut Spec, network_name: &dyn Fn(&str) -> Option<String>) {
    match spec {
        Spec::Service(s) => service(s, network_name),
        Spec::Network(n) => network(n),
        Spec::Volume(v) => {
            labels(&mut v.labels);
            if v.driver.is_empty() {
                v.driver = "local".into();
            }
        }
        Spec::Secret(s) => labels(&mut s.labels),
        Spec::Config(c) => labels(&mut c.labels),
    }
}

/// Drops engine-owned labels.
pub fn labels(labels: &mut Labels) {
    labels.retain(|k, _| !k.starts_with("com.docker.") || k == label::STACK);
}

/// `node.role==manager` → `node.role == manager`.
pub fn constraint(c: &str) -> String {
    for op in ["==", "!="] {
        if let Some((a, b)) = c.split_once(op) {
            return format!("{} {op} {}", a.trim(), b.trim());
        }
    }
    c.trim().to_string()
}

/// The canonical form of an image reference: `[registry/]name:tag[@sha256:...]`.
pub fn image(reference: &str) -> String {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    let mut name = rest;
    for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        if let Some(n) = name.strip_prefix(prefix) {
            name = n;
            break;
        }
    }
    if let Some(n) = name.strip_prefix("library/") {
        if !n.contains('/') {
            name = n;
        }
    }
    // A tag is a `:` after the last `/` (a registry's port comes before it). An image pinned by
    // digest alone names no tag.
    let tagged = name.rsplit('/').next().unwrap_or(name).contains(':');
    let mut out = if tagged || digest.is_some() {
        name.to_string()
    } else {
        format!("{name}:latest")
    };
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    out
}

/// The repository of an image reference, without tag or digest.
pub fn repository(image: &str) -> &str {
    let name = strip_digest(image);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

/// The image without its digest.
pub fn strip_digest(image: &str) -> &str {
    image.split_once('@').map_or(image, |(r, _)| r)
}

pub fn service(s: &mut ServiceSpec, network_name: &dyn Fn(&str) -> Option<String>) {
    labels(&mut s.labels);
    let t = &mut s.task_template;
    let c = &mut t.container_spec;
    c.image = image(&c.image);
    labels(&mut c.labels);
    c.env.sort();
    c.mounts
        .sort_by(|a, b| (&a.target, &a.source, &a.kind).cmp(&(&b.target, &b.source, &b.kind)));
    for m in &mut c.mounts {
        if m.tmpfs_options.as_ref().is_some_and(|o| o.size_bytes == 0) {
            m.tmpfs_options = None;
        }
        if let Some(o) = &mut m.volume_options {
            if o.driver_config
                .as_ref()
                .is_some_and(|d| (d.name.is_empty() || d.name == "local") && d.options.is_empty())
            {
                o.driver_config = None;
            }
        }
        if m.volume_options
            .as_ref()
            .is_some_and(|o| *o == crate::docker::VolumeOptions::default())
        {
            m.volume_options = None;
        }
    }
    for r in &mut c.secrets {
        r.secret_id.clear();
    }
    c.secrets.sort();
    for r in &mut c.configs {
        r.config_id.clear();
    }
    c.configs.sort();
    c.capability_add.sort();
    c.capability_drop.sort();
    if c.stop_grace_period == Some(0) {
        c.stop_grace_period = None;
    }

    if let Some(r) = &mut t.resources {
        if r.limits.as_ref().is_some_and(ResourceSet::is_empty) {
            r.limits = None;
        }
        if let Some(res) = &mut r.reservations {
            res.pids = 0;
            if res.is_empty() {
                r.reservations = None;
            }
        }
        if r.limits.is_none() && r.reservations.is_none() {
            t.resources = None;
        }
    }

    let rp = t.restart_policy.get_or_insert_with(Default::default);
    if rp.condition.is_empty() {
        rp.condition = defaults::RESTART_CONDITION.into();
    }
    rp.delay.get_or_insert(defaults::RESTART_DELAY_NS);
    if rp.max_attempts.is_none() {
        rp.max_attempts = Some(defaults::RESTART_MAX_ATTEMPTS);
    }
    if rp.window.is_none() {
        rp.window = Some(defaults::RESTART_WINDOW_NS);
    }

    if let Some(p) = &mut t.placement {
        p.constraints = p.constraints.iter().map(|c| constraint(c)).collect();
        p.constraints.sort();
        p.constraints.dedup();
        if *p == Placement::default() {
            t.placement = None;
        }
    }

    for n in &mut t.networks {
        if let Some(name) = network_name(&n.target) {
            n.target = name;
        }
        n.aliases.sort();
    }
    t.networks.sort();

    if let Some(r) = &mut s.mode.replicated {
        r.replicas.get_or_insert(defaults::REPLICAS);
    }
    if s.mode.replicated.is_none() && s.mode.global.is_none() && s.mode.replicated_job.is_none() {
        s.mode.replicated = Some(Replicated {
            replicas: Some(defaults::REPLICAS),
        });
    }

    // Swarm refuses an update or rollback config on a job: a new spec is a new run.
    let configs = if s.mode.replicated_job.is_some() {
        s.update_config = None;
        s.rollback_config = None;
        vec![]
    } else {
        vec![&mut s.update_config, &mut s.rollback_config]
    };
    for u in configs {
        let u = u.get_or_insert_with(|| UpdateConfig {
            parallelism: defaults::UPDATE_PARALLELISM,
            ..UpdateConfig::default()
        });
        if u.failure_action.is_empty() {
            u.failure_action = defaults::UPDATE_FAILURE_ACTION.into();
        }
        if u.monitor == 0 {
            u.monitor = defaults::MONITOR_NS;
        }
        if u.order.is_empty() {
            u.order = defaults::UPDATE_ORDER.into();
        }
    }

    let e = s.endpoint_spec.get_or_insert_with(Default::default);
    if e.mode.is_empty() {
        e.mode = defaults::ENDPOINT_MODE.into();
    }
    for p in &mut e.ports {
        if p.protocol.is_empty() {
            p.protocol = defaults::PORT_PROTOCOL.into();
        }
        if p.publish_mode.is_empty() {
            p.publish_mode = defaults::PUBLISH_MODE.into();
        }
        if p.published_port == Some(0) {
            p.published_port = None;
        }
    }
    e.ports.sort();
}

pub fn network(n: &mut NetworkSpec) {
    labels(&mut n.labels);
    n.options
        .remove("com.docker.network.driver.overlay.vxlanid_list");
    if let Some(ipam) = &mut n.ipam {
        if ipam.driver == "default" {
            ipam.driver.clear();
        }
        ipam.config.sort();
        if ipam.driver.is_empty() && ipam.config.is_empty() {
            n.ipam = None;
        }
    }
}

/// Aligns an observed spec with the desired one where the comparison depends on what the
/// configuration says: a digest Swarm pinned is ignored unless the configuration pins one, and
/// the subnet Swarm allocated unless the configuration declares one.
pub fn align(desired: &Spec, observed: &mut Spec) {
    match (desired, observed) {
        (Spec::Service(d), Spec::Service(o)) => {
            let di = &d.task_template.container_spec.image;
            let oi = &mut o.task_template.container_spec.image;
            match (di.split_once('@'), oi.clone().split_once('@')) {
                (None, _) => *oi = image(strip_digest(oi)),
                // The same digest of the same repository is the same image, tagged or not.
                (Some((_, dd)), Some((_, od))) if dd == od && repository(di) == repository(oi) => {
                    *oi = di.clone()
                }
                _ => {}
            }
        }
        (Spec::Network(d), Spec::Network(o)) if d.ipam.is_none() => o.ipam = None,
        (Spec::Config(d), Spec::Config(o)) if d.data.is_none() => o.data = None,
        _ => {}
    }
}

/// A lookup from network ID to name.
pub fn network_names(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_images() {
        assert_eq!(image("nginx"), "nginx:latest");
        assert_eq!(image("docker.io/library/nginx:1.25"), "nginx:1.25");
        assert_eq!(image("docker.io/foo/bar"), "foo/bar:latest");
        assert_eq!(
            image("registry:5000/foo/bar"),
            "registry:5000/foo/bar:latest"
        );
        assert_eq!(image("berth/demo:1@sha256:abc"), "berth/demo:1@sha256:abc");
        assert_eq!(image("berth/demo@sha256:abc"), "berth/demo@sha256:abc");
        assert_eq!(strip_digest("berth/demo:1@sha256:abc"), "berth/demo:1");
    }

    #[test]
    fn constraints_are_spaced() {
        assert_eq!(constraint("node.role==manager"), "node.role == manager");
        assert_eq!(
            constraint(" node.labels.zone != a "),
            "node.labels.zone != a"
        );
    }

    #[test]
    fn engine_labels_are_dropped() {
        let mut l = Labels::new();
        l.insert("com.docker.stack.image".into(), "x".into());
        l.insert(label::STACK.into(), "shop".into());
        l.insert("traefik.enable".into(), "true".into());
        labels(&mut l);
        assert_eq!(
            l.keys().collect::<Vec<_>>(),
            vec![label::STACK, "traefik.enable"]
        );
    }
}
