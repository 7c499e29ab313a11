//! Rules about the shape of single values (image references, hosts, paths, capabilities, names)
//! and about whole deployments (quotas, dependency cycles, route collisions). Each rule reports
//! with its own stable code.

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::{Deployment, Service};
use crate::naming;
use crate::span::Span;
use crate::units::{format_cpu, format_size};
use std::collections::{BTreeMap, BTreeSet};

/// Names reserved because references or berth itself give them a meaning.
pub const RESERVED: &[&str] = &[
    "var",
    "secret",
    "config",
    "volume",
    "network",
    "service",
    "project",
    "deployment",
    "env",
    "platform",
    "self",
];

/// Checks a block name; `underscore` allows `_` (volumes, secrets, configs).
pub fn name(kind: &str, name: &str, span: Span, underscore: bool, sink: &mut Sink) -> bool {
    if RESERVED.contains(&name)
        || (kind == "network" && name == "default")
        || (kind == "network" && name == "edge")
        || (kind == "config" && name == "edge-slot")
    {
        sink.push(
            Diagnostic::new(
                Code::ReservedName,
                span,
                format!("`{name}` is a reserved name"),
            )
            .with_label(format!("cannot name a {kind} `{name}`"))
            .with_help("choose another name"),
        );
        return false;
    }
    let valid_char = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_')
    };
    let ok = !name.is_empty()
        && name.len() <= naming::MAX_SWARM_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with(['-', '_'])
        && name.chars().all(valid_char);
    if !ok {
        let fixed: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if valid_char(c) { c } else { '-' })
            .collect::<String>()
            .trim_matches(|c| c == '-' || c == '_')
            .to_string();
        let label = if name.len() > naming::MAX_SWARM_NAME && name.chars().all(valid_char) {
            format!("longer than {} characters", naming::MAX_SWARM_NAME)
        } else if underscore {
            "lowercase letters, digits, `-` and `_`, starting with a letter".to_string()
        } else {
            "lowercase letters, digits and `-`, starting with a letter".to_string()
        };
        let mut d = Diagnostic::new(
            Code::InvalidName,
            span,
            format!("`{name}` is not a valid {kind} name"),
        )
        .with_label(label);
        if !fixed.is_empty() && fixed.starts_with(|c: char| c.is_ascii_lowercase()) && fixed != name
        {
            d = d.with_help(format!("try `{fixed}`"));
        }
        sink.push(d);
    }
    ok
}

/// `[registry[:port]/]path[:tag][@sha256:hex]`, lowercase path components.
pub fn image(image: &str, span: Span, sink: &mut Sink) -> bool {
    let problem = image_problem(image);
    if let Some(problem) = problem {
        sink.push(
            Diagnostic::new(
                Code::InvalidImage,
                span,
                format!("malformed image reference `{image}`"),
            )
            .with_label(problem)
            .with_help("an image is `[registry/]name[:tag][@sha256:digest]`, e.g. `berth/demo:1`"),
        );
        return false;
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    let tag = last.split_once(':').map(|(_, t)| t);
    if digest.is_none() && matches!(tag, None | Some("latest")) {
        sink.push(
            Diagnostic::new(
                Code::MutableImageTag,
                span,
                format!("image `{image}` is not pinned"),
            )
            .with_label(if tag.is_none() {
                "no tag: means `latest`"
            } else {
                "`latest` changes under you"
            })
            .with_help("pin a version tag such as `:1.4.2` or a digest"),
        );
    }
    true
}

fn image_problem(image: &str) -> Option<&'static str> {
    if image.is_empty() {
        return Some("empty image reference");
    }
    if image.chars().any(char::is_whitespace) {
        return Some("contains whitespace");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let Some(hex) = d.strip_prefix("sha256:") else {
            return Some("digest must start with `sha256:`");
        };
        if hex.len() != 64
            || !hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Some("a sha256 digest is 64 lowercase hex characters");
        }
    }
    let mut parts: Vec<&str> = rest.split('/').collect();
    let last = parts.pop().unwrap_or("");
    let (name, tag) = match last.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (last, None),
    };
    if let Some(t) = tag {
        if t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            || t.starts_with(['.', '-'])
        {
            return Some("invalid tag");
        }
    }
    let registry = if !parts.is_empty()
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        Some(parts.remove(0))
    } else {
        None
    };
    if let Some(r) = registry {
        if !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
        {
            return Some("invalid registry host");
        }
    }
    for component in parts.iter().chain(std::iter::once(&name)) {
        let ok = !component.is_empty()
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && !component.ends_with(['.', '_', '-']);
        if !ok {
            return Some(if component.chars().any(|c| c.is_ascii_uppercase()) {
                "repository names must be lowercase"
            } else {
                "invalid repository name"
            });
        }
    }
    None
}

