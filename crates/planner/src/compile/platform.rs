//! The platform's objects (`platform/proxy`): the Traefik proxy, its edge slot networks, and
//! with ACME its certificate volume and the CA it trusts, the custom certificates and the
//! dashboard's users, with the sources the caller reads for their digests.

use super::*;

/// Where the proxy keeps its ACME account and certificates.
pub(super) const ACME_DIR: &str = "/acme";

/// Where the proxy's configs are mounted (the CA its ACME client trusts, the dynamic TLS file).
pub(super) const PROXY_CONFIG_DIR: &str = "/etc/berth";

/// The platform's config holding `acme_ca_certificate`, mounted for the ACME client.
pub const ACME_CA_CONFIG: &str = "acme-ca";

/// The platform's config holding Traefik's dynamic file that lists the custom certificates.
pub const TLS_CONFIG: &str = "tls";

/// The platform's secret holding the dashboard's users (htpasswd lines).
pub const DASHBOARD_USERS_SECRET: &str = "dashboard-users";

/// The router, middleware and (placeholder) service of the dashboard on the proxy's labels.
pub const DASHBOARD_ROUTER: &str = "platform_dashboard";

/// The router of Prometheus metrics on the metrics entrypoint, and its allow-list middleware
/// (`platform_metrics-allow`), on the proxy's labels.
pub const METRICS_ROUTER: &str = "platform_metrics";

/// The proxy's entrypoint that serves metrics when the platform gives a `metrics_port`.
pub const METRICS_ENTRYPOINT: &str = "metrics";

/// The container port of the metrics entrypoint; `metrics_port` is published to it.
pub const METRICS_TARGET_PORT: u16 = 8082;

/// The address of Traefik's internal `traefik` entrypoint (ping, and metrics without a
/// `metrics_port`): the container's loopback, since the proxy joins every tenant's edge network.
pub const INTERNAL_ENTRYPOINT_ADDRESS: &str = "127.0.0.1:8080";

/// The proxy's secret of a custom certificate's chain and of its key.
pub fn certificate_secret(name: &str) -> String {
    format!("tls-{name}-cert")
}
pub fn key_secret(name: &str) -> String {
    format!("tls-{name}-key")
}

/// How long Traefik waits after a provider's change before it applies the new configuration
/// (its default, 2 s, would add to every discovery and every removal of a stopped task).
pub const PROVIDERS_THROTTLE: &str = "200ms";

/// How long the proxy waits for a backend's TCP handshake. Traefik's default is 30 s: a task
/// that vanished (crashed, killed) before the proxy's next poll takes its address with it, and
/// a connection to that address is neither accepted nor refused. Failing the dial sooner lets
/// the retry middleware send the request to another task while the client still waits.
pub const DIAL_TIMEOUT: &str = "2s";

/// Where the bytes of a platform secret or config come from. The caller reads them and passes
/// their digests in [`Digests`] under the address; the planner never sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSource {
    pub address: Address,
    pub source: model::SecretSource,
}

/// The platform's secrets and configs read from files or the environment: the CA the ACME
/// client trusts, each custom certificate's chain and key, and the dashboard's users.
pub fn platform_sources(platform: &Platform) -> Vec<PlatformSource> {
    let id = DeploymentId::platform();
    let mut out = Vec::new();
    if let Some(path) = &platform.acme_ca_certificate {
        out.push(PlatformSource {
            address: id.address(Kind::Config, ACME_CA_CONFIG),
            source: model::SecretSource::File(path.clone()),
        });
    }
    for c in &platform.certificates {
        out.push(PlatformSource {
            address: id.address(Kind::Secret, &certificate_secret(&c.name)),
            source: model::SecretSource::File(c.cert.clone()),
        });
        out.push(PlatformSource {
            address: id.address(Kind::Secret, &key_secret(&c.name)),
            source: c.key.clone(),
        });
    }
    if let (true, Some(users)) = (platform.proxy.dashboard, &platform.proxy.dashboard_users) {
        out.push(PlatformSource {
            address: id.address(Kind::Secret, DASHBOARD_USERS_SECRET),
            source: users.clone(),
        });
    }
    out
}

