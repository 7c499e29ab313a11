//! Lowering: from the merged syntax of one project environment to a [`Deployment`] of the
//! checked model. Values are typed and converted here, and the rules that need whole values
//! (reservation under limit, health timeout under interval, image syntax, hosts) are checked.

use super::rules;
use super::schema::RefKind;
use super::scope::{Scope, Target};
use super::value::{Lower, Val};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::*;
use crate::naming;
use crate::span::Span;
use crate::syntax::{Block, Body, Expr, ExprKind, ItemKind, Name};
use std::collections::BTreeMap;

pub fn attr<'b>(body: &'b Body, name: &str) -> Option<&'b Expr> {
    body.attributes()
        .find(|a| a.key.text == name)
        .map(|a| &a.value)
}

pub fn block<'b>(body: &'b Body, kind: &str) -> Option<&'b Block> {
    body.blocks().map(|(_, b)| b).find(|b| b.kind.text == kind)
}

pub fn blocks<'b>(body: &'b Body, kind: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
    body.blocks()
        .map(|(_, b)| b)
        .filter(move |b| b.kind.text == kind)
}

/// Entries of a map written either as `name { k = v }` or `name = { k = v }`.
pub fn map_entries<'b>(body: &'b Body, name: &str) -> Vec<(&'b Name, &'b Expr)> {
    let inner = body.items.iter().find_map(|i| match &i.kind {
        ItemKind::Block(b) if b.kind.text == name => Some(&b.body),
        ItemKind::Attribute(a) if a.key.text == name => match &a.value.kind {
            ExprKind::Map(m) => Some(m),
            _ => None,
        },
        _ => None,
    });
    inner
        .map(|b| b.attributes().map(|a| (&a.key, &a.value)).collect())
        .unwrap_or_default()
}

/// What lowering needs besides the merged body.
pub struct Context<'a> {
    pub platform: &'a Platform,
    pub domain: Option<String>,
    /// A domain was written, so when `domain` is `None` it was invalid (and reported).
    pub domain_given: bool,
    pub pr: Option<u64>,
    pub project_span: Span,
    /// The project's grant, when the configuration has a platform.
    pub grant: Option<&'a Grant>,
}

