//! Builders of checked-model values and the named scenarios shared by the tests and by the
//! fixture capture (`examples/capture.rs` includes this file), so that the deployments captured
//! from Docker are exactly the ones the tests plan against.
#![allow(dead_code)]

pub mod echo;

use berth_lang::model::*;
use berth_lang::{naming, Span};
use berth_planner::edge;
use berth_planner::{compile, Address, DeploymentId, Desired, Digests, Kind};
use berth_planner::{DockerSnapshot, Observed, ObservedResource};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the scenarios captured from the real engine are (`examples/capture.rs` writes them).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/observed")
}

/// A captured scenario as the engine's JSON.
pub fn snapshot_of(scenario: &str) -> DockerSnapshot {
    let dir = fixtures().join(scenario);
    let read = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    DockerSnapshot {
        services: read("services"),
        networks: read("networks"),
        volumes: read("volumes"),
        secrets: read("secrets"),
        configs: read("configs"),
        nodes: read("nodes"),
        tasks: read("tasks"),
    }
}

/// A captured scenario as observed state.
pub fn observed(scenario: &str) -> Observed {
    Observed::from_docker(&snapshot_of(scenario)).unwrap()
}

pub const DOMAIN: &str = "example.test";
const S: u64 = 1_000_000_000;
const MIB: u64 = 1 << 20;

pub fn span() -> Span {
    Span::default()
}

pub fn platform() -> Platform {
    Platform {
        domain: Some(DOMAIN.into()),
        acme_email: Some("ops@example.test".into()),
        acme_ca: Some("https://127.0.0.1:14000/dir".into()),
        acme_ca_certificate: None,
        acme_challenge: AcmeChallenge::Http,
        certificates: Vec::new(),
        address_pool: Some("10.208.0.0/12".into()),
        subnet_size: 22,
        advertise_address: "127.0.0.1".into(),
        proxy: Proxy {
            // No such image exists, so the captured proxy never binds a port.
            image: "berthfx/traefik:absent".into(),
            http_port: 18080,
            https_port: 18443,
            refresh_ns: 2 * S,
            dashboard: false,
            metrics: true,
            metrics_port: None,
            metrics_allow: Vec::new(),
            access_log: true,
            redirect_https: true,
            constraints: Vec::new(),
            // Few slots keep the fixtures and plans short; tests that need more set their own.
            edge_slots: 4,
            dashboard_host: None,
            dashboard_users: None,
        },
        grants: BTreeMap::new(),
        require_grants: false,
        admins: Vec::new(),
        span: None,
        source_spans: BTreeMap::new(),
    }
}

pub fn default_update() -> UpdatePolicy {
    UpdatePolicy {
        parallelism: 1,
        delay_ns: 0,
        order: UpdateOrder::StartFirst,
        failure_action: FailureAction::Rollback,
        monitor_ns: 0,
        max_failure_ratio: 0.0,
    }
}

pub fn default_rollback() -> UpdatePolicy {
    UpdatePolicy {
        failure_action: FailureAction::Pause,
        ..default_update()
    }
}

pub fn service(name: &str, image: &str) -> Service {
    Service {
        name: name.into(),
        image: image.into(),
        mode: ServiceMode::Replicated { replicas: 1 },
        command: None,
        args: None,
        workdir: None,
        env: BTreeMap::new(),
        publish: Vec::new(),
        resources: Resources::default(),
        mounts: Vec::new(),
        health: None,
        update: default_update(),
        rollback: default_rollback(),
        restart: RestartPolicy {
            condition: RestartCondition::Any,
            delay_ns: 5 * S,
            max_attempts: None,
            window_ns: None,
        },
        placement: Placement::default(),
        routes: Vec::new(),
        depends_on: Vec::new(),
        labels: BTreeMap::new(),
        security: Security::default(),
        endpoint_mode: EndpointMode::Vip,
        networks: Vec::new(),
        stop_grace_period_ns: None,
        canary: None,
        span: span(),
    }
}

pub fn deployment(project: &str, environment: Environment, pr: Option<u64>) -> Deployment {
    Deployment {
        project: project.into(),
        environment,
        pr,
        stack: naming::stack(project, environment, pr),
        domain: Some(DOMAIN.into()),
        quota: Quota::default(),
        grant: None,
        access: Access::default(),
        services: Vec::new(),
        volumes: Vec::new(),
        secrets: Vec::new(),
        configs: Vec::new(),
        networks: Vec::new(),
        span: span(),
    }
}

pub fn route(host: &str, port: u16, tls: bool) -> Route {
    Route {
        host: host.into(),
        path: None,
        port,
        tls,
        span: span(),
    }
}

pub fn health() -> Health {
    Health {
        test: vec![
            "CMD".into(),
            "/bin/busybox".into(),
            "wget".into(),
            "-q".into(),
            "-O-".into(),
            "http://127.0.0.1:8080/healthz".into(),
        ],
        interval_ns: 5 * S,
        timeout_ns: 2 * S,
        retries: 3,
        start_period_ns: 10 * S,
    }
}

