//! A compiled project environment as a stack file: `berth export compose` writes the
//! planner's desired specs of one deployment in the compose file format 3.8 that `docker stack
//! deploy` reads (a `deploy` section per service). It says what the specs say, in compose's
//! words, except where the format cannot (each such place is a warning, E0540): a config's
//! inline content and a secret read from an environment variable become external objects,
//! `pids` limits are left out, routed services keep their Traefik labels but not berth's edge
//! network, and objects keep their declared names where berth names them by content.

use crate::units;
use berth_lang::model::{ConfigSource, Deployment, SecretSource};
use berth_lang::{Code, Diagnostic};
use berth_planner::docker::{HealthConfig, ServiceSpec, UpdateConfig};
use berth_planner::swarm::label;
use berth_planner::{Desired, Kind, Spec};
use serde_yaml::{Mapping, Value};

/// A stack file and what it could not say.
pub struct Export {
    pub yaml: String,
    pub diagnostics: Vec<Diagnostic>,
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn n(v: u64) -> Value {
    Value::Number(v.into())
}

fn put(m: &mut Mapping, k: &str, v: Value) {
    m.insert(s(k), v);
}

fn list(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|i| s(i.clone())).collect())
}

/// Labels berth writes on every object, which `docker stack deploy` must not be handed.
fn berth_label(key: &str) -> bool {
    key.starts_with("berth.")
        || key.starts_with("com.docker.")
        || key == label::TRAEFIK_NETWORK
        || key == label::PROJECT_ID
        || key == label::PROJECT_ENVIRONMENT
}