pub fn deployment(body: &Body, scope: &mut Scope, cx: &Context, sink: &mut Sink) -> Deployment {
    let mut lw = Lower { scope, sink };
    let quota = block(body, "quota")
        .map(|q| quota(&mut lw, q))
        .unwrap_or_default();
    let access = block(body, "access")
        .map(|a| access(&mut lw, &a.body))
        .unwrap_or_default();
    let mut volumes = Vec::new();
    for b in blocks(body, "volume") {
        let Some(label) = &b.label else { continue };
        volumes.push(Volume {
            name: label.text.clone(),
            size: attr(&b.body, "size").and_then(|e| lw.size(e)),
            driver: attr(&b.body, "driver")
                .and_then(|e| lw.string(e))
                .unwrap_or_else(|| "local".into()),
            driver_opts: string_map(&mut lw, &b.body, "driver_opts"),
            labels: string_map(&mut lw, &b.body, "labels"),
            span: label.span,
        });
    }
    let mut secrets = Vec::new();
    for b in blocks(body, "secret") {
        let Some(label) = &b.label else { continue };
        let file = attr(&b.body, "file").and_then(|e| lw.string(e));
        let env = attr(&b.body, "env").and_then(|e| lw.string(e));
        let source = match (file, env) {
            (Some(f), None) => Some(SecretSource::File(f)),
            (None, Some(e)) => Some(SecretSource::Env(e)),
            (a, b) => {
                source_error(
                    lw.sink,
                    "secret",
                    label,
                    a.is_some() && b.is_some(),
                    "`file` or `env`",
                );
                None
            }
        };
        if let Some(source) = source {
            secrets.push(Secret {
                name: label.text.clone(),
                source,
                span: label.span,
            });
        }
    }
    let mut configs = Vec::new();
    for b in blocks(body, "config") {
        let Some(label) = &b.label else { continue };
        let file = attr(&b.body, "file").and_then(|e| lw.string(e));
        let content = attr(&b.body, "content").and_then(|e| lw.string(e));
        let source = match (file, content) {
            (Some(f), None) => Some(ConfigSource::File(f)),
            (None, Some(c)) => Some(ConfigSource::Content(c)),
            (a, b) => {
                source_error(
                    lw.sink,
                    "config",
                    label,
                    a.is_some() && b.is_some(),
                    "`file` or `content`",
                );
                None
            }
        };
        if let Some(source) = source {
            configs.push(ConfigFile {
                name: label.text.clone(),
                source,
                span: label.span,
            });
        }
    }
    let mut networks = Vec::new();
    for b in blocks(body, "network") {
        let Some(label) = &b.label else { continue };
        let flag =
            |lw: &mut Lower, n: &str| attr(&b.body, n).and_then(|e| lw.bool(e)).unwrap_or(false);
        let mut shared_with = Vec::new();
        if let Some(e) = attr(&b.body, "shared_with") {
            for (p, span) in lw.str_list(e).unwrap_or_default() {
                if !lw.scope.globals.projects.contains(&p) {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::UndefinedReference,
                            span,
                            format!("no project named `{p}`"),
                        )
                        .with_label("undefined project")
                        .suggest(&p, lw.scope.globals.projects.iter().map(String::as_str)),
                    );
                }
                shared_with.push(p);
            }
        }
        shared_with.sort();
        shared_with.dedup();
        networks.push(Network {
            name: label.text.clone(),
            internal: flag(&mut lw, "internal"),
            encrypted: flag(&mut lw, "encrypted"),
            attachable: flag(&mut lw, "attachable"),
            shared_with,
            span: label.span,
        });
    }
    let mut services = Vec::new();
    let mut disabled = Vec::new();
    for b in blocks(body, "service") {
        let Some(label) = &b.label else { continue };
        let enabled = attr(&b.body, "enabled")
            .and_then(|e| lw.bool(e))
            .unwrap_or(true);
        if !enabled {
            disabled.push(label.text.clone());
        }
        if let Some(s) = service(&mut lw, label, &b.body, cx) {
            if enabled {
                services.push(s);
            }
        }
    }
    // A service may only depend on services deployed in this environment.
    for s in &services {
        for dep in &s.depends_on {
            if disabled.contains(dep) {
                lw.sink.push(
                    Diagnostic::new(
                        Code::UndefinedReference,
                        s.span,
                        format!(
                            "service `{}` depends on `{dep}`, which is disabled in {}",
                            s.name, lw.scope.environment
                        ),
                    )
                    .with_label("depends on a disabled service")
                    .with_help(format!(
                        "enable `{dep}` in this environment or remove the dependency"
                    )),
                );
            }
        }
    }
    Deployment {
        project: lw.scope.project.clone(),
        environment: lw.scope.environment,
        pr: cx.pr,
        stack: lw.scope.stack.clone(),
        domain: cx.domain.clone(),
        quota,
        grant: cx.grant.cloned(),
        access,
        services,
        volumes,
        secrets,
        configs,
        networks,
        span: cx.project_span,
    }
}

pub(crate) fn source_error(sink: &mut Sink, kind: &str, label: &Name, both: bool, choices: &str) {
    let message = if both {
        format!("{kind} `{}` has two sources", label.text)
    } else {
        format!("{kind} `{}` has no source", label.text)
    };
    sink.push(
        Diagnostic::new(Code::SecretWithoutSource, label.span, message)
            .with_label(if both {
                "give exactly one source"
            } else {
                "where does the value come from?"
            })
            .with_help(format!("set exactly one of {choices}")),
    );
}

