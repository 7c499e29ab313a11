//! The property behind "a second apply plans nothing": for any valid deployment, planning it
//! against the observed form of itself (its compiled specs, with the edge slot a first plan
//! assigns, as Docker reports them, through the same JSON the planner reads from the Engine)
//! gives no changes.

mod support;

use berth_lang::model::*;
use berth_planner::{compile, plan, DeploymentId, Digests, Kind, Observed, PlanOptions, Scope};
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::BTreeMap;
use support::*;

const S: u64 = 1_000_000_000;

fn image() -> impl Strategy<Value = String> {
    select(vec![
        "berth/demo:1",
        "berth/demo:2",
        "nginx",
        "docker.io/library/redis:7",
        "registry.local:5000/team/app:v1.2.3",
        "berth/busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ])
    .prop_map(String::from)
}

fn policy() -> impl Strategy<Value = UpdatePolicy> {
    (
        0u64..4,
        select(vec![0, S, 5 * S]),
        prop::bool::ANY,
        select(vec![
            FailureAction::Rollback,
            FailureAction::Pause,
            FailureAction::Continue,
        ]),
        select(vec![0, 3 * S, 60 * S]),
        select(vec![0.0, 0.1, 0.5]),
    )
        .prop_map(
            |(parallelism, delay_ns, start, failure_action, monitor_ns, max_failure_ratio)| {
                UpdatePolicy {
                    parallelism,
                    delay_ns,
                    order: if start {
                        UpdateOrder::StartFirst
                    } else {
                        UpdateOrder::StopFirst
                    },
                    failure_action,
                    monitor_ns,
                    max_failure_ratio,
                }
            },
        )
}

fn resource_set() -> impl Strategy<Value = ResourceSet> {
    (
        prop::option::of(select(vec![S / 10, S / 2, 2 * S])),
        prop::option::of(select(vec![32u64 << 20, 256 << 20])),
        prop::option::of(select(vec![64u64, 512])),
    )
        .prop_map(|(nano_cpus, memory_bytes, pids)| ResourceSet {
            nano_cpus,
            memory_bytes,
            pids,
        })
}

/// What one service may use of its deployment.
#[derive(Debug, Clone)]
struct Names {
    networks: Vec<String>,
    volumes: Vec<String>,
    secrets: Vec<String>,
    configs: Vec<String>,
}

fn service_strategy(index: usize, names: Names) -> impl Strategy<Value = Service> {
    let env = prop::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", "[a-z0-9 =:/.-]{0,12}", 0..5);
    let secret_env = prop::option::of(0..names.secrets.len().max(1));
    (
        (
            image(),
            prop::option::of(1u64..5),
            env,
            secret_env,
            prop::option::of(prop::collection::vec("[a-z-]{1,6}", 1..3)),
        ),
        (
            resource_set(),
            resource_set(),
            prop::bool::ANY,
            policy(),
            policy(),
        ),
        (
            prop::collection::vec(0u8..4, 0..4),
            prop::option::of(0u8..3),
            prop::bool::ANY,
            prop::bool::ANY,
        ),
        (
            prop::collection::vec(
                select(vec![
                    "node.role==manager",
                    "node.labels.zone != b",
                    "node.platform.os == linux",
                ]),
                0..3,
            ),
            prop::option::of(select(vec![
                RestartCondition::Any,
                RestartCondition::OnFailure,
                RestartCondition::None,
            ])),
            prop::option::of(select(vec![10 * S, 30 * S])),
            prop::collection::vec(0..names.networks.len().max(1), 0..3),
        ),
    )
        .prop_map(
            move |(
                (image, replicas, env, secret_env, args),
                (limits, mut reservations, dnsrr, update, rollback),
                (mounts, route, health, secure),
                (constraints, restart, grace, nets),
            )| {
                let name = format!("svc{index}");
                let mut s = service(&name, &image);
                s.mode = match replicas {
                    Some(r) => ServiceMode::Replicated { replicas: r },
                    None => ServiceMode::Global,
                };
                s.args = args;
                s.env = env
                    .into_iter()
                    .map(|(k, v)| (k, EnvValue::Plain(v)))
                    .collect();
                if let (Some(i), Some(secret)) =
                    (secret_env, names.secrets.get(secret_env.unwrap_or(0)))
                {
                    let _ = i;
                    s.env.insert(
                        "SECRET_FILE".into(),
                        EnvValue::SecretFile {
                            secret: secret.clone(),
                            path: berth_lang::naming::secret_path(secret),
                        },
                    );
                }
                reservations.pids = None;
                s.resources = Resources {
                    limits,
                    reservations,
                    ..Resources::default()
                };
                s.endpoint_mode = if dnsrr {
                    EndpointMode::Dnsrr
                } else {
                    EndpointMode::Vip
                };
                s.update = update;
                s.rollback = rollback;
                for (i, m) in mounts.into_iter().enumerate() {
                    let target = format!("/mnt/m{i}");
                    let source = match m {
                        0 if !names.volumes.is_empty() => {
                            MountSource::Volume(names.volumes[i % names.volumes.len()].clone())
                        }
                        1 if !names.secrets.is_empty() => {
                            MountSource::Secret(names.secrets[i % names.secrets.len()].clone())
                        }
                        2 if !names.configs.is_empty() => {
                            MountSource::Config(names.configs[i % names.configs.len()].clone())
                        }
                        _ => MountSource::Tmpfs,
                    };
                    let tmpfs_size = matches!(source, MountSource::Tmpfs).then_some(8 << 20);
                    s.mounts.push(Mount {
                        source,
                        target,
                        read_only: i % 2 == 0,
                        tmpfs_size,
                    });
                }
                if let Some(n) = route {
                    let mut r =
                        route_to(&format!("{name}-{n}.fx.example.test"), 8080 + u16::from(n));
                    r.tls = n != 0;
                    if n == 2 {
                        r.path = Some("/api".into());
                    }
                    s.routes.push(r);
                }
                if health {
                    s.health = Some(support::health());
                }
                if secure {
                    s.security = Security {
                        read_only: true,
                        user: Some("1000".into()),
                        cap_drop: vec!["ALL".into()],
                        cap_add: vec!["NET_BIND_SERVICE".into()],
                    };
                }
                s.placement.constraints = constraints.into_iter().map(String::from).collect();
                s.placement.constraints.sort();
                s.placement.constraints.dedup();
                if let Some(condition) = restart {
                    s.restart = RestartPolicy {
                        condition,
                        delay_ns: S,
                        max_attempts: Some(3),
                        window_ns: Some(30 * S),
                    };
                }
                s.stop_grace_period_ns = grace;
                let mut own: Vec<NetworkRef> = nets
                    .into_iter()
                    .filter_map(|i| names.networks.get(i))
                    .map(|n| NetworkRef::Own { name: n.clone() })
                    .collect();
                own.sort();
                own.dedup();
                s.networks = own;
                s
            },
        )
}

fn route_to(host: &str, port: u16) -> Route {
    support::route(host, port, false)
}

fn deployment_strategy() -> impl Strategy<Value = Deployment> {
    (
        select(vec![
            Environment::Production,
            Environment::Staging,
            Environment::Preview,
            Environment::Development,
        ]),
        1u64..500,
        prop::collection::vec((prop::bool::ANY, prop::bool::ANY, prop::bool::ANY), 0..3),
        prop::collection::vec((prop::option::of(1u64..100), prop::bool::ANY), 0..3),
        0usize..3,
        prop::collection::vec(prop::option::of("[a-z =\n]{0,40}"), 0..3),
    )
        .prop_flat_map(|(env, pr, nets, vols, secrets, configs)| {
            let mut d = deployment("fx", env, (env == Environment::Preview).then_some(pr));
            d.networks = nets
                .iter()
                .enumerate()
                .map(|(i, &(internal, encrypted, attachable))| Network {
                    internal,
                    encrypted,
                    attachable,
                    ..support::network(&format!("net{i}"))
                })
                .collect();
            d.volumes = vols
                .iter()
                .enumerate()
                .map(|(i, &(size, opts))| Volume {
                    name: format!("vol{i}"),
                    size: size.map(|g| g << 30),
                    driver: "local".into(),
                    driver_opts: if opts {
                        BTreeMap::from([
                            ("type".to_string(), "tmpfs".to_string()),
                            ("device".to_string(), "tmpfs".to_string()),
                        ])
                    } else {
                        BTreeMap::new()
                    },
                    labels: BTreeMap::from([("tier".to_string(), format!("t{i}"))]),
                    span: span(),
                })
                .collect();
            d.secrets = (0..secrets)
                .map(|i| Secret {
                    name: format!("sec{i}"),
                    source: SecretSource::Env(format!("S{i}")),
                    span: span(),
                    source_span: span(),
                })
                .collect();
            d.configs = configs
                .iter()
                .enumerate()
                .map(|(i, c)| ConfigFile {
                    name: format!("cfg{i}"),
                    source: match c {
                        Some(text) => ConfigSource::Content(text.clone()),
                        None => ConfigSource::File(format!("cfg{i}.txt")),
                    },
                    span: span(),
                    source_span: span(),
                })
                .collect();
            let names = Names {
                networks: d.networks.iter().map(|n| n.name.clone()).collect(),
                volumes: d.volumes.iter().map(|v| v.name.clone()).collect(),
                secrets: d.secrets.iter().map(|s| s.name.clone()).collect(),
                configs: d.configs.iter().map(|c| c.name.clone()).collect(),
            };
            let services: Vec<_> = (0..4).map(|i| service_strategy(i, names.clone())).collect();
            (Just(d), services, 1usize..=4, any::<u64>())
        })
        .prop_map(|(mut d, services, count, seed)| {
            d.services = services.into_iter().take(count).collect();
            // A service may depend on earlier ones only, so there is no cycle.
            for i in 1..d.services.len() {
                if (seed >> i) & 1 == 1 {
                    let dep = d.services[i - 1].name.clone();
                    d.services[i].depends_on.push(dep);
                }
            }
            d
        })
}

fn file_digests(d: &Deployment) -> Digests {
    let id = DeploymentId::new(&d.project, d.environment, d.pr);
    let mut out = Digests::new();
    for s in &d.secrets {
        let a = id.address(Kind::Secret, &s.name);
        out.insert(
            a.to_string(),
            berth_planner::units::sha256_hex(a.to_string().as_bytes()),
        );
    }
    for c in &d.configs {
        let a = id.address(Kind::Config, &c.name);
        out.insert(
            a.to_string(),
            berth_planner::units::sha256_hex(b"from a file\n"),
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_deployment_planned_against_itself_changes_nothing(d in deployment_strategy(), seed in any::<u64>()) {
        let desired = compile(std::slice::from_ref(&d), &platform(), &file_digests(&d)).unwrap();
        // What the first apply creates: the slot the plan from nothing assigns.
        let applied = berth_planner::edge::resolve(&desired, &Observed::empty()).unwrap();
        let snapshot = echo::snapshot(&applied, seed);
        let observed = Observed::from_docker(&snapshot).unwrap();
        let p = plan(&desired, &observed, &PlanOptions::default()).unwrap();
        let text = berth_planner::render::human(&p, &Default::default());
        prop_assert!(p.is_empty(), "{}", text);
        // And the same observed model read back from recorded resources (the state file).
        let recorded = Observed::from_resources(observed.resources.clone());
        let again = plan(&desired, &recorded, &PlanOptions::default()).unwrap();
        prop_assert!(again.is_empty());
        // And the project alone, as `--project/--env` plans it (without the platform).
        let id = DeploymentId::new(&d.project, d.environment, d.pr);
        let options = PlanOptions { scope: Scope::deployments([id]), ..PlanOptions::default() };
        let alone = plan(&desired, &observed, &options).unwrap();
        prop_assert!(alone.is_empty());
        prop_assert!(alone.changes.iter().all(|c| !c.address.deployment.is_platform()));
    }
}

/// A platform with a metrics port (a third published port, the metrics router's labels),
/// planned against its own observed form, changes nothing.
#[test]
fn a_platform_with_a_metrics_port_planned_against_itself_changes_nothing() {
    let mut p = platform();
    p.proxy.metrics_port = Some(18082);
    p.proxy.metrics_allow = vec!["192.0.2.10/32".into(), "198.51.100.0/24".into()];
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let applied = berth_planner::edge::resolve(&desired, &Observed::empty()).unwrap();
    for seed in 0..16 {
        let observed = Observed::from_docker(&echo::snapshot(&applied, seed)).unwrap();
        let p = plan(&desired, &observed, &PlanOptions::default()).unwrap();
        assert!(
            p.is_empty(),
            "{}",
            berth_planner::render::human(&p, &Default::default())
        );
    }
}

/// The platform with a trusted ACME CA, custom certificates and the dashboard, planned against
/// its own observed form, changes nothing either (secrets and configs mounted into the proxy,
/// its environment and its labels normalise like a tenant's).
#[test]
fn a_tls_platform_planned_against_itself_changes_nothing() {
    let p = tls_platform();
    let d = shop(Environment::Production, None);
    let mut all = digests(std::slice::from_ref(&d), 1);
    all.extend(platform_digests(&p));
    let desired = compile(std::slice::from_ref(&d), &p, &all).unwrap();
    let applied = berth_planner::edge::resolve(&desired, &Observed::empty()).unwrap();
    for seed in 0..16 {
        let observed = Observed::from_docker(&echo::snapshot(&applied, seed)).unwrap();
        let p = plan(&desired, &observed, &PlanOptions::default()).unwrap();
        assert!(
            p.is_empty(),
            "{}",
            berth_planner::render::human(&p, &Default::default())
        );
    }
}