/// Writes deployment `d` (with `desired`, its compiled specs) as a stack file.
pub fn export(d: &Deployment, desired: &Desired) -> Export {
    let mut warn = Vec::new();
    let prefix = format!("{}_", d.stack);
    let short = |name: &str| name.strip_prefix(&prefix).unwrap_or(name).to_string();
    let mut doc = Mapping::new();
    put(&mut doc, "version", s("3.8"));
    let mut services = Mapping::new();
    for svc in &d.services {
        let address = berth_planner::DeploymentId::new(&d.project, d.environment, d.pr)
            .address(Kind::Service, &svc.name);
        let Some(Spec::Service(spec)) = desired.get(&address).map(|r| &r.spec) else {
            continue; // Disabled in this environment.
        };
        services.insert(
            s(svc.name.clone()),
            service(spec, svc, &short, &mut warn, &d.stack),
        );
    }
    put(&mut doc, "services", Value::Mapping(services));

    let mut networks = Mapping::new();
    let mut volumes = Mapping::new();
    let mut externals = Mapping::new();
    let id = berth_planner::DeploymentId::new(&d.project, d.environment, d.pr);
    for r in desired.resources.values() {
        if r.address.deployment != id {
            continue;
        }
        match &r.spec {
            Spec::Network(net) => {
                let mut m = Mapping::new();
                put(&mut m, "driver", s("overlay"));
                if net.internal {
                    put(&mut m, "internal", Value::Bool(true));
                }
                if net.attachable {
                    put(&mut m, "attachable", Value::Bool(true));
                }
                if !net.options.is_empty() {
                    let mut o = Mapping::new();
                    for (k, v) in &net.options {
                        put(&mut o, k, s(v.clone()));
                    }
                    put(&mut m, "driver_opts", Value::Mapping(o));
                }
                networks.insert(s(short(&net.name)), Value::Mapping(m));
            }
            Spec::Volume(v) => {
                let mut m = Mapping::new();
                put(&mut m, "driver", s(v.driver.clone()));
                if !v.driver_opts.is_empty() {
                    let mut o = Mapping::new();
                    for (k, val) in &v.driver_opts {
                        put(&mut o, k, s(val.clone()));
                    }
                    put(&mut m, "driver_opts", Value::Mapping(o));
                }
                let labels: Mapping = v
                    .labels
                    .iter()
                    .filter(|(k, _)| !berth_label(k))
                    .map(|(k, val)| (s(k.clone()), s(val.clone())))
                    .collect();
                if !labels.is_empty() {
                    put(&mut m, "labels", Value::Mapping(labels));
                }
                volumes.insert(s(short(&v.name)), Value::Mapping(m));
            }
            _ => {}
        }
    }
    // Networks of other projects (shared with this one) and the proxy's: external.
    for (_, spec) in desired
        .services()
        .filter(|(r, _)| r.address.deployment == id)
    {
        for a in &spec.task_template.networks {
            let name = short(&a.target);
            if !networks.contains_key(name.as_str())
                && !a.target.starts_with(&prefix)
                && !a.target.contains(berth_planner::swarm::slot::UNASSIGNED)
            {
                let mut m = Mapping::new();
                put(&mut m, "external", Value::Bool(true));
                put(&mut m, "name", s(a.target.clone()));
                externals.insert(s(a.target.clone()), Value::Mapping(m));
            }
        }
    }
    for (k, v) in externals {
        networks.insert(k, v);
    }
    if !networks.is_empty() {
        put(&mut doc, "networks", Value::Mapping(networks));
    }
    if !volumes.is_empty() {
        put(&mut doc, "volumes", Value::Mapping(volumes));
    }
    let mut secrets = Mapping::new();
    for sec in &d.secrets {
        let mut m = Mapping::new();
        match &sec.source {
            SecretSource::File(f) => put(&mut m, "file", s(f.clone())),
            SecretSource::Env(var) => {
                put(&mut m, "external", Value::Bool(true));
                put(&mut m, "name", s(format!("{}{}", prefix, sec.name)));
                warn.push(Diagnostic::unlocated(Code::ExportChanged, format!(
                    "secret `{}` reads the environment variable `{var}`: the stack file names it as the external secret `{}{}`, which must exist",
                    sec.name, prefix, sec.name)));
            }
        }
        secrets.insert(s(sec.name.clone()), Value::Mapping(m));
    }
    if !secrets.is_empty() {
        put(&mut doc, "secrets", Value::Mapping(secrets));
    }
    let mut configs = Mapping::new();
    for c in &d.configs {
        let mut m = Mapping::new();
        match &c.source {
            ConfigSource::File(f) => put(&mut m, "file", s(f.clone())),
            ConfigSource::Content(_) => {
                put(&mut m, "external", Value::Bool(true));
                put(&mut m, "name", s(format!("{}{}", prefix, c.name)));
                warn.push(Diagnostic::unlocated(Code::ExportChanged, format!(
                    "config `{}` has inline content, which the stack file format cannot hold: it names the external config `{}{}`, which must exist",
                    c.name, prefix, c.name)));
            }
        }
        configs.insert(s(c.name.clone()), Value::Mapping(m));
    }
    if !configs.is_empty() {
        put(&mut doc, "configs", Value::Mapping(configs));
    }
    let mut doc = Value::Mapping(doc);
    escape_dollars(&mut doc);
    let yaml = serde_yaml::to_string(&doc).unwrap_or_default();
    Export {
        yaml: format!(
            "# Exported by `berth export compose` from project {} ({}): `docker stack deploy -c FILE {}`.\n{yaml}",
            d.project,
            d.environment.as_str(),
            d.stack
        ),
        diagnostics: warn,
    }
}

/// Compose interpolates every string it reads: a literal `$` is written `$$`.
fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        Value::Sequence(l) => l.iter_mut().for_each(escape_dollars),
        _ => {}
    }
}