pub(crate) fn quota(lw: &mut Lower, b: &Block) -> Quota {
    let body = &b.body;
    Quota {
        cpu: attr(body, "cpu").and_then(|e| lw.cpu(e)),
        memory: attr(body, "memory").and_then(|e| lw.size(e)),
        limit_cpu: attr(body, "limit_cpu").and_then(|e| lw.cpu(e)),
        limit_memory: attr(body, "limit_memory").and_then(|e| lw.size(e)),
        storage: attr(body, "storage").and_then(|e| lw.size(e)),
        replicas: attr(body, "replicas").and_then(|e| lw.int(e, 0, u64::MAX)),
        previews: attr(body, "previews").and_then(|e| lw.int(e, 0, 1000)),
        span: Some(b.kind.span),
    }
}

fn access(lw: &mut Lower, body: &Body) -> Access {
    let mut list = |n: &str| attr(body, n).map_or_else(Vec::new, |e| access_list(lw, e));
    Access {
        owner: list("owner"),
        admin: list("admin"),
        developer: list("developer"),
        viewer: list("viewer"),
    }
}

/// A list of people, teams or CI identities (`access` roles, the platform's `admins`): the
/// entries that are single names (E0213 for the others).
pub fn access_list(lw: &mut Lower, expr: &Expr) -> Vec<String> {
    lw.str_list(expr)
        .unwrap_or_default()
        .into_iter()
        .filter(|(entry, span)| rules::access_entry(entry, *span, lw.sink))
        .map(|(entry, _)| entry)
        .collect()
}

fn string_map(lw: &mut Lower, body: &Body, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in map_entries(body, name) {
        match lw.text(value) {
            Some(Val::Str(s)) => {
                out.insert(key.text.clone(), s);
            }
            Some(Val::Target(t)) => lw.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    value.span,
                    format!(
                        "`{}` refers to {}; this map takes text",
                        key.text,
                        t.describe()
                    ),
                )
                .with_label("not a text value"),
            ),
            _ => {}
        }
    }
    out
}

