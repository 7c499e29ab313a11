//! Lowering of a `service` block and its `resources`: everything of a service but its health
//! check and policies (`health.rs`), placement and security (`placement.rs`) and routes
//! (`route.rs`).

use super::*;

pub(super) fn service(lw: &mut Lower, label: &Name, body: &Body, cx: &Context) -> Option<Service> {
    lw.scope.take_service_refs();
    let name = label.text.clone();
    let image = attr(body, "image").and_then(|e| {
        let img = lw.string(e)?;
        rules::image(&img, e.span, lw.sink).then_some(img)
    });
    let global =
        attr(body, "mode").and_then(|e| lw.choice(e, &["replicated", "global"])) == Some("global");
    let replicas_expr = attr(body, "replicas");
    let replicas = replicas_expr.and_then(|e| lw.int_in(e, declared("service", "replicas")));
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
            replicas: replicas.unwrap_or_else(|| default_int("service", "replicas")),
        }
    };
    let command = strings(lw, body, "command");
    let args = strings(lw, body, "args");
    let workdir = attr(body, "workdir").and_then(|e| lw.string(e));

    let mut mounts = Vec::new();
    let env = env_map(lw, body, &mut mounts);
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
    let restart = match block(body, "restart") {
        Some(r) => restart(lw, &r.body),
        None => restart(lw, &Body::default()),
    };
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
    let written_routes = blocks(body, "route").count();
    let canary =
        block(body, "canary").and_then(|b| canary(lw, &name, global, &routes, written_routes, b));

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
        canary,
        span: label.span,
    })
}

/// A block's `env`: text values, and secret references as the secret file's path (whose mount
/// is added to `mounts`).
pub(super) fn env_map(
    lw: &mut Lower,
    body: &Body,
    mounts: &mut Vec<Mount>,
) -> BTreeMap<String, EnvValue> {
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
    env
}

pub(super) fn resources(lw: &mut Lower, service: &str, b: &Block) -> Resources {
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
        out.limits.pids =
            attr(&l.body, "pids").and_then(|e| lw.int_in(e, declared("limits", "pids")));
    }
    if let Some(r) = block(&b.body, "reservations") {
        if let Some(e) = attr(&r.body, "cpu") {
            out.reservations.nano_cpus = lw.cpu(e);
            out.reservation_spans.cpu = Some(e.span);
            spans.insert("reservation cpu", e.span);
        }
        if let Some(e) = attr(&r.body, "memory") {
            out.reservations.memory_bytes = lw.size(e);
            out.reservation_spans.memory = Some(e.span);
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