fn service(
    spec: &ServiceSpec,
    svc: &berth_lang::model::Service,
    short: &dyn Fn(&str) -> String,
    warn: &mut Vec<Diagnostic>,
    stack: &str,
) -> Value {
    let c = &spec.task_template.container_spec;
    let mut m = Mapping::new();
    put(&mut m, "image", s(c.image.clone()));
    if !c.command.is_empty() {
        put(&mut m, "entrypoint", list(&c.command));
    }
    if !c.args.is_empty() {
        put(&mut m, "command", list(&c.args));
    }
    if !c.dir.is_empty() {
        put(&mut m, "working_dir", s(c.dir.clone()));
    }
    if !c.user.is_empty() {
        put(&mut m, "user", s(c.user.clone()));
    }
    if c.read_only {
        put(&mut m, "read_only", Value::Bool(true));
    }
    if !c.env.is_empty() {
        let mut e = Mapping::new();
        for kv in &c.env {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            put(&mut e, k, s(v));
        }
        put(&mut m, "environment", Value::Mapping(e));
    }
    if !c.capability_add.is_empty() {
        put(&mut m, "cap_add", list(&c.capability_add));
    }
    if !c.capability_drop.is_empty() {
        put(&mut m, "cap_drop", list(&c.capability_drop));
    }
    if let Some(g) = c.stop_grace_period {
        put(&mut m, "stop_grace_period", s(units::berth_duration(g)));
    }
    if let Some(h) = &c.health_check {
        put(&mut m, "healthcheck", health(h));
    }
    if !svc.depends_on.is_empty() {
        put(&mut m, "depends_on", list(&svc.depends_on));
    }
    if let Some(ep) = &spec.endpoint_spec {
        let ports: Vec<Value> = ep
            .ports
            .iter()
            .map(|p| {
                let mut pm = Mapping::new();
                put(&mut pm, "target", n(p.target_port.into()));
                if let Some(pp) = p.published_port {
                    put(&mut pm, "published", n(pp.into()));
                }
                put(&mut pm, "protocol", s(p.protocol.clone()));
                put(&mut pm, "mode", s(p.publish_mode.clone()));
                Value::Mapping(pm)
            })
            .collect();
        if !ports.is_empty() {
            put(&mut m, "ports", Value::Sequence(ports));
        }
    }
    let mut mounts = Vec::new();
    for mt in &c.mounts {
        let mut mm = Mapping::new();
        put(&mut mm, "type", s(mt.kind.clone()));
        if !mt.source.is_empty() {
            put(&mut mm, "source", s(short(&mt.source)));
        }
        put(&mut mm, "target", s(mt.target.clone()));
        if mt.read_only {
            put(&mut mm, "read_only", Value::Bool(true));
        }
        if let Some(t) = &mt.tmpfs_options {
            let mut tm = Mapping::new();
            put(&mut tm, "size", n(t.size_bytes));
            put(&mut mm, "tmpfs", Value::Mapping(tm));
        }
        mounts.push(Value::Mapping(mm));
    }
    if !mounts.is_empty() {
        put(&mut m, "volumes", Value::Sequence(mounts));
    }
    // Content-named objects (`<stack>_<name>_<digest>`) go by their declared name.
    let declared = |name: &str| {
        let rest = short(name);
        rest.rsplit_once('_')
            .map(|(n, _)| n.to_string())
            .unwrap_or(rest)
    };
    let refs = |items: Vec<(String, &berth_planner::docker::FileTarget)>| -> Value {
        Value::Sequence(
            items
                .into_iter()
                .map(|(source, f)| {
                    let mut r = Mapping::new();
                    put(&mut r, "source", s(source));
                    put(&mut r, "target", s(f.name.clone()));
                    put(&mut r, "uid", s(f.uid.clone()));
                    put(&mut r, "gid", s(f.gid.clone()));
                    put(&mut r, "mode", n(f.mode.into()));
                    Value::Mapping(r)
                })
                .collect(),
        )
    };
    if !c.secrets.is_empty() {
        let items = c
            .secrets
            .iter()
            .map(|x| (declared(&x.secret_name), &x.file))
            .collect();
        put(&mut m, "secrets", refs(items));
    }
    if !c.configs.is_empty() {
        let items = c
            .configs
            .iter()
            .map(|x| (declared(&x.config_name), &x.file))
            .collect();
        put(&mut m, "configs", refs(items));
    }
    let mut nets = Vec::new();
    let mut routed = false;
    for a in &spec.task_template.networks {
        if a.target.contains(berth_planner::swarm::slot::UNASSIGNED) {
            routed = true;
            continue;
        }
        if a.target.starts_with(&format!("{stack}_")) {
            nets.push(short(&a.target));
        } else {
            nets.push(a.target.clone());
        }
    }
    if !nets.is_empty() {
        put(&mut m, "networks", list(&nets));
    }
    if routed {
        warn.push(Diagnostic::unlocated(Code::ExportChanged, format!(
            "service `{}` is routed: the stack file keeps its Traefik labels, but berth's proxy reaches it only on the edge network berth assigns when it applies",
            svc.name)));
    }
    put(&mut m, "deploy", Value::Mapping(deploy(spec, svc, warn)));
    Value::Mapping(m)
}