pub fn abs_path(path: &str, span: Span, sink: &mut Sink) -> bool {
    let relative = !path.starts_with('/');
    if !relative && !path.split('/').any(|c| c == "..") {
        return true;
    }
    let d = if relative {
        Diagnostic::new(
            Code::InvalidPath,
            span,
            format!("`{path}` is not an absolute path"),
        )
        .with_label("must start with `/`")
    } else {
        Diagnostic::new(
            Code::InvalidPath,
            span,
            format!("`{path}` contains a `..` component"),
        )
        .with_label("`..` is not allowed")
    };
    let d = match normalize(&format!("/{}", path.trim_start_matches("./"))) {
        Some(fixed) if fixed != path => d.with_help(format!("write `{fixed}`")),
        _ => d,
    };
    sink.push(d);
    false
}

/// `path` with `.`, empty and `..` components resolved; `None` when `..` climbs above `/`.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

pub fn path_prefix(path: &str, span: Span, sink: &mut Sink) -> bool {
    if !abs_path(path, span, sink) {
        return false;
    }
    let ok = path == "/"
        || (!path.ends_with('/')
            && path
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '`' && c != '?' && c != '#'));
    if !ok {
        sink.push(
            Diagnostic::new(
                Code::InvalidPath,
                span,
                format!("`{path}` is not a valid path prefix"),
            )
            .with_label("no trailing `/`, query or fragment")
            .with_help(format!("write `{}`", path.trim_end_matches('/'))),
        );
    }
    ok
}

pub fn host(host: &str, span: Span, sink: &mut Sink) -> bool {
    let problem = host_problem(host);
    if let Some(problem) = problem {
        let mut d = Diagnostic::new(
            Code::InvalidHost,
            span,
            format!("`{host}` is not a valid host name"),
        )
        .with_label(problem);
        if let Some(stripped) = host
            .strip_prefix("https://")
            .or_else(|| host.strip_prefix("http://"))
        {
            d = d.with_help(format!(
                "write the host alone: `{}`",
                stripped.split('/').next().unwrap_or(stripped)
            ));
        } else if host.contains('/') {
            d = d.with_help("put the path in `path = \"/...\"`");
        }
        sink.push(d);
        return false;
    }
    true
}

fn host_problem(host: &str) -> Option<&'static str> {
    if host.is_empty() {
        return Some("empty host");
    }
    if host.len() > 253 {
        return Some("longer than 253 characters");
    }
    if host.contains("://") {
        return Some("a host has no scheme");
    }
    if host.contains('/') {
        return Some("a host has no path");
    }
    if host.contains(':') {
        return Some("a host has no port");
    }
    for (i, label) in host.split('.').enumerate() {
        if i == 0 && label == "*" {
            continue;
        }
        if label.is_empty() {
            return Some("empty label (two dots, or a dot at an end)");
        }
        if label.len() > 63 {
            return Some("a label is longer than 63 characters");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Some("labels hold letters, digits and inner `-`");
        }
    }
    None
}

pub fn capability(cap: &str, span: Span, sink: &mut Sink) -> Option<String> {
    const KNOWN: &[&str] = &[
        "ALL",
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
    ];
    let upper = cap.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if KNOWN.contains(&bare) {
        return Some(if bare == "ALL" {
            "ALL".into()
        } else {
            format!("CAP_{bare}")
        });
    }
    sink.push(
        Diagnostic::new(
            Code::InvalidCapability,
            span,
            format!("`{cap}` is not a Linux capability"),
        )
        .with_label("unknown capability")
        .suggest(bare, KNOWN.iter().copied()),
    );
    None
}

