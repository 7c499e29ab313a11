//! The scope rule ([`Scope::chosen`]): which project environments a plan covers, and when the
//! platform (the proxy) is among them. `docs/ARCHITECTURE.md` states it under "Scope rule".

mod support;

use berth_lang::model::{Deployment, Environment, Platform};
use berth_planner::*;
use std::collections::BTreeSet;
use support::*;

fn id(d: &Deployment) -> DeploymentId {
    DeploymentId::new(&d.project, d.environment, d.pr)
}

/// The configuration's platform, with or without a `platform` block.
fn platform_block(declared: bool) -> Platform {
    let mut p = platform();
    p.span = declared.then(span);
    p
}

fn unrouted(mut d: Deployment) -> Deployment {
    for s in &mut d.services {
        s.routes.clear();
    }
    d
}

fn ids(ds: &[Deployment], with_platform: bool) -> Scope {
    let mut set: BTreeSet<DeploymentId> = ds.iter().map(id).collect();
    if with_platform {
        set.insert(DeploymentId::platform());
    }
    Scope::Only(set)
}

const ALL_PROXIES: [ProxyPresence; 3] = [
    ProxyPresence::Exists,
    ProxyPresence::Missing,
    ProxyPresence::Unknown,
];

#[test]
fn a_whole_configuration_includes_the_platform_when_it_declares_one_or_routes_anything() {
    let routed = [shop(Environment::Production, None), blog()];
    let quiet = [
        unrouted(shop(Environment::Production, None)),
        unrouted(blog()),
    ];
    // Whether a proxy exists does not matter to a whole-configuration plan.
    for proxy in ALL_PROXIES {
        for (ds, declared, with_platform) in [
            (&routed, true, true),
            (&routed, false, true),
            (&quiet, true, true),
            (&quiet, false, false),
        ] {
            let scope = Scope::chosen(Coverage::Whole, ds, &platform_block(declared), proxy);
            assert_eq!(
                scope,
                ids(ds, with_platform),
                "routed: {}, platform block: {declared}, proxy: {proxy:?}",
                ds == &routed
            );
            assert_eq!(scope.has_platform(), with_platform);
        }
    }
}

#[test]
fn a_routed_selection_includes_the_platform_only_while_no_proxy_exists() {
    let ds = [shop(Environment::Staging, None)];
    for declared in [true, false] {
        let p = platform_block(declared);
        let chosen = |proxy| Scope::chosen(Coverage::Selection, &ds, &p, proxy);
        // The project's first apply creates the proxy and its edge slot networks.
        assert_eq!(chosen(ProxyPresence::Missing), ids(&ds, true));
        assert_eq!(
            chosen(ProxyPresence::Missing),
            Scope::deployments_and_platform([id(&ds[0])])
        );
        // Afterwards a project's plan never changes the proxy.
        assert_eq!(chosen(ProxyPresence::Exists), ids(&ds, false));
        // Without a read of the cluster, the platform is left out.
        assert_eq!(chosen(ProxyPresence::Unknown), ids(&ds, false));
        assert_eq!(
            chosen(ProxyPresence::Unknown),
            Scope::deployments([id(&ds[0])])
        );
    }
}

#[test]
fn an_unrouted_selection_never_includes_the_platform() {
    let ds = [unrouted(shop(Environment::Production, None))];
    for proxy in ALL_PROXIES {
        for declared in [true, false] {
            let scope = Scope::chosen(Coverage::Selection, &ds, &platform_block(declared), proxy);
            assert_eq!(
                scope,
                ids(&ds, false),
                "{proxy:?}, platform block: {declared}"
            );
            assert!(!scope.has_platform());
        }
    }
}

#[test]
fn one_routed_deployment_in_a_selection_is_enough() {
    let ds = [unrouted(blog()), shop(Environment::Production, None)];
    let scope = Scope::chosen(
        Coverage::Selection,
        &ds,
        &platform_block(false),
        ProxyPresence::Missing,
    );
    assert_eq!(scope, ids(&ds, true));
}

#[test]
fn the_desired_scope_has_the_platform() {
    assert!(Scope::Desired.has_platform());
    assert!(Scope::deployments_and_platform([]).has_platform());
    assert!(!Scope::deployments([id(&blog())]).has_platform());
}

#[test]
fn the_proxy_is_where_the_platform_compiles_it() {
    let ds = [blog()];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    assert!(desired.get(&Address::proxy()).is_some());
}

#[test]
fn a_proxy_found_or_not() {
    assert_eq!(ProxyPresence::found(true), ProxyPresence::Exists);
    assert_eq!(ProxyPresence::found(false), ProxyPresence::Missing);
    assert_eq!(
        Address::proxy().to_string(),
        "platform/proxy/service.traefik"
    );
}