fn deploy(
    spec: &ServiceSpec,
    svc: &berth_lang::model::Service,
    warn: &mut Vec<Diagnostic>,
) -> Mapping {
    let t = &spec.task_template;
    let mut d = Mapping::new();
    match spec.replicas() {
        Some(r) => {
            put(&mut d, "mode", s("replicated"));
            put(&mut d, "replicas", n(r));
        }
        None => put(&mut d, "mode", s("global")),
    }
    if let Some(ep) = &spec.endpoint_spec {
        if !ep.mode.is_empty() {
            put(&mut d, "endpoint_mode", s(ep.mode.clone()));
        }
    }
    let labels: Mapping = spec
        .labels
        .iter()
        .filter(|(k, _)| !berth_label(k))
        .map(|(k, v)| (s(k.clone()), s(v.clone())))
        .collect();
    if !labels.is_empty() {
        put(&mut d, "labels", Value::Mapping(labels));
    }
    if let Some(r) = &t.resources {
        let mut rm = Mapping::new();
        for (key, set) in [("limits", &r.limits), ("reservations", &r.reservations)] {
            let Some(set) = set else { continue };
            let mut sm = Mapping::new();
            if set.nano_cpus > 0 {
                put(&mut sm, "cpus", s(units::decimal_cpus(set.nano_cpus)));
            }
            if set.memory_bytes > 0 {
                put(&mut sm, "memory", s(units::compose_size(set.memory_bytes)));
            }
            if set.pids > 0 {
                warn.push(Diagnostic::unlocated(Code::ExportChanged, format!(
                    "the `pids` limit of service `{}` is left out: the stack file format has none", svc.name)));
            }
            if !sm.is_empty() {
                put(&mut rm, key, Value::Mapping(sm));
            }
        }
        if !rm.is_empty() {
            put(&mut d, "resources", Value::Mapping(rm));
        }
    }
    if let Some(rp) = &t.restart_policy {
        let mut r = Mapping::new();
        put(&mut r, "condition", s(rp.condition.clone()));
        if let Some(x) = rp.delay {
            put(&mut r, "delay", s(units::berth_duration(x)));
        }
        if let Some(x) = rp.max_attempts {
            put(&mut r, "max_attempts", n(x));
        }
        if let Some(x) = rp.window {
            put(&mut r, "window", s(units::berth_duration(x)));
        }
        put(&mut d, "restart_policy", Value::Mapping(r));
    }
    if let Some(p) = &t.placement {
        let mut pm = Mapping::new();
        if !p.constraints.is_empty() {
            put(&mut pm, "constraints", list(&p.constraints));
        }
        if !p.preferences.is_empty() {
            let prefs = p
                .preferences
                .iter()
                .map(|x| {
                    let mut sp = Mapping::new();
                    put(&mut sp, "spread", s(x.spread.spread_descriptor.clone()));
                    Value::Mapping(sp)
                })
                .collect();
            put(&mut pm, "preferences", Value::Sequence(prefs));
        }
        if p.max_replicas > 0 {
            put(&mut pm, "max_replicas_per_node", n(p.max_replicas));
        }
        if !pm.is_empty() {
            put(&mut d, "placement", Value::Mapping(pm));
        }
    }
    for (key, cfg) in [
        ("update_config", &spec.update_config),
        ("rollback_config", &spec.rollback_config),
    ] {
        if let Some(u) = cfg {
            put(&mut d, key, Value::Mapping(policy(u)));
        }
    }
    d
}

fn policy(u: &UpdateConfig) -> Mapping {
    let mut m = Mapping::new();
    put(&mut m, "parallelism", n(u.parallelism));
    put(&mut m, "delay", s(units::berth_duration(u.delay)));
    if !u.failure_action.is_empty() {
        put(&mut m, "failure_action", s(u.failure_action.clone()));
    }
    put(&mut m, "monitor", s(units::berth_duration(u.monitor)));
    put(
        &mut m,
        "max_failure_ratio",
        Value::Number(serde_yaml::Number::from(u.max_failure_ratio)),
    );
    if !u.order.is_empty() {
        put(&mut m, "order", s(u.order.clone()));
    }
    m
}

fn health(h: &HealthConfig) -> Value {
    let mut m = Mapping::new();
    put(&mut m, "test", list(&h.test));
    if h.interval > 0 {
        put(&mut m, "interval", s(units::berth_duration(h.interval)));
    }
    if h.timeout > 0 {
        put(&mut m, "timeout", s(units::berth_duration(h.timeout)));
    }
    if h.retries > 0 {
        put(&mut m, "retries", n(h.retries));
    }
    if h.start_period > 0 {
        put(
            &mut m,
            "start_period",
            s(units::berth_duration(h.start_period)),
        );
    }
    Value::Mapping(m)
}