fn service(lw: &mut Lower, label: &Name, body: &Body, cx: &Context) -> Option<Service> {
    lw.scope.take_service_refs();
    let name = label.text.clone();
    let image = attr(body, "image").and_then(|e| {
        let img = lw.string(e)?;
        rules::image(&img, e.span, lw.sink).then_some(img)
    });
    let global =
        attr(body, "mode").and_then(|e| lw.choice(e, &["replicated", "global"])) == Some("global");
    let replicas_expr = attr(body, "replicas");
    let replicas = replicas_expr.and_then(|e| lw.int(e, 0, 10_000));
    if global {
        if let Some(e) = replicas_expr {
            lw.sink.push(
                Diagnostic::new(
                    Code::ConflictingAttributes,
                    e.span,
                    "`replicas` cannot be combined with `mode = \"global\"`",
                )
                .with_label("a global service runs one task per node")
                .with_help("remove `replicas`, or the `mode`"),
            );
        }
    }
    let mode = if global {
        ServiceMode::Global
    } else {
        ServiceMode::Replicated {
            replicas: replicas.unwrap_or(1),
        }
    };
    let list = |lw: &mut Lower, n: &str| {
        attr(body, n)
            .and_then(|e| lw.str_list(e))
            .map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
    };
    let command = list(lw, "command");
    let args = list(lw, "args");
    let workdir = attr(body, "workdir").and_then(|e| lw.string(e));

    let mut mounts = Vec::new();
    let mut env = BTreeMap::new();
    for (key, value) in map_entries(body, "env") {
        match lw.text(value) {
            Some(Val::Str(s)) => {
                env.insert(key.text.clone(), EnvValue::Plain(s));
            }
            Some(Val::Target(Target::Secret(secret))) => {
                let path = naming::secret_path(&secret);
                env.insert(
                    key.text.clone(),
                    EnvValue::SecretFile {
                        secret: secret.clone(),
                        path: path.clone(),
                    },
                );
                mounts.push(Mount {
                    source: MountSource::Secret(secret),
                    target: path,
                    read_only: true,
                    tmpfs_size: None,
                });
            }
            Some(Val::Target(Target::Service(s))) => lw.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    value.span,
                    format!("`{s}` is a service; an environment variable needs text"),
                )
                .with_label("a service, not a value")
                .with_help(format!("use `{s}.host` for its host name")),
            ),
            Some(Val::Target(t)) => lw.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    value.span,
                    format!("an environment variable cannot hold {}", t.describe()),
                )
                .with_label("not a text value")
                .with_help(
                    "environment variables take text, or a secret (whose file path they then hold)",
                ),
            ),
            _ => {}
        }
    }
    let labels = string_map(lw, body, "labels");

    let mut publish = Vec::new();
    for b in blocks(body, "publish") {
        let target = attr(&b.body, "target").and_then(|e| lw.port(e));
        let published = attr(&b.body, "published").and_then(|e| lw.port(e));
        let protocol = match attr(&b.body, "protocol").and_then(|e| lw.choice(e, &["tcp", "udp"])) {
            Some("udp") => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        let mode = match attr(&b.body, "mode").and_then(|e| lw.choice(e, &["host", "ingress"])) {
            Some("ingress") => PublishMode::Ingress,
            _ => PublishMode::Host,
        };
        if let Some(target) = target {
            publish.push(Publish {
                target,
                published: published.or(Some(target)),
                protocol,
                mode,
            });
        }
    }

    let mut resources = block(body, "resources")
        .map(|r| resources(lw, &name, r))
        .unwrap_or_default();
    // Under a grant, what the service leaves unlimited gets the grant's default limits.
    if let Some(g) = cx.grant {
        let (lim, def) = (&mut resources.limits, &g.default_limits);
        lim.nano_cpus = lim.nano_cpus.or(def.nano_cpus);
        lim.memory_bytes = lim.memory_bytes.or(def.memory_bytes);
        lim.pids = lim.pids.or(def.pids);
    }

    for b in blocks(body, "mount") {
        let source = attr(&b.body, "source")
            .and_then(|e| lw.target(e, &[RefKind::Volume, RefKind::Secret, RefKind::Config]));
        let target = attr(&b.body, "target").and_then(|e| path(lw, e));
        let read_only = attr(&b.body, "read_only").and_then(|e| lw.bool(e));
        let (Some(source), Some(target)) = (source, target) else {
            continue;
        };
        let (source, default_ro) = match source {
            Target::Volume(v) => (MountSource::Volume(v), false),
            Target::Secret(s) => (MountSource::Secret(s), true),
            Target::Config(c) => (MountSource::Config(c), true),
            _ => continue,
        };
        mounts.retain(|m| m.target != target);
        mounts.push(Mount {
            source,
            target,
            read_only: read_only.unwrap_or(default_ro),
            tmpfs_size: None,
        });
    }
    for b in blocks(body, "tmpfs") {
        let target = attr(&b.body, "target").and_then(|e| path(lw, e));
        // A tmpfs without a size is as large as the task's memory limit.
        let size = attr(&b.body, "size")
            .and_then(|e| lw.size(e))
            .or(resources.limits.memory_bytes);
        if let Some(target) = target {
            mounts.push(Mount {
                source: MountSource::Tmpfs,
                target,
                read_only: false,
                tmpfs_size: size,
            });
        }
    }
    mounts.sort_by(|a, b| a.target.cmp(&b.target));

    let health = block(body, "health").and_then(|h| health(lw, h));
    let published_host = publish.iter().any(|p| p.mode == PublishMode::Host);
    let update = policy(
        lw,
        block(body, "update"),
        health.as_ref(),
        published_host,
        FailureAction::Rollback,
        None,
    );
    let rollback = policy(
        lw,
        block(body, "rollback"),
        health.as_ref(),
        published_host,
        FailureAction::Pause,
        Some(&update),
    );
    let restart = block(body, "restart")
        .map(|r| restart(lw, &r.body))
        .unwrap_or(RestartPolicy {
            condition: RestartCondition::Any,
            delay_ns: 5_000_000_000,
            max_attempts: None,
            window_ns: None,
        });
    let placement = block(body, "placement")
        .map(|p| placement(lw, &p.body))
        .unwrap_or_default();
    let security = block(body, "security")
        .map(|s| security(lw, &s.body))
        .unwrap_or_default();
    let endpoint_mode =
        match attr(body, "endpoint_mode").and_then(|e| lw.choice(e, &["vip", "dnsrr"])) {
            Some("dnsrr") => EndpointMode::Dnsrr,
            _ => EndpointMode::Vip,
        };
    let stop_grace_period_ns = attr(body, "stop_grace_period").and_then(|e| lw.duration(e));

    let mut networks = Vec::new();
    if let Some(e) = attr(body, "networks") {
        for (t, _) in lw.target_list(e, RefKind::Network) {
            match t {
                Target::Network(n) if n == "default" => {}
                Target::Network(n) => networks.push(NetworkRef::Own { name: n }),
                Target::SharedNetwork { project, name } => {
                    networks.push(NetworkRef::Shared { project, name })
                }
                _ => {}
            }
        }
    }
    networks.sort();
    networks.dedup();

    let mut routes = Vec::new();
    for b in blocks(body, "route") {
        if let Some(r) = route(lw, &name, b, cx) {
            routes.push(r);
        }
    }

    let mut depends: Vec<String> = Vec::new();
    if let Some(e) = attr(body, "depends_on") {
        for (t, span) in lw.target_list(e, RefKind::Service) {
            if let Target::Service(s) = t {
                if s == name {
                    // Reported here, so the cycle check does not report it again.
                    lw.sink.push(
                        Diagnostic::new(
                            Code::DependencyCycle,
                            span,
                            format!("service `{name}` depends on itself"),
                        )
                        .with_label("remove this"),
                    );
                    continue;
                }
                depends.push(s);
            }
        }
    }
    depends.extend(
        lw.scope
            .take_service_refs()
            .into_iter()
            .filter(|s| *s != name),
    );
    depends.sort();
    depends.dedup();

    // The warnings look at what was written: an invalid health check or limit has its own error.
    if blocks(body, "route").next().is_some() && block(body, "health").is_none() {
        lw.sink.push(
            Diagnostic::new(
                Code::RoutedWithoutHealth,
                label.span,
                format!("service `{name}` receives traffic but has no health check"),
            )
            .with_label("routed, no `health` block")
            .with_help(
                "add `health { command = [...] }` so rolling updates wait for a healthy task",
            ),
        );
    }
    let limits = block(body, "resources").and_then(|r| block(&r.body, "limits"));
    // Under a grant, a service without limits gets the grant's default limits instead.
    if cx.grant.is_none()
        && !limits
            .is_some_and(|l| attr(&l.body, "cpu").is_some() || attr(&l.body, "memory").is_some())
    {
        lw.sink.push(
            Diagnostic::new(
                Code::NoResourceLimits,
                label.span,
                format!("service `{name}` has no cpu or memory limit"),
            )
            .with_label("unlimited")
            .with_help("add `resources { limits { cpu = 0.5, memory = 256M } }`"),
        );
    }

    Some(Service {
        name,
        image: image?,
        mode,
        command,
        args,
        workdir,
        env,
        publish,
        resources,
        mounts,
        health,
        update,
        rollback,
        restart,
        placement,
        routes,
        depends_on: depends,
        labels,
        security,
        endpoint_mode,
        networks,
        stop_grace_period_ns,
        span: label.span,
    })
}

