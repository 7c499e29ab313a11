//! Executing a plan: its schedule ([`crate::schedule`]) runs in dependency order over an
//! [`Engine`], up to `parallelism` steps at a time. After every step the project environment's
//! state is checkpointed, so killing berth at any moment loses nothing: the next apply reads the
//! cluster (where every object carries its address label) and converges without duplicates.
//!
//! A service's step holds its slot only while its Docker call runs: once Docker accepted the
//! change, the service is recorded and joins the apply's one poller ([`crate::poller`]); the
//! step counts as done (and its dependents start) when the poller saw it converge. Ctrl-C (the
//! `cancel` flag) starts nothing new; what was sent is recorded.
//!
//! Services are updated with the version index read when planning; when Swarm answers "update
//! out of sequence", berth re-reads the service and continues only if it is still what the plan
//! was made against. A service whose spec did not change is never updated.

use crate::connect::Cluster;
use crate::engine::{DockerEngine, Engine};
use crate::error::ApplyError;
use crate::ops::Ids;
use crate::payload::Payloads;
use crate::poller;
use crate::progress::{Event, Progress};
use crate::schedule::Schedule;
use crate::state::{State, Store};
use crate::step::{self, After, Sent};
use berth_planner::{Address, Change, DeploymentId, ObservedResource, Plan, Spec};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

#[derive(Clone)]
pub struct Options {
    pub parallelism: usize,
    /// Wait for services to converge (and check health) before a step counts as done.
    pub wait: bool,
    /// How long one service may take to converge.
    pub timeout: Duration,
    /// Set by Ctrl-C: nothing new starts; what runs finishes and is recorded.
    pub cancel: Arc<AtomicBool>,
    /// How often the poller reads the converging services.
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 10,
            wait: true,
            timeout: Duration::from_secs(180),
            cancel: Arc::new(AtomicBool::new(false)),
            poll: Duration::from_millis(250),
        }
    }
}

/// What one apply did.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Address>,
    pub failed: Vec<(Address, ApplyError)>,
    pub skipped: Vec<Address>,
    /// Services berth updated (for "zero updates of unchanged services").
    pub service_updates: usize,
    /// What the apply could not do besides its steps (recording job runs), for its output.
    pub warnings: Vec<String>,
}

/// What the steps of one apply share.
pub(crate) struct Shared<E> {
    pub engine: Arc<E>,
    pub store: Store,
    pub states: Mutex<BTreeMap<DeploymentId, State>>,
    pub ids: Mutex<Ids>,
    /// Edge slots moved because a concurrent apply claimed the planned one first: per
    /// deployment, the planned slot network's name and the one claimed instead.
    pub moved_slots: Mutex<BTreeMap<DeploymentId, (String, String)>>,
    /// Services a detach step updated, by ID: their version index afterwards, which their planned
    /// update then uses (the plan's version is older by the detach).
    pub detached: Mutex<HashMap<String, u64>>,
    /// The project environments whose state took its next serial in this apply: those a step
    /// changed. The others keep their serial (and their saved plans stay fresh).
    pub begun: Mutex<BTreeSet<DeploymentId>>,
    pub options: Options,
}

impl<E> Shared<E> {
    pub fn checkpoint(
        &self,
        deployment: &DeploymentId,
        f: impl FnOnce(&mut State),
    ) -> Result<(), ApplyError> {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let state = states
            .entry(deployment.clone())
            .or_insert_with(|| State::new(deployment.clone()));
        let mut begun = self.begun.lock().unwrap_or_else(|p| p.into_inner());
        if !begun.contains(deployment) {
            begin(&self.store, state)?;
            begun.insert(deployment.clone());
        }
        f(state);
        self.store.save(state)
    }

    /// Records what exists now at a change's address.
    pub fn record(
        &self,
        change: &Change,
        id: String,
        version: Option<u64>,
        spec: Spec,
    ) -> Result<(), ApplyError> {
        let resource = ObservedResource {
            address: change.address.clone(),
            id,
            version,
            spec,
        };
        self.checkpoint(&change.address.deployment, |s| s.record(&resource))
    }
}

/// Takes the next serial for a state about to change: the store archives the recorded state
/// and gives its successor's serial and lineage; what the apply changed in memory is kept.
pub fn begin(store: &Store, state: &mut State) -> Result<(), ApplyError> {
    let next = store.begin(&state.deployment)?;
    state.serial = next.serial;
    state.lineage = next.lineage;
    state.format_version = next.format_version;
    state.berth_version = next.berth_version;
    Ok(())
}

