//! The tenant boundary: what one project environment may do. A tenant's project file is
//! untrusted input, so every rule here is about reaching, reading, hijacking or starving
//! another tenant, the proxy, the host or the CI machine that plans it (docs/SECURITY.md).
//!
//! Two kinds of rules live here. Hard rules hold for every project, with or without a platform,
//! and no grant lifts them: reserved label keys, source paths inside the project's directory,
//! environment sources under the project's prefix, no bind-style volumes, no proxy or Swarm
//! ports, safe bounds, hosts that belong to another project. Grant rules hold under a platform:
//! whatever goes beyond the safe default (capabilities, drivers, root, placement, global
//! services, ports, hosts) must be granted, and a project's own quota may only lower its grant.
//! Totals over all of a project's environments are checked by [`totals`].

use super::grant::covers;
use super::lower::{attr, block, blocks, map_entries};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::*;
use crate::span::Span;
use crate::syntax::Body;
use std::collections::BTreeSet;

/// Label key prefixes only berth writes.
pub const RESERVED_LABEL_PREFIXES: [&str; 3] = ["traefik.", "berth.", "com.docker."];
/// Swarm's own ports: cluster management, node communication, overlay traffic.
pub const SWARM_PORTS: [u16; 3] = [2377, 7946, 4789];
/// Docker's default capability set: adding one of these back after `cap_drop = ["ALL"]` needs
/// no grant.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
/// Safe bounds no grant lifts.
pub const MIN_HEALTH_INTERVAL_NS: u64 = 1_000_000_000;
pub const MIN_RESTART_DELAY_NS: u64 = 1_000_000_000;
pub const MAX_STOP_GRACE_NS: u64 = 300_000_000_000;

/// What the boundary rules of one project environment need besides the deployment.
pub struct Cx<'a> {
    pub platform: &'a Platform,
    /// Every declared project (for host ownership).
    pub projects: &'a BTreeSet<String>,
}

/// `path` as a clean relative path (`a/b`), or `None` when it is empty, absolute, or leaves
/// its directory with `..`.
pub fn relative_path(path: &str) -> Option<String> {
    if path.is_empty() || path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The stack name without its environment suffix: `shop` for `shop-staging` or `shop-pr-12`.
pub fn strip_env_suffix(label: &str) -> &str {
    crate::naming::split_stack(label).0
}

/// Which project a host label under the platform's domain belongs to: the project whose
/// stack it names (`shop`, `shop-staging`, `shop-pr-3`) or whose service's derived host it is
/// (`api-shop`).
pub fn derived_owner<'p>(label: &str, projects: &'p BTreeSet<String>) -> Option<&'p str> {
    let base = strip_env_suffix(label);
    if let Some(p) = projects.get(base) {
        return Some(p);
    }
    for (i, _) in base.match_indices('-') {
        if let Some(p) = projects.get(&base[i + 1..]) {
            return Some(p);
        }
    }
    None
}

/// Whether a project name imitates an environment's stack or another project's derived host.
pub fn project_names(projects: &[(String, Span)], names: &BTreeSet<String>, sink: &mut Sink) {
    for (name, span) in projects {
        let base = strip_env_suffix(name);
        if base != name.as_str() || ["staging", "dev"].contains(&name.as_str()) {
            let looks = if base != name.as_str() {
                format!("a stack of project `{base}`")
            } else {
                format!("an environment's suffix (`<project>-{name}`)")
            };
            sink.push(
                Diagnostic::new(
                    Code::ImitatedStack,
                    *span,
                    format!("project name `{name}` looks like {looks}"),
                )
                .with_label("imitates a stack name")
                .with_help("environments are declared inside a project (`environment staging { ... }`); rename the project"),
            );
            continue;
        }
        for (i, _) in name.match_indices('-') {
            let other = &name[i + 1..];
            if other != name && names.contains(other) {
                let service = &name[..i];
                sink.push(
                    Diagnostic::new(
                        Code::ImitatedStack,
                        *span,
                        format!(
                            "project name `{name}` is what berth names service `{service}` of project `{other}`"
                        ),
                    )
                    .with_label(format!("imitates `{other}`'s derived host `{name}.<domain>`"))
                    .with_help(format!(
                        "rename the project so that it does not end in `-{other}`"
                    )),
                );
                break;
            }
        }
    }
}

/// The named block `kind name` of a merged body.
fn named<'b>(body: &'b Body, kind: &'b str, name: &str) -> Option<&'b Body> {
    blocks(body, kind)
        .find(|b| b.label.as_ref().is_some_and(|l| l.text == name))
        .map(|b| &b.body)
}

