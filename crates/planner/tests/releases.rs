//! Canary and blue-green releases as the planner compiles and orders them: the canary is a
//! second service sharing the stable's routes by per-task weight, and the order of its change
//! and the stable's keeps a healthy task weighing more than 0 in between (abort, promotion,
//! raising or lowering the share, a switch at 100).

mod support;

use berth_lang::model::{Canary, Deployment, Environment, ServiceMode};
use berth_planner::render::{self, RenderOptions};
use berth_planner::resource::Spec;
use berth_planner::{plan, Action, Observed, PlanOptions};
use std::collections::BTreeMap;
use support::*;

/// Shop's production, its `web` (2 replicas) with a canary of `image` at `share` percent.
fn with_canary(share: u8, image: &str) -> Deployment {
    let mut d = shop(Environment::Production, None);
    let web = d.services.iter_mut().find(|s| s.name == "web").unwrap();
    web.mode = ServiceMode::Replicated { replicas: 2 };
    let preview = web
        .routes
        .iter()
        .map(|r| {
            let mut p = r.clone();
            p.host = format!("canary-{}", r.host);
            p
        })
        .collect();
    web.canary = Some(Canary {
        image: image.into(),
        share,
        replicas: 1,
        command: None,
        args: None,
        env: BTreeMap::new(),
        preview,
        span: span(),
    });
    d
}

/// Shop's production with `web` at `image` and no canary.
fn without_canary(image: &str) -> Deployment {
    let mut d = shop(Environment::Production, None);
    let web = d.services.iter_mut().find(|s| s.name == "web").unwrap();
    web.mode = ServiceMode::Replicated { replicas: 2 };
    web.image = image.into();
    d
}

fn running(d: &Deployment) -> Observed {
    support::running(std::slice::from_ref(d))
}

fn planned(d: &Deployment, observed: &Observed) -> berth_planner::Plan {
    plan(
        &applied(std::slice::from_ref(d), 1),
        observed,
        &PlanOptions::default(),
    )
    .unwrap()
}

fn labels<'p>(p: &'p berth_planner::Plan, name: &str) -> &'p BTreeMap<String, String> {
    let c = p.changes.iter().find(|c| c.address.name == name).unwrap();
    match c.after.as_ref().or(c.before.as_ref()) {
        Some(Spec::Service(s)) => &s.labels,
        other => panic!("{other:?}"),
    }
}

/// Whether `a`'s change waits for `b`'s.
fn waits(p: &berth_planner::Plan, a: &str, b: &str) -> bool {
    let a = p.changes.iter().find(|c| c.address.name == a).unwrap();
    a.depends_on.iter().any(|d| d.name == b)
}

#[test]
fn a_canary_shares_the_stables_routes_by_weight_and_a_second_plan_is_empty() {
    let d = with_canary(20, "berth/demo:2");
    let p = planned(&d, &running(&without_canary("berth/demo:1")));
    let stack = &d.stack;
    let router = format!("{stack}_web-0");
    let weight = format!("traefik.http.services.{router}.loadbalancer.server.weight");
    // 2 stable tasks weigh 80 x 1 each, 1 canary task 20 x 2: 2 to 1 in lowest terms.
    assert_eq!(labels(&p, "web")[&weight], "2");
    let canary = labels(&p, "web-canary");
    assert_eq!(canary[&weight], "1");
    assert_eq!(
        canary[&format!("traefik.http.services.{router}.loadbalancer.server.port")],
        "8080"
    );
    assert_eq!(canary["berth.canary.of"], "web");
    assert_eq!(canary["berth.canary.share"], "20");
    let preview = &canary[&format!("traefik.http.routers.{stack}_web-canary-0.rule")];
    assert!(preview.starts_with("Host(`canary-"), "{preview}");
    // Only the canary runs the new image; the stable is relabelled in place.
    let web = p.changes.iter().find(|c| c.address.name == "web").unwrap();
    assert_eq!(web.action, Action::Update);
    assert!(
        !web.restarts_tasks,
        "a share must not restart the stable's tasks"
    );
    let text = render::human(&p, &RenderOptions::default());
    assert!(
        text.contains(
            "(canary of web: receives 20% of its requests while healthy; alone at Host(`canary-"
        ),
        "{text}"
    );
    // The pull-request comment's table says it too.
    let md = render::markdown(&p, &RenderOptions::default());
    assert!(
        md.contains("canary of web: receives 20% of its requests while healthy"),
        "{md}"
    );
    assert!(planned(&d, &running(&d)).is_empty());
}

