//! Edge slots: which slot each routed deployment gets, that the proxy never changes when
//! projects come and go, and what happens when slots run out, routes go, or the platform is
//! missing. Planned against the captured fixtures (`shop`: berthfx-shop production holds slot
//! 00 of 4) and against observed states built from them.

mod support;

use berth_lang::model::{Deployment, Environment};
use berth_planner::edge::{self, free_slots, rewrite_slot};
use berth_planner::resource::{label, Spec};
use berth_planner::*;
use std::collections::BTreeSet;
use support::*;

fn id(d: &Deployment) -> DeploymentId {
    DeploymentId::new(&d.project, d.environment, d.pr)
}

fn shop_prod() -> Deployment {
    shop(Environment::Production, None)
}

/// A routed tenant named `berthfx-<name>`.
fn tenant(name: &str) -> Deployment {
    let mut d = blog();
    d.project = format!("berthfx-{name}");
    d.stack = d.project.clone();
    d.services[0].routes[0].host = format!("{name}.example.test");
    d
}

fn plan_of(
    deployments: &[Deployment],
    observed: &Observed,
    scope: Scope,
) -> Result<Plan, PlanErrors> {
    let desired = compile(deployments, &platform(), &digests(deployments, 1))?;
    plan(
        &desired,
        observed,
        &PlanOptions {
            scope,
            ..Default::default()
        },
    )
}

fn change<'a>(p: &'a Plan, address: &str) -> &'a Change {
    p.changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change at {address}"))
}

fn service_after<'a>(p: &'a Plan, address: &str) -> &'a docker::ServiceSpec {
    match change(p, address).after.as_ref().unwrap() {
        Spec::Service(s) => s,
        _ => panic!("{address} is not a service"),
    }
}

fn claim_name(p: &Plan, d: &DeploymentId) -> String {
    change(p, &edge::claim_address(d).to_string())
        .name()
        .to_string()
}

fn human(p: &Plan) -> String {
    render::human(p, &Default::default())
}

/// The observed state with extra claims, as if other deployments held these slots.
fn with_claims(observed: &Observed, claims: &[(&str, u32)]) -> Observed {
    let mut resources = observed.resources.clone();
    for (project, slot) in claims {
        let d = DeploymentId::new(project, Environment::Production, None);
        let address = edge::claim_address(&d);
        let text = edge::slot_text(*slot, 4);
        let mut labels = berth_planner::resource::berth_labels(&address, project);
        labels.insert(label::EDGE_SLOT.into(), text.clone());
        resources.push(ObservedResource {
            address,
            id: format!("claim-{project}"),
            version: Some(1),
            spec: Spec::Config(docker::ConfigSpec {
                name: edge::network_name(&text),
                labels,
                data: Some(units::base64_encode(d.to_string().as_bytes())),
            }),
        });
    }
    let mut o = Observed::from_resources(resources);
    o.nodes = observed.nodes.clone();
    o.tasks = observed.tasks.clone();
    o
}

#[test]
fn a_new_deployment_gets_the_lowest_free_slot() {
    // Shop holds 00: blog gets 01, planned alone, without the platform.
    let b = blog();
    let p = plan_of(
        std::slice::from_ref(&b),
        &observed("shop"),
        Scope::deployments([id(&b)]),
    )
    .unwrap();
    assert_eq!(claim_name(&p, &id(&b)), "platform_edge-01");
    let claim = change(&p, "berthfx-blog/production/config.edge-slot");
    assert_eq!(claim.action, Action::Create);
    assert_eq!(
        claim.after.as_ref().unwrap().labels()[label::EDGE_SLOT],
        "01"
    );
    let web = service_after(&p, "berthfx-blog/production/service.web");
    assert!(web
        .task_template
        .networks
        .iter()
        .any(|n| n.target == "platform_edge-01" && n.aliases.is_empty()));
    assert_eq!(web.labels["traefik.swarm.network"], "platform_edge-01");
    let deps: Vec<String> = change(&p, "berthfx-blog/production/service.web")
        .depends_on
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(deps.contains(&"berthfx-blog/production/config.edge-slot".to_string()));
    assert!(deps.contains(&"platform/proxy/network.edge-01".to_string()));
    // Nothing of the platform is in the plan; the placeholder appears nowhere.
    assert!(p
        .changes
        .iter()
        .all(|c| !c.address.deployment.is_platform()));
    let json = render::json(&p, &Default::default());
    assert!(!json.contains(edge::UNASSIGNED), "{json}");
    let text = human(&p);
    assert!(
        text.contains("# (claims edge slot 01 for berthfx-blog/production)"),
        "{text}"
    );
    assert!(
        text.contains("resource \"config\" \"platform_edge-01\""),
        "{text}"
    );

    // With 01 and 03 held by others, the lowest free slot is 02.
    let observed = with_claims(&observed("shop"), &[("berthfx-a", 1), ("berthfx-c", 3)]);
    let p = plan_of(
        std::slice::from_ref(&b),
        &observed,
        Scope::deployments([id(&b)]),
    )
    .unwrap();
    assert_eq!(claim_name(&p, &id(&b)), "platform_edge-02");
    assert_eq!(
        free_slots(&observed),
        ["platform_edge-02".to_string()],
        "the free slots apply can move to"
    );
    assert_eq!(
        free_slots(&support::observed("shop")),
        ["platform_edge-01", "platform_edge-02", "platform_edge-03"]
    );
}