fn attr_span(body: &Body, name: &str) -> Option<Span> {
    attr(body, name).map(|e| e.span)
}

/// Whether a `user` value runs as root.
fn is_root(user: &str) -> bool {
    let who = user.split(':').next().unwrap_or(user).trim();
    who == "0" || who == "root"
}

/// The hard rules and the grant rules of one deployment (lowering already gave services
/// without limits their grant's defaults).
pub fn deployment(body: &Body, d: &mut Deployment, cx: &Cx, sink: &mut Sink) {
    let grant = d.grant.clone();
    let project = d.project.clone();
    let whose = format!("project `{project}`");
    let files_root = grant
        .as_ref()
        .map_or_else(|| project.clone(), |g| g.files.clone());
    let env_prefix = grant.as_ref().map_or_else(
        || Grant::default_env_prefix(&project),
        |g| g.env_prefix.clone(),
    );

    // Secret and config sources.
    for s in &d.secrets {
        let Some(b) = named(body, "secret", &s.name) else {
            continue;
        };
        match &s.source {
            SecretSource::File(f) => file_source(
                f,
                &files_root,
                attr_span(b, "file").unwrap_or(s.span),
                &whose,
                sink,
            ),
            SecretSource::Env(v) => {
                if !v.starts_with(&env_prefix) {
                    sink.push(
                        Diagnostic::new(
                            Code::EnvOutsidePrefix,
                            attr_span(b, "env").unwrap_or(s.span),
                            format!("secret `{}` reads `{v}`, which is not one of {whose}'s variables", s.name),
                        )
                        .with_label(format!("outside `{env_prefix}*`"))
                        .with_help(format!(
                            "name a variable that starts with `{env_prefix}`, e.g. `{env_prefix}{}`",
                            s.name.to_ascii_uppercase()
                        )),
                    );
                }
            }
        }
    }
    for c in &d.configs {
        let Some(b) = named(body, "config", &c.name) else {
            continue;
        };
        if let ConfigSource::File(f) = &c.source {
            file_source(
                f,
                &files_root,
                attr_span(b, "file").unwrap_or(c.span),
                &whose,
                sink,
            );
        }
    }

    // Volumes.
    for v in &d.volumes {
        let Some(b) = named(body, "volume", &v.name) else {
            continue;
        };
        reserved_labels(b, "labels", sink);
        let opts = map_entries(b, "driver_opts");
        if v.driver == "local" {
            for (key, value) in &opts {
                let text = v.driver_opts.get(&key.text).cloned().unwrap_or_default();
                let bind = match key.text.as_str() {
                    "type" => text == "none" || text == "bind",
                    "o" => text
                        .split(',')
                        .any(|o| matches!(o.trim(), "bind" | "rbind")),
                    "device" => text.starts_with('/'),
                    _ => false,
                };
                if bind {
                    sink.push(
                        Diagnostic::new(
                            Code::BindVolume,
                            value.span,
                            format!(
                                "volume `{}` would mount a host path (`{} = \"{text}\"`)",
                                v.name, key.text
                            ),
                        )
                        .with_label("bind-style local volume option")
                        .with_help(
                            "remove `driver_opts`: a named volume keeps its data without them",
                        ),
                    );
                }
            }
        }
        if let Some(g) = &grant {
            if v.driver != "local" && !g.volume_drivers.contains(&v.driver) {
                not_granted(
                    sink,
                    attr_span(b, "driver").unwrap_or(v.span),
                    &project,
                    format!("volume driver `{}`", v.driver),
                    format!("volume_drivers = [\"{}\"]", v.driver),
                );
            }
            if !opts.is_empty() && !g.volume_options {
                let span = attr_span(b, "driver_opts")
                    .or_else(|| block(b, "driver_opts").map(|x| x.kind.span))
                    .unwrap_or(v.span);
                not_granted(
                    sink,
                    span,
                    &project,
                    "volume options".into(),
                    "volume_options = true".into(),
                );
            }
        }
    }

    // Services.
    for s in &mut d.services {
        let kind = if s.is_job() { "job" } else { "service" };
        let Some(b) = named(body, kind, &s.name) else {
            continue;
        };
        reserved_labels(b, "labels", sink);
        for (p, pb) in s.publish.iter().zip(blocks(b, "publish")) {
            let port = p.published.unwrap_or(p.target);
            let span = attr_span(&pb.body, "published")
                .or_else(|| attr_span(&pb.body, "target"))
                .unwrap_or(pb.kind.span);
            let proxy = &cx.platform.proxy;
            if port == proxy.http_port || port == proxy.https_port || SWARM_PORTS.contains(&port) {
                let what = if SWARM_PORTS.contains(&port) {
                    "one of Swarm's own ports"
                } else {
                    "the proxy's port"
                };
                sink.push(
                    Diagnostic::new(
                        Code::ReservedPort,
                        span,
                        format!("service `{}` publishes port {port}, {what}", s.name),
                    )
                    .with_label("reserved")
                    .with_help("route HTTP with a `route` block; publish another port"),
                );
            } else if let Some(g) = &grant {
                if !g.ports.contains(&port) {
                    not_granted(
                        sink,
                        span,
                        &project,
                        format!("publishing port {port}"),
                        format!("ports = [{port}]"),
                    );
                }
            }
        }
        bounds(s, b, sink);
        if let Some(g) = &grant {
            let sec = block(b, "security").map(|x| &x.body);
            for cap in &s.security.cap_add {
                let bare = cap.trim_start_matches("CAP_");
                let granted = g
                    .capabilities
                    .iter()
                    .any(|c| c.trim_start_matches("CAP_") == bare);
                if !DEFAULT_CAPABILITIES.contains(&bare) && !granted {
                    let span = sec.and_then(|x| attr_span(x, "cap_add")).unwrap_or(s.span);
                    not_granted(
                        sink,
                        span,
                        &project,
                        format!("capability `{cap}`"),
                        format!("capabilities = [\"{cap}\"]"),
                    );
                }
            }
            if let Some(user) = &s.security.user {
                if is_root(user) && !g.run_as_root {
                    let span = sec.and_then(|x| attr_span(x, "user")).unwrap_or(s.span);
                    not_granted(
                        sink,
                        span,
                        &project,
                        format!("running as root (`user = \"{user}\"`)"),
                        "run_as_root = true".into(),
                    );
                }
            }
            for c in &s.placement.constraints {
                let free = c == "node.role == worker" || c == "node.role != manager";
                if !free && !g.constraints.contains(c) {
                    let span = block(b, "placement")
                        .and_then(|p| attr_span(&p.body, "constraints"))
                        .unwrap_or(s.span);
                    not_granted(
                        sink,
                        span,
                        &project,
                        format!("placement constraint `{c}`"),
                        format!("constraints = [\"{c}\"]"),
                    );
                }
            }
            if s.mode == ServiceMode::Global && !g.global {
                not_granted(
                    sink,
                    attr_span(b, "mode").unwrap_or(s.span),
                    &project,
                    "a global service".into(),
                    "global = true".into(),
                );
            }
        }
        for (m, tb) in s
            .mounts
            .iter()
            .filter(|m| m.source == MountSource::Tmpfs)
            .zip(blocks(b, "tmpfs"))
        {
            if let (Some(size), Some(mem)) = (m.tmpfs_size, s.resources.limits.memory_bytes) {
                if size > mem {
                    sink.push(
                        Diagnostic::new(
                            Code::UnsafeBound,
                            attr_span(&tb.body, "size").unwrap_or(tb.kind.span),
                            format!(
                                "tmpfs `{}` of service `{}` may hold {}, more than the task's memory limit ({})",
                                m.target,
                                s.name,
                                crate::units::format_size(size),
                                crate::units::format_size(mem)
                            ),
                        )
                        .with_label("larger than the memory limit")
                        .with_help("a tmpfs lives in memory: keep it within the task's memory limit"),
                    );
                }
            }
        }
        // Routes. A refused route is dropped, so that checks across projects (collisions) see
        // only routes a project may have and never blame its victim.
        let spans: Vec<Span> = blocks(b, "route")
            .map(|rb| attr_span(&rb.body, "host").unwrap_or(rb.kind.span))
            .collect();
        let mut i = 0;
        s.routes.retain(|r| {
            let span = spans.get(i).copied().unwrap_or(r.span);
            i += 1;
            host(r, span, &project, grant.as_ref(), cx, sink)
        });
        // A canary's preview hosts are routes like any other; a canary whose routes or
        // previews were refused is dropped whole.
        let routes = s.routes.len();
        if let Some(c) = &mut s.canary {
            let before = c.preview.len();
            c.preview
                .retain(|r| host(r, r.span, &project, grant.as_ref(), cx, sink));
            if c.preview.len() != before || routes != before {
                s.canary = None;
            }
        }
    }

    // A project's quota may only lower its grant's.
    if let (Some(g), Some(qspan)) = (&grant, d.quota.span) {
        let q = &d.quota;
        let pairs = [
            ("cpu", q.cpu, g.quota.cpu),
            ("memory", q.memory, g.quota.memory),
            ("limit_cpu", q.limit_cpu, g.quota.limit_cpu),
            ("limit_memory", q.limit_memory, g.quota.limit_memory),
            ("storage", q.storage, g.quota.storage),
            ("replicas", q.replicas, g.quota.replicas),
            ("previews", q.previews, g.quota.previews),
        ];
        for (name, own, granted) in pairs {
            if let (Some(own), Some(granted)) = (own, granted) {
                if own > granted {
                    let mut diag = Diagnostic::new(
                        Code::QuotaAboveGrant,
                        qspan,
                        format!(
                            "{whose} sets its `{name}` quota to {}, above its grant's {}",
                            quota_value(name, own),
                            quota_value(name, granted)
                        ),
                    )
                    .with_label("a quota may only lower the grant");
                    if let Some(gs) = g.span {
                        diag = diag.with_secondary(gs, "the grant");
                    }
                    sink.push(diag.with_help(format!(
                        "remove `{name}` or lower it to at most {}",
                        quota_value(name, granted)
                    )));
                }
            }
        }
    }
}

