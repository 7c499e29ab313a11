//! The orchestration of an apply (`deploy::run`) without Docker: the executor's engine in memory
//! (`support/fake.rs`) behind a cluster that counts its reads, locks and states on a temporary
//! directory. A lock held by another holder stops the run before the cluster is reached, a stale
//! saved plan is refused before anything changes, and the states are saved (with their outputs)
//! after a failed step too, with every lock released at the end.

mod support;

use berth_apply::deploy::{self, Hooks, Operation, Outcome, Planning, Request};
use berth_apply::engine::{Engine, ServiceState, ServiceView, TaskView};
use berth_apply::error::DockerError;
use berth_apply::execute::Options;
use berth_apply::lock;
use berth_apply::ops::Ids;
use berth_apply::payload::Payloads;
use berth_apply::progress::{Progress, Silent};
use berth_apply::state::{Outputs, RouteOutput, Store};
use berth_apply::ApplyError;
use berth_planner::docker::{ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec, VolumeSpec};
use berth_planner::resource::label;
use berth_planner::{
    Action, Address, Change, DeploymentId, Desired, DockerSnapshot, Kind, Observed, Plan,
    PlanErrors, PlanFile, Spec,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::fake::Fake;

/// The fake engine, with a full read that answers an empty cluster and counts how often the
/// cluster was read.
struct Cluster {
    fake: Fake,
    reads: AtomicUsize,
}

impl Engine for Cluster {
    async fn ids(&self) -> Result<Ids, DockerError> {
        self.fake.ids().await
    }
    async fn snapshot(&self) -> Result<DockerSnapshot, ApplyError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(DockerSnapshot {
            services: "[]".into(),
            networks: "[]".into(),
            volumes: "{}".into(),
            secrets: "[]".into(),
            configs: "[]".into(),
            nodes: "[]".into(),
            tasks: "[]".into(),
        })
    }
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String, DockerError> {
        self.fake.create_network(spec).await
    }
    async fn create_volume(&self, spec: &VolumeSpec) -> Result<String, DockerError> {
        self.fake.create_volume(spec).await
    }
    async fn create_secret(&self, spec: &SecretSpec, data: &[u8]) -> Result<String, DockerError> {
        self.fake.create_secret(spec, data).await
    }
    async fn create_config(&self, spec: &ConfigSpec, data: &[u8]) -> Result<String, DockerError> {
        self.fake.create_config(spec, data).await
    }
    async fn create_service(&self, spec: Value) -> Result<String, DockerError> {
        self.fake.create_service(spec).await
    }
    async fn update_service(&self, id: &str, version: u64, spec: Value) -> Result<(), DockerError> {
        self.fake.update_service(id, version, spec).await
    }
    async fn remove(&self, kind: Kind, id: &str) -> Result<(), DockerError> {
        self.fake.remove(kind, id).await
    }
    async fn inspect_service(&self, id: &str) -> Result<ServiceView, DockerError> {
        self.fake.inspect_service(id).await
    }
    async fn services(&self, ids: &[String]) -> Result<Vec<ServiceState>, DockerError> {
        self.fake.services(ids).await
    }
    async fn tasks(&self, service_ids: &[String]) -> Result<Vec<TaskView>, DockerError> {
        self.fake.tasks(service_ids).await
    }
    async fn service_containers(&self, service_id: &str) -> Result<bool, DockerError> {
        self.fake.service_containers(service_id).await
    }
    async fn release_volume(&self, name: &str) {
        self.fake.release_volume(name).await
    }
    async fn network_listed(&self, id: &str) -> Result<bool, DockerError> {
        self.fake.network_listed(id).await
    }
}

/// What the run asked of the binary.
#[derive(Default)]
struct Asked {
    planned: usize,
    shown: usize,
    confirmed: usize,
    started: usize,
}

/// Hooks that plan `plan` and approve it.
struct Approve {
    plan: Plan,
    asked: Asked,
}

