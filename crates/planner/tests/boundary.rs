//! The tenant boundary against what runs (`berth_planner::boundary`): a project planned alone,
//! as `berth plan/apply --project` does, is refused when it takes a stack or a host of another
//! project that runs, or when its name imitates one; planned against observed state captured
//! from the real engine (`tenants`: berthfx-shop and berthfx-blog running side by side;
//! `preview`: berthfx-shop's production and its preview `berthfx-shop-pr-7`). Each of the
//! planner-only diagnostic codes is produced here, since no lang fixture can produce them.

mod support;

use berth_lang::model::{Deployment, Environment};
use berth_lang::{naming, Code};
use berth_planner::*;
use support::*;

fn id(d: &Deployment) -> DeploymentId {
    DeploymentId::new(&d.project, d.environment, d.pr)
}

/// A tenant with one web service routed at its default host.
fn tenant(project: &str) -> Deployment {
    let mut d = deployment(project, Environment::Production, None);
    let mut web = service("web", "berth/demo:1");
    web.routes.push(route(
        &naming::default_host(&d.stack, "web", true, DOMAIN),
        8080,
        false,
    ));
    d.services.push(web);
    d
}

/// Plans `deployments` as `berth plan --project` does: only they are in scope, without the
/// platform (its proxy runs).
fn plan_alone(deployments: &[Deployment], observed: &Observed) -> Result<Plan, PlanErrors> {
    let desired = compile(deployments, &platform(), &digests(deployments, 1))?;
    let options = PlanOptions {
        scope: Scope::deployments(deployments.iter().map(id)),
        ..Default::default()
    };
    plan(&desired, observed, &options)
}

/// Plans the whole configuration `deployments`, as `berth plan` without a selection does.
fn plan_whole(deployments: &[Deployment], observed: &Observed) -> Result<Plan, PlanErrors> {
    let platform = platform();
    let desired = compile(deployments, &platform, &digests(deployments, 1))?;
    let options = PlanOptions {
        scope: Scope::chosen(
            Coverage::Whole,
            deployments,
            &platform,
            ProxyPresence::found(observed.has_proxy()),
        ),
        ..Default::default()
    };
    plan(&desired, observed, &options)
}

fn codes(e: &PlanErrors) -> Vec<Code> {
    e.0.iter()
        .map(|e| {
            let d = e.to_diagnostic();
            assert!(
                d.span.is_some(),
                "a refusal points at the configuration: {e}"
            );
            d.code
        })
        .collect()
}

/// The refusals, one case each, planned alone against captured fixtures.
fn refusals() -> Vec<(&'static str, PlanErrors)> {
    let tenants = observed("tenants");
    // berthfx-blog adds a route under berthfx-shop's host, on another path, and routes the
    // host of berthfx-shop's api without a path (berthfx-shop routes it with `/v1`).
    let mut blog = blog();
    let mut shop_path = route("berthfx-shop.example.test", 8080, false);
    shop_path.path = Some("/blog".into());
    blog.services[0].routes.push(shop_path);
    blog.services[0]
        .routes
        .push(route("API-berthfx-shop.example.test", 8080, false));
    vec![
        (
            // Its stack is berthfx-shop's preview, which runs.
            "stack",
            plan_alone(&[tenant("berthfx-shop-pr-7")], &observed("preview")).unwrap_err(),
        ),
        ("host", plan_alone(&[blog], &tenants).unwrap_err()),
        (
            "environment",
            plan_alone(&[tenant("berthfx-shop-staging")], &tenants).unwrap_err(),
        ),
        (
            "service host",
            plan_alone(&[tenant("admin-berthfx-blog")], &tenants).unwrap_err(),
        ),
        (
            // berthfx-shop-pr-7 runs, and the grant allows one preview at once.
            "previews",
            plan_alone(&[preview_of_shop(8, Some(1))], &observed("preview")).unwrap_err(),
        ),
    ]
}

/// A preview of berthfx-shop with a grant that allows `previews` at once.
fn preview_of_shop(pr: u64, previews: Option<u64>) -> Deployment {
    let mut d = shop(Environment::Preview, Some(pr));
    let mut grant = berth_lang::model::Grant::default_for(&d.project);
    grant.quota.previews = previews;
    d.grant = Some(grant);
    d
}