#[test]
fn an_existing_claim_keeps_its_slot() {
    // Shop holds 00 in the fixture; a new tenant sorting before it does not take it.
    let a = tenant("aaa");
    let p = plan_of(&[a.clone(), shop_prod()], &observed("shop"), Scope::Desired).unwrap();
    assert_eq!(claim_name(&p, &id(&shop_prod())), "platform_edge-00");
    assert_eq!(claim_name(&p, &id(&a)), "platform_edge-01");
    assert!(p
        .changes
        .iter()
        .filter(|c| c.address.deployment == id(&shop_prod()))
        .all(|c| c.action == Action::NoOp));

    // A claim on another slot (as apply leaves it when it had to move) is kept too, and the
    // deployment's services stay on that slot's network.
    let moved = moved_claim(&observed("shop"), "platform_edge-00", "platform_edge-02");
    let p = plan_of(&[shop_prod()], &moved, Scope::Desired).unwrap();
    assert!(p.is_empty(), "{}", human(&p));
    assert_eq!(claim_name(&p, &id(&shop_prod())), "platform_edge-02");
}

#[test]
fn a_claim_deleted_by_hand_is_created_again_on_the_same_slot() {
    let mut o = observed("shop");
    o.resources.retain(|r| !edge::is_claim(&r.address));
    let p = plan_of(
        std::slice::from_ref(&shop_prod()),
        &o,
        Scope::deployments([id(&shop_prod())]),
    )
    .unwrap();
    let changes: Vec<_> = p
        .actionable()
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        changes,
        [(
            "berthfx-shop/production/config.edge-slot".to_string(),
            Action::Create
        )]
    );
    assert_eq!(claim_name(&p, &id(&shop_prod())), "platform_edge-00");
    // Meanwhile nobody else gets that slot: its network is still in use.
    let b = blog();
    let p = plan_of(std::slice::from_ref(&b), &o, Scope::deployments([id(&b)])).unwrap();
    assert_eq!(claim_name(&p, &id(&b)), "platform_edge-01");
}

/// The observed state after apply moved shop's claim and services from one slot to another
/// with [`rewrite_slot`].
fn moved_claim(observed: &Observed, from: &str, to: &str) -> Observed {
    let shop = id(&shop_prod());
    let mut resources = observed.resources.clone();
    for r in &mut resources {
        if r.address.deployment == shop {
            rewrite_slot(&mut r.spec, from, to);
        }
    }
    let mut o = Observed::from_resources(resources);
    o.nodes = observed.nodes.clone();
    o
}

#[test]
fn apply_can_move_a_planned_slot() {
    // Blog was planned on 01, but a concurrent apply claimed 01 first: apply rewrites blog's
    // changes to the next free slot, and the specs it sends are consistent.
    let b = blog();
    let mut p = plan_of(
        std::slice::from_ref(&b),
        &observed("shop"),
        Scope::deployments([id(&b)]),
    )
    .unwrap();
    for c in &mut p.changes {
        if let Some(spec) = &mut c.after {
            rewrite_slot(spec, "platform_edge-01", "platform_edge-02");
        }
        edge::rewrite_slot_dependencies(&mut c.depends_on, "platform_edge-01", "platform_edge-02");
    }
    let claim = change(&p, "berthfx-blog/production/config.edge-slot")
        .after
        .as_ref()
        .unwrap();
    assert_eq!(claim.name(), "platform_edge-02");
    assert_eq!(claim.labels()[label::EDGE_SLOT], "02");
    let web = service_after(&p, "berthfx-blog/production/service.web");
    assert_eq!(web.labels["traefik.swarm.network"], "platform_edge-02");
    assert!(web
        .task_template
        .networks
        .iter()
        .any(|n| n.target == "platform_edge-02"));
    assert!(change(&p, "berthfx-blog/production/service.web")
        .depends_on
        .contains(&edge::network_address("02")));
    assert!(!render::json(&p, &Default::default()).contains("platform_edge-01"));
}