/// Normalises `node.role==manager` to `node.role == manager`.
pub fn constraint(c: &str, span: Span, sink: &mut Sink) -> Option<String> {
    let (op, (left, right)) = if let Some(p) = c.split_once("==") {
        ("==", p)
    } else if let Some(p) = c.split_once("!=") {
        ("!=", p)
    } else {
        sink.push(
            Diagnostic::new(
                Code::InvalidConstraint,
                span,
                format!("`{c}` is not a placement constraint"),
            )
            .with_label("no `==` or `!=`")
            .with_help("write e.g. `node.role == manager`"),
        );
        return None;
    };
    let (left, right) = (left.trim(), right.trim());
    let attr_ok = [
        "node.id",
        "node.hostname",
        "node.role",
        "node.platform.os",
        "node.platform.arch",
    ]
    .contains(&left)
        || left
            .strip_prefix("node.labels.")
            .is_some_and(|k| !k.is_empty())
        || left
            .strip_prefix("engine.labels.")
            .is_some_and(|k| !k.is_empty());
    if !attr_ok || right.is_empty() {
        let d = Diagnostic::new(
            Code::InvalidConstraint,
            span,
            format!("`{c}` is not a placement constraint"),
        );
        let d = if !attr_ok {
            let d = d.with_label("unknown node attribute").suggest(
                left,
                [
                    "node.id",
                    "node.hostname",
                    "node.role",
                    "node.platform.os",
                    "node.platform.arch",
                ],
            );
            d.or_help("attributes are node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<key>, engine.labels.<key>")
        } else {
            d.with_label("no value")
                .with_help(format!("write e.g. `{left} {op} value`"))
        };
        sink.push(d);
        return None;
    }
    Some(format!("{left} {op} {right}"))
}

pub fn email(email: &str, span: Span, sink: &mut Sink) {
    let ok = email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && !user.contains(char::is_whitespace)
            && domain.contains('.')
            && host_problem(domain).is_none()
    });
    if !ok {
        sink.push(
            Diagnostic::new(
                Code::InvalidEmail,
                span,
                format!("`{email}` is not an e-mail address"),
            )
            .with_label("expected name@example.com"),
        );
    }
}

/// Checks `a.b.c.d/n` with zero host bits; returns the prefix length.
pub fn cidr(text: &str, span: Span, sink: &mut Sink) -> Option<u8> {
    let parsed = text.split_once('/').and_then(|(ip, len)| {
        let ip: std::net::Ipv4Addr = ip.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        let bits = u32::from(ip);
        let host_mask = if len == 32 { 0 } else { u32::MAX >> len };
        (bits & host_mask == 0).then_some(len)
    });
    if parsed.is_none() {
        sink.push(
            Diagnostic::new(
                Code::InvalidCidr,
                span,
                format!("`{text}` is not an IPv4 network"),
            )
            .with_label("expected CIDR notation with zero host bits")
            .with_help("write e.g. `10.208.0.0/12`"),
        );
    }
    parsed
}

/// Quota admission of one deployment's static numbers (the planner adds node capacity).
pub fn quotas(d: &Deployment, sink: &mut Sink) {
    let q = &d.quota;
    let Some(qspan) = q.span else { return };
    let at = |s: &Service| s.span;
    let env = d.environment;
    // Sums saturate: a total beyond u64 is above any quota, and must not panic or wrap.
    let replicas: u64 = d
        .services
        .iter()
        .filter_map(Service::replicas)
        .fold(0, u64::saturating_add);
    if let Some(max) = q.replicas {
        if replicas > max {
            let mut diag = Diagnostic::new(
                Code::ReplicasAboveQuota,
                d.services
                    .iter()
                    .max_by_key(|s| s.replicas().unwrap_or(0))
                    .map_or(qspan, at),
                format!(
                    "project `{}` ({env}) runs {replicas} replicas; its quota allows {max}",
                    d.project
                ),
            )
            .with_label("largest contributor")
            .with_secondary(qspan, format!("quota: {max} replicas"));
            diag = diag.with_help(breakdown(d, |s| s.replicas().map(|r| r.to_string())));
            sink.push(diag);
        }
    }
    type PerTask = fn(&Service) -> Option<u64>;
    type Format = fn(u64) -> String;
    let sums: [(&str, &str, Option<u64>, PerTask, Format); 4] = [
        (
            "cpu reservations",
            "cpu",
            q.cpu,
            |s| s.resources.reservations.nano_cpus,
            |n| format!("{} cpu", format_cpu(n)),
        ),
        (
            "memory reservations",
            "memory",
            q.memory,
            |s| s.resources.reservations.memory_bytes,
            format_size,
        ),
        (
            "cpu limits",
            "limit_cpu",
            q.limit_cpu,
            |s| s.resources.limits.nano_cpus,
            |n| format!("{} cpu", format_cpu(n)),
        ),
        (
            "memory limits",
            "limit_memory",
            q.limit_memory,
            |s| s.resources.limits.memory_bytes,
            format_size,
        ),
    ];
    for (what, attr, quota, per_task, fmt) in sums {
        let (total, top) = sum(d, per_task);
        if let (Some(quota), Some(top)) = (quota, top) {
            if total > quota {
                let parts: Vec<String> = d
                    .services
                    .iter()
                    .filter_map(|s| {
                        per_task(s).map(|v| {
                            format!("{} = {} x {}", s.name, s.replicas().unwrap_or(1), fmt(v))
                        })
                    })
                    .collect();
                sink.push(
                    Diagnostic::new(Code::ReservationsAboveQuota, top.span, format!("project `{}` ({env}): {what} x replicas add up to {}; its quota allows {}", d.project, fmt(total), fmt(quota)))
                        .with_label("largest contributor")
                        .with_secondary(qspan, format!("quota: {attr} = {}", fmt(quota).trim_end_matches(" cpu")))
                        .with_help(format!("lower replicas or {what}, or raise the quota ({})", parts.join(", "))),
                );
            }
        }
    }
    if let Some(max) = q.storage {
        let total: u64 = d
            .volumes
            .iter()
            .filter_map(|v| v.size)
            .fold(0, u64::saturating_add);
        if total > max {
            let top = d
                .volumes
                .iter()
                .max_by_key(|v| v.size.unwrap_or(0))
                .map_or(qspan, |v| v.span);
            let parts: Vec<String> = d
                .volumes
                .iter()
                .filter_map(|v| v.size.map(|s| format!("{} = {}", v.name, format_size(s))))
                .collect();
            sink.push(
                Diagnostic::new(
                    Code::StorageAboveQuota,
                    top,
                    format!(
                        "project `{}` ({env}) declares {} of volumes; its storage quota is {}",
                        d.project,
                        format_size(total),
                        format_size(max)
                    ),
                )
                .with_label("largest volume")
                .with_secondary(qspan, format!("quota: storage = {}", format_size(max)))
                .with_help(format!(
                    "shrink the volumes or raise the quota ({})",
                    parts.join(", ")
                )),
            );
        }
    }
}

