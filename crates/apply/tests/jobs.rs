//! Jobs in the executor, against the engine in memory (`support/fake.rs`): a run over its
//! timeout is stopped (its service removed) and recorded as timed out, while what depends on it
//! never starts; the runs of the jobs an apply ran are recorded in one read of the tasks, which
//! is skipped when no job ran, and a failed read is a warning instead of a silence. Tokio's
//! clock is paused: nothing here waits for real time.

mod support;

use berth_apply::execute::{run, Options, Report};
use berth_apply::job::{self, TIMED_OUT};
use berth_apply::payload::Payloads;
use berth_apply::progress::Silent;
use berth_apply::state::{State, Store};
use berth_apply::ApplyError;
use berth_planner::docker::{ReplicatedJob, ServiceSpec};
use berth_planner::resource::label;
use berth_planner::{Action, Address, Change, DeploymentId, Plan, Spec};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use support::fake::{Behaviour, Fake};

fn address(name: &str) -> Address {
    format!("shop/production/service.{name}").parse().unwrap()
}

fn deployment() -> DeploymentId {
    address("web").deployment
}

fn spec(name: &str, job_timeout: Option<u64>) -> Spec {
    let mut spec = ServiceSpec {
        name: format!("shop_{name}"),
        labels: BTreeMap::from([
            (label::MANAGED.to_string(), "true".to_string()),
            (label::ADDRESS.to_string(), address(name).to_string()),
        ]),
        ..ServiceSpec::default()
    };
    spec.task_template.container_spec.image = "berth/demo:1".into();
    if let Some(secs) = job_timeout {
        spec.mode.replicated_job = Some(ReplicatedJob {
            max_concurrent: 1,
            total_completions: 1,
        });
        spec.labels
            .insert(label::JOB_TIMEOUT.into(), secs.to_string());
    }
    Spec::Service(Box::new(spec))
}

fn change(name: &str, action: Action, spec: Spec, deps: &[&str]) -> Change {
    Change {
        address: address(name),
        action,
        before: None,
        after: Some(spec),
        observed: None,
        replace_paths: vec![],
        create_before_destroy: false,
        restarts_tasks: false,
        data_loss: false,
        reason: None,
        depends_on: deps.iter().map(|d| address(d)).collect(),
    }
}

/// `seed` (a job with a timeout of 2 s) and `web`, which depends on it, both created.
fn plan() -> Plan {
    Plan {
        scope: vec![deployment()],
        changes: vec![
            change("seed", Action::Create, spec("seed", Some(2)), &[]),
            change("web", Action::Create, spec("web", None), &["seed"]),
        ],
        allocations: vec![],
        notes: vec![],
    }
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store(test: &str) -> (Store, Cleanup) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("berth-apply-jobs-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (Store::new(&dir), Cleanup(dir))
}

async fn apply(
    fake: &Arc<Fake>,
    store: &Store,
    plan: &Plan,
) -> (Report, BTreeMap<DeploymentId, State>) {
    let states = BTreeMap::from([(deployment(), store.begin(&deployment()).unwrap())]);
    run(
        fake.clone(),
        store,
        plan,
        Arc::new(Payloads::default()),
        states,
        Arc::new(Silent),
        Options::default(),
    )
    .await
    .map_err(|(e, _)| e)
    .expect("the apply runs")
}

fn task_reads(fake: &Fake) -> usize {
    fake.log()
        .iter()
        .filter(|c| c.what.starts_with("tasks:"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_run_over_its_timeout_is_stopped_and_recorded_and_its_dependant_never_starts() {
    let fake = Arc::new(Fake::new());
    fake.behave(
        "shop_seed",
        Behaviour {
            polls_to_converge: u32::MAX,
            ..Behaviour::default()
        },
    );
    let (store, _dir) = store("timeout");
    let (report, states) = apply(&fake, &store, &plan()).await;

    let [(failed, error)] = &report.failed[..] else {
        panic!("{:?}", report.failed)
    };
    assert_eq!(failed, &address("seed"));
    assert_eq!(error.code(), berth_lang::Code::JobTimedOut);
    let text = error.to_string();
    assert!(text.contains("did not complete within 2s"), "{text}");
    assert!(
        text.contains("berth removed the job's service, which stopped its task"),
        "{text}"
    );
    assert!(matches!(
        error,
        ApplyError::JobFailed {
            timed_out: true,
            ..
        }
    ));
    assert_eq!(report.skipped, vec![address("web")]);

    // The service is gone (Swarm stops a removed service's tasks), web was never created.
    assert!(fake.position("remove_service:shop_seed").is_some());
    assert!(fake.position("create_service:shop_web").is_none());
    assert!(
        fake.service_names().is_empty(),
        "{:?}",
        fake.service_names()
    );

    // The state says what the cluster holds (no seed), and that its run timed out; on disk too.
    for state in [
        states[&deployment()].clone(),
        store.load(&deployment()).unwrap().unwrap(),
    ] {
        assert!(state.resources.is_empty(), "{:?}", state.resources);
        let runs = &state.jobs[&address("seed").to_string()];
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].state, TIMED_OUT);
        assert_eq!(runs[0].exit_code, None);
        assert!(
            !runs[0].service.is_empty() && runs[0].at.ends_with('Z'),
            "{runs:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_runs_of_the_jobs_an_apply_ran_are_read_once_and_a_failed_read_is_a_warning() {
    let fake = Arc::new(Fake::new());
    let (store, _dir) = store("record");
    let plan = plan();
    let (report, mut states) = apply(&fake, &store, &plan).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    // The job ran: one read of the tasks records its run.
    let before = task_reads(&fake);
    let warnings = job::record_runs(fake.as_ref(), &plan, &mut states).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(task_reads(&fake), before + 1);
    let runs = states[&deployment()].jobs[&address("seed").to_string()].clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].state.as_str(), runs[0].exit_code),
        ("complete", Some(0))
    );

    // A plan that runs no job (the job unchanged, only web's image) reads nothing.
    let mut quiet = plan.clone();
    quiet.changes[0].action = Action::NoOp;
    let before = task_reads(&fake);
    let warnings = job::record_runs(fake.as_ref(), &quiet, &mut states).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(task_reads(&fake), before, "no job ran: no read");
    assert_eq!(
        states[&deployment()].jobs[&address("seed").to_string()],
        runs
    );

    // A read that fails says so, naming the job, and leaves the history as it was.
    fake.refuse("tasks:1");
    let warnings = job::record_runs(fake.as_ref(), &plan, &mut states).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("shop/production/service.seed")
            && warnings[0].contains("not recorded")
            && warnings[0].contains("refused tasks:1"),
        "{warnings:?}"
    );
    assert_eq!(
        states[&deployment()].jobs[&address("seed").to_string()],
        runs
    );

    // A job the plan no longer has loses its history.
    let mut without = plan.clone();
    without.changes.remove(0);
    job::forget_undesired(&without, &mut states);
    assert!(states[&deployment()].jobs.is_empty());
}
