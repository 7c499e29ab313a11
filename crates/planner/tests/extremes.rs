//! The planner never panics nor wraps on a model with extreme numbers. lang refuses most of these
//! (E0190, E0181, bounds), but the planner is a library: whatever model it is given, it saturates
//! or reports, and its sums of quotas and reservations stay at least as large as any part.

mod support;

use berth_lang::model::{Deployment, Environment, ServiceMode, Volume};
use berth_planner::render::{self, RenderOptions};
use berth_planner::{compile, plan, Measure, PlanError, PlanOptions, Spec};
use support::*;

/// The shop with every number a user writes pushed to `u64::MAX`.
fn extreme_shop() -> Deployment {
    let mut d = shop(Environment::Production, None);
    for s in &mut d.services {
        if let ServiceMode::Replicated { replicas } = &mut s.mode {
            *replicas = u64::MAX;
        }
        for set in [&mut s.resources.limits, &mut s.resources.reservations] {
            set.nano_cpus = Some(u64::MAX);
            set.memory_bytes = Some(u64::MAX);
        }
        if let Some(h) = &mut s.health {
            h.interval_ns = u64::MAX;
            h.retries = u64::MAX;
            h.start_period_ns = u64::MAX;
        }
        // A zero monitor asks the planner for the health check's window.
        s.update.monitor_ns = 0;
        s.rollback.monitor_ns = 0;
        s.update.parallelism = u64::MAX;
        s.restart.max_attempts = Some(u64::MAX);
        s.restart.delay_ns = u64::MAX;
        s.stop_grace_period_ns = Some(u64::MAX);
    }
    for v in &mut d.volumes {
        v.size = Some(u64::MAX);
    }
    let mut second: Volume = d.volumes[0].clone();
    second.name = "more".into();
    d.volumes.push(second);
    d.quota.cpu = Some(u64::MAX - 1);
    d.quota.memory = Some(u64::MAX - 1);
    d.quota.storage = Some(u64::MAX - 1);
    d.quota.replicas = Some(u64::MAX - 1);
    d
}

#[test]
fn extreme_numbers_are_quota_errors_not_panics() {
    let d = extreme_shop();
    let desired = compile(
        std::slice::from_ref(&d),
        &platform(),
        &digests(std::slice::from_ref(&d), 1),
    )
    .expect("compiles");
    // The health check's window saturates at the largest duration Swarm stores.
    let web = desired
        .resources
        .values()
        .find_map(|r| match &r.spec {
            Spec::Service(s) if s.name.ends_with("_web") => Some(s),
            _ => None,
        })
        .expect("the web service");
    let update = web.update_config.as_ref().expect("an update config");
    assert_eq!(update.monitor, berth_lang::units::MAX_UNITS);
    let errors = plan(&desired, &observed("shop"), &PlanOptions::default())
        .expect_err("far above the quota");
    // The messages render the saturated numbers without panicking.
    for e in &errors.0 {
        assert!(!e.to_string().is_empty());
        let _ = e.to_diagnostic();
    }
    // Every sum saturated above its quota (`u64::MAX - 1`) instead of wrapping below it.
    for measure in [
        Measure::Cpu,
        Measure::Memory,
        Measure::Storage,
        Measure::Replicas,
    ] {
        assert!(
            errors
                .0
                .iter()
                .any(|e| matches!(e, PlanError::QuotaExceeded { measure: m, .. } if *m == measure)),
            "{measure:?} is above the quota: {errors:?}"
        );
    }
}

#[test]
fn extreme_numbers_plan_and_render_without_a_quota() {
    let mut d = extreme_shop();
    d.quota = Default::default();
    let desired = compile(
        std::slice::from_ref(&d),
        &platform(),
        &digests(std::slice::from_ref(&d), 1),
    )
    .expect("compiles");
    match plan(&desired, &observed("shop"), &PlanOptions::default()) {
        // Node capacity refuses reservations no node has.
        Err(errors) => assert!(
            errors
                .0
                .iter()
                .any(|e| matches!(e, PlanError::TaskTooLarge { .. })),
            "{errors:?}"
        ),
        Ok(p) => panic!(
            "a task reserving u64::MAX fits no node:\n{}",
            render::human(&p, &RenderOptions::default())
        ),
    }
}
