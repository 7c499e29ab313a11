//! The platform is compiled only in scope: [`compile_deployments`] needs no digest of the
//! platform and holds no platform object, [`compile_platform`] needs exactly the platform's
//! sources, and a plan of deployments without the platform is the same plan, byte for byte, as
//! one from the full compilation, route collisions and edge slots included.

mod support;

use berth_lang::model::{Deployment, Environment};
use berth_planner::render::{self, RenderOptions};
use berth_planner::*;
use support::*;

fn id(d: &Deployment) -> DeploymentId {
    DeploymentId::new(&d.project, d.environment, d.pr)
}

fn shop_prod() -> Deployment {
    shop(Environment::Production, None)
}

#[test]
fn deployments_compile_without_any_platform_digest() {
    let ds = [shop_prod(), blog()];
    let platform = tls_platform();
    assert!(!platform_sources(&platform).is_empty());
    let only =
        compile_deployments(&ds, &platform, &digests(&ds, 1)).expect("no platform digest needed");
    assert!(
        only.resources.keys().all(|a| !a.deployment.is_platform()),
        "no platform object is compiled"
    );
    assert!(!only.deployments.contains_key(&DeploymentId::platform()));
    assert_eq!(only.edge_slots, platform.proxy.edge_slots);
    // The same input, the platform left out of scope, is the same desired state.
    let scoped = compile_in_scope(&ds, &platform, &digests(&ds, 1), false).unwrap();
    assert_eq!(
        scoped.resources.keys().collect::<Vec<_>>(),
        only.resources.keys().collect::<Vec<_>>()
    );
    // And the deployments' specs are those of a full compilation: the platform's ACME decides
    // their routers' certificates, which compile_deployments reads without its files.
    let mut all = digests(&ds, 1);
    all.extend(platform_digests(&platform));
    let full = compile(&ds, &platform, &all).unwrap();
    for (address, r) in &only.resources {
        assert_eq!(full.resources[address].spec, r.spec, "{address}");
    }
    assert!(full.resources.keys().any(|a| *a == Address::proxy()));
}

#[test]
fn the_platform_needs_exactly_its_sources() {
    let platform = tls_platform();
    let needed = platform_digests(&platform);
    let p = compile_platform(&platform, &needed).expect("compiles with its sources");
    assert!(p.resources.keys().all(|a| a.deployment.is_platform()));
    assert!(p.get(&Address::proxy()).is_some());
    for missing in needed.keys() {
        let mut fewer = needed.clone();
        fewer.remove(missing);
        let errors = compile_platform(&platform, &fewer).unwrap_err();
        assert!(
            errors.0.iter().any(
                |e| matches!(e, PlanError::MissingDigest { address } if address.to_string() == *missing)
            ),
            "{missing}: {errors:?}"
        );
    }
    // Without the platform in scope, a deployment compiles with none of them.
    let ds = [shop_prod()];
    assert!(compile_in_scope(&ds, &platform, &digests(&ds, 1), false).is_ok());
    assert!(compile_in_scope(&ds, &platform, &digests(&ds, 1), true).is_err());
}

#[test]
fn digests_needed_lists_what_the_compiler_asks_for() {
    let ds = [shop_prod(), blog()];
    let platform = tls_platform();
    for with_platform in [false, true] {
        let needed = digests_needed(&ds, with_platform.then_some(&platform));
        let placeholders: Digests = needed
            .iter()
            .map(|a| (a.to_string(), "0".repeat(64)))
            .collect();
        assert!(!placeholders.is_empty());
        compile_in_scope(&ds, &platform, &placeholders, with_platform)
            .expect("placeholders for the needed addresses suffice");
        for missing in placeholders.keys() {
            let mut fewer = placeholders.clone();
            fewer.remove(missing);
            assert!(
                compile_in_scope(&ds, &platform, &fewer, with_platform).is_err(),
                "{missing} is needed"
            );
        }
    }
}

#[test]
fn a_plan_without_the_platform_is_the_plan_of_the_full_compilation() {
    let ds = [shop_prod()];
    let platform = platform();
    let scope = Scope::deployments(ds.iter().map(id));
    let options = PlanOptions {
        scope,
        ..Default::default()
    };
    let mut planned = 0;
    for scenario in ["empty", "shop", "tenants"] {
        let observed = observed(scenario);
        let full = compile(&ds, &platform, &digests(&ds, 1)).unwrap();
        let scoped = compile_in_scope(&ds, &platform, &digests(&ds, 1), false).unwrap();
        let a = plan(&full, &observed, &options);
        let b = plan(&scoped, &observed, &options);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                planned += 1;
                assert_eq!(
                    render::json(&a, &RenderOptions::default()),
                    render::json(&b, &RenderOptions::default()),
                    "{scenario}"
                )
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{scenario}"),
            (a, b) => panic!("{scenario}: {a:?} against {b:?}"),
        }
    }
    // Without a proxy (`empty`) the shop cannot be planned alone; with one it can.
    assert_eq!(planned, 2);
}

#[test]
fn route_collisions_and_edge_slots_work_without_the_platform() {
    // Two deployments routing one host collide whether or not the platform is compiled.
    let mut b = blog();
    b.services[0].routes[0].host = "berthfx-shop.example.test".into();
    let ds = [shop_prod(), b.clone()];
    let errors = compile_in_scope(&ds, &platform(), &digests(&ds, 1), false).unwrap_err();
    assert!(
        errors
            .0
            .iter()
            .any(|e| matches!(e, PlanError::DuplicateRoute { .. })),
        "{errors:?}"
    );
    // Planned alone against the running shop, the blog's route is taken by a running service.
    let alone = compile_in_scope(
        std::slice::from_ref(&b),
        &platform(),
        &digests(&[b.clone()], 1),
        false,
    )
    .unwrap();
    let errors = plan(
        &alone,
        &observed("shop"),
        &PlanOptions {
            scope: Scope::deployments([id(&b)]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        errors.0.iter().any(|e| matches!(
            e,
            PlanError::RouteTaken { .. } | PlanError::HostTaken { .. }
        )),
        "{errors:?}"
    );
    // A routed deployment planned alone gets an edge slot from the observed proxy's networks.
    let shop = [shop_prod()];
    let scoped = compile_in_scope(&shop, &platform(), &digests(&shop, 1), false).unwrap();
    let p = plan(
        &scoped,
        &observed("tenants"),
        &PlanOptions {
            scope: Scope::deployments(shop.iter().map(id)),
            ..Default::default()
        },
    )
    .unwrap();
    let claim = p
        .changes
        .iter()
        .find(|c| edge::is_claim(&c.address))
        .expect("the shop's claim is planned");
    let spec = claim.after.as_ref().or(claim.before.as_ref()).unwrap();
    assert!(
        edge::slot_of(spec.name()).is_some(),
        "the claim has a concrete slot: {}",
        spec.name()
    );
}