/// Sum over services of `per_task` x replicas, and the service contributing most.
fn sum(d: &Deployment, per_task: impl Fn(&Service) -> Option<u64>) -> (u64, Option<&Service>) {
    let mut total = 0u64;
    let mut top: Option<(u64, &Service)> = None;
    for s in &d.services {
        let Some(v) = per_task(s) else { continue };
        let n = v.saturating_mul(s.replicas().unwrap_or(1));
        total = total.saturating_add(n);
        if top.is_none_or(|(t, _)| n > t) {
            top = Some((n, s));
        }
    }
    (total, top.map(|(_, s)| s))
}

fn breakdown(d: &Deployment, f: impl Fn(&Service) -> Option<String>) -> String {
    let parts: Vec<String> = d
        .services
        .iter()
        .filter_map(|s| f(s).map(|v| format!("{} = {v}", s.name)))
        .collect();
    format!("lower replicas or raise the quota ({})", parts.join(", "))
}

/// Services whose dependencies form a cycle; each cycle reported once, every step shown.
pub fn cycles(d: &Deployment, sink: &mut Sink) {
    let deps: BTreeMap<&str, &Service> = d.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in deps.keys() {
        // Depth-first search for a path back to `start`, iteratively to bound the stack.
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut on_path: Vec<&str> = vec![start];
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some((node, idx)) = stack.last_mut() {
            let next = deps.get(*node).and_then(|s| s.depends_on.get(*idx));
            *idx += 1;
            match next {
                Some(n) if n == start => {
                    let mut cycle: Vec<String> = on_path.iter().map(|s| s.to_string()).collect();
                    let min = cycle
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, s)| *s)
                        .map_or(0, |(i, _)| i);
                    cycle.rotate_left(min);
                    if reported.insert(cycle.clone()) {
                        let first = deps[cycle[0].as_str()];
                        let mut diag = Diagnostic::new(
                            Code::DependencyCycle,
                            first.span,
                            format!("dependency cycle: {} → {}", cycle.join(" → "), cycle[0]),
                        )
                        .with_label(format!(
                            "`{}` depends on `{}`",
                            cycle[0],
                            cycle.get(1).unwrap_or(&cycle[0])
                        ));
                        for (i, name) in cycle.iter().enumerate() {
                            let next = &cycle[(i + 1) % cycle.len()];
                            if i > 0 {
                                diag = diag.with_secondary(
                                    deps[name.as_str()].span,
                                    format!("`{name}` depends on `{next}`"),
                                );
                            }
                        }
                        diag = diag.with_help("remove one dependency of the cycle (a `depends_on` entry or a reference such as `${api.host}`)");
                        sink.push(diag);
                    }
                }
                Some(n)
                    if deps.contains_key(n.as_str())
                        && !visited.contains(n.as_str())
                        && !on_path.contains(&n.as_str()) =>
                {
                    visited.insert(n.as_str());
                    on_path.push(n.as_str());
                    stack.push((n.as_str(), 0));
                }
                Some(_) => {}
                None => {
                    stack.pop();
                    on_path.pop();
                }
            }
        }
    }
}

