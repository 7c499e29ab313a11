//! The shapes of plan the executor meets, scheduled without Docker: the changes are made as the
//! planner makes them (a removed or replaced object lists the services that still use it).

use super::*;
use berth_planner::Action;

fn change(address: &str, action: Action, cbd: bool, deps: &[&str]) -> Change {
    Change {
        address: address.parse().unwrap(),
        action,
        before: None,
        after: None,
        observed: None,
        replace_paths: Vec::new(),
        create_before_destroy: cbd,
        restarts_tasks: false,
        data_loss: false,
        reason: None,
        depends_on: deps.iter().map(|d| d.parse().unwrap()).collect(),
    }
}

fn observed(mut c: Change, id: &str) -> Change {
    c.observed = Some(berth_planner::plan::ObservedRef {
        id: id.into(),
        name: id.into(),
        version: Some(1),
    });
    c
}

/// The number of the one step of `change` of `kind`.
fn find(s: &Schedule, change: usize, kind: StepKind) -> usize {
    s.steps()
        .find(|(_, st)| st.change == change && st.kind == kind)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {kind:?} step of change {change}: {s:?}"))
}

/// Whether `a` comes before `b` in the schedule's order.
fn before(s: &Schedule, a: usize, b: usize) -> bool {
    let order = s.order().expect("no cycle");
    let pos = |x| order.iter().position(|&o| o == x).unwrap();
    pos(a) < pos(b)
}

#[test]
fn creates_follow_what_they_need() {
    let changes = vec![
        change(
            "shop/production/service.web",
            Action::Create,
            false,
            &[
                "shop/production/network.default",
                "shop/production/secret.key",
            ],
        ),
        change(
            "shop/production/network.default",
            Action::Create,
            false,
            &[],
        ),
        change("shop/production/secret.key", Action::Create, false, &[]),
    ];
    let s = Schedule::build(&changes);
    assert_eq!(s.len(), 3);
    assert_eq!(s.deps(0), vec![1, 2]);
    assert_eq!(s.dependents(1), vec![0]);
    assert!(s.deps(1).is_empty() && s.deps(2).is_empty());
    assert!(before(&s, 1, 0) && before(&s, 2, 0));
    assert_eq!(
        s.counts(),
        Counts {
            create: 3,
            ..Counts::default()
        }
    );
}

#[test]
fn a_dependency_outside_the_plan_is_not_waited_for() {
    // Another project's shared network exists already; only the service is planned.
    let changes = vec![change(
        "shop/production/service.web",
        Action::Update,
        false,
        &["edge/production/network.shared"],
    )];
    let s = Schedule::build(&changes);
    assert_eq!(s.len(), 1);
    assert!(s.deps(0).is_empty());
    assert_eq!(s.step(0).kind, StepKind::Update);
}

#[test]
fn secret_rotation_creates_updates_then_deletes() {
    let secret = change(
        "shop/production/secret.key",
        Action::Replace,
        true,
        &["shop/production/service.web"],
    );
    let web = change(
        "shop/production/service.web",
        Action::Update,
        false,
        &["shop/production/secret.key"],
    );
    let s = Schedule::build(&[secret, web]);
    // create secret (0), delete old secret (1), update web (2)
    assert_eq!(
        (s.step(0).kind, s.step(1).kind, s.step(2).kind),
        (StepKind::Create, StepKind::Delete, StepKind::Update)
    );
    assert!(s.deps(2).contains(&0), "web waits for the new secret");
    assert!(
        s.deps(1).contains(&2),
        "the old secret goes after web moved"
    );
    assert_eq!(s.order().unwrap(), vec![0, 2, 1]);
    assert_eq!(s.steps_of(0), vec![0, 1]);
}

#[test]
fn deletes_remove_users_first() {
    let net = change(
        "shop/production/network.default",
        Action::Delete,
        false,
        &["shop/production/service.web"],
    );
    let web = change("shop/production/service.web", Action::Delete, false, &[]);
    let s = Schedule::build(&[net, web]);
    assert_eq!(s.deps(0), vec![1]);
    assert!(before(&s, 1, 0));
}