fn path(lw: &mut Lower, e: &Expr) -> Option<String> {
    let p = lw.string(e)?;
    rules::abs_path(&p, e.span, lw.sink).then_some(p)
}

fn resources(lw: &mut Lower, service: &str, b: &Block) -> Resources {
    let mut out = Resources::default();
    let mut spans: BTreeMap<&str, Span> = BTreeMap::new();
    if let Some(l) = block(&b.body, "limits") {
        if let Some(e) = attr(&l.body, "cpu") {
            out.limits.nano_cpus = lw.cpu(e);
            spans.insert("limit cpu", e.span);
        }
        if let Some(e) = attr(&l.body, "memory") {
            out.limits.memory_bytes = lw.size(e);
            spans.insert("limit memory", e.span);
        }
        out.limits.pids = attr(&l.body, "pids").and_then(|e| lw.int(e, 1, u64::MAX));
    }
    if let Some(r) = block(&b.body, "reservations") {
        if let Some(e) = attr(&r.body, "cpu") {
            out.reservations.nano_cpus = lw.cpu(e);
            spans.insert("reservation cpu", e.span);
        }
        if let Some(e) = attr(&r.body, "memory") {
            out.reservations.memory_bytes = lw.size(e);
            spans.insert("reservation memory", e.span);
        }
    }
    let checks = [
        (
            "cpu",
            out.reservations.nano_cpus,
            out.limits.nano_cpus,
            crate::units::format_cpu as fn(u64) -> String,
        ),
        (
            "memory",
            out.reservations.memory_bytes,
            out.limits.memory_bytes,
            crate::units::format_size,
        ),
    ];
    for (what, reservation, limit, fmt) in checks {
        if let (Some(r), Some(l)) = (reservation, limit) {
            if r > l {
                let rspan = spans[format!("reservation {what}").as_str()];
                let lspan = spans[format!("limit {what}").as_str()];
                lw.sink.push(
                    Diagnostic::new(
                        Code::ReservationAboveLimit,
                        rspan,
                        format!(
                            "service `{service}` reserves {} {what} but is limited to {}",
                            fmt(r),
                            fmt(l)
                        ),
                    )
                    .with_label("reservation")
                    .with_secondary(lspan, "limit")
                    .with_help(format!("lower the reservation to at most {}", fmt(l))),
                );
            }
        }
    }
    out
}

