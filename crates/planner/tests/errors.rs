//! Planning errors as diagnostics: every kind has a code, and the ones about a place in the
//! configuration point at it, so that the binary can show them like the language's diagnostics.

mod support;

use berth_lang::model::{Environment, ServiceMode};
use berth_lang::Code;
use berth_planner::{compile, plan, PlanError, PlanOptions};
use support::*;

#[test]
fn two_project_environments_in_one_stack_are_refused_with_a_code() {
    let a = shop(Environment::Production, None);
    let mut b = blog();
    b.stack = a.stack.clone();
    let ds = [a, b];
    let e = compile(&ds, &platform(), &digests(&ds, 1)).unwrap_err();
    assert!(matches!(e.0[0], PlanError::StackCollision { .. }), "{e}");
    let d = e.0[0].to_diagnostic();
    assert_eq!(d.code, Code::StackCollision);
    assert!(d.span.is_none(), "a stack has no single place in the files");
    assert_eq!(d.help.as_deref(), Some("rename one of the projects"));
    assert!(e.to_string().starts_with("error[E0220]: "), "{e}");
}

#[test]
fn a_task_larger_than_any_node_points_at_its_service() {
    let mut d = shop(Environment::Production, None);
    d.quota = Default::default();
    let db = d.services.iter_mut().find(|s| s.name == "db").unwrap();
    db.resources.reservations.memory_bytes = Some(64 << 30);
    db.mode = ServiceMode::Replicated { replicas: 1 };
    let ds = [d];
    let desired = compile(&ds, &platform(), &digests(&ds, 1)).unwrap();
    let e = plan(&desired, &observed("shop"), &PlanOptions::default()).unwrap_err();
    let too_large =
        e.0.iter()
            .find(|e| matches!(e, PlanError::TaskTooLarge { .. }))
            .unwrap_or_else(|| panic!("no TaskTooLarge in {e}"));
    let diagnostic = too_large.to_diagnostic();
    assert_eq!(diagnostic.code, Code::TaskTooLarge);
    assert!(diagnostic.span.is_some(), "{diagnostic:?}");
    assert!(diagnostic.help.is_some());
}
