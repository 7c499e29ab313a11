//! Tests of the compiled resources (labels, isolation, Traefik labels, update defaults, secrets),
//! the dependency graph, the observed model, scopes, and saved plans.

mod support;

use berth_lang::model::{Environment, ServiceMode};
use berth_lang::Code;
use berth_planner::planfile::Stale;
use berth_planner::resource::{label, Spec};
use berth_planner::*;
use std::collections::BTreeSet;
use support::*;

/// Shop, then blog, as applied one after the other: shop holds edge slot 00, blog 01.
fn shop_and_blog() -> Desired {
    applied(&[shop(Environment::Production, None), blog()], 1)
}

fn service<'a>(desired: &'a Desired, address: &str) -> &'a docker::ServiceSpec {
    match &desired.get(&address.parse().unwrap()).unwrap().spec {
        Spec::Service(s) => s,
        _ => panic!("{address} is not a service"),
    }
}

#[test]
fn every_object_carries_berths_labels() {
    let desired = shop_and_blog();
    for r in desired.resources.values() {
        let l = r.spec.labels();
        assert_eq!(
            l.get(label::MANAGED).map(String::as_str),
            Some("true"),
            "{}",
            r.address
        );
        assert_eq!(l.get(label::ADDRESS), Some(&r.address.to_string()));
        assert_eq!(l.get(label::PROJECT), Some(&r.address.deployment.project));
        assert!(l.contains_key(label::STACK));
        assert!(l.contains_key(label::ENVIRONMENT));
    }
    let net = desired
        .get(&"berthfx-shop/production/network.default".parse().unwrap())
        .unwrap();
    assert_eq!(
        net.spec.labels().get("project.id").map(String::as_str),
        Some("berthfx-shop")
    );
    assert_eq!(
        net.spec
            .labels()
            .get("project.environment")
            .map(String::as_str),
        Some("production")
    );
}

#[test]
fn tenants_share_no_network_but_the_proxy_reaches_each_edge() {
    let desired = shop_and_blog();
    // Every network a service joins has at most one tenant, besides the proxy.
    let mut members: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (r, s) in desired.services() {
        for n in &s.task_template.networks {
            members
                .entry(n.target.clone())
                .or_default()
                .insert(r.address.deployment.to_string());
        }
    }
    for (network, deployments) in &members {
        let tenants: Vec<_> = deployments
            .iter()
            .filter(|d| *d != "platform/proxy")
            .collect();
        assert!(tenants.len() <= 1, "{network} is shared by {deployments:?}");
    }
    assert_eq!(
        members["platform_edge-00"],
        BTreeSet::from([
            "platform/proxy".to_string(),
            "berthfx-shop/production".into()
        ])
    );
    assert_eq!(
        members["platform_edge-01"],
        BTreeSet::from([
            "platform/proxy".to_string(),
            "berthfx-blog/production".into()
        ])
    );
    // The proxy joins every slot network, claimed or not, and nothing else.
    let proxy = service(&desired, "platform/proxy/service.traefik");
    let targets: Vec<&str> = proxy
        .task_template
        .networks
        .iter()
        .map(|n| n.target.as_str())
        .collect();
    assert_eq!(
        targets,
        [
            "platform_edge-00",
            "platform_edge-01",
            "platform_edge-02",
            "platform_edge-03"
        ]
    );
    // Only routed services join the slot network, without aliases.
    let db = service(&desired, "berthfx-shop/production/service.db");
    assert!(db
        .task_template
        .networks
        .iter()
        .all(|n| !n.target.starts_with("platform_")));
    let web = service(&desired, "berthfx-shop/production/service.web");
    let edge = web
        .task_template
        .networks
        .iter()
        .find(|n| n.target == "platform_edge-00")
        .unwrap();
    assert!(edge.aliases.is_empty());
}