fn quota_value(name: &str, v: u64) -> String {
    match name {
        "cpu" | "limit_cpu" => crate::units::format_cpu(v),
        "memory" | "limit_memory" | "storage" => crate::units::format_size(v),
        _ => v.to_string(),
    }
}

fn not_granted(sink: &mut Sink, span: Span, project: &str, what: String, grant: String) {
    sink.push(
        Diagnostic::new(
            Code::NotGranted,
            span,
            format!("project `{project}` is not granted {what}"),
        )
        .with_label("beyond the project's grant")
        .with_help(format!(
            "the platform's owners can allow it with `{grant}` in `grant {project}`"
        )),
    );
}

fn reserved_labels(body: &Body, map: &str, sink: &mut Sink) {
    for (key, _) in map_entries(body, map) {
        let lower = key.text.to_ascii_lowercase();
        if let Some(prefix) = RESERVED_LABEL_PREFIXES
            .iter()
            .find(|p| lower.starts_with(*p))
        {
            sink.push(
                Diagnostic::new(
                    Code::ReservedLabel,
                    key.span,
                    format!(
                        "label `{}` is under `{prefix}`, which only berth writes",
                        key.text
                    ),
                )
                .with_label("reserved label key")
                .with_help(if *prefix == "traefik." {
                    "route traffic with a `route` block; berth writes the proxy's labels"
                } else {
                    "use a prefix of your own, e.g. `com.example.team`"
                }),
            );
        }
    }
}

