//! Tests of the compiled deployments (labels, isolation, edge slots, Traefik labels, update
//! defaults, secrets, reserved names), the dependency graph, the observed model, scopes, and saved
//! plans. The compiled platform is `proxy.rs`'s.

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
        source_span: span(),
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