#[test]
fn slot_networks_and_claims() {
    let desired = shop_and_blog();
    let net = desired
        .get(&"platform/proxy/network.edge-02".parse().unwrap())
        .unwrap();
    assert_eq!(net.name(), "platform_edge-02");
    assert_eq!(net.spec.labels()[label::EDGE_SLOT], "02");
    assert_eq!(net.spec.labels()[label::STACK], "platform");
    let claim = desired
        .get(&"berthfx-blog/production/config.edge-slot".parse().unwrap())
        .unwrap();
    let Spec::Config(c) = &claim.spec else {
        panic!()
    };
    assert_eq!(c.name, "platform_edge-01");
    assert_eq!(c.labels[label::EDGE_SLOT], "01");
    assert_eq!(c.labels[label::STACK], "berthfx-blog");
    assert_eq!(
        c.labels[label::ADDRESS],
        "berthfx-blog/production/config.edge-slot"
    );
    assert_eq!(
        units::base64_decode(c.data.as_deref().unwrap()).unwrap(),
        b"berthfx-blog/production"
    );
    // Routed services need the claim and the slot's network; unrouted ones neither.
    let web = desired
        .get(&"berthfx-blog/production/service.web".parse().unwrap())
        .unwrap();
    for dep in [
        "berthfx-blog/production/config.edge-slot",
        "platform/proxy/network.edge-01",
    ] {
        assert!(
            web.depends_on.contains(&dep.parse().unwrap()),
            "{dep} in {:?}",
            web.depends_on
        );
    }
    let db = desired
        .get(&"berthfx-shop/production/service.db".parse().unwrap())
        .unwrap();
    assert!(db
        .depends_on
        .iter()
        .all(|a| a.kind != Kind::Config && !a.deployment.is_platform()));
    // A deployment without routes claims nothing.
    let mut quiet = blog();
    quiet.services[0].routes.clear();
    let d = compile(std::slice::from_ref(&quiet), &platform(), &Digests::new()).unwrap();
    assert!(d
        .resources
        .keys()
        .all(|a| a.kind != Kind::Config || a.deployment.is_platform()));
    // Slot numbers have one width for all slots: three digits past 100 slots.
    let mut wide = platform();
    wide.proxy.edge_slots = 101;
    let d = compile(&[], &wide, &Digests::new()).unwrap();
    assert!(d
        .get(&"platform/proxy/network.edge-100".parse().unwrap())
        .is_some());
    assert_eq!(
        d.get(&"platform/proxy/network.edge-007".parse().unwrap())
            .unwrap()
            .name(),
        "platform_edge-007"
    );
}

#[test]
fn routed_services_get_traefik_labels() {
    let desired = shop_and_blog();
    let api = service(&desired, "berthfx-shop/production/service.api");
    let l = &api.labels;
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(l["traefik.swarm.network"], "platform_edge-00");
    assert_eq!(
        l["traefik.http.routers.berthfx-shop_api-0.rule"],
        "Host(`api-berthfx-shop.example.test`) && PathPrefix(`/v1`)"
    );
    assert_eq!(
        l["traefik.http.routers.berthfx-shop_api-0.entrypoints"],
        "websecure"
    );
    assert_eq!(
        l["traefik.http.routers.berthfx-shop_api-0.tls.certresolver"],
        "acme"
    );
    assert_eq!(
        l["traefik.http.services.berthfx-shop_api-0.loadbalancer.server.port"],
        "8080"
    );
    // Each router retries a request that a stopped task did not answer, on another task.
    assert_eq!(
        l["traefik.http.routers.berthfx-shop_api-0.middlewares"],
        "berthfx-shop_api-0-retry"
    );
    assert_eq!(
        l["traefik.http.middlewares.berthfx-shop_api-0-retry.retry.attempts"],
        "3"
    );
    assert_eq!(
        l["traefik.http.middlewares.berthfx-shop_api-0-retry.retry.initialinterval"],
        "100ms"
    );
    let blog = service(&desired, "berthfx-blog/production/service.web");
    assert_eq!(
        blog.labels["traefik.http.routers.berthfx-blog_web-0.entrypoints"],
        "web"
    );
    assert!(!blog
        .labels
        .contains_key("traefik.http.routers.berthfx-blog_web-0.tls"));
}