impl Hooks for Approve {
    type Error = ApplyError;
    fn plan(&mut self, _: &Observed) -> Result<Plan, ApplyError> {
        self.asked.planned += 1;
        Ok(self.plan.clone())
    }
    fn refused(&mut self, errors: PlanErrors) -> ApplyError {
        ApplyError::internal("the test", format!("refused: {errors:?}"))
    }
    fn show(&mut self, _: &Plan) {
        self.asked.shown += 1;
    }
    fn confirm(&mut self, _: &Plan) -> Result<bool, ApplyError> {
        self.asked.confirmed += 1;
        Ok(true)
    }
    fn start(&mut self, _: &Plan) -> Arc<dyn Progress> {
        self.asked.started += 1;
        Arc::new(Silent)
    }
}

fn address(deployment: &str, name: &str) -> Address {
    format!("shop/{deployment}/{name}").parse().unwrap()
}

fn labels(a: &Address) -> BTreeMap<String, String> {
    BTreeMap::from([
        (label::MANAGED.to_string(), "true".to_string()),
        (label::ADDRESS.to_string(), a.to_string()),
    ])
}

fn create(address: Address, spec: Spec, depends_on: Vec<Address>) -> Change {
    Change {
        address,
        action: Action::Create,
        before: None,
        after: Some(spec),
        observed: None,
        replace_paths: vec![],
        create_before_destroy: false,
        restarts_tasks: false,
        data_loss: false,
        reason: None,
        depends_on,
    }
}