fn file_source(path: &str, root: &str, span: Span, whose: &str, sink: &mut Sink) {
    let inside = relative_path(path).is_some_and(|p| p.starts_with(&format!("{root}/")));
    if !inside {
        let label = if path.starts_with('/') {
            "an absolute path"
        } else if path.split('/').any(|p| p == "..") {
            "leaves the directory with `..`"
        } else {
            "outside the project's directory"
        };
        let name = path
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && *n != "..")
            .unwrap_or("value.txt");
        sink.push(
            Diagnostic::new(
                Code::SourceOutsideProject,
                span,
                format!("`{path}` is not inside {whose}'s directory `{root}/`"),
            )
            .with_label(label)
            .with_help(format!(
                "keep the file in the project's directory: `{root}/{name}`"
            )),
        );
    }
}

/// Safe bounds on values that would let a project starve the cluster.
fn bounds(s: &Service, b: &Body, sink: &mut Sink) {
    let fmt = crate::units::format_duration;
    if let (Some(h), Some(hb)) = (&s.health, block(b, "health")) {
        if h.test.first().is_some_and(|t| t != "NONE") && h.interval_ns < MIN_HEALTH_INTERVAL_NS {
            sink.push(
                Diagnostic::new(
                    Code::UnsafeBound,
                    attr_span(&hb.body, "interval").unwrap_or(hb.kind.span),
                    format!(
                        "health checks of service `{}` every {} would load the node",
                        s.name,
                        fmt(h.interval_ns)
                    ),
                )
                .with_label("below 1s")
                .with_help("check at most once a second: `interval = 1s` or more"),
            );
        }
    }
    if let Some(rb) = block(b, "restart") {
        if s.restart.delay_ns < MIN_RESTART_DELAY_NS && attr(&rb.body, "delay").is_some() {
            sink.push(
                Diagnostic::new(
                    Code::UnsafeBound,
                    attr_span(&rb.body, "delay").unwrap_or(rb.kind.span),
                    format!(
                        "service `{}` would restart a failing task every {}",
                        s.name,
                        fmt(s.restart.delay_ns)
                    ),
                )
                .with_label("below 1s")
                .with_help("wait at least a second between restarts: `delay = 1s` or more"),
            );
        }
    }
    if let Some(grace) = s.stop_grace_period_ns {
        if grace > MAX_STOP_GRACE_NS {
            sink.push(
                Diagnostic::new(
                    Code::UnsafeBound,
                    attr_span(b, "stop_grace_period").unwrap_or(s.span),
                    format!("service `{}` asks for {} to stop", s.name, fmt(grace)),
                )
                .with_label("above 5m")
                .with_help(
                    "a task gets at most `stop_grace_period = 5m` between SIGTERM and SIGKILL",
                ),
            );
        }
    }
}