#[test]
fn the_proxy_is_configured_for_swarm() {
    let desired = shop_and_blog();
    let t = service(&desired, "platform/proxy/service.traefik");
    let args = &t.task_template.container_spec.args;
    for expected in [
        "--providers.swarm.exposedByDefault=false",
        "--providers.swarm.constraints=Label(`berth.managed`,`true`)",
        "--providers.swarm.refreshSeconds=2s",
        "--providers.providersThrottleDuration=200ms",
        "--serversTransport.forwardingTimeouts.dialTimeout=2s",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--certificatesresolvers.acme.acme.caServer=https://127.0.0.1:14000/dir",
        "--accesslog=true",
        "--metrics.prometheus=true",
        "--ping=true",
        // The proxy joins every tenant's edge network: its internal entrypoint (ping, and here
        // metrics) listens on the container's loopback only.
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "missing {expected} in {args:#?}"
        );
    }
    // Without a metrics port: no metrics entrypoint, no manual routing, no published port.
    assert!(
        !args
            .iter()
            .any(|a| a.contains("entrypoints.metrics") || a.contains("manualRouting")),
        "{args:#?}"
    );
    // Without the dashboard, Traefik's API does not exist at all.
    assert!(!args.iter().any(|a| a.starts_with("--api")), "{args:#?}");
    let sock = t
        .task_template
        .container_spec
        .mounts
        .iter()
        .find(|m| m.source == "/var/run/docker.sock")
        .unwrap();
    assert!(sock.read_only);
    let ports = &t.endpoint_spec.as_ref().unwrap().ports;
    assert!(ports.iter().all(|p| p.publish_mode == "host"));
    assert!(t
        .task_template
        .placement
        .as_ref()
        .unwrap()
        .constraints
        .contains(&"node.role == manager".to_string()));
}

#[test]
fn zero_downtime_update_defaults() {
    let desired = shop_and_blog();
    let web = service(&desired, "berthfx-shop/production/service.web");
    let u = web.update_config.as_ref().unwrap();
    assert_eq!(
        (u.order.as_str(), u.failure_action.as_str()),
        ("start-first", "rollback")
    );
    // Start period 10 s + interval 5 s x 3 retries.
    assert_eq!(u.monitor, 25_000_000_000);
    let r = web.rollback_config.as_ref().unwrap();
    assert_eq!(r.failure_action, "pause");
    let blog = service(&desired, "berthfx-blog/production/service.web");
    assert_eq!(blog.update_config.as_ref().unwrap().monitor, 5_000_000_000);
}

#[test]
fn secrets_are_named_by_content_and_never_carry_values() {
    let ds = [shop(Environment::Production, None)];
    let one = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let two = compile(&ds, &platform(), &digests(&ds, 2)).unwrap();
    let a: Address = "berthfx-shop/production/secret.db_password"
        .parse()
        .unwrap();
    assert_ne!(one.get(&a).unwrap().name(), two.get(&a).unwrap().name());
    assert!(one
        .get(&a)
        .unwrap()
        .name()
        .starts_with("berthfx-shop_db_password_"));
    let everything =
        serde_json::to_string(&one.resources.values().map(|r| &r.spec).collect::<Vec<_>>())
            .unwrap();
    assert!(!everything.contains("not-a-real-password"));
    let api = service(&one, "berthfx-shop/production/service.api");
    assert!(api
        .task_template
        .container_spec
        .env
        .contains(&"DB_PASSWORD_FILE=/run/secrets/db_password".to_string()));
}

#[test]
fn a_missing_digest_is_an_error() {
    let ds = [shop(Environment::Production, None)];
    let e = compile(&ds, &platform(), &Digests::new()).unwrap_err();
    assert!(matches!(e.0[0], PlanError::MissingDigest { .. }), "{e}");
}