pub fn network(name: &str) -> Network {
    Network {
        name: name.into(),
        internal: false,
        encrypted: false,
        attachable: false,
        shared_with: Vec::new(),
        span: span(),
    }
}

/// The shop project: a routed web front end with a health check, a secret and a config; an
/// api on a second route and an internal network; a database with a volume.
pub fn shop(environment: Environment, pr: Option<u64>) -> Deployment {
    let project = "berthfx-shop";
    let mut d = deployment(project, environment, pr);
    let stack = d.stack.clone();
    d.quota = Quota {
        cpu: Some(2 * S),
        memory: Some(1024 * MIB),
        limit_cpu: Some(4 * S),
        limit_memory: Some(2048 * MIB),
        storage: Some(5 * 1024 * MIB),
        replicas: Some(10),
        previews: None,
        span: None,
    };
    d.networks.push(Network {
        internal: true,
        ..network("backend")
    });
    d.volumes.push(Volume {
        name: "data".into(),
        size: Some(1024 * MIB),
        driver: "local".into(),
        driver_opts: BTreeMap::new(),
        labels: BTreeMap::from([("backup".to_string(), "daily".to_string())]),
        span: span(),
    });
    d.secrets.push(Secret {
        name: "db_password".into(),
        source: SecretSource::Env("SHOP_DB_PASSWORD".into()),
        span: span(),
        source_span: span(),
    });
    d.configs.push(ConfigFile {
        name: "app".into(),
        source: ConfigSource::Content("listen = 8080\ngreeting = hello\nlog_level = info\n".into()),
        span: span(),
        source_span: span(),
    });

    let mut web = service("web", "berth/demo:1");
    web.mode = ServiceMode::Replicated { replicas: 2 };
    web.args = Some(vec!["--listen".into(), "0.0.0.0:8080".into()]);
    web.env
        .insert("GREETING".into(), EnvValue::Plain("hello".into()));
    web.env
        .insert("APP_ENV".into(), EnvValue::Plain(environment.to_string()));
    web.resources = Resources {
        limits: ResourceSet {
            nano_cpus: Some(S / 2),
            memory_bytes: Some(128 * MIB),
            pids: Some(100),
        },
        reservations: ResourceSet {
            nano_cpus: Some(S / 10),
            memory_bytes: Some(64 * MIB),
            pids: None,
        },
        ..Resources::default()
    };
    web.health = Some(health());
    web.routes.push(route(
        &naming::default_host(&stack, "web", true, DOMAIN),
        8080,
        true,
    ));
    web.mounts.push(Mount {
        source: MountSource::Tmpfs,
        target: "/tmp".into(),
        read_only: false,
        tmpfs_size: Some(16 * MIB),
    });
    web.mounts.push(Mount {
        source: MountSource::Config("app".into()),
        target: "/etc/demo/app.conf".into(),
        read_only: true,
        tmpfs_size: None,
    });
    web.security = Security {
        read_only: true,
        user: Some("1000:1000".into()),
        cap_drop: vec!["ALL".into()],
        cap_add: Vec::new(),
    };
    web.labels.insert("team".into(), "storefront".into());
    web.depends_on.push("api".into());

    let mut api = service("api", "berth/demo:1");
    let mut api_route = route(
        &naming::default_host(&stack, "api", false, DOMAIN),
        8080,
        true,
    );
    api_route.path = Some("/v1".into());
    api.routes.push(api_route);
    api.env.insert(
        "DB_HOST".into(),
        EnvValue::Plain(naming::object(&stack, "db")),
    );
    api.env.insert(
        "DB_PASSWORD_FILE".into(),
        EnvValue::SecretFile {
            secret: "db_password".into(),
            path: naming::secret_path("db_password"),
        },
    );
    api.networks.push(NetworkRef::Own {
        name: "backend".into(),
    });
    api.resources.reservations = ResourceSet {
        nano_cpus: Some(S / 10),
        memory_bytes: Some(64 * MIB),
        pids: None,
    };
    api.resources.limits = ResourceSet {
        nano_cpus: Some(S / 2),
        memory_bytes: Some(128 * MIB),
        pids: None,
    };
    api.placement.constraints.push("node.role==manager".into());
    api.depends_on.push("db".into());

    let mut db = service("db", "berth/busybox:1");
    db.command = Some(vec!["/bin/busybox".into(), "sleep".into(), "86400".into()]);
    db.env.insert(
        "PASSWORD_FILE".into(),
        EnvValue::SecretFile {
            secret: "db_password".into(),
            path: naming::secret_path("db_password"),
        },
    );
    db.mounts.push(Mount {
        source: MountSource::Volume("data".into()),
        target: "/data".into(),
        read_only: false,
        tmpfs_size: None,
    });
    db.networks.push(NetworkRef::Own {
        name: "backend".into(),
    });
    db.endpoint_mode = EndpointMode::Dnsrr;
    db.stop_grace_period_ns = Some(30 * S);
    db.restart = RestartPolicy {
        condition: RestartCondition::OnFailure,
        delay_ns: 2 * S,
        max_attempts: Some(5),
        window_ns: Some(60 * S),
    };
    db.resources.reservations = ResourceSet {
        nano_cpus: Some(S / 4),
        memory_bytes: Some(256 * MIB),
        pids: None,
    };

    d.services = vec![web, api, db];
    d
}