/// Runs the plan against the cluster. `states` are the states the apply started from (as
/// recorded), one per project environment in the plan's scope; the first step that changes one
/// begins it ([`begin`]: the next serial), and it is checkpointed as steps finish. They are
/// returned at the end.
pub async fn execute(
    cluster: &Cluster,
    store: &Store,
    plan: &Plan,
    payloads: Arc<Payloads>,
    states: BTreeMap<DeploymentId, State>,
    progress: Arc<dyn Progress>,
    options: Options,
) -> Result<(Report, BTreeMap<DeploymentId, State>), (ApplyError, BTreeMap<DeploymentId, State>)> {
    let engine = Arc::new(DockerEngine::new(cluster));
    run(engine, store, plan, payloads, states, progress, options).await
}

/// How a finished step's outcome is settled.
enum Finish {
    Ok { service_update: bool },
    Err(ApplyError),
}

/// Runs the plan over any engine.
pub async fn run<E: Engine>(
    engine: Arc<E>,
    store: &Store,
    plan: &Plan,
    payloads: Arc<Payloads>,
    states: BTreeMap<DeploymentId, State>,
    progress: Arc<dyn Progress>,
    options: Options,
) -> Result<(Report, BTreeMap<DeploymentId, State>), (ApplyError, BTreeMap<DeploymentId, State>)> {
    let changes: Arc<Vec<Change>> = Arc::new(plan.actionable().cloned().collect());
    let schedule = Schedule::build(&changes);
    let mut report = Report::default();

    let ids = match engine.ids().await {
        Ok(ids) => ids,
        Err(e) => return Err((ApplyError::engine("list", "the cluster", e), states)),
    };
    let shared = Arc::new(Shared {
        engine: engine.clone(),
        store: store.clone(),
        states: Mutex::new(states),
        ids: Mutex::new(ids),
        moved_slots: Mutex::new(BTreeMap::new()),
        detached: Mutex::new(HashMap::new()),
        begun: Mutex::new(BTreeSet::new()),
        options: options.clone(),
    });
    let (watch, mut converged, poller) = poller::spawn(
        engine,
        poller::Settings {
            interval: options.poll,
            timeout: options.timeout,
            cancel: options.cancel.clone(),
            progress: progress.clone(),
        },
    );

    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut began: HashMap<usize, Instant> = HashMap::new();
    // Steps whose service converges: what to do once it did.
    let mut converging: HashMap<usize, (After, bool)> = HashMap::new();
    let mut running: JoinSet<(usize, Result<Sent, ApplyError>)> = JoinSet::new();
    // Which step each task runs, so that a panic is blamed on its own step.
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    loop {
        if !options.cancel.load(Ordering::Relaxed) {
            for (s, step) in schedule.steps() {
                if running.len() >= options.parallelism.max(1) {
                    break;
                }
                if started.contains(&s) || !schedule.deps(s).iter().all(|d| done.contains(d)) {
                    continue;
                }
                started.insert(s);
                began.insert(s, Instant::now());
                progress.event(Event::Started {
                    address: changes[step.change].address.clone(),
                    action: step.kind.verb(),
                });
                let shared = shared.clone();
                let changes = changes.clone();
                let payloads = payloads.clone();
                let (kind, change, leaves) = (step.kind, step.change, step.leaves.clone());
                let handle = running.spawn(async move {
                    let leaves: Vec<&Change> = leaves.iter().map(|&l| &changes[l]).collect();
                    let sent = step::run(&shared, &changes[change], kind, &leaves, &payloads).await;
                    (s, sent)
                });
                tasks.insert(handle.id(), s);
            }
        }
        if running.is_empty() && converging.is_empty() {
            break;
        }
        let (s, finish) = tokio::select! {
            Some(joined) = running.join_next_with_id(), if !running.is_empty() => {
                match joined {
                    Ok((id, (s, sent))) => {
                        tasks.remove(&id);
                        match sent {
                            Ok(Sent::Done { service_update }) => (s, Finish::Ok { service_update }),
                            Ok(Sent::Converge { watch: w, after, service_update }) => {
                                converging.insert(s, (*after, service_update));
                                // The poller lives as long as this loop; should it be gone,
                                // the step fails rather than waiting forever.
                                if watch.send((s, *w)).is_err() {
                                    converging.remove(&s);
                                    (s, Finish::Err(ApplyError::internal(
                                        &changes[schedule.step(s).change].address,
                                        "the convergence poller stopped",
                                    )))
                                } else {
                                    continue;
                                }
                            }
                            Err(e) => (s, Finish::Err(e)),
                        }
                    }
                    Err(join_error) => {
                        let Some(s) = tasks.remove(&join_error.id()) else {
                            // Every spawned task is in the map; a task unknown is a bug too.
                            report.failed.push((
                                changes[0].address.clone(),
                                ApplyError::internal("a step", join_error.to_string()),
                            ));
                            continue;
                        };
                        let address = &changes[schedule.step(s).change].address;
                        (s, Finish::Err(ApplyError::internal(
                            address,
                            format!("the step panicked: {join_error}"),
                        )))
                    }
                }
            }
            Some((s, outcome)) = converged.recv(), if !converging.is_empty() => {
                let Some((after, service_update)) = converging.remove(&s) else { continue };
                let change = &changes[schedule.step(s).change];
                let outcome = match (outcome, &after) {
                    // A job's run over its timeout is stopped (its service removed) and recorded.
                    (Err(e @ ApplyError::JobFailed { timed_out: true, .. }), After::Record { id, .. }) => {
                        Err(crate::job::stop_timed_out(&shared, change, id, e).await)
                    }
                    (Err(e), After::Record { id, .. } | After::Relabel { id, .. }) => {
                        // State records what the cluster runs after the failure, not the rejected spec.
                        if let Err(e) = step::record_live(&shared, change, id).await {
                            report.failed.push((change.address.clone(), e));
                        }
                        Err(e)
                    }
                    (Ok(_), After::Relabel { id, spec }) => step::relabel(&shared, change, id, spec).await,
                    (outcome, _) => outcome,
                };
                let settled = outcome.and_then(|version| match after {
                    After::Record { id, spec } | After::Relabel { id, spec } => {
                        shared.record(change, id, Some(version), spec)
                    }
                    After::Detached { id } => {
                        shared.detached.lock().unwrap_or_else(|p| p.into_inner()).insert(id, version);
                        Ok(())
                    }
                });
                match settled {
                    Ok(()) => (s, Finish::Ok { service_update }),
                    Err(e) => (s, Finish::Err(e)),
                }
            }
            else => break,
        };
        let step = schedule.step(s);
        let address = changes[step.change].address.clone();
        match finish {
            Finish::Ok { service_update } => {
                done.insert(s);
                if service_update {
                    report.service_updates += 1;
                }
                let elapsed = began.get(&s).map(Instant::elapsed).unwrap_or_default();
                progress.event(Event::Finished {
                    address,
                    action: step.kind.verb(),
                    elapsed,
                });
            }
            Finish::Err(e) => {
                failed.insert(s);
                progress.event(Event::Failed {
                    address: address.clone(),
                    action: step.kind.verb(),
                    message: e.to_string(),
                });
                report.failed.push((address, e));
            }
        }
    }
    drop(watch);
    let _ = poller.await;
    settle(
        &schedule,
        &changes,
        &started,
        &done,
        &failed,
        &options,
        &progress,
        &mut report,
    );
    let states = Arc::try_unwrap(shared)
        .ok()
        .map(|s| s.states.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_default();
    Ok((report, states))
}

/// Reports what never started, and which changes are done (all their steps).
#[allow(clippy::too_many_arguments)]
fn settle(
    schedule: &Schedule,
    changes: &[Change],
    started: &BTreeSet<usize>,
    done: &BTreeSet<usize>,
    failed: &BTreeSet<usize>,
    options: &Options,
    progress: &Arc<dyn Progress>,
    report: &mut Report,
) {
    let cancelled = options.cancel.load(Ordering::Relaxed);
    if started.len() < schedule.len() && failed.is_empty() && !cancelled {
        // Nothing failed, nothing was interrupted, and still steps never became ready: they wait
        // for each other. Said plainly rather than reported as a vague skip.
        let change = schedule
            .order()
            .err()
            .or_else(|| {
                schedule
                    .steps()
                    .map(|(s, _)| s)
                    .find(|s| !started.contains(s))
            })
            .map_or(0, |s| schedule.step(s).change);
        let address = changes[change].address.clone();
        report.failed.push((
            address.clone(),
            ApplyError::internal(&address, "the plan's steps wait for each other in a circle"),
        ));
    }
    for (s, step) in schedule.steps() {
        if !started.contains(&s) {
            let address = changes[step.change].address.clone();
            let reason = if cancelled {
                "interrupted".to_string()
            } else if failed.is_empty() {
                "its dependencies never became ready".to_string()
            } else {
                "a change it depends on failed".to_string()
            };
            progress.event(Event::Skipped {
                address: address.clone(),
                reason,
            });
            if !report.skipped.contains(&address) {
                report.skipped.push(address);
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (s, step) in schedule.steps() {
        let address = &changes[step.change].address;
        let all_done = schedule
            .steps_of(step.change)
            .iter()
            .all(|i| done.contains(i));
        if done.contains(&s) && all_done && seen.insert(address.clone()) {
            report.done.push(address.clone());
        }
    }
}
