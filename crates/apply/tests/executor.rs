//! The executor against an engine in memory (`support/fake.rs`), without Docker: a failure stops
//! its dependents and nothing else, Ctrl-C starts nothing new and records what was sent, a
//! panicking step is blamed on itself, an update out of sequence is re-read and re-checked,
//! convergence holds no parallelism slot and one poller reads every converging service, and the
//! state is on disk after every step. Tokio's clock is paused: nothing here waits for real time.

mod support;

use berth_apply::execute::{run, Options, Report};
use berth_apply::payload::Payloads;
use berth_apply::progress::{Event, Progress};
use berth_apply::state::{State, Store};
use berth_apply::ApplyError;
use berth_planner::docker::{NetworkAttachment, NetworkSpec, ServiceSpec, VolumeSpec};
use berth_planner::plan::ObservedRef;
use berth_planner::resource::label;
use berth_planner::{Action, Address, Change, DeploymentId, Plan, Spec};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::fake::{Behaviour, Fake};

fn address(name: &str) -> Address {
    format!("shop/production/{name}").parse().unwrap()
}

fn deployment() -> DeploymentId {
    address("service.web").deployment
}

fn labels(a: &Address) -> BTreeMap<String, String> {
    BTreeMap::from([
        (label::MANAGED.to_string(), "true".to_string()),
        (label::ADDRESS.to_string(), a.to_string()),
    ])
}

fn service_spec(name: &str, image: &str, networks: &[&str]) -> ServiceSpec {
    let mut spec = ServiceSpec {
        name: format!("shop_{name}"),
        labels: labels(&address(&format!("service.{name}"))),
        ..ServiceSpec::default()
    };
    spec.task_template.container_spec.image = image.into();
    spec.task_template.networks = networks
        .iter()
        .map(|n| NetworkAttachment {
            target: format!("shop_{n}"),
            aliases: vec![],
        })
        .collect();
    spec
}

fn create(name: &str, spec: Spec, deps: &[&str]) -> Change {
    Change {
        address: address(name),
        action: Action::Create,
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

fn network(name: &str) -> Change {
    let spec = NetworkSpec {
        name: format!("shop_{name}"),
        driver: "overlay".into(),
        labels: labels(&address(&format!("network.{name}"))),
        ..NetworkSpec::default()
    };
    create(&format!("network.{name}"), Spec::Network(spec), &[])
}

fn volume(name: &str) -> Change {
    let spec = VolumeSpec {
        name: format!("shop_{name}"),
        driver: "local".into(),
        labels: labels(&address(&format!("volume.{name}"))),
        ..VolumeSpec::default()
    };
    create(&format!("volume.{name}"), Spec::Volume(spec), &[])
}

fn service(name: &str, networks: &[&str], deps: &[&str]) -> Change {
    let spec = service_spec(name, "berth/demo:1", networks);
    let mut deps: Vec<String> = deps.iter().map(|d| d.to_string()).collect();
    deps.extend(networks.iter().map(|n| format!("network.{n}")));
    let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
    create(
        &format!("service.{name}"),
        Spec::Service(Box::new(spec)),
        &deps,
    )
}

fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        scope: vec![deployment()],
        changes,
        allocations: vec![],
        notes: vec![],
    }
}

/// Removes a test's state directory when the test ends, passed or failed.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A state directory of its own for each test.
fn store(test: &str) -> (Store, Cleanup) {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "berth-apply-executor-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    (Store::new(&dir), Cleanup(dir))
}