/// Traefik's dynamic configuration (the file provider's file) listing the custom certificates
/// as the proxy sees them mounted. Paths only: the key material stays in the secrets.
pub fn tls_file(certificates: &[model::Certificate]) -> String {
    let mut out = String::from(
        "# Written by berth: the platform's certificates. Traefik picks one by SNI.\ntls:\n  certificates:\n",
    );
    for c in certificates {
        out.push_str(&format!(
            "    - certFile: /run/secrets/{}\n      keyFile: /run/secrets/{}\n",
            certificate_secret(&c.name),
            key_secret(&c.name)
        ));
    }
    out
}

/// The platform's secrets and configs, mounted into the proxy only.
pub(super) struct ProxyMounts {
    pub(super) secrets: Vec<SecretReference>,
    pub(super) configs: Vec<ConfigReference>,
}

/// A platform secret or config named by content, with its digest label.
pub(super) fn platform_object(
    kind: Kind,
    name: &str,
    digest: &str,
    data: Option<String>,
    span: Option<Span>,
) -> Resource {
    let address = DeploymentId::platform().address(kind, name);
    let mut labels = berth_labels(&address, PLATFORM_STACK);
    labels.insert(label::DIGEST.into(), digest.to_string());
    let name = content_name(PLATFORM_STACK, name, digest);
    let spec = match kind {
        Kind::Secret => Spec::Secret(SecretSpec { name, labels }),
        _ => Spec::Config(ConfigSpec { name, labels, data }),
    };
    Resource {
        address,
        spec,
        depends_on: Vec::new(),
        span,
    }
}

/// The proxy's TLS and dashboard objects: the ACME CA's config, each certificate's secrets
/// and the dynamic file listing them, and the dashboard's users.
pub(super) fn proxy_tls_objects(
    platform: &Platform,
    digests: &Digests,
    errors: &mut Vec<PlanError>,
    out: &mut Vec<Resource>,
    deps: &mut BTreeSet<Address>,
) -> ProxyMounts {
    let mut mounts = ProxyMounts {
        secrets: Vec::new(),
        configs: Vec::new(),
    };
    let digest =
        |address: &Address, errors: &mut Vec<PlanError>| match digests.get(&address.to_string()) {
            Some(d) => Some(d.to_ascii_lowercase()),
            None => {
                errors.push(PlanError::MissingDigest {
                    address: address.clone(),
                });
                None
            }
        };
    for source in platform_sources(platform) {
        let Some(d) = digest(&source.address, errors) else {
            continue;
        };
        let r = platform_object(
            source.address.kind,
            &source.address.name,
            &d,
            None,
            platform.span,
        );
        let name = r.name().to_string();
        match source.address.kind {
            Kind::Config => mounts.configs.push(ConfigReference {
                file: file_target(&format!("{PROXY_CONFIG_DIR}/{}.pem", source.address.name)),
                config_id: String::new(),
                config_name: name,
            }),
            _ => mounts.secrets.push(SecretReference {
                file: file_target(&source.address.name),
                secret_id: String::new(),
                secret_name: name,
            }),
        }
        deps.insert(r.address.clone());
        out.push(r);
    }
    if !platform.certificates.is_empty() {
        let text = tls_file(&platform.certificates);
        let r = platform_object(
            Kind::Config,
            TLS_CONFIG,
            &units::sha256_hex(text.as_bytes()),
            Some(units::base64_encode(text.as_bytes())),
            platform.span,
        );
        mounts.configs.push(ConfigReference {
            file: file_target(&format!("{PROXY_CONFIG_DIR}/{TLS_CONFIG}.yml")),
            config_id: String::new(),
            config_name: r.name().to_string(),
        });
        deps.insert(r.address.clone());
        out.push(r);
    }
    mounts.secrets.sort();
    mounts.configs.sort();
    mounts
}