#[test]
fn two_new_deployments_in_one_plan_get_different_slots() {
    let (a, b) = (tenant("one"), tenant("two"));
    let p = plan_of(
        &[a.clone(), b.clone()],
        &observed("shop"),
        Scope::deployments([id(&a), id(&b)]),
    )
    .unwrap();
    assert_eq!(claim_name(&p, &id(&a)), "platform_edge-01");
    assert_eq!(claim_name(&p, &id(&b)), "platform_edge-02");
    // From nothing, with the platform: 00 and 01, and the proxy joins all four slots.
    let p = plan_of(&[a.clone(), b.clone()], &observed("empty"), Scope::Desired).unwrap();
    assert_eq!(claim_name(&p, &id(&a)), "platform_edge-00");
    assert_eq!(claim_name(&p, &id(&b)), "platform_edge-01");
    let proxy = service_after(&p, "platform/proxy/service.traefik");
    assert_eq!(proxy.task_template.networks.len(), 4);
}

#[test]
fn when_every_slot_is_claimed_planning_fails() {
    let observed = with_claims(&observed("shop"), &[("berthfx-a", 1), ("berthfx-b", 2)]);
    let (c, d) = (tenant("ccc"), tenant("ddd"));
    // One slot is left: the first new deployment gets it, the second fails.
    let e = plan_of(
        &[c.clone(), d.clone()],
        &observed,
        Scope::deployments([id(&c), id(&d)]),
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(
        matches!(&e.0[0], PlanError::EdgeSlotsExhausted { deployment, count: 4 } if *deployment == id(&d)),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "error[E0221]: berthfx-ddd/production needs an edge slot, but all 4 edge slots are claimed; raise `platform.proxy.edge_slots` (this restarts the proxy once)"
    );
    // A deployment that holds a slot still plans.
    let p = plan_of(
        &[shop_prod()],
        &observed,
        Scope::deployments([id(&shop_prod())]),
    )
    .unwrap();
    assert!(p.is_empty());
}

#[test]
fn removing_the_routes_deletes_the_claim() {
    let mut d = shop_prod();
    for s in &mut d.services {
        s.routes.clear();
    }
    let p = plan_of(
        std::slice::from_ref(&d),
        &observed("shop"),
        Scope::deployments([id(&d)]),
    )
    .unwrap();
    let claim = change(&p, "berthfx-shop/production/config.edge-slot");
    assert_eq!(claim.action, Action::Delete);
    assert_eq!(claim.reason, Some(Reason::DeleteBecauseNoResourceConfig));
    assert_eq!(claim.name(), "platform_edge-00");
    // The slot is released only once the services have left its network.
    let deps: Vec<String> = claim.depends_on.iter().map(ToString::to_string).collect();
    assert_eq!(
        deps,
        [
            "berthfx-shop/production/service.api",
            "berthfx-shop/production/service.web"
        ]
    );
    let web = service_after(&p, "berthfx-shop/production/service.web");
    assert!(web
        .task_template
        .networks
        .iter()
        .all(|n| !n.target.starts_with("platform_")));
    assert!(!web.labels.contains_key("traefik.swarm.network"));
    // The slot network stays: the platform owns it.
    assert!(p.actionable().all(|c| c.address.kind != Kind::Network));
    assert!(
        human(&p).contains("# (releases edge slot 00 of berthfx-shop/production)"),
        "{}",
        human(&p)
    );
}

#[test]
fn destroying_a_deployment_deletes_its_claim() {
    let shop = id(&shop_prod());
    let p = plan(
        &Desired::default(),
        &observed("shop"),
        &PlanOptions {
            scope: Scope::Only(BTreeSet::from([shop.clone()])),
            allow_data_loss: true,
            ..Default::default()
        },
    )
    .unwrap();
    let claim = change(&p, "berthfx-shop/production/config.edge-slot");
    assert_eq!(claim.action, Action::Delete);
    assert!(claim
        .depends_on
        .contains(&"berthfx-shop/production/service.web".parse().unwrap()));
    assert!(p.actionable().all(|c| c.address.deployment == shop));
}

#[test]
fn adding_a_routed_deployment_leaves_the_proxy_alone() {
    // Planned with the platform in scope against the cluster running shop and the platform.
    let p = plan_of(&[shop_prod(), blog()], &observed("shop"), Scope::Desired).unwrap();
    let proxy_changes: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.address.deployment.is_platform())
        .collect();
    assert!(proxy_changes.len() > 1);
    for c in proxy_changes {
        assert_eq!(c.action, Action::NoOp, "{}", c.address);
    }
    let blog_changes: Vec<_> = p
        .actionable()
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        blog_changes,
        [
            (
                "berthfx-blog/production/network.default".to_string(),
                Action::Create
            ),
            (
                "berthfx-blog/production/config.edge-slot".to_string(),
                Action::Create
            ),
            (
                "berthfx-blog/production/service.web".to_string(),
                Action::Create
            ),
        ]
    );
    // The proxy's compiled spec does not depend on the deployments at all.
    let proxy = "platform/proxy/service.traefik".parse().unwrap();
    let alone = compile(&[], &platform(), &Digests::new()).unwrap();
    let ds = [shop_prod(), blog()];
    let both = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    assert_eq!(alone.get(&proxy), both.get(&proxy));
}