#[test]
fn a_network_named_edge_and_a_config_named_edge_slot_are_reserved() {
    let mut d = shop(Environment::Production, None);
    d.networks.push(network("edge"));
    d.configs.push(berth_lang::model::ConfigFile {
        name: "edge-slot".into(),
        source: berth_lang::model::ConfigSource::Content("x".into()),
        span: span(),
    });
    let e = compile(
        std::slice::from_ref(&d),
        &platform(),
        &digests(&[d.clone()], 1),
    )
    .unwrap_err();
    assert!(matches!(
        e.0[0],
        PlanError::ReservedName {
            kind: Kind::Network,
            ..
        }
    ));
    assert_eq!(e.0[0].to_diagnostic().code, Code::ReservedName);
    assert!(matches!(
        e.0[1],
        PlanError::ReservedName {
            kind: Kind::Config,
            ..
        }
    ));
    assert_eq!(
        e.0[1].to_string(),
        "berthfx-shop/production declares a config named `edge-slot`, which berth reserves for its own config"
    );
}

#[test]
fn route_collisions_become_diagnostics() {
    let mut b = blog();
    b.services[0].routes[0].host = "berthfx-shop.example.test".into();
    let ds = [shop(Environment::Production, None), b];
    let e = compile(&ds, &platform(), &digests(&ds, 1)).unwrap_err();
    let d = e.0[0].to_diagnostic();
    assert_eq!(d.code, Code::DuplicateRoute);
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn the_graph_orders_dependencies_first_and_finds_cycles() {
    let desired = shop_and_blog();
    let order = DepGraph::build(&desired).create_order().unwrap();
    let pos = |a: &str| order.iter().position(|x| x.to_string() == a).unwrap();
    assert!(
        pos("berthfx-shop/production/network.backend") < pos("berthfx-shop/production/service.api")
    );
    assert!(pos("berthfx-shop/production/service.db") < pos("berthfx-shop/production/service.api"));
    assert!(
        pos("berthfx-shop/production/service.api") < pos("berthfx-shop/production/service.web")
    );
    assert!(pos("platform/proxy/network.edge-00") < pos("platform/proxy/service.traefik"));
    assert!(
        pos("berthfx-shop/production/config.edge-slot")
            < pos("berthfx-shop/production/service.web")
    );
    assert!(pos("platform/proxy/network.edge-00") < pos("berthfx-shop/production/service.web"));

    let dot = dot(&desired);
    assert!(dot.starts_with("digraph berth {"));
    assert!(dot.contains(
        "\"berthfx-shop/production/service.web\" -> \"berthfx-shop/production/service.api\";"
    ));
    assert!(dot.contains("subgraph \"cluster_platform/proxy\""));

    let mut d = shop(Environment::Production, None);
    d.services[2].depends_on.push("web".into());
    let desired = compile(
        std::slice::from_ref(&d),
        &platform(),
        &digests(&[d.clone()], 1),
    )
    .unwrap();
    let e = plan(&desired, &Observed::empty(), &PlanOptions::default()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("dependency cycle"), "{text}");
    assert!(
        text.contains("service.db") && text.contains("service.web"),
        "{text}"
    );
}

#[test]
fn the_observed_model_reads_docker() {
    let o = observed("shop");
    let web = o
        .resources
        .iter()
        .find(|r| r.address.to_string() == "berthfx-shop/production/service.web")
        .unwrap();
    let Spec::Service(s) = &web.spec else {
        panic!()
    };
    // Network IDs are mapped back to names.
    let targets: Vec<_> = s
        .task_template
        .networks
        .iter()
        .map(|n| n.target.as_str())
        .collect();
    assert_eq!(targets, ["berthfx-shop_default", "platform_edge-00"]);
    assert!(web.version.is_some());
    let nodes = o.nodes.as_ref().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].nano_cpus, 2_000_000_000);
    assert!(o.tasks.iter().all(|t| t.service.is_some()));
    assert!(o.unaddressed.is_empty());

    let err = Observed::from_docker(&DockerSnapshot {
        services: "{".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("GET /services"));
    // Objects without berth's label are not berth's.
    let foreign = r#"[{"Name":"other","Id":"x1","Driver":"overlay","Labels":{"team":"a"}}]"#;
    let o = Observed::from_docker(&DockerSnapshot {
        networks: foreign.into(),
        ..Default::default()
    })
    .unwrap();
    assert!(o.resources.is_empty());
}