/// The routers on the proxy's own labels, to Traefik's internal services. The dashboard:
/// `api@internal` at the dashboard's host, over HTTPS only, behind basic authentication with the
/// users file the proxy mounts. Metrics, with a `metrics_port`: `prometheus@internal` at
/// `/metrics` on the metrics entrypoint only, behind an allow list of `metrics_allow`.
pub(super) fn internal_labels(platform: &Platform, first_slot: Option<&str>) -> Labels {
    let mut labels = Labels::new();
    let proxy = &platform.proxy;
    // The Swarm provider wants a port for every service it sees on a task, even one whose only
    // routers go to internal services; nothing is ever sent to it. It is named after the first
    // router.
    let mut placeholder = None;
    if let (true, Some(host), Some(_)) = (
        proxy.dashboard,
        &proxy.dashboard_host,
        &proxy.dashboard_users,
    ) {
        let r = format!("traefik.http.routers.{DASHBOARD_ROUTER}");
        let auth = format!("{DASHBOARD_ROUTER}-auth");
        labels.insert(
            format!("{r}.rule"),
            format!("Host(`{host}`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"),
        );
        labels.insert(format!("{r}.service"), "api@internal".into());
        labels.insert(format!("{r}.entrypoints"), "websecure".into());
        labels.insert(format!("{r}.tls"), "true".into());
        if platform.acme_email.is_some() {
            labels.insert(format!("{r}.tls.certresolver"), CERT_RESOLVER.into());
        }
        labels.insert(format!("{r}.middlewares"), auth.clone());
        labels.insert(
            format!("traefik.http.middlewares.{auth}.basicauth.usersfile"),
            format!("/run/secrets/{DASHBOARD_USERS_SECRET}"),
        );
        placeholder.get_or_insert(DASHBOARD_ROUTER);
    }
    if let (true, Some(_), false) = (
        proxy.metrics,
        proxy.metrics_port,
        proxy.metrics_allow.is_empty(),
    ) {
        let r = format!("traefik.http.routers.{METRICS_ROUTER}");
        let allow = format!("{METRICS_ROUTER}-allow");
        labels.insert(format!("{r}.rule"), "Path(`/metrics`)".into());
        labels.insert(format!("{r}.service"), "prometheus@internal".into());
        labels.insert(format!("{r}.entrypoints"), METRICS_ENTRYPOINT.into());
        labels.insert(format!("{r}.middlewares"), allow.clone());
        labels.insert(
            format!("traefik.http.middlewares.{allow}.ipallowlist.sourcerange"),
            proxy.metrics_allow.join(","),
        );
        placeholder.get_or_insert(METRICS_ROUTER);
    }
    let Some(placeholder) = placeholder else {
        return labels;
    };
    labels.insert("traefik.enable".into(), "true".into());
    labels.insert(
        format!("traefik.http.services.{placeholder}.loadbalancer.server.port"),
        "8080".into(),
    );
    if let Some(slot) = first_slot {
        labels.insert(label::TRAEFIK_NETWORK.into(), slot.to_string());
    }
    labels
}