#[test]
fn without_the_platform_a_project_plan_asks_for_it() {
    let d = shop_prod();
    let e = plan_of(
        std::slice::from_ref(&d),
        &observed("empty"),
        Scope::deployments([id(&d)]),
    )
    .unwrap_err();
    assert!(
        matches!(&e.0[0], PlanError::EdgeNetworkMissing { network, .. } if network == "platform_edge-00"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "error[E0222]: berthfx-shop/production needs the edge network `platform_edge-00`, which does not exist yet: apply the platform first (`berth apply` without --project/--env)"
    );
    // The first apply includes the platform: it creates the slot networks and the proxy.
    let empty = observed("empty");
    assert!(!empty.has_proxy());
    assert!(observed("shop").has_proxy());
    let p = plan_of(
        std::slice::from_ref(&d),
        &empty,
        Scope::deployments_and_platform([id(&d)]),
    )
    .unwrap();
    for a in [
        "platform/proxy/network.edge-00",
        "platform/proxy/service.traefik",
    ] {
        assert_eq!(change(&p, a).action, Action::Create);
    }
    assert_eq!(claim_name(&p, &id(&d)), "platform_edge-00");
    // Without routes, a project needs no slot and so no platform.
    let mut quiet = d.clone();
    for s in &mut quiet.services {
        s.routes.clear();
    }
    plan_of(&[quiet], &empty, Scope::deployments([id(&d)])).unwrap();
}

#[test]
fn fewer_slots_are_refused_while_a_removed_slot_is_claimed() {
    // Blog holds slot 03 and is not planned; the platform is planned with 3 slots.
    let observed = with_claims(&observed("shop"), &[("berthfx-blog", 3)]);
    let mut small = platform();
    small.proxy.edge_slots = 3;
    let ds = [shop_prod()];
    let desired = compile(&ds, &small, &digests(&ds, 1)).unwrap();
    let e = plan(&desired, &observed, &PlanOptions::default()).unwrap_err();
    assert!(
        matches!(
            &e.0[0],
            PlanError::EdgeSlotStillClaimed { network, .. } if network == "platform_edge-03"
        ),
        "{e}"
    );
    // Planned together, blog moves to a lower slot and the slot network goes once blog left it.
    let ds = [shop_prod(), blog()];
    let desired = compile(&ds, &small, &digests(&ds, 1)).unwrap();
    let p = plan(
        &desired,
        &observed,
        &PlanOptions {
            allow_data_loss: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(claim_name(&p, &id(&blog())), "platform_edge-01");
    let net = change(&p, "platform/proxy/network.edge-03");
    assert_eq!(net.action, Action::Delete);
}

#[test]
fn slots_are_resolved_the_same_way_for_tools() {
    // `edge::resolve` gives the specs plan() sends, for tools that need them without a plan.
    let ds = [shop_prod(), blog()];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let resolved = edge::resolve(&desired, &observed("shop")).unwrap();
    let p = plan(&desired, &observed("shop"), &PlanOptions::default()).unwrap();
    for c in &p.changes {
        let mut spec = resolved.get(&c.address).unwrap().spec.clone();
        normalize::spec(&mut spec, &|_| None);
        assert_eq!(Some(&spec), c.after.as_ref(), "{}", c.address);
    }
    // The compiled specs carry the placeholder until then.
    let claim = desired.get(&edge::claim_address(&id(&blog()))).unwrap();
    assert_eq!(claim.name(), "platform_edge-unassigned");
}