#[test]
fn previews_beyond_the_grant_are_refused_and_within_it_planned() {
    let preview = observed("preview");
    // One runs (pr 7): an eighth is refused with a cap of 1, planned with a cap of 2 or none.
    let e = plan_alone(&[preview_of_shop(8, Some(1))], &preview).unwrap_err();
    assert_eq!(codes(&e), vec![Code::TooManyPreviews], "{e:?}");
    assert!(
        e.0[0].to_string().contains("berthfx-shop-pr-7"),
        "{}",
        e.0[0]
    );
    plan_alone(&[preview_of_shop(8, Some(2))], &preview).expect("two previews are allowed");
    plan_alone(&[preview_of_shop(8, None)], &preview).expect("no cap");
    // The running preview itself is never counted against its own plan.
    plan_alone(&[preview_of_shop(7, Some(1))], &preview).expect("pr 7 is the one that runs");
}

/// The planner-only codes, as `crates/lang/tests/common/codes.rs` lists them.
const PLANNER_ONLY_CODES: [Code; 5] = [
    Code::StackOfRunningProject,
    Code::HostOfRunningProject,
    Code::LooksLikeRunningEnvironment,
    Code::LooksLikeRunningServiceHost,
    Code::TooManyPreviews,
];

#[test]
fn every_planner_only_code_is_exercised() {
    let mut produced = std::collections::BTreeSet::new();
    for (_, e) in refusals() {
        produced.extend(codes(&e));
    }
    for code in PLANNER_ONLY_CODES {
        assert!(produced.contains(&code), "no case produces {code}");
        assert!(
            code.explanation().contains("boundary"),
            "{code}'s explanation must say whose boundary it crosses"
        );
    }
    // The lang test exempts exactly these codes from its fixtures.
    let lang = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lang/tests/common/codes.rs"),
    )
    .unwrap();
    let list = lang
        .split("const PLANNER_ONLY_CODES")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("common/codes.rs lists PLANNER_ONLY_CODES");
    let listed: Vec<&str> = list
        .split("Code::")
        .skip(1)
        .map(|s| s.split(|c: char| !c.is_alphanumeric()).next().unwrap())
        .collect();
    let ours: Vec<String> = PLANNER_ONLY_CODES
        .iter()
        .map(|c| format!("{c:?}"))
        .collect();
    assert_eq!(listed, ours, "the two lists of planner-only codes differ");
}

#[test]
fn a_stack_of_another_running_project_is_refused() {
    let e = plan_alone(&[tenant("berthfx-shop-pr-7")], &observed("preview")).unwrap_err();
    let stack =
        e.0.iter()
            .find(|e| matches!(e, PlanError::StackTaken { .. }))
            .expect("the stack is refused");
    let PlanError::StackTaken {
        stack, owner, span, ..
    } = stack
    else {
        unreachable!()
    };
    assert_eq!(
        (stack.as_str(), owner.as_str()),
        ("berthfx-shop-pr-7", "berthfx-shop")
    );
    assert!(span.is_some());
    // The same name also imitates the preview, and its default host is the preview's.
    assert_eq!(
        codes(&e),
        [
            Code::StackOfRunningProject,
            Code::HostOfRunningProject,
            Code::LooksLikeRunningEnvironment
        ]
    );
}

#[test]
fn a_host_with_any_path_belongs_to_one_project() {
    let (_, e) = refusals().into_iter().find(|(c, _)| *c == "host").unwrap();
    let hosts: Vec<(String, Option<String>, String)> =
        e.0.iter()
            .map(|e| match e {
                PlanError::HostTaken {
                    host, path, owner, ..
                } => (host.clone(), path.clone(), owner.clone()),
                other => panic!("unexpected {other}"),
            })
            .collect();
    assert_eq!(
        hosts,
        [
            (
                "berthfx-shop.example.test".to_string(),
                Some("/blog".to_string()),
                "berthfx-shop".to_string()
            ),
            (
                "API-berthfx-shop.example.test".to_string(),
                None,
                "berthfx-shop".to_string()
            ),
        ]
    );
}

#[test]
fn the_platforms_hosts_belong_to_it() {
    // Observed: the platform with its dashboard at traefik.example.test, as compiled (no
    // fixture has a dashboard). A tenant may not route the dashboard's host.
    let mut p = tls_platform();
    p.proxy.dashboard_host = Some(format!("traefik.{DOMAIN}"));
    let platform_only = compile(&[], &p, &platform_digests(&p)).unwrap();
    let observed = Observed::from_resources(
        platform_only
            .resources
            .values()
            .map(|r| ObservedResource {
                address: r.address.clone(),
                id: r.name().to_string(),
                version: Some(1),
                spec: r.spec.clone(),
            })
            .collect(),
    );
    let mut d = tenant("berthfx-news");
    d.services[0].routes[0].host = format!("traefik.{DOMAIN}");
    d.services[0].routes[0].path = Some("/api".into());
    let e = plan_alone(&[d], &observed).unwrap_err();
    assert!(
        matches!(&e.0[..], [PlanError::HostTaken { owner, .. }] if owner == "platform"),
        "{e}"
    );
}