/// The platform's objects: the Traefik proxy, its edge slot networks (`platform_edge-00`, ...),
/// with ACME its certificate volume (and the CA it trusts), the custom certificates and the
/// dashboard's users. The proxy joins exactly the slot networks, always: its spec does not
/// depend on which projects exist, so onboarding one never restarts it.
pub fn platform_resources(
    platform: &Platform,
    digests: &Digests,
    errors: &mut Vec<PlanError>,
) -> Vec<Resource> {
    let id = DeploymentId::platform();
    let mut out = Vec::new();
    let mut deps = BTreeSet::new();
    let count = platform.proxy.edge_slots;
    let mut networks = Vec::with_capacity(count as usize);
    for slot in 0..count {
        let text = slot::slot_text(slot, count);
        let address = network_address(&text);
        let mut labels = berth_labels(&address, PLATFORM_STACK);
        slot::slot_labels(&mut labels, &text);
        let spec = NetworkSpec {
            name: slot::network_name(&text),
            driver: "overlay".into(),
            internal: false,
            attachable: false,
            ipam: None,
            options: Labels::new(),
            labels,
        };
        networks.push(NetworkAttachment {
            target: spec.name.clone(),
            aliases: Vec::new(),
        });
        deps.insert(address.clone());
        out.push(Resource {
            address,
            spec: Spec::Network(spec),
            depends_on: Vec::new(),
            span: platform.span,
        });
    }
    networks.sort();
    let acme = platform.acme_email.is_some();
    let address = id.address(Kind::Volume, "acme");
    let acme_volume = VolumeSpec {
        name: naming::object(PLATFORM_STACK, "acme"),
        driver: "local".into(),
        driver_opts: Labels::new(),
        labels: berth_labels(&address, PLATFORM_STACK),
    };
    if acme {
        deps.insert(address.clone());
        out.push(Resource {
            address,
            spec: Spec::Volume(acme_volume.clone()),
            depends_on: Vec::new(),
            span: platform.span,
        });
    }
    let proxy = &platform.proxy;
    let address = id.address(Kind::Service, "traefik");
    let redirect = acme && proxy.redirect_https;
    let mut args = vec![
        // Whatever the image's entrypoint says, the proxy does not call home.
        "--global.checkNewVersion=false".to_string(),
        "--global.sendAnonymousUsage=false".into(),
        "--providers.swarm=true".into(),
        "--providers.swarm.endpoint=unix:///var/run/docker.sock".into(),
        "--providers.swarm.exposedByDefault=false".into(),
        format!(
            "--providers.swarm.constraints=Label(`{}`,`true`)",
            label::MANAGED
        ),
        format!(
            "--providers.swarm.refreshSeconds={}",
            units::duration(proxy.refresh_ns)
        ),
        format!("--providers.providersThrottleDuration={PROVIDERS_THROTTLE}"),
        format!("--serversTransport.forwardingTimeouts.dialTimeout={DIAL_TIMEOUT}"),
        "--entrypoints.web.address=:80".into(),
        "--entrypoints.websecure.address=:443".into(),
        // Traefik's internal entrypoint (ping; metrics without a metrics port) answers only
        // inside the proxy's container: the proxy joins every tenant's edge network, and on
        // Traefik's default `:8080` each tenant could read every tenant's metrics.
        format!("--entrypoints.traefik.address={INTERNAL_ENTRYPOINT_ADDRESS}"),
    ];
    if redirect {
        args.push("--entrypoints.web.http.redirections.entrypoint.to=websecure".into());
        args.push("--entrypoints.web.http.redirections.entrypoint.scheme=https".into());
    }
    if let Some(email) = &platform.acme_email {
        let r = format!("--certificatesresolvers.{CERT_RESOLVER}.acme");
        args.push(format!("{r}.email={email}"));
        args.push(format!("{r}.storage={ACME_DIR}/acme.json"));
        if let Some(ca) = &platform.acme_ca {
            args.push(format!("{r}.caServer={ca}"));
        }
        match platform.acme_challenge {
            model::AcmeChallenge::Http => args.push(format!("{r}.httpChallenge.entryPoint=web")),
            model::AcmeChallenge::Tls => args.push(format!("{r}.tlsChallenge=true")),
        }
    }
    let tls_mounts = proxy_tls_objects(platform, digests, errors, &mut out, &mut deps);
    if !platform.certificates.is_empty() {
        args.push(format!(
            "--providers.file.filename={PROXY_CONFIG_DIR}/{TLS_CONFIG}.yml"
        ));
    }
    let mut env = Vec::new();
    if platform.acme_ca_certificate.is_some() {
        // lego, Traefik's ACME client, trusts the CAs listed here (besides none: the image has
        // no system roots) when it talks to the CA server.
        env.push(format!(
            "LEGO_CA_CERTIFICATES={PROXY_CONFIG_DIR}/{ACME_CA_CONFIG}.pem"
        ));
    }
    if proxy.access_log {
        args.push("--accesslog=true".into());
    }
    let metrics_port = proxy.metrics_port.filter(|_| proxy.metrics);
    if proxy.metrics {
        args.push("--metrics.prometheus=true".into());
        if metrics_port.is_some() {
            // Served only by the router of the proxy's labels (`internal_labels`), which
            // allows `metrics_allow` alone.
            args.push(format!(
                "--entrypoints.{METRICS_ENTRYPOINT}.address=:{METRICS_TARGET_PORT}"
            ));
            args.push("--metrics.prometheus.manualRouting=true".into());
        }
    }
    if proxy.dashboard {
        // Without this flag Traefik's API (and `api@internal`) does not exist at all.
        args.push("--api.dashboard=true".into());
    }
    args.push("--ping=true".into());

    let mut mounts = vec![Mount {
        kind: "bind".into(),
        source: "/var/run/docker.sock".into(),
        target: "/var/run/docker.sock".into(),
        read_only: true,
        tmpfs_options: None,
        volume_options: None,
    }];
    if acme {
        mounts.push(volume_mount(&acme_volume, ACME_DIR, false));
    }
    let mut constraints: Vec<String> = proxy
        .constraints
        .iter()
        .map(|c| crate::normalize::constraint(c))
        .collect();
    constraints.push("node.role == manager".into());
    constraints.sort();
    constraints.dedup();
    let mut container_labels = Labels::new();
    container_labels.insert(label::STACK.into(), PLATFORM_STACK.into());
    let mut labels = berth_labels(&address, PLATFORM_STACK);
    labels.extend(internal_labels(
        platform,
        networks.first().map(|n| n.target.as_str()),
    ));
    let spec = ServiceSpec {
        name: naming::object(PLATFORM_STACK, "traefik"),
        labels,
        task_template: TaskSpec {
            container_spec: ContainerSpec {
                image: proxy.image.clone(),
                labels: container_labels,
                args,
                env,
                mounts,
                secrets: tls_mounts.secrets,
                configs: tls_mounts.configs,
                ..ContainerSpec::default()
            },
            resources: None,
            restart_policy: Some(RestartPolicy {
                condition: defaults::RESTART_CONDITION.into(),
                delay: Some(defaults::RESTART_DELAY_NS),
                max_attempts: Some(defaults::RESTART_MAX_ATTEMPTS),
                window: Some(defaults::RESTART_WINDOW_NS),
            }),
            placement: Some(Placement {
                constraints,
                ..Placement::default()
            }),
            networks,
        },
        mode: ServiceMode {
            replicated: Some(Replicated { replicas: Some(1) }),
            global: None,
            replicated_job: None,
        },
        // The proxy publishes its ports on the host, so a second task cannot start beside the
        // first: it updates stop-first.
        update_config: Some(UpdateConfig {
            parallelism: 1,
            delay: 0,
            failure_action: "rollback".into(),
            monitor: defaults::MONITOR_NS,
            max_failure_ratio: 0.0,
            order: "stop-first".into(),
        }),
        rollback_config: Some(UpdateConfig {
            parallelism: 1,
            delay: 0,
            failure_action: "pause".into(),
            monitor: defaults::MONITOR_NS,
            max_failure_ratio: 0.0,
            order: "stop-first".into(),
        }),
        endpoint_spec: Some(EndpointSpec {
            mode: "dnsrr".into(),
            ports: vec![
                PortConfig {
                    protocol: "tcp".into(),
                    target_port: 80,
                    published_port: Some(proxy.http_port),
                    publish_mode: "host".into(),
                },
                PortConfig {
                    protocol: "tcp".into(),
                    target_port: 443,
                    published_port: Some(proxy.https_port),
                    publish_mode: "host".into(),
                },
            ]
            .into_iter()
            .chain(metrics_port.map(|port| PortConfig {
                protocol: "tcp".into(),
                target_port: METRICS_TARGET_PORT,
                published_port: Some(port),
                publish_mode: "host".into(),
            }))
            .collect(),
        }),
    };
    out.push(Resource {
        address,
        spec: Spec::Service(Box::new(spec)),
        depends_on: deps.into_iter().collect(),
        span: platform.span,
    });
    out
}