fn health(lw: &mut Lower, b: &Block) -> Option<Health> {
    let body = &b.body;
    let command = attr(body, "command").map(|e| (e.span, lw.str_list(e)));
    let shell = attr(body, "shell").map(|e| (e.span, lw.string(e)));
    let disable = attr(body, "disable")
        .and_then(|e| lw.bool(e))
        .unwrap_or(false);
    let given = [command.is_some(), shell.is_some(), disable]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        let message = if given == 0 {
            "a health check needs a test"
        } else {
            "a health check takes one test"
        };
        lw.sink.push(
            Diagnostic::new(
                if given == 0 {
                    Code::MissingAttribute
                } else {
                    Code::ConflictingAttributes
                },
                b.kind.span,
                message,
            )
            .with_label(if given == 0 {
                "no `command`, `shell` or `disable`"
            } else {
                "more than one of `command`, `shell`, `disable`"
            })
            .with_help(
                "set exactly one of `command = [...]`, `shell = \"...\"` or `disable = true`",
            ),
        );
        return None;
    }
    let test = if disable {
        vec!["NONE".to_string()]
    } else if let Some((span, cmd)) = command {
        let cmd: Vec<String> = cmd?.into_iter().map(|(s, _)| s).collect();
        if cmd.is_empty() {
            lw.sink.push(
                Diagnostic::new(
                    Code::MissingAttribute,
                    span,
                    "the health check command is empty",
                )
                .with_label("empty command"),
            );
            return None;
        }
        std::iter::once("CMD".to_string()).chain(cmd).collect()
    } else {
        vec!["CMD-SHELL".to_string(), shell.and_then(|(_, s)| s)?]
    };
    let interval_e = attr(body, "interval");
    let timeout_e = attr(body, "timeout");
    let interval_ns = interval_e
        .and_then(|e| lw.duration(e))
        .unwrap_or(10_000_000_000);
    let timeout_ns = timeout_e
        .and_then(|e| lw.duration(e))
        .unwrap_or(5_000_000_000);
    let retries_e = attr(body, "retries");
    let start_period_e = attr(body, "start_period");
    let retries = retries_e.and_then(|e| lw.int(e, 1, 100)).unwrap_or(3);
    let start_period_ns = start_period_e.and_then(|e| lw.duration(e)).unwrap_or(0);
    if !disable && timeout_ns >= interval_ns {
        let span = timeout_e.or(interval_e).map_or(b.kind.span, |e| e.span);
        let mut d = Diagnostic::new(
            Code::HealthTimeout,
            span,
            format!(
                "health check timeout ({}) is not below its interval ({})",
                crate::units::format_duration(timeout_ns),
                crate::units::format_duration(interval_ns)
            ),
        )
        .with_label("timeout")
        .with_help("make the timeout shorter than the interval");
        if let (Some(i), Some(_)) = (interval_e, timeout_e) {
            d = d.with_secondary(i.span, "interval");
        }
        lw.sink.push(d);
    }
    let health = Health {
        test,
        interval_ns,
        timeout_ns,
        retries,
        start_period_ns,
    };
    if health.monitor_window().is_none() {
        let span = interval_e
            .or(start_period_e)
            .or(retries_e)
            .map_or(b.kind.span, |e| e.span);
        let mut d = Diagnostic::new(
            Code::NumberOverflow,
            span,
            format!(
                "the update's monitor window (start_period + interval x retries = {} + {} x {retries}) is beyond what Swarm can store (about 292 years)",
                crate::units::format_duration(start_period_ns),
                crate::units::format_duration(interval_ns),
            ),
        )
        .with_label("too large to watch for")
        .with_help("write a shorter interval, start period or fewer retries, or set the update's `monitor`");
        for (e, what) in [(start_period_e, "start period"), (retries_e, "retries")] {
            if let Some(e) = e.filter(|e| e.span != span) {
                d = d.with_secondary(e.span, what);
            }
        }
        lw.sink.push(d);
    }
    Some(health)
}