/// Records the events; on each one that finishes a step, reads the state file from disk.
struct Recorder {
    events: Mutex<Vec<Event>>,
    store: Store,
    /// For each finished step: its address and whether the state on disk then held it.
    on_disk: Mutex<Vec<(Address, &'static str, bool)>>,
    /// Set when the first step starts (Ctrl-C while it runs), when given.
    cancel_on_start: Option<Arc<AtomicBool>>,
}

impl Recorder {
    fn new(store: &Store) -> Arc<Recorder> {
        Arc::new(Recorder {
            events: Mutex::new(vec![]),
            store: store.clone(),
            on_disk: Mutex::new(vec![]),
            cancel_on_start: None,
        })
    }
}

impl Progress for Recorder {
    fn event(&self, event: Event) {
        if let (Event::Started { .. }, Some(cancel)) = (&event, &self.cancel_on_start) {
            cancel.store(true, Ordering::Relaxed);
        }
        if let Event::Finished {
            address, action, ..
        } = &event
        {
            let state = self.store.load(&address.deployment).unwrap();
            let held =
                state.is_some_and(|s: State| s.resources.iter().any(|r| &r.address == address));
            self.on_disk
                .lock()
                .unwrap()
                .push((address.clone(), action, held));
        }
        self.events.lock().unwrap().push(event);
    }
}

async fn apply(
    fake: &Arc<Fake>,
    store: &Store,
    plan: &Plan,
    progress: Arc<dyn Progress>,
    options: Options,
) -> Report {
    let states = BTreeMap::from([(deployment(), store.begin(&deployment()).unwrap())]);
    let (report, _) = run(
        fake.clone(),
        store,
        plan,
        Arc::new(Payloads::default()),
        states,
        progress,
        options,
    )
    .await
    .map_err(|(e, _)| e)
    .expect("the apply runs");
    report
}

fn options(parallelism: usize) -> Options {
    Options {
        parallelism,
        ..Options::default()
    }
}

fn failed(report: &Report) -> Vec<String> {
    report.failed.iter().map(|(a, _)| a.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_its_dependents_and_nothing_else() {
    let fake = Arc::new(Fake::new());
    fake.refuse("create_network:shop_backend");
    let (store, _dir) = store("failure");
    let plan = plan(vec![
        network("backend"),
        service("web", &["backend"], &[]),
        volume("data"),
    ]);
    let report = apply(&fake, &store, &plan, Recorder::new(&store), options(4)).await;
    assert_eq!(failed(&report), vec!["shop/production/network.backend"]);
    match &report.failed[0].1 {
        ApplyError::Engine { error, .. } => assert_eq!(error.status, Some(500)),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.skipped, vec![address("service.web")]);
    assert_eq!(report.done, vec![address("volume.data")]);
    assert!(fake.position("create_service:shop_web").is_none());
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_starts_nothing_new_and_records_what_was_sent() {
    let fake = Arc::new(Fake::new());
    let (store, _dir) = store("cancel");
    let cancel = Arc::new(AtomicBool::new(false));
    let recorder = Arc::new(Recorder {
        cancel_on_start: Some(cancel.clone()),
        ..Arc::into_inner(Recorder::new(&store)).unwrap()
    });
    let plan = plan(vec![volume("a"), volume("b"), volume("c")]);
    let options = Options {
        parallelism: 1,
        cancel,
        ..Options::default()
    };
    let report = apply(&fake, &store, &plan, recorder.clone(), options).await;
    // The first step was running when Ctrl-C came: it finished and is recorded.
    assert_eq!(report.done, vec![address("volume.a")]);
    assert_eq!(
        report.skipped,
        vec![address("volume.b"), address("volume.c")]
    );
    assert!(report.failed.is_empty());
    let creates: Vec<String> = fake
        .log()
        .into_iter()
        .map(|c| c.what)
        .filter(|w| w.starts_with("create"))
        .collect();
    assert_eq!(creates, vec!["create_volume:shop_a"]);
    let state = store.load(&deployment()).unwrap().unwrap();
    assert_eq!(state.resources.len(), 1);
    let skipped_interrupted = recorder
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, Event::Skipped { reason, .. } if reason == "interrupted"));
    assert!(skipped_interrupted);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_step_is_blamed_on_its_own_change() {
    let fake = Arc::new(Fake::new());
    fake.panic_on("create_service:shop_api");
    let (store, _dir) = store("panic");
    // The panicking change is not the first: the blame must not fall on `volume.data`.
    let plan = plan(vec![
        volume("data"),
        service("api", &[], &[]),
        service("web", &[], &[]),
    ]);
    let report = apply(&fake, &store, &plan, Recorder::new(&store), options(4)).await;
    assert_eq!(failed(&report), vec!["shop/production/service.api"]);
    match &report.failed[0].1 {
        e @ ApplyError::Internal { message, address } => {
            assert!(message.contains("panicked"), "{message}");
            assert_eq!(address, "shop/production/service.api");
            assert!(!e.to_string().contains("Docker refused"));
        }
        other => panic!("{other:?}"),
    }
    let mut done = report.done.clone();
    done.sort();
    let mut expected = vec![address("service.web"), address("volume.data")];
    expected.sort();
    assert_eq!(done, expected);
}

/// An existing service `web` and its planned update to `image`.
fn existing_web(fake: &Fake, image: &str) -> Change {
    let a = address("service.web");
    let live = service_spec("web", "berth/demo:1", &[]);
    let id = fake.add_service(serde_json::to_value(&live).unwrap());
    let before = berth_apply::step::observe_service(&fake.service_json(&id), vec![], &a)
        .unwrap()
        .expect("the fake's service observes as managed");
    Change {
        address: a,
        action: Action::Update,
        before: Some(before.spec),
        after: Some(Spec::Service(Box::new(service_spec("web", image, &[])))),
        observed: Some(ObservedRef {
            id: id.clone(),
            name: "shop_web".into(),
            version: Some(1),
        }),
        replace_paths: vec![],
        create_before_destroy: false,
        restarts_tasks: true,
        data_loss: false,
        reason: None,
        depends_on: vec![],
    }
}

#[tokio::test(start_paused = true)]
async fn an_update_out_of_sequence_is_re_read_and_continues_when_unchanged() {
    let fake = Arc::new(Fake::new());
    let web = existing_web(&fake, "berth/demo:2");
    fake.bump_before_update("shop_web", None);
    let (store, _dir) = store("sequence-same");
    let report = apply(
        &fake,
        &store,
        &plan(vec![web]),
        Recorder::new(&store),
        options(2),
    )
    .await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.service_updates, 1);
    let updates = fake
        .log()
        .iter()
        .filter(|c| c.what == "update_service:shop_web")
        .count();
    assert_eq!(
        updates, 2,
        "the refused update is sent again at the new version"
    );
    // The re-read is one inspect of the service, not a read of the whole cluster.
    let inspects = fake
        .log()
        .iter()
        .filter(|c| c.what == "inspect_service:shop_web")
        .count();
    assert_eq!(inspects, 2, "one before the update, one re-read");
}

#[tokio::test(start_paused = true)]
async fn an_update_out_of_sequence_stops_when_someone_changed_the_service() {
    let fake = Arc::new(Fake::new());
    let web = existing_web(&fake, "berth/demo:2");
    fake.bump_before_update("shop_web", Some("someone/else:9"));
    let (store, _dir) = store("sequence-changed");
    let report = apply(
        &fake,
        &store,
        &plan(vec![web]),
        Recorder::new(&store),
        options(2),
    )
    .await;
    match &report.failed[..] {
        [(a, ApplyError::ChangedSincePlan { .. })] => assert_eq!(a, &address("service.web")),
        other => panic!("{other:?}"),
    }
    let updates = fake
        .log()
        .iter()
        .filter(|c| c.what == "update_service:shop_web")
        .count();
    assert_eq!(updates, 1, "nothing overwrites the change");
}

#[tokio::test(start_paused = true)]
async fn convergence_holds_no_slot_and_dependents_wait_for_it() {
    let fake = Arc::new(Fake::new());
    fake.behave(
        "shop_slow",
        Behaviour {
            polls_to_converge: 20,
            rolls_back: false,
        },
    );
    let (store, _dir) = store("slot");
    let plan = plan(vec![
        service("slow", &[], &[]),
        service("api", &[], &["service.slow"]),
        volume("unrelated"),
    ]);
    let report = apply(&fake, &store, &plan, Recorder::new(&store), options(1)).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.done.len(), 3);
    let slow = fake.call("create_service:shop_slow").unwrap();
    let unrelated = fake.call("create_volume:shop_unrelated").unwrap();
    let api = fake.call("create_service:shop_api").unwrap();
    assert_eq!(slow.polls_before, 0);
    assert!(
        unrelated.polls_before < 20,
        "with one slot, the unrelated create ran while `slow` converged: {unrelated:?}"
    );
    assert!(
        api.polls_before >= 20,
        "`api` waited until `slow` converged: {api:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_poller_reads_every_converging_service_in_one_call() {
    let fake = Arc::new(Fake::new());
    for name in ["shop_a", "shop_b", "shop_c"] {
        fake.behave(
            name,
            Behaviour {
                polls_to_converge: 8,
                rolls_back: false,
            },
        );
    }
    let (store, _dir) = store("poller");
    let plan = plan(vec![
        service("a", &[], &[]),
        service("b", &[], &[]),
        service("c", &[], &[]),
    ]);
    let report = apply(&fake, &store, &plan, Recorder::new(&store), options(3)).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let log = fake.log();
    let tasks_calls: Vec<&str> = log
        .iter()
        .map(|c| c.what.as_str())
        .filter(|w| w.starts_with("tasks:"))
        .collect();
    assert!(
        tasks_calls.contains(&"tasks:3"),
        "the three were read together: {tasks_calls:?}"
    );
    // About eight polls for the three together, not eight for each.
    assert!(
        tasks_calls.len() <= 12,
        "{} task reads: {tasks_calls:?}",
        tasks_calls.len()
    );
    let services_calls = log
        .iter()
        .filter(|c| c.what.starts_with("services:"))
        .count();
    assert_eq!(services_calls, tasks_calls.len());
}

#[tokio::test(start_paused = true)]
async fn a_rollback_by_swarm_fails_the_update_with_the_task_errors() {
    let fake = Arc::new(Fake::new());
    fake.behave(
        "shop_web",
        Behaviour {
            polls_to_converge: 0,
            rolls_back: true,
        },
    );
    let web = existing_web(&fake, "berth/demo:broken");
    let (store, _dir) = store("rollback");
    let report = apply(
        &fake,
        &store,
        &plan(vec![web]),
        Recorder::new(&store),
        options(2),
    )
    .await;
    match &report.failed[..] {
        [(_, ApplyError::RolledBack { task_errors, .. })] => {
            assert_eq!(
                task_errors,
                &vec!["task 1 failed: task: non-zero exit (1)".to_string()]
            );
        }
        other => panic!("{other:?}"),
    }
    // Swarm runs the previous spec again: state records that, not the rejected image, so the
    // next drift check does not call the running version drift (issue 14, item 1).
    let state = store.load(&deployment()).unwrap().unwrap();
    let web = state
        .resources
        .iter()
        .find(|r| r.address == address("service.web"))
        .expect("the service is recorded");
    let Spec::Service(spec) = &web.spec else {
        panic!("{:?}", web.spec)
    };
    assert_eq!(spec.task_template.container_spec.image, "berth/demo:1");
}

#[tokio::test(start_paused = true)]
async fn the_state_is_on_disk_after_every_step() {
    let fake = Arc::new(Fake::new());
    let (store, _dir) = store("checkpoint");
    let recorder = Recorder::new(&store);
    let plan = plan(vec![
        network("backend"),
        volume("data"),
        service("web", &["backend"], &[]),
    ]);
    let report = apply(&fake, &store, &plan, recorder.clone(), options(1)).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let on_disk = recorder.on_disk.lock().unwrap().clone();
    assert_eq!(on_disk.len(), 3, "{on_disk:?}");
    for (address, action, held) in &on_disk {
        assert!(
            held,
            "{address} ({action}) was not in the state file when it finished"
        );
    }
    // The service was recorded with the version it converged at.
    let state = store.load(&deployment()).unwrap().unwrap();
    let web = state
        .resources
        .iter()
        .find(|r| r.address == address("service.web"))
        .unwrap();
    assert_eq!(web.version, Some(1));
}