#[test]
fn planning_one_environment_leaves_the_others_alone() {
    // The preview exists, but the configuration planned has only production: scoped to
    // production, the preview is not an orphan.
    let ds = [shop(Environment::Production, None)];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let scope = Scope::deployments([DeploymentId::new(
        "berthfx-shop",
        Environment::Production,
        None,
    )]);
    let p = plan(
        &desired,
        &observed("preview"),
        &PlanOptions {
            scope,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(p.is_empty(), "{}", render::human(&p, &Default::default()));
}

#[test]
fn destroy_can_keep_volumes() {
    let ds = [shop(Environment::Production, None)];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let scope = Scope::deployments([DeploymentId::new(
        "berthfx-shop",
        Environment::Preview,
        Some(7),
    )]);
    let options = PlanOptions {
        scope,
        keep_volumes: true,
        ..Default::default()
    };
    let p = plan(&desired, &observed("preview"), &options).unwrap();
    assert!(p.actionable().all(|c| c.address.kind != Kind::Volume));
    assert!(p.notes.iter().any(|n| n.contains("berthfx-shop-pr-7_data")));
}

#[test]
fn a_mode_change_replaces_the_service() {
    let mut d = shop(Environment::Production, None);
    d.services[0].mode = ServiceMode::Global;
    let desired = compile(
        std::slice::from_ref(&d),
        &platform(),
        &digests(&[d.clone()], 1),
    )
    .unwrap();
    let p = plan(&desired, &observed("shop"), &PlanOptions::default()).unwrap();
    let c = p.actionable().next().unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.replace_paths, vec![vec!["Mode".to_string()]]);
    assert_eq!(c.actions(), ["delete", "create"]);
}

#[test]
fn an_older_secret_generation_is_deleted() {
    let mut o = observed("shop");
    let old = o
        .resources
        .iter()
        .find(|r| r.address.kind == Kind::Secret)
        .unwrap()
        .clone();
    let mut stale = old.clone();
    if let Spec::Secret(s) = &mut stale.spec {
        s.name = "berthfx-shop_db_password_0000000000".into();
    }
    stale.id = "stale".into();
    o.resources.push(stale);
    let o = Observed::from_resources(o.resources);
    let ds = [shop(Environment::Production, None)];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let p = plan(&desired, &o, &PlanOptions::default()).unwrap();
    let changes: Vec<_> = p.actionable().collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].reason,
        Some(Reason::DeleteBecauseStaleGeneration)
    );
    assert_eq!(changes[0].observed.as_ref().unwrap().id, "stale");
}

#[test]
fn a_saved_plan_knows_when_it_is_stale() {
    let ds = [shop(Environment::Production, None)];
    let mut d = ds[0].clone();
    d.services[0].image = "berth/demo:2".into();
    let desired = compile(std::slice::from_ref(&d), &platform(), &digests(&ds, 1)).unwrap();
    let observed = observed("shop");
    let only = BTreeSet::from([DeploymentId::new(
        "berthfx-shop",
        Environment::Production,
        None,
    )]);
    let p = plan(
        &desired,
        &observed,
        &PlanOptions {
            scope: Scope::Only(only),
            ..Default::default()
        },
    )
    .unwrap();
    let file = PlanFile::new(p, "lineage-1", 4, &observed, "cfg");
    let back = PlanFile::from_json(&file.to_json()).unwrap();
    assert_eq!(back, file);
    assert_eq!(back.check_fresh("lineage-1", 4, &observed), Ok(()));
    assert!(matches!(
        back.check_fresh("lineage-1", 5, &observed),
        Err(Stale::Serial { .. })
    ));
    assert!(matches!(
        back.check_fresh("lineage-2", 4, &observed),
        Err(Stale::Lineage { .. })
    ));
    assert!(matches!(
        back.check_fresh("lineage-1", 4, &support::observed("drift")),
        Err(Stale::Observed { .. })
    ));
    // Objects outside the plan's scope changing (a preview and the proxy) do not make it stale.
    assert_eq!(
        back.check_fresh("lineage-1", 4, &support::observed("preview")),
        Ok(())
    );
    assert!(!file.to_json().contains("not-a-real-password"));
}