fn policy(
    lw: &mut Lower,
    b: Option<&Block>,
    health: Option<&Health>,
    host_ports: bool,
    default_action: FailureAction,
    base: Option<&UpdatePolicy>,
) -> UpdatePolicy {
    // A window too large to store was refused where the health check is lowered (E0190); the
    // model still needs a value, so it saturates at the largest Swarm can store.
    let monitor_default = health.map_or(MIN_MONITOR_NS, |h| {
        h.monitor_window().unwrap_or(crate::units::MAX_UNITS)
    });
    let default_order = if host_ports {
        UpdateOrder::StopFirst
    } else {
        UpdateOrder::StartFirst
    };
    let mut p = UpdatePolicy {
        parallelism: 1,
        delay_ns: 0,
        order: base.map_or(default_order, |u| u.order),
        failure_action: default_action,
        monitor_ns: base.map_or(monitor_default, |u| u.monitor_ns),
        max_failure_ratio: 0.0,
    };
    let Some(b) = b else { return p };
    let body = &b.body;
    if let Some(v) = attr(body, "parallelism").and_then(|e| lw.int(e, 0, u64::MAX)) {
        p.parallelism = v;
    }
    if let Some(v) = attr(body, "delay").and_then(|e| lw.duration(e)) {
        p.delay_ns = v;
    }
    if let Some(v) = attr(body, "order").and_then(|e| lw.choice(e, &["start-first", "stop-first"]))
    {
        p.order = if v == "start-first" {
            UpdateOrder::StartFirst
        } else {
            UpdateOrder::StopFirst
        };
    }
    let actions: &'static [&'static str] = if base.is_some() {
        &["pause", "continue"]
    } else {
        &["rollback", "pause", "continue"]
    };
    if let Some(v) = attr(body, "failure_action").and_then(|e| lw.choice(e, actions)) {
        p.failure_action = match v {
            "rollback" => FailureAction::Rollback,
            "pause" => FailureAction::Pause,
            _ => FailureAction::Continue,
        };
    }
    if let Some(v) = attr(body, "monitor").and_then(|e| lw.duration(e)) {
        p.monitor_ns = v;
    }
    if let Some(v) = attr(body, "max_failure_ratio").and_then(|e| lw.float(e, 0.0, 1.0)) {
        p.max_failure_ratio = v;
    }
    p
}