/// A network of production and a service on it.
fn network_and_service() -> Plan {
    let network = address("production", "network.default");
    let net = NetworkSpec {
        name: "shop_default".into(),
        driver: "overlay".into(),
        labels: labels(&network),
        ..NetworkSpec::default()
    };
    let service = address("production", "service.web");
    let mut web = ServiceSpec {
        name: "shop_web".into(),
        labels: labels(&service),
        ..ServiceSpec::default()
    };
    web.task_template.container_spec.image = "berth/demo:1".into();
    Plan {
        scope: vec![network.deployment.clone()],
        changes: vec![
            create(network.clone(), Spec::Network(net), vec![]),
            create(service, Spec::Service(Box::new(web)), vec![network]),
        ],
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

fn store(test: &str) -> (Store, Cleanup) {
    let dir =
        std::env::temp_dir().join(format!("berth-apply-deploy-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (Store::new(&dir), Cleanup(dir))
}

fn request<'a>(
    store: &'a Store,
    desired: &'a Desired,
    scope: Vec<DeploymentId>,
    planning: Planning,
    outputs: BTreeMap<DeploymentId, Outputs>,
) -> Request<'a> {
    Request {
        operation: Operation::Apply,
        store,
        scope,
        lock_timeout: Duration::ZERO,
        desired,
        payloads: Payloads::default(),
        planning,
        outputs,
        options: Options {
            poll: Duration::from_millis(10),
            ..Options::default()
        },
    }
}

/// Connects to `cluster`, noting that it did.
async fn connect(
    cluster: &Arc<Cluster>,
    connected: &AtomicBool,
) -> Result<Arc<Cluster>, ApplyError> {
    connected.store(true, Ordering::SeqCst);
    Ok(cluster.clone())
}

fn cluster() -> Arc<Cluster> {
    Arc::new(Cluster {
        fake: Fake::new(),
        reads: AtomicUsize::new(0),
    })
}

fn lock_file(store: &Store, id: &DeploymentId) -> PathBuf {
    store.dir(id).join("lock.json")
}

#[tokio::test]
async fn a_lock_held_by_another_holder_stops_the_run_before_the_cluster_is_read() {
    let (store, _cleanup) = store("locked");
    let production = address("production", "service.web").deployment;
    let staging = address("staging", "service.web").deployment;
    // Another holder has production's lock; staging sorts after it and is free.
    let held = lock::acquire(&store, &production, "apply", Duration::ZERO).unwrap();
    let cluster = cluster();
    let connected = AtomicBool::new(false);
    let mut hooks = Approve {
        plan: network_and_service(),
        asked: Asked::default(),
    };
    let desired = Desired::default();
    let scope = vec![staging.clone(), production.clone()];
    let ran = deploy::run(
        request(&store, &desired, scope, Planning::Now, BTreeMap::new()),
        connect(&cluster, &connected),
        &mut hooks,
    )
    .await;
    match ran {
        Err(ApplyError::Locked { id, deployment, .. }) => {
            assert_eq!(id, held.info.id);
            assert_eq!(*deployment, production);
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(
        !connected.load(Ordering::SeqCst),
        "the engine was connected"
    );
    assert_eq!(
        cluster.reads.load(Ordering::SeqCst),
        0,
        "the cluster was read"
    );
    assert!(cluster.fake.log().is_empty(), "{:?}", cluster.fake.log());
    assert_eq!(hooks.asked.planned + hooks.asked.shown, 0);
    assert!(store.load(&production).unwrap().is_none());
    assert!(store.load(&staging).unwrap().is_none());
    // The other holder's lock is untouched; no lock of this run is left behind.
    assert!(lock_file(&store, &production).exists());
    assert!(!lock_file(&store, &staging).exists());
}

/// A state for production written by an earlier apply, and a plan file made against it.
fn saved_against_state(store: &Store) -> (DeploymentId, PlanFile) {
    let plan = network_and_service();
    let id = plan.scope[0].clone();
    let state = store.begin(&id).unwrap();
    store.save(&state).unwrap();
    let states = BTreeMap::from([(id.clone(), state)]);
    let (lineage, serial) = deploy::lineage_and_serial(&states);
    let empty = Observed::default();
    (id, PlanFile::new(plan, lineage, serial, &empty, "config"))
}

#[tokio::test]
async fn a_stale_saved_plan_is_refused_before_anything_changes() {
    let (store, _cleanup) = store("stale");
    let (id, fresh) = saved_against_state(&store);
    let before = store.load(&id).unwrap().unwrap();
    let stale = [
        PlanFile {
            lineage: format!("{id}=another-lineage"),
            ..fresh.clone()
        },
        PlanFile {
            serial: fresh.serial + 1,
            ..fresh.clone()
        },
        PlanFile {
            observed_fingerprint: "0".repeat(64),
            ..fresh.clone()
        },
    ];
    for file in stale {
        let cluster = cluster();
        let connected = AtomicBool::new(false);
        let mut hooks = Approve {
            plan: network_and_service(),
            asked: Asked::default(),
        };
        let desired = Desired::default();
        let ran = deploy::run(
            request(
                &store,
                &desired,
                vec![id.clone()],
                Planning::Saved(Box::new(file.clone())),
                BTreeMap::new(),
            ),
            connect(&cluster, &connected),
            &mut hooks,
        )
        .await;
        assert!(
            matches!(ran, Err(ApplyError::Stale(_))),
            "{:?}: {ran:?}",
            (&file.lineage, file.serial)
        );
        // Read (freshness is checked against the cluster), never changed.
        assert_eq!(cluster.reads.load(Ordering::SeqCst), 1);
        assert!(cluster.fake.log().is_empty(), "{:?}", cluster.fake.log());
        assert!(cluster.fake.network_names().is_empty());
        let asked = &hooks.asked;
        assert_eq!(
            (asked.planned, asked.shown, asked.confirmed, asked.started),
            (0, 0, 0, 0)
        );
        assert_eq!(store.load(&id).unwrap().unwrap(), before, "the state moved");
        assert!(store.history(&id).unwrap().is_empty(), "a state was begun");
        assert!(!lock_file(&store, &id).exists(), "the lock was kept");
    }

    // The same plan, fresh, runs: the refusals above were about staleness alone.
    let cluster = cluster();
    let connected = AtomicBool::new(false);
    let mut hooks = Approve {
        plan: network_and_service(),
        asked: Asked::default(),
    };
    let desired = Desired::default();
    let ran = deploy::run(
        request(
            &store,
            &desired,
            vec![id.clone()],
            Planning::Saved(Box::new(fresh)),
            BTreeMap::new(),
        ),
        connect(&cluster, &connected),
        &mut hooks,
    )
    .await;
    assert!(matches!(ran, Ok(Outcome::Executed { .. })), "{ran:?}");
    assert_eq!(cluster.fake.network_names(), ["shop_default"]);
    assert_eq!(store.load(&id).unwrap().unwrap().serial, before.serial + 1);
}

#[tokio::test]
async fn states_and_outputs_are_saved_after_a_failed_step_and_the_locks_released() {
    let (store, _cleanup) = store("failed");
    let plan = network_and_service();
    let id = plan.scope[0].clone();
    let cluster = cluster();
    cluster.fake.refuse("create_service:shop_web");
    let connected = AtomicBool::new(false);
    let mut hooks = Approve {
        plan,
        asked: Asked::default(),
    };
    let outputs = Outputs {
        routes: vec![RouteOutput {
            service: "web".into(),
            url: "http://shop.example.com/".into(),
        }],
    };
    let desired = Desired::default();
    let ran = deploy::run(
        request(
            &store,
            &desired,
            vec![id.clone()],
            Planning::Now,
            BTreeMap::from([(id.clone(), outputs.clone())]),
        ),
        connect(&cluster, &connected),
        &mut hooks,
    )
    .await;
    let Ok(Outcome::Executed { report, .. }) = ran else {
        panic!("expected the steps to run, got {ran:?}");
    };
    let failed: Vec<String> = report.failed.iter().map(|(a, _)| a.to_string()).collect();
    assert_eq!(failed, ["shop/production/service.web"]);
    let asked = &hooks.asked;
    assert_eq!(
        (asked.planned, asked.shown, asked.confirmed, asked.started),
        (1, 1, 1, 1)
    );
    let state = store.load(&id).unwrap().expect("the state is saved");
    assert_eq!(state.serial, 1);
    let recorded: Vec<String> = state
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(recorded, ["shop/production/network.default"]);
    assert_eq!(state.outputs, outputs);
    assert!(!lock_file(&store, &id).exists(), "the lock was kept");
}

#[tokio::test]
async fn states_are_saved_when_the_executor_stops_before_any_step() {
    let (store, _cleanup) = store("stopped");
    let plan = network_and_service();
    let id = plan.scope[0].clone();
    let cluster = cluster();
    // The executor's first call (the names of existing objects) is refused.
    cluster.fake.refuse("ids:");
    let connected = AtomicBool::new(false);
    let mut hooks = Approve {
        plan,
        asked: Asked::default(),
    };
    let desired = Desired::default();
    let ran = deploy::run(
        request(
            &store,
            &desired,
            vec![id.clone()],
            Planning::Now,
            BTreeMap::new(),
        ),
        connect(&cluster, &connected),
        &mut hooks,
    )
    .await;
    assert!(matches!(ran, Err(ApplyError::Engine { .. })), "{ran:?}");
    assert!(cluster.fake.network_names().is_empty());
    // Nothing was created, so nothing is recorded and no serial is taken.
    assert_eq!(store.load(&id).unwrap().map(|s| s.serial), None);
    assert!(!lock_file(&store, &id).exists(), "the lock was kept");
}

/// Issue 14, item 5: an apply whose scope holds two project environments but changes only one
/// moves only that one's serial; the other's state (and the saved plans made against it) stay
/// as they were.
#[tokio::test]
async fn only_a_project_environment_that_changed_takes_a_new_serial() {
    let (store, _cleanup) = store("serials");
    let plan = network_and_service();
    let production = plan.scope[0].clone();
    let staging = address("staging", "service.web").deployment;
    // Both were applied before.
    for id in [&production, &staging] {
        let mut s = store.begin(id).unwrap();
        s.outputs.routes.push(RouteOutput {
            service: "web".into(),
            url: format!("http://{}.example.com/", id.env),
        });
        store.save(&s).unwrap();
    }
    let staging_before = store.load(&staging).unwrap().unwrap();
    let cluster = cluster();
    let connected = AtomicBool::new(false);
    let mut hooks = Approve {
        plan,
        asked: Asked::default(),
    };
    let desired = Desired::default();
    let outputs = BTreeMap::from([
        (
            production.clone(),
            store.load(&production).unwrap().unwrap().outputs,
        ),
        (staging.clone(), staging_before.outputs.clone()),
    ]);
    let ran = deploy::run(
        request(
            &store,
            &desired,
            vec![production.clone(), staging.clone()],
            Planning::Now,
            outputs,
        ),
        connect(&cluster, &connected),
        &mut hooks,
    )
    .await;
    let Ok(Outcome::Executed { report, .. }) = ran else {
        panic!("expected the steps to run, got {ran:?}");
    };
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(store.load(&production).unwrap().unwrap().serial, 2);
    assert_eq!(store.load(&staging).unwrap().unwrap(), staging_before);
    assert_eq!(store.history(&staging).unwrap(), Vec::<u64>::new());
}