/// Whether project `project` may route `r`'s host; reports why not.
fn host(
    r: &Route,
    span: Span,
    project: &str,
    grant: Option<&Grant>,
    cx: &Cx,
    sink: &mut Sink,
) -> bool {
    let dashboard = cx.platform.proxy.dashboard_host.as_deref();
    if cx.platform.proxy.dashboard && dashboard == Some(r.host.as_str()) {
        sink.push(
            Diagnostic::new(
                Code::ForeignHost,
                span,
                format!("`{}` is the proxy's dashboard host", r.host),
            )
            .with_label("belongs to the platform")
            .with_help("route another host"),
        );
        return false;
    }
    if let (Some(suffix), Some(domain)) = (r.host.strip_prefix("*."), cx.platform.domain.as_deref())
    {
        if domain == suffix || domain.ends_with(&format!(".{suffix}")) {
            sink.push(
                Diagnostic::new(
                    Code::ForeignHost,
                    span,
                    format!("`{}` covers every project's hosts under `{domain}`", r.host),
                )
                .with_label("a wildcard over the platform's domain")
                .with_help(
                    "route the hosts berth derives for this project, or a domain granted to it",
                ),
            );
            return false;
        }
    }
    let under = cx
        .platform
        .domain
        .as_deref()
        .and_then(|d| r.host.strip_suffix(&format!(".{d}")))
        .filter(|l| !l.contains('.'));
    if let Some(label) = under {
        match derived_owner(label, cx.projects) {
            Some(owner) if owner == project => return true,
            Some(owner) => {
                sink.push(
                    Diagnostic::new(
                        Code::ForeignHost,
                        span,
                        format!("`{}` is a host berth derives for project `{owner}`", r.host),
                    )
                    .with_label(format!("belongs to `{owner}`"))
                    .with_help("route a host of your own project, e.g. leave `host` out to use the derived one"),
                );
                return false;
            }
            None => {}
        }
    }
    let Some(g) = grant else { return true };
    if g.domains.iter().any(|d| covers(d, &r.host)) {
        return true;
    }
    let mut diag = Diagnostic::new(
        Code::HostNotGranted,
        span,
        format!("project `{project}` is not granted the host `{}`", r.host),
    )
    .with_label("not among the project's hosts");
    diag = match &cx.platform.domain {
        Some(d) => diag.with_help(format!(
            "leave `host` out to route the derived host under `{d}`, or ask the platform's owners for `domains = [\"{}\"]` in `grant {project}`",
            r.host
        )),
        None => diag.with_help(format!(
            "ask the platform's owners for `domains = [\"{}\"]` in `grant {project}`",
            r.host
        )),
    };
    sink.push(diag);
    false
}