fn restart(lw: &mut Lower, body: &Body) -> RestartPolicy {
    let condition =
        match attr(body, "condition").and_then(|e| lw.choice(e, &["any", "on-failure", "none"])) {
            Some("on-failure") => RestartCondition::OnFailure,
            Some("none") => RestartCondition::None,
            _ => RestartCondition::Any,
        };
    RestartPolicy {
        condition,
        delay_ns: attr(body, "delay")
            .and_then(|e| lw.duration(e))
            .unwrap_or(5_000_000_000),
        max_attempts: attr(body, "max_attempts").and_then(|e| lw.int(e, 0, u64::MAX)),
        window_ns: attr(body, "window").and_then(|e| lw.duration(e)),
    }
}

fn placement(lw: &mut Lower, body: &Body) -> Placement {
    let mut constraints = Vec::new();
    if let Some(e) = attr(body, "constraints") {
        for (c, span) in lw.str_list(e).unwrap_or_default() {
            if let Some(c) = rules::constraint(&c, span, lw.sink) {
                constraints.push(c);
            }
        }
    }
    constraints.sort();
    constraints.dedup();
    let spread = attr(body, "spread")
        .and_then(|e| lw.str_list(e))
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    Placement {
        constraints,
        spread,
        max_replicas_per_node: attr(body, "max_replicas_per_node")
            .and_then(|e| lw.int(e, 1, u64::MAX)),
    }
}

fn security(lw: &mut Lower, body: &Body) -> Security {
    let caps = |lw: &mut Lower, n: &str| {
        let mut out = Vec::new();
        if let Some(e) = attr(body, n) {
            for (c, span) in lw.str_list(e).unwrap_or_default() {
                if let Some(c) = rules::capability(&c, span, lw.sink) {
                    out.push(c);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    };
    let cap_drop = caps(lw, "cap_drop");
    let cap_add = caps(lw, "cap_add");
    Security {
        read_only: attr(body, "read_only")
            .and_then(|e| lw.bool(e))
            .unwrap_or(false),
        user: attr(body, "user").and_then(|e| lw.string(e)),
        cap_drop,
        cap_add,
    }
}

fn route(lw: &mut Lower, service: &str, b: &Block, cx: &Context) -> Option<Route> {
    let body = &b.body;
    let port = attr(body, "port").and_then(|e| lw.port(e));
    let primary = attr(body, "primary")
        .and_then(|e| lw.bool(e))
        .unwrap_or(false);
    let tls = attr(body, "tls")
        .and_then(|e| lw.bool(e))
        .unwrap_or(cx.platform.acme_email.is_some());
    let path = match attr(body, "path") {
        Some(e) => {
            let p = lw.string(e)?;
            if !rules::path_prefix(&p, e.span, lw.sink) {
                return None;
            }
            (p != "/").then_some(p)
        }
        None => None,
    };
    let host = match attr(body, "host") {
        Some(e) => {
            let h = lw.string(e)?.to_ascii_lowercase();
            if !rules::host(&h, e.span, lw.sink) {
                return None;
            }
            h
        }
        None => match &cx.domain {
            Some(domain) => naming::default_host(&lw.scope.stack, service, primary, domain),
            None if cx.domain_given => return None,
            None => {
                lw.sink.push(
                    Diagnostic::new(Code::NoPlatformDomain, b.kind.span, format!("route of service `{service}` has no host and there is no domain to derive one"))
                        .with_label("no `host`")
                        .with_help("set `host = \"...\"` here, `domain` in the project, or `domain` in the platform block"),
                );
                return None;
            }
        },
    };
    if !rules::host(&host, b.kind.span, lw.sink) {
        return None;
    }
    Some(Route {
        host,
        path,
        port: port?,
        tls,
        span: b.kind.span,
    })
}