#[test]
fn a_replacement_destroyed_first_deletes_then_creates() {
    // A volume that cannot exist twice (same name), used by a service that goes anyway.
    let vol = observed(
        change(
            "p/production/volume.data",
            Action::Replace,
            false,
            &["p/production/service.db"],
        ),
        "v1",
    );
    let db = observed(
        change("p/production/service.db", Action::Delete, false, &[]),
        "s1",
    );
    let s = Schedule::build(&[vol, db]);
    let (delete, create) = (find(&s, 0, StepKind::Delete), find(&s, 0, StepKind::Create));
    let gone = find(&s, 1, StepKind::Delete);
    assert!(s.deps(create).contains(&delete));
    assert!(s.deps(delete).contains(&gone), "the user goes first");
    assert_eq!(s.counts().detach, 0, "a user that goes is not detached");
}

#[test]
fn a_network_replaced_in_place_is_left_first_and_joined_again_after() {
    // A network that cannot be created before the old one goes (same name): its users leave it
    // (detach), it is deleted and created, and the users' updates attach the new one.
    let net = observed(
        change(
            "shop/production/network.backend",
            Action::Replace,
            false,
            &["shop/production/service.web", "shop/production/service.api"],
        ),
        "n1",
    );
    let web = observed(
        change(
            "shop/production/service.web",
            Action::Update,
            false,
            &["shop/production/network.backend"],
        ),
        "s1",
    );
    let api = observed(
        change(
            "shop/production/service.api",
            Action::Update,
            false,
            &["shop/production/network.backend"],
        ),
        "s2",
    );
    let s = Schedule::build(&[net, web, api]);
    let (delete, create) = (find(&s, 0, StepKind::Delete), find(&s, 0, StepKind::Create));
    let (detach_web, detach_api) = (find(&s, 1, StepKind::Detach), find(&s, 2, StepKind::Detach));
    let (update_web, update_api) = (find(&s, 1, StepKind::Update), find(&s, 2, StepKind::Update));
    assert!(s.deps(delete).contains(&detach_web) && s.deps(delete).contains(&detach_api));
    assert!(s.deps(create).contains(&delete));
    assert!(s.deps(update_web).contains(&create) && s.deps(update_api).contains(&create));
    assert_eq!(s.step(detach_web).leaves, vec![0]);
    assert!(s.deps(detach_web).is_empty(), "leaving needs nothing first");
    assert_eq!(
        s.counts(),
        Counts {
            create: 1,
            update: 2,
            delete: 1,
            detach: 2
        }
    );
    assert!(before(&s, detach_web, delete) && before(&s, create, update_web));
}

#[test]
fn a_service_leaves_two_replaced_objects_in_one_detach() {
    let net = observed(
        change(
            "p/production/network.backend",
            Action::Replace,
            false,
            &["p/production/service.db"],
        ),
        "n1",
    );
    let vol = observed(
        change(
            "p/production/volume.data",
            Action::Replace,
            false,
            &["p/production/service.db"],
        ),
        "v1",
    );
    let db = observed(
        change(
            "p/production/service.db",
            Action::Update,
            false,
            &["p/production/network.backend", "p/production/volume.data"],
        ),
        "s1",
    );
    let s = Schedule::build(&[net, vol, db]);
    let detaches: Vec<&Step> = s
        .steps()
        .map(|(_, st)| st)
        .filter(|st| st.kind == StepKind::Detach)
        .collect();
    assert_eq!(detaches.len(), 1, "{s:?}");
    assert_eq!(detaches[0].leaves, vec![0, 1]);
}

#[test]
fn a_new_service_is_not_detached() {
    // A service created by this plan has nothing to leave: it waits for the new network.
    let net = observed(
        change(
            "p/production/network.backend",
            Action::Replace,
            false,
            &["p/production/service.web"],
        ),
        "n1",
    );
    let web = change(
        "p/production/service.web",
        Action::Create,
        false,
        &["p/production/network.backend"],
    );
    let s = Schedule::build(&[net, web]);
    assert_eq!(s.counts().detach, 0);
    let create_net = find(&s, 0, StepKind::Create);
    assert!(s.deps(find(&s, 1, StepKind::Create)).contains(&create_net));
}

#[test]
fn steps_that_wait_for_each_other_are_found() {
    // The planner refuses cyclic plans; should one reach the executor, it is named, not hung.
    let a = change(
        "p/production/service.a",
        Action::Create,
        false,
        &["p/production/service.b"],
    );
    let b = change(
        "p/production/service.b",
        Action::Create,
        false,
        &["p/production/service.a"],
    );
    let s = Schedule::build(&[a, b]);
    let step = s.order().expect_err("a cycle");
    assert!(step < 2);
}
