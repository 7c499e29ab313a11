//! When the plan runs a job: once created, when its own spec changes, when a service that depends
//! on it changes (its `berth.job.trigger` label, a digest of its dependants' specs), and when its
//! last run did not complete (the observed `berth.job.last-run` label); never when nothing
//! changed. Each such change says so in the human and markdown plans.

mod support;

use berth_lang::model::{Deployment, Environment, RestartCondition, ServiceMode};
use berth_planner::render::{self, RenderOptions};
use berth_planner::resource::Spec;
use berth_planner::{plan, Observed, PlanOptions};
use support::*;

/// Shop's production with a `migrate` job that `web` depends on.
fn with_job() -> Deployment {
    let mut d = shop(Environment::Production, None);
    let mut job = service("migrate", "berth/postgres:15");
    job.mode = ServiceMode::Job {
        timeout_ns: 60_000_000_000,
    };
    job.restart.condition = RestartCondition::None;
    d.services.push(job);
    let web = d.services.iter_mut().find(|s| s.name == "web").unwrap();
    web.depends_on.push("migrate".into());
    d
}

fn planned(deployments: &[Deployment], observed: &Observed) -> berth_planner::Plan {
    let desired = applied(deployments, 1);
    plan(&desired, observed, &PlanOptions::default()).unwrap()
}

fn changed(p: &berth_planner::Plan) -> Vec<String> {
    p.actionable().map(|c| c.address.name.clone()).collect()
}

#[test]
fn a_new_job_runs_once_created_and_an_unchanged_one_never() {
    let d = with_job();
    let p = planned(
        std::slice::from_ref(&d),
        &running(&[shop(Environment::Production, None)]),
    );
    let job = p
        .actionable()
        .find(|c| c.address.name == "migrate")
        .expect("the job is created");
    match &job.after {
        Some(Spec::Service(s)) => {
            let mode = s.mode.replicated_job.as_ref().expect("a replicated job");
            assert_eq!((mode.max_concurrent, mode.total_completions), (1, 1));
            assert!(s.update_config.is_none() && s.rollback_config.is_none());
            assert_eq!(s.labels["berth.job.timeout"], "60");
        }
        other => panic!("{other:?}"),
    }
    let text = render::human(&p, &RenderOptions::default());
    assert!(text.contains("(the job runs once created"), "{text}");

    let p = planned(std::slice::from_ref(&d), &running(std::slice::from_ref(&d)));
    assert!(
        p.is_empty(),
        "{}",
        render::human(&p, &RenderOptions::default())
    );
}

#[test]
fn a_dependants_change_runs_the_job_again_first() {
    let before = with_job();
    let mut after = before.clone();
    after
        .services
        .iter_mut()
        .find(|s| s.name == "web")
        .unwrap()
        .image = "berth/demo:2".into();
    let p = planned(&[after], &running(&[before]));
    let mut names = changed(&p);
    names.sort();
    assert_eq!(names, vec!["migrate", "web"]);
    let job = p
        .actionable()
        .find(|c| c.address.name == "migrate")
        .unwrap();
    let labels = |s: &Option<Spec>| match s {
        Some(Spec::Service(s)) => s.labels.clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(
        labels(&job.before)["berth.job.trigger"],
        labels(&job.after)["berth.job.trigger"]
    );
    let text = render::human(&p, &RenderOptions::default());
    assert!(
        text.contains("(the job runs again first: a service that depends on it changes)"),
        "{text}"
    );
    let md = render::markdown(&p, &RenderOptions::default());
    assert!(md.contains("the job runs again first"), "{md}");

    // A service that does not depend on the job changes alone.
    let mut other = with_job();
    other
        .services
        .iter_mut()
        .find(|s| s.name == "api")
        .unwrap()
        .image = "berth/demo:2".into();
    let p = planned(&[other], &running(&[with_job()]));
    assert_eq!(changed(&p), vec!["api"]);
}

#[test]
fn a_job_whose_last_run_did_not_complete_runs_again() {
    let d = with_job();
    let mut observed = running(std::slice::from_ref(&d));
    for r in &mut observed.resources {
        if let Spec::Service(s) = &mut r.spec {
            if s.mode.replicated_job.is_some() {
                s.labels
                    .insert("berth.job.last-run".into(), "incomplete".into());
            }
        }
    }
    let p = planned(std::slice::from_ref(&d), &observed);
    assert_eq!(changed(&p), vec!["migrate"]);
    let text = render::human(&p, &RenderOptions::default());
    assert!(text.contains("its last run did not complete"), "{text}");
}