#[test]
fn a_canary_publishes_none_of_the_stables_host_ports() {
    let mut d = with_canary(20, "berth/demo:2");
    let web = d.services.iter_mut().find(|s| s.name == "web").unwrap();
    web.publish.push(berth_lang::model::Publish {
        target: 9000,
        published: Some(19000),
        protocol: berth_lang::model::Protocol::Tcp,
        mode: berth_lang::model::PublishMode::Host,
    });
    let p = planned(&d, &running(&without_canary("berth/demo:1")));
    let ports = |name: &str| {
        let c = p.changes.iter().find(|c| c.address.name == name).unwrap();
        match &c.after {
            Some(Spec::Service(s)) => s.endpoint_spec.as_ref().map_or(0, |e| e.ports.len()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((ports("web"), ports("web-canary")), (1, 0));
}

#[test]
fn a_share_of_zero_joins_no_route_and_one_hundred_weighs_the_stable_zero() {
    let p = planned(
        &with_canary(0, "berth/demo:2"),
        &running(&without_canary("berth/demo:1")),
    );
    let stable = p.changes.iter().find(|c| c.address.name == "web").unwrap();
    assert_eq!(
        stable.action,
        Action::NoOp,
        "share 0 leaves the stable alone"
    );
    assert!(!labels(&p, "web-canary")
        .keys()
        .any(|k| k.ends_with(".server.weight")));

    let d = with_canary(100, "berth/demo:2");
    let p = planned(&d, &running(&with_canary(0, "berth/demo:2")));
    let weight = format!(
        "traefik.http.services.{}_web-0.loadbalancer.server.weight",
        d.stack
    );
    assert_eq!(labels(&p, "web")[&weight], "0");
    assert_eq!(labels(&p, "web-canary")[&weight], "1");
    let text = render::human(&p, &RenderOptions::default());
    assert!(
        text.contains("its share of web's requests goes from 0% to 100%"),
        "{text}"
    );
}

#[test]
fn the_order_of_a_release_keeps_a_healthy_task_weighing_more_than_zero() {
    let v1 = "berth/demo:1";
    let v2 = "berth/demo:2";
    // Created below 100: the stable's new weight first, then the canary joins.
    let p = planned(&with_canary(20, v2), &running(&without_canary(v1)));
    assert!(waits(&p, "web-canary", "web") && !waits(&p, "web", "web-canary"));
    // Raised: the canary's weight rises first; lowered: the stable's.
    let p = planned(&with_canary(50, v2), &running(&with_canary(20, v2)));
    assert!(waits(&p, "web", "web-canary") && !waits(&p, "web-canary", "web"));
    let p = planned(&with_canary(20, v2), &running(&with_canary(50, v2)));
    assert!(waits(&p, "web-canary", "web") && !waits(&p, "web", "web-canary"));
    // A switch from 0 to 100: green must weigh before blue weighs nothing.
    let p = planned(&with_canary(100, v2), &running(&with_canary(0, v2)));
    assert!(waits(&p, "web", "web-canary"));
    // Aborted at 20: the canary goes first, then the stable's weight returns to the default.
    let p = planned(&without_canary(v1), &running(&with_canary(20, v2)));
    let canary = p
        .changes
        .iter()
        .find(|c| c.address.name == "web-canary")
        .unwrap();
    assert_eq!(canary.action, Action::Delete);
    assert!(waits(&p, "web", "web-canary") && !waits(&p, "web-canary", "web"));
    let text = render::human(&p, &RenderOptions::default());
    assert!(
        text.contains("(canary of web goes: the 20% it received returns to web)"),
        "{text}"
    );
    // Aborted at 100 (blue weighs 0): blue's weight first, or nothing would answer.
    let p = planned(&without_canary(v1), &running(&with_canary(100, v2)));
    assert!(waits(&p, "web-canary", "web") && !waits(&p, "web", "web-canary"));
    // Promoted: the stable's tasks roll while the canary still serves, then it goes.
    let p = planned(&without_canary(v2), &running(&with_canary(20, v2)));
    let web = p.changes.iter().find(|c| c.address.name == "web").unwrap();
    assert!(web.restarts_tasks);
    assert!(waits(&p, "web-canary", "web") && !waits(&p, "web", "web-canary"));
    let text = render::human(&p, &RenderOptions::default());
    assert!(
        text.contains("(its tasks roll under the weight they have now"),
        "{text}"
    );
}