fn proxy_of(desired: &Desired) -> &docker::ServiceSpec {
    service(desired, "platform/proxy/service.traefik")
}

#[test]
fn the_proxy_trusts_the_acme_ca_through_a_content_named_config() {
    let p = tls_platform();
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let address: Address = "platform/proxy/config.acme-ca".parse().unwrap();
    let config = desired.get(&address).expect("the CA's config");
    let Spec::Config(c) = &config.spec else {
        panic!("{address} is not a config")
    };
    let digest = &c.labels[label::DIGEST];
    assert_eq!(c.name, format!("platform_acme-ca_{}", &digest[..10]));
    assert_eq!(
        c.data, None,
        "apply reads the file; the planner never sees it"
    );
    let proxy = proxy_of(&desired);
    let spec = &proxy.task_template.container_spec;
    assert!(spec
        .env
        .contains(&"LEGO_CA_CERTIFICATES=/etc/berth/acme-ca.pem".to_string()));
    let mounted = spec
        .configs
        .iter()
        .find(|r| r.config_name == c.name)
        .expect("mounted into the proxy");
    assert_eq!(mounted.file.name, "/etc/berth/acme-ca.pem");
    let proxy_resource = desired
        .get(&"platform/proxy/service.traefik".parse().unwrap())
        .unwrap();
    assert!(proxy_resource.depends_on.contains(&address));
    assert!(spec
        .args
        .contains(&"--certificatesresolvers.acme.acme.tlsChallenge=true".to_string()));
    assert!(!spec.args.iter().any(|a| a.contains("httpChallenge")));

    // Without the attribute: no config, no variable, and the HTTP challenge.
    let plain = compile(&[], &platform(), &Digests::new()).unwrap();
    assert!(plain.get(&address).is_none());
    let spec = &proxy_of(&plain).task_template.container_spec;
    assert!(spec.env.is_empty() && spec.configs.is_empty() && spec.secrets.is_empty());
    assert!(spec
        .args
        .contains(&"--certificatesresolvers.acme.acme.httpChallenge.entryPoint=web".to_string()));
}