/// A project's grant quota, counted over all of its environments: each environment once, a
/// preview `previews` times (that many may run at once).
pub fn totals(deployments: &[Deployment], sink: &mut Sink) {
    let mut by_project: std::collections::BTreeMap<&str, Vec<&Deployment>> = Default::default();
    for d in deployments {
        by_project.entry(d.project.as_str()).or_default().push(d);
    }
    for (project, ds) in by_project {
        let Some(g) = ds[0].grant.as_ref() else {
            continue;
        };
        let previews = g.quota.previews.unwrap_or(1);
        let weight = |d: &Deployment| {
            if d.environment == Environment::Preview {
                previews
            } else {
                1
            }
        };
        type PerTask = fn(&Service) -> Option<u64>;
        let measures: [(&str, Option<u64>, PerTask); 5] = [
            ("replicas", g.quota.replicas, |_| Some(1)),
            ("cpu", g.quota.cpu, |s| s.resources.reservations.nano_cpus),
            ("memory", g.quota.memory, |s| {
                s.resources.reservations.memory_bytes
            }),
            ("limit_cpu", g.quota.limit_cpu, |s| {
                s.resources.limits.nano_cpus
            }),
            ("limit_memory", g.quota.limit_memory, |s| {
                s.resources.limits.memory_bytes
            }),
        ];
        let span = ds[0].span;
        for (name, granted, per_task) in measures {
            let Some(granted) = granted else { continue };
            let mut total: u128 = 0;
            let mut parts = Vec::new();
            for d in &ds {
                let mut env_total: u128 = 0;
                for s in &d.services {
                    // A global service counts one task per node; berth counts it once here and the
                    // planner counts nodes.
                    let tasks = s.replicas().unwrap_or(1) as u128;
                    env_total = env_total
                        .saturating_add(tasks.saturating_mul(per_task(s).unwrap_or(0) as u128));
                }
                let w = weight(d) as u128;
                if env_total > 0 {
                    parts.push(if w > 1 {
                        format!(
                            "{} {} x {w}",
                            d.environment,
                            quota_value(name, env_total.min(u64::MAX as u128) as u64)
                        )
                    } else {
                        format!(
                            "{} {}",
                            d.environment,
                            quota_value(name, env_total.min(u64::MAX as u128) as u64)
                        )
                    });
                }
                total = total.saturating_add(env_total.saturating_mul(w));
            }
            if total > granted as u128 {
                let mut diag = Diagnostic::new(
                    Code::AboveGrant,
                    span,
                    format!(
                        "project `{project}` needs {} {name} over all its environments; its grant allows {}",
                        quota_value(name, total.min(u64::MAX as u128) as u64),
                        quota_value(name, granted)
                    ),
                )
                .with_label("above the grant")
                .with_help(format!("{} (previews counted {previews} times)", parts.join(", ")));
                if let Some(gs) = g.span {
                    diag = diag.with_secondary(gs, "the grant");
                }
                sink.push(diag);
            }
        }
        if let Some(granted) = g.quota.storage {
            let total: u128 = ds
                .iter()
                .map(|d| {
                    d.volumes
                        .iter()
                        .filter_map(|v| v.size)
                        .map(u128::from)
                        .fold(0, u128::saturating_add)
                        .saturating_mul(weight(d) as u128)
                })
                .fold(0, u128::saturating_add);
            if total > granted as u128 {
                let mut diag = Diagnostic::new(
                    Code::AboveGrant,
                    span,
                    format!(
                        "project `{project}` declares {} of volumes over all its environments; its grant allows {}",
                        quota_value("storage", total.min(u64::MAX as u128) as u64),
                        quota_value("storage", granted)
                    ),
                )
                .with_label("above the grant");
                if let Some(gs) = g.span {
                    diag = diag.with_secondary(gs, "the grant");
                }
                sink.push(diag);
            }
        }
    }
}

/// A host, with any path, belongs to one project. Under a platform, hosts are owned by
/// derivation or grant (grants never overlap), so this is for configurations without one: two
/// projects routing the same host is refused on the later one (in name order).
pub fn shared_hosts(deployments: &[Deployment], sink: &mut Sink) {
    let mut first: std::collections::BTreeMap<&str, (&str, Span, Option<&str>)> =
        Default::default();
    for d in deployments {
        for s in &d.services {
            for r in s.routed() {
                match first.get(r.host.as_str()) {
                    // The same host and path is a route collision (E0153), reported as such.
                    Some((_, _, path)) if *path == r.path.as_deref() => {}
                    Some((p, at, _)) if *p != d.project => sink.push(
                        Diagnostic::new(
                            Code::ForeignHost,
                            r.span,
                            format!("`{}` is routed by project `{p}`", r.host),
                        )
                        .with_label("a host with any path belongs to one project")
                        .with_secondary(*at, format!("routed by `{p}` here"))
                        .with_help("route a host of your own project"),
                    ),
                    Some(_) => {}
                    None => {
                        first.insert(&r.host, (&d.project, r.span, r.path.as_deref()));
                    }
                }
            }
        }
    }
}