/// The same (host, path) routed twice anywhere in the configuration.
pub fn route_collisions(deployments: &[Deployment], sink: &mut Sink) {
    let mut seen: BTreeMap<(String, Option<String>), (String, Span, &Deployment)> = BTreeMap::new();
    for d in deployments {
        for s in &d.services {
            for r in s.routed() {
                let key = (r.host.clone(), r.path.clone());
                let who = format!("service `{}` of `{}`", s.name, d.stack);
                let routed = format!("{}{}", r.host, r.path.as_deref().unwrap_or(""));
                match seen.get(&key) {
                    // One route block, deployed in two environments of its project with the same host.
                    Some((first_who, first_span, first))
                        if *first_span == r.span && *first_who != who =>
                    {
                        sink.push(
                            Diagnostic::new(
                                Code::DuplicateRoute,
                                r.span,
                                format!("`{routed}` is routed by both {} and {} of project `{}`", first.environment, d.environment, d.project),
                            )
                            .with_label(format!("this route has the same host in {} and {}", first.environment, d.environment))
                            .with_help(format!(
                                "give the route another `host` in `environment {}` (an environment's `route` blocks replace the project's), or leave `host` out to derive one per environment",
                                d.environment
                            )),
                        );
                    }
                    Some((first_who, first_span, _))
                        if *first_span != r.span || *first_who != who =>
                    {
                        sink.push(
                            Diagnostic::new(
                                Code::DuplicateRoute,
                                r.span,
                                format!("`{routed}` is already routed to {first_who}"),
                            )
                            .with_label(format!("routed again, to {who}"))
                            .with_secondary(
                                *first_span,
                                format!("first routed here, to {first_who}"),
                            )
                            .with_help("give one of the routes another `host` or `path`"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key, (who, r.span, d));
                    }
                }
            }
        }
    }
}

/// Swarm object names of a deployment must fit in 63 characters.
pub fn name_lengths(d: &Deployment, sink: &mut Sink) {
    let mut check = |name: &str, span: Span, kind: &str| {
        let full = naming::object(&d.stack, name);
        if full.len() > naming::MAX_SWARM_NAME {
            sink.push(
                Diagnostic::new(
                    Code::NameTooLong,
                    span,
                    format!(
                        "{kind} `{name}` becomes `{full}` in Swarm: {} characters, more than {}",
                        full.len(),
                        naming::MAX_SWARM_NAME
                    ),
                )
                .with_label(format!("too long in {}", d.environment))
                .with_help(match full.len() - naming::MAX_SWARM_NAME {
                    1 => format!("shorten the {kind} or project name by 1 character"),
                    n => format!("shorten the {kind} or project name by {n} characters"),
                }),
            );
        }
    };
    for s in &d.services {
        check(&s.name, s.span, "service");
    }
    for n in &d.networks {
        check(&n.name, n.span, "network");
    }
    for v in &d.volumes {
        check(&v.name, v.span, "volume");
    }
}

/// An entry of an access list or of the platform's `admins`: one name (an e-mail address,
/// `@user`, `@org/team`, a CI identity), since CODEOWNERS splits owners at whitespace and `#`
/// starts a comment there.
pub fn access_entry(entry: &str, span: Span, sink: &mut Sink) -> bool {
    let problem = if entry.is_empty() {
        Some("empty")
    } else if entry.contains(char::is_whitespace) {
        Some("contains whitespace")
    } else if entry.contains(char::is_control) {
        Some("contains a control character")
    } else if entry.contains('#') {
        Some("contains `#`")
    } else {
        None
    };
    let Some(problem) = problem else {
        return true;
    };
    let message = if entry.is_empty() {
        "an empty entry names nobody".to_string()
    } else {
        format!("`{}` is not a single name", entry.escape_debug())
    };
    sink.push(
        Diagnostic::new(Code::InvalidAccessEntry, span, message)
        .with_label(problem)
        .with_help("write one person, team or identity per entry: `alice@example.com`, `@alice`, `@org/team`"),
    );
    false
}