#[test]
fn custom_certificates_are_proxy_only_secrets_listed_in_a_dynamic_file() {
    let p = tls_platform();
    let ds = [shop(Environment::Production, None)];
    let mut digests = digests(&ds, 1);
    digests.extend(platform_digests(&p));
    let desired = compile(&ds, &p, &digests).unwrap();
    let proxy = proxy_of(&desired);
    let spec = &proxy.task_template.container_spec;
    for name in ["shop", "billing"] {
        for (secret, file) in [
            (format!("tls-{name}-cert"), format!("tls-{name}-cert")),
            (format!("tls-{name}-key"), format!("tls-{name}-key")),
        ] {
            let address: Address = format!("platform/proxy/secret.{secret}").parse().unwrap();
            let r = desired.get(&address).expect("a secret per file");
            let digest = r.spec.labels()[label::DIGEST].clone();
            assert_eq!(
                digests[&address.to_string()],
                digest,
                "named by the digest the caller gave"
            );
            assert_eq!(r.name(), format!("platform_{secret}_{}", &digest[..10]));
            let mounted = spec
                .secrets
                .iter()
                .find(|s| s.secret_name == r.name())
                .expect("mounted into the proxy");
            assert_eq!(mounted.file.name, file);
            assert_eq!(mounted.file.mode, 0o444);
        }
    }
    // No tenant's service mounts a platform secret.
    for (r, s) in desired.services() {
        if !r.address.deployment.is_platform() {
            assert!(s
                .task_template
                .container_spec
                .secrets
                .iter()
                .all(|x| !x.secret_name.starts_with("platform_")));
        }
    }
    // The dynamic file lists the mounted paths, nothing more.
    let Spec::Config(file) = &desired
        .get(&"platform/proxy/config.tls".parse().unwrap())
        .unwrap()
        .spec
    else {
        panic!("not a config")
    };
    let text = String::from_utf8(
        berth_planner::units::base64_decode(file.data.as_deref().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(text.contains(
        "    - certFile: /run/secrets/tls-shop-cert\n      keyFile: /run/secrets/tls-shop-key\n"
    ));
    assert!(text.contains("keyFile: /run/secrets/tls-billing-key"));
    assert!(spec
        .configs
        .iter()
        .any(|c| c.config_name == file.name && c.file.name == "/etc/berth/tls.yml"));
    assert!(spec
        .args
        .contains(&"--providers.file.filename=/etc/berth/tls.yml".to_string()));
    // Plans, state and output hold digests, never the values the caller read.
    let everything = serde_json::to_string(
        &desired
            .resources
            .values()
            .map(|r| &r.spec)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!everything.contains("not-a-real-password"));
    // A missing digest of a platform file is an error naming it.
    let e = compile(&[], &p, &Digests::new()).unwrap_err();
    assert!(e.0.iter().any(|e| matches!(e, PlanError::MissingDigest { address } if address.to_string() == "platform/proxy/secret.tls-shop-key")), "{e}");
}

#[test]
fn the_dashboard_is_routed_on_the_proxy_behind_basic_authentication() {
    let p = tls_platform();
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    let l = &proxy.labels;
    let r = "traefik.http.routers.platform_dashboard";
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(
        l[&format!("{r}.rule")],
        "Host(`traefik.example.test`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"
    );
    assert_eq!(l[&format!("{r}.service")], "api@internal");
    assert_eq!(l[&format!("{r}.entrypoints")], "websecure");
    assert_eq!(l[&format!("{r}.tls.certresolver")], "acme");
    assert_eq!(l[&format!("{r}.middlewares")], "platform_dashboard-auth");
    assert_eq!(
        l["traefik.http.middlewares.platform_dashboard-auth.basicauth.usersfile"],
        "/run/secrets/dashboard-users"
    );
    let users = desired
        .get(&"platform/proxy/secret.dashboard-users".parse().unwrap())
        .expect("the users' secret");
    assert!(proxy
        .task_template
        .container_spec
        .secrets
        .iter()
        .any(|s| s.secret_name == users.name() && s.file.name == "dashboard-users"));
    assert!(proxy
        .task_template
        .container_spec
        .args
        .contains(&"--api.dashboard=true".to_string()));

    // Off: no router, no users' secret, even when users are given.
    let mut off = tls_platform();
    off.proxy.dashboard = false;
    let desired = compile(&[], &off, &platform_digests(&off)).unwrap();
    assert!(!proxy_of(&desired)
        .labels
        .keys()
        .any(|k| k.starts_with("traefik.")));
    assert!(desired
        .get(&"platform/proxy/secret.dashboard-users".parse().unwrap())
        .is_none());
}

#[test]
fn metrics_port_serves_prometheus_only_to_the_allowed_ranges() {
    let mut p = platform();
    p.proxy.metrics_port = Some(18082);
    p.proxy.metrics_allow = vec!["192.0.2.10/32".into(), "198.51.100.0/24".into()];
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    let args = &proxy.task_template.container_spec.args;
    for expected in [
        "--metrics.prometheus=true",
        "--metrics.prometheus.manualRouting=true",
        "--entrypoints.metrics.address=:8082",
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "missing {expected} in {args:#?}"
        );
    }
    let ports = &proxy.endpoint_spec.as_ref().unwrap().ports;
    let metrics = ports
        .iter()
        .find(|port| port.target_port == 8082)
        .expect("the metrics entrypoint is published");
    assert_eq!(
        (metrics.published_port, metrics.publish_mode.as_str()),
        (Some(18082), "host")
    );
    let l = &proxy.labels;
    let r = "traefik.http.routers.platform_metrics";
    assert_eq!(l["traefik.enable"], "true");
    assert_eq!(l[&format!("{r}.rule")], "Path(`/metrics`)");
    assert_eq!(l[&format!("{r}.service")], "prometheus@internal");
    assert_eq!(l[&format!("{r}.entrypoints")], "metrics");
    assert_eq!(l[&format!("{r}.middlewares")], "platform_metrics-allow");
    assert_eq!(
        l["traefik.http.middlewares.platform_metrics-allow.ipallowlist.sourcerange"],
        "192.0.2.10/32,198.51.100.0/24"
    );
    // The placeholder port the Swarm provider wants, on the network it reads the task's
    // address from; nothing is sent to it.
    assert_eq!(
        l["traefik.http.services.platform_metrics.loadbalancer.server.port"],
        "8080"
    );
    assert_eq!(l["traefik.swarm.network"], "platform_edge-00");

    // With the dashboard too, both routers share the dashboard's placeholder.
    let mut both = tls_platform();
    both.proxy.metrics_port = Some(18082);
    both.proxy.metrics_allow = vec!["192.0.2.10/32".into()];
    let desired = compile(&[], &both, &platform_digests(&both)).unwrap();
    let l = &proxy_of(&desired).labels;
    assert_eq!(
        l["traefik.http.routers.platform_metrics.service"],
        "prometheus@internal"
    );
    assert_eq!(
        l["traefik.http.routers.platform_dashboard.service"],
        "api@internal"
    );
    let placeholders: Vec<&String> = l
        .keys()
        .filter(|k| k.starts_with("traefik.http.services."))
        .collect();
    assert_eq!(
        placeholders,
        ["traefik.http.services.platform_dashboard.loadbalancer.server.port"]
    );

    // `metrics = false` wins over a port: no metrics anywhere, nothing published for them.
    p.proxy.metrics = false;
    let desired = compile(&[], &p, &platform_digests(&p)).unwrap();
    let proxy = proxy_of(&desired);
    assert!(!proxy
        .task_template
        .container_spec
        .args
        .iter()
        .any(|a| a.contains("metrics")));
    assert!(!proxy.labels.keys().any(|k| k.starts_with("traefik.")));
    assert_eq!(proxy.endpoint_spec.as_ref().unwrap().ports.len(), 2);
}

#[test]
fn route_urls_carry_a_port_that_is_not_the_schemes_default() {
    let desired = shop_and_blog();
    let mut proxy = platform().proxy;
    let urls = |proxy: &berth_lang::model::Proxy| {
        desired
            .deployments
            .values()
            .flat_map(|d| d.routes.iter().map(|r| r.url(proxy)))
            .collect::<BTreeSet<_>>()
    };
    let found = urls(&proxy);
    assert!(
        found.contains("https://api-berthfx-shop.example.test:18443/v1"),
        "{found:#?}"
    );
    assert!(
        found.contains("http://berthfx-blog.example.test:18080/"),
        "{found:#?}"
    );
    proxy.http_port = 80;
    proxy.https_port = 443;
    let found = urls(&proxy);
    assert!(
        found.contains("https://api-berthfx-shop.example.test/v1"),
        "{found:#?}"
    );
    assert!(
        found.contains("http://berthfx-blog.example.test/"),
        "{found:#?}"
    );
}