/// A second tenant, with one routed service.
pub fn blog() -> Deployment {
    let mut d = deployment("berthfx-blog", Environment::Production, None);
    let mut web = service("web", "berth/demo:1");
    web.routes.push(route(
        &naming::default_host("berthfx-blog", "web", true, DOMAIN),
        8080,
        false,
    ));
    d.services.push(web);
    d
}

/// The deployments of a captured scenario.
pub fn scenario(name: &str) -> Vec<Deployment> {
    match name {
        "empty" => Vec::new(),
        "shop" | "drift" => vec![shop(Environment::Production, None)],
        "preview" => vec![
            shop(Environment::Production, None),
            shop(Environment::Preview, Some(7)),
        ],
        // Two tenants running side by side: what a project's plan is checked against.
        "tenants" => vec![shop(Environment::Production, None), blog()],
        other => panic!("unknown scenario {other}"),
    }
}

pub const SCENARIOS: &[&str] = &["empty", "shop", "drift", "preview", "tenants"];

/// The (test-only) value of a secret: what the capture creates and the digest tests pass.
pub fn secret_value(address: &Address, generation: u32) -> String {
    format!("not-a-real-password-{generation}-for-{address}")
}

/// Digests of every secret of these deployments, at a generation (a rotation bumps it).
pub fn digests(deployments: &[Deployment], generation: u32) -> Digests {
    let mut out = Digests::new();
    for d in deployments {
        let id = DeploymentId::new(&d.project, d.environment, d.pr);
        for s in &d.secrets {
            let address = id.address(Kind::Secret, &s.name);
            out.insert(
                address.to_string(),
                berth_planner::units::sha256_hex(secret_value(&address, generation).as_bytes()),
            );
        }
    }
    out
}

/// The deployments compiled as successive applies leave them: each deployment, in the order
/// given, gets the lowest edge slot the earlier ones left free. The capture creates exactly
/// these specs, so tests see the slots the fixtures hold.
pub fn applied(deployments: &[Deployment], generation: u32) -> Desired {
    let platform = platform();
    let digests = digests(deployments, generation);
    let mut claims: Vec<ObservedResource> = Vec::new();
    for i in 0..deployments.len() {
        let desired = compile(&deployments[..=i], &platform, &digests).unwrap();
        let resolved = edge::resolve(&desired, &Observed::from_resources(claims.clone())).unwrap();
        let d = &deployments[i];
        let claim = edge::claim_address(&DeploymentId::new(&d.project, d.environment, d.pr));
        if let Some(r) = resolved.get(&claim) {
            claims.push(ObservedResource {
                address: claim,
                id: format!("claim-{i}"),
                version: None,
                spec: r.spec.clone(),
            });
        }
    }
    let desired = compile(deployments, &platform, &digests).unwrap();
    edge::resolve(&desired, &Observed::from_resources(claims)).unwrap()
}

/// The platform with every TLS feature: a trusted ACME test CA, the TLS-ALPN challenge, two
/// custom certificates (keys from a file and from the environment) and the dashboard.
pub fn tls_platform() -> Platform {
    let mut p = platform();
    p.acme_ca_certificate = Some("certs/pebble-ca.pem".into());
    p.acme_challenge = AcmeChallenge::Tls;
    p.certificates = vec![
        Certificate {
            name: "shop".into(),
            cert: "certs/shop.pem".into(),
            key: SecretSource::File("certs/shop.key".into()),
            span: span(),
        },
        Certificate {
            name: "billing".into(),
            cert: "certs/billing.pem".into(),
            key: SecretSource::Env("BILLING_TLS_KEY".into()),
            span: span(),
        },
    ];
    p.proxy.dashboard = true;
    p.proxy.dashboard_host = Some(format!("traefik.{DOMAIN}"));
    p.proxy.dashboard_users = Some(SecretSource::File("dashboard.htpasswd".into()));
    p
}

/// Digests of the platform's files and variables, as the caller computes them: from values the
/// tests make up per address.
pub fn platform_digests(platform: &Platform) -> Digests {
    berth_planner::platform_sources(platform)
        .into_iter()
        .map(|s| {
            let digest = berth_planner::units::sha256_hex(secret_value(&s.address, 1).as_bytes());
            (s.address.to_string(), digest)
        })
        .collect()
}

/// What runs once `deployments` were applied, as observed: each desired object with an id and
/// version 1.
pub fn running(deployments: &[Deployment]) -> berth_planner::Observed {
    let desired = applied(deployments, 1);
    berth_planner::Observed::from_resources(
        desired
            .resources
            .values()
            .map(|r| berth_planner::ObservedResource {
                address: r.address.clone(),
                id: format!("id-{}", r.address),
                version: Some(1),
                spec: r.spec.clone(),
            })
            .collect(),
    )
}