#[test]
fn names_that_imitate_a_running_project_are_refused() {
    let tenants = observed("tenants");
    for (name, code) in [
        ("berthfx-shop-staging", Code::LooksLikeRunningEnvironment),
        ("berthfx-shop-dev", Code::LooksLikeRunningEnvironment),
        ("berthfx-blog-pr-12", Code::LooksLikeRunningEnvironment),
        ("api-berthfx-shop", Code::LooksLikeRunningServiceHost),
        (
            "web-berthfx-blog-staging",
            Code::LooksLikeRunningServiceHost,
        ),
    ] {
        let mut d = tenant(name);
        // Only the name is at stake here, not a host.
        d.services[0].routes[0].host = format!("{name}.other.test");
        let e = plan_alone(&[d], &tenants).unwrap_err();
        assert_eq!(codes(&e), [code], "{name}: {e}");
    }
}

#[test]
fn every_independent_refusal_is_reported_and_nothing_is_planned() {
    // A project that squats the stack, a host and the name of a running project, and is over
    // its quota: one run reports all of it, and there is no plan to apply.
    let mut d = tenant("berthfx-shop-pr-7");
    d.quota.replicas = Some(0);
    let e = plan_alone(&[d], &observed("preview")).unwrap_err();
    let mut all = codes(&e);
    all.sort();
    assert_eq!(
        all,
        [
            Code::ReplicasAboveQuota,
            Code::StackOfRunningProject,
            Code::HostOfRunningProject,
            Code::LooksLikeRunningEnvironment
        ]
    );
}

#[test]
fn a_project_plan_that_squats_nothing_is_unaffected() {
    let tenants = observed("tenants");
    // Each running tenant planned alone: its own objects are not another project's, and the
    // other tenant's stack, hosts and name are its own; nothing changes.
    for d in [shop(Environment::Production, None), blog()] {
        let p = plan_alone(std::slice::from_ref(&d), &tenants).unwrap();
        assert!(
            p.is_empty(),
            "{}: {:?}",
            d.project,
            p.actionable().collect::<Vec<_>>()
        );
    }
    // berthfx-shop's preview planned alone next to its running production (same project).
    let preview = shop(Environment::Preview, Some(7));
    let p = plan_alone(&[preview], &observed("preview")).unwrap();
    assert!(p.is_empty());
    // A new tenant whose name and hosts are its own: planned as from nothing.
    let news = tenant("berthfx-news");
    let p = plan_alone(&[news], &tenants).unwrap();
    assert!(p.actionable().all(|c| c.action == Action::Create));
    assert!(p.summary().add > 0);
    // Names that only resemble a running project's are not refused.
    for name in [
        "berthfx-shopping",
        "berthfx-shop2-dev",
        "berthfx-shop-admin",
    ] {
        plan_alone(&[tenant(name)], &tenants).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn the_whole_configuration_plan_is_unaffected() {
    let tenants = observed("tenants");
    let both = [shop(Environment::Production, None), blog()];
    let p = plan_whole(&both, &tenants).unwrap();
    assert!(p.is_empty(), "{:?}", p.actionable().collect::<Vec<_>>());
    // The configuration moves a host from one tenant to the other in one plan: both are in
    // scope, so neither is held against the other's running objects (the language checks a
    // whole configuration's projects against each other).
    let mut shop = shop(Environment::Production, None);
    let web = shop.services.iter_mut().find(|s| s.name == "web").unwrap();
    web.routes[0].host = "shop.other.test".into();
    let mut blog = blog();
    blog.services[0].routes[0].host = "berthfx-shop.example.test".into();
    plan_whole(&[shop, blog], &tenants).unwrap();
}

#[test]
fn a_whole_configuration_is_held_against_running_projects_it_lacks() {
    // The configuration holds only a project that imitates a running one: the whole plan is
    // refused too, since berthfx-shop runs outside its scope.
    let e = plan_whole(&[tenant("berthfx-shop-staging")], &observed("tenants")).unwrap_err();
    assert_eq!(codes(&e), [Code::LooksLikeRunningEnvironment]);
}

#[test]
fn refusals_are_checked_against_the_recorded_state_too() {
    // `--refresh=false` plans against the recorded states of every deployment: the same
    // objects, read back from state, give the same refusals.
    let tenants = observed("tenants");
    let recorded = Observed::from_resources(tenants.resources.clone());
    let e = plan_alone(&[tenant("berthfx-shop-staging")], &recorded).unwrap_err();
    assert_eq!(codes(&e), [Code::LooksLikeRunningEnvironment]);
}
