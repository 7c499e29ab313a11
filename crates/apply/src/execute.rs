//! Executing a plan: its changes become steps in a dependency graph (a replacement that creates
//! before it destroys is two steps, with the dependents' updates in between), run in topological
//! order, up to `parallelism` at a time. After every step the project environment's state is
//! checkpointed, so killing berth at any moment loses nothing: the next apply reads the cluster
//! (where every object carries its address label) and converges without duplicates.
//!
//! Services are updated with the version index read when planning; when Swarm answers "update
//! out of sequence", berth re-reads the service and continues only if it is still what the plan
//! was made against. A service whose spec did not change is never updated.

use crate::connect::Cluster;
use crate::converge;
use crate::error::{ApplyError, DockerErrorKind};
use crate::ops::{self, Ids, Updated};
use crate::payload::Payloads;
use crate::progress::{Event, Progress};
use crate::schedule::{Schedule, StepKind};
use crate::state::{State, Store};
use berth_planner::{Address, Change, DeploymentId, Kind, ObservedResource, Plan, Spec};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

#[derive(Clone)]
pub struct Options {
    pub parallelism: usize,
    /// Wait for services to converge (and check health) before a step counts as done.
    pub wait: bool,
    /// How long one service may take to converge.
    pub timeout: Duration,
    /// Set by Ctrl-C: nothing new starts; what runs finishes and is recorded.
    pub cancel: Arc<AtomicBool>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 10,
            wait: true,
            timeout: Duration::from_secs(180),
            cancel: Arc::new(AtomicBool::new(false)),
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
}

struct Shared {
    cluster: Cluster,
    store: Store,
    states: Mutex<BTreeMap<DeploymentId, State>>,
    ids: Mutex<Ids>,
    /// Edge slots moved because a concurrent apply claimed the planned one first: per
    /// deployment, the planned slot network's name and the one claimed instead.
    moved_slots: Mutex<BTreeMap<DeploymentId, (String, String)>>,
    /// Services a detach step updated, by ID: their version index afterwards, which their planned
    /// update then uses (the plan's version is older by the detach).
    detached: Mutex<HashMap<String, u64>>,
    options: Options,
    progress: Arc<dyn Progress>,
}

impl Shared {
    fn checkpoint(
        &self,
        deployment: &DeploymentId,
        f: impl FnOnce(&mut State),
    ) -> Result<(), ApplyError> {
        let mut states = self.states.lock().expect("state lock");
        let state = states
            .entry(deployment.clone())
            .or_insert_with(|| State::new(deployment.clone()));
        f(state);
        self.store.save(state)
    }
}

/// Runs the plan. `states` are the states the apply started from (from [`Store::begin`]), one
/// per project environment in the plan's scope; they are checkpointed as steps finish and
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
    let changes: Vec<Change> = plan.actionable().cloned().collect();
    let schedule = Schedule::build(&changes);
    let mut report = Report::default();

    let ids = match current_ids(cluster).await {
        Ok(ids) => ids,
        Err(e) => return Err((e, states)),
    };
    let shared = Arc::new(Shared {
        cluster: cluster.clone(),
        store: store.clone(),
        states: Mutex::new(states),
        ids: Mutex::new(ids),
        moved_slots: Mutex::new(BTreeMap::new()),
        detached: Mutex::new(HashMap::new()),
        options: options.clone(),
        progress,
    });
    let changes = Arc::new(changes);

    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut running: JoinSet<(usize, Result<bool, ApplyError>)> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    loop {
        let cancelled = options.cancel.load(Ordering::Relaxed);
        if !cancelled {
            for (s, step) in schedule.steps() {
                if running.len() >= options.parallelism.max(1) {
                    break;
                }
                if started.contains(&s) || !schedule.deps(s).iter().all(|d| done.contains(d)) {
                    continue;
                }
                started.insert(s);
                let shared = shared.clone();
                let changes = changes.clone();
                let payloads = payloads.clone();
                let kind = step.kind;
                let change = step.change;
                let leaves = step.leaves.clone();
                let handle = running.spawn(async move {
                    let leaves: Vec<&Change> = leaves.iter().map(|&l| &changes[l]).collect();
                    (
                        s,
                        run_step(&shared, &changes[change], kind, &leaves, &payloads).await,
                    )
                });
                tasks.insert(handle.id(), s);
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok((s, Ok(updated_service))) => {
                done.insert(s);
                if updated_service {
                    report.service_updates += 1;
                }
            }
            Ok((s, Err(e))) => {
                failed.insert(s);
                report
                    .failed
                    .push((changes[schedule.step(s).change].address.clone(), e));
            }
            Err(join_error) => {
                // A panicking step is a bug; it is reported like a failure, never hidden.
                // It is blamed on its own step, found by the task's ID.
                let s = tasks.get(&join_error.id()).copied();
                if let Some(s) = s {
                    failed.insert(s);
                }
                let address = s.map(|s| changes[schedule.step(s).change].address.clone());
                let at = address
                    .as_ref()
                    .map_or("a step".to_string(), |a| a.to_string());
                report.failed.push((
                    address.unwrap_or_else(|| changes[0].address.clone()),
                    ApplyError::internal(at, format!("the step panicked: {join_error}")),
                ));
            }
        }
    }
    let cancelled = options.cancel.load(Ordering::Relaxed);
    if started.len() < schedule.len() && failed.is_empty() && !cancelled {
        // Nothing failed, nothing was interrupted, and still steps never became ready: they wait
        // for each other. Said plainly rather than reported as a vague skip.
        let change = schedule
            .steps()
            .find(|(s, _)| !started.contains(s))
            .map_or(0, |(_, st)| st.change);
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
            shared.progress.event(Event::Skipped {
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
    let states = Arc::try_unwrap(shared)
        .ok()
        .map(|s| s.states.into_inner().unwrap_or_default())
        .unwrap_or_default();
    Ok((report, states))
}

/// Names to IDs of the networks, secrets and configs that exist now (all of them: services may
/// join networks berth does not manage, such as another project's shared network).
async fn current_ids(cluster: &Cluster) -> Result<Ids, ApplyError> {
    let d = &cluster.docker;
    let err = |e| ApplyError::engine("list", "the cluster", e);
    let mut ids = Ids::default();
    for n in d
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .map_err(err)?
    {
        if let (Some(name), Some(id)) = (n.name, n.id) {
            ids.networks.insert(name, id);
        }
    }
    for s in d
        .list_secrets(None::<bollard::query_parameters::ListSecretsOptions>)
        .await
        .map_err(err)?
    {
        if let (Some(name), Some(id)) = (s.spec.and_then(|s| s.name), s.id) {
            ids.secrets.insert(name, id);
        }
    }
    for c in d
        .list_configs(None::<bollard::query_parameters::ListConfigsOptions>)
        .await
        .map_err(err)?
    {
        if let (Some(name), Some(id)) = (c.spec.and_then(|s| s.name), c.id) {
            ids.configs.insert(name, id);
        }
    }
    Ok(ids)
}

/// Runs one step; returns whether it updated a service.
async fn run_step(
    shared: &Shared,
    change: &Change,
    kind: StepKind,
    leaves: &[&Change],
    payloads: &Payloads,
) -> Result<bool, ApplyError> {
    let address = &change.address;
    let started = Instant::now();
    shared.progress.event(Event::Started {
        address: address.clone(),
        action: kind.verb(),
    });
    let result = match kind {
        StepKind::Create => create(shared, change, payloads).await.map(|_| false),
        StepKind::Update => update(shared, change).await.map(|_| true),
        StepKind::Delete => delete(shared, change).await.map(|_| false),
        StepKind::Detach => detach(shared, change, leaves).await.map(|_| true),
    };
    match &result {
        Ok(_) => shared.progress.event(Event::Finished {
            address: address.clone(),
            action: kind.verb(),
            elapsed: started.elapsed(),
        }),
        Err(e) => shared.progress.event(Event::Failed {
            address: address.clone(),
            action: kind.verb(),
            message: e.to_string(),
        }),
    }
    result
}

fn record(
    shared: &Shared,
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
    shared.checkpoint(&change.address.deployment, |s| s.record(&resource))
}

/// The spec to send for a change: the planned one, moved to another edge slot if this
/// deployment's planned slot was taken by a concurrent apply.
fn effective_spec(shared: &Shared, change: &Change) -> Option<Spec> {
    let mut spec = change.after.clone()?;
    if let Some((from, to)) = shared
        .moved_slots
        .lock()
        .expect("slots")
        .get(&change.address.deployment)
    {
        berth_planner::edge::rewrite_slot(&mut spec, from, to);
    }
    Some(spec)
}

/// Claims an edge slot: the claim config's name is the slot's, unique in the cluster, so
/// creating it is atomic. When a concurrent apply claimed the planned slot first, the lowest
/// free slot is claimed instead and the deployment's services follow it.
async fn claim_slot(
    shared: &Shared,
    change: &Change,
    spec: &berth_planner::docker::ConfigSpec,
    payloads: &Payloads,
) -> Result<(String, Spec), ApplyError> {
    let docker = &shared.cluster.docker;
    let address = &change.address;
    let planned = spec.name.clone();
    let mut current = spec.clone();
    let mut tried: BTreeSet<String> = BTreeSet::new();
    loop {
        tried.insert(current.name.clone());
        match ops::create_config(
            docker,
            address,
            &current,
            payloads.get(&address.to_string()),
        )
        .await
        {
            Ok(id) => {
                if current.name != planned {
                    shared.moved_slots.lock().expect("slots").insert(
                        address.deployment.clone(),
                        (planned.clone(), current.name.clone()),
                    );
                }
                return Ok((id, Spec::Config(current)));
            }
            Err(e) if e.docker_kind() == Some(DockerErrorKind::Conflict) => {
                let observed = berth_planner::Observed::from_docker(
                    &crate::read::snapshot(&shared.cluster).await?,
                )?;
                let Some(next) = berth_planner::edge::free_slots(&observed)
                    .into_iter()
                    .find(|n| !tried.contains(n))
                else {
                    return Err(ApplyError::EdgeSlotsExhausted {
                        address: Box::new(address.clone()),
                    });
                };
                let mut moved = Spec::Config(current.clone());
                berth_planner::edge::rewrite_slot(&mut moved, &current.name, &next);
                let Spec::Config(c) = moved else {
                    unreachable!("a config stays a config")
                };
                current = c;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn create(shared: &Shared, change: &Change, payloads: &Payloads) -> Result<(), ApplyError> {
    let docker = &shared.cluster.docker;
    let address = &change.address;
    let spec = effective_spec(shared, change)
        .ok_or_else(|| ApplyError::internal(address, "the plan has no spec to create"))?;
    let (id, version) = match &spec {
        Spec::Network(n) => {
            // Docker allows two networks of one name; berth never creates the second.
            if shared
                .ids
                .lock()
                .expect("ids")
                .networks
                .contains_key(&n.name)
            {
                return Err(ApplyError::NetworkNameTaken {
                    address: Box::new(address.clone()),
                    name: n.name.clone(),
                });
            }
            let id = ops::create_network(docker, address, n).await?;
            shared
                .ids
                .lock()
                .expect("ids")
                .networks
                .insert(n.name.clone(), id.clone());
            (id, None)
        }
        Spec::Volume(v) => (ops::create_volume(docker, address, v).await?, None),
        Spec::Secret(s) => {
            let data =
                payloads
                    .get(&address.to_string())
                    .ok_or_else(|| ApplyError::SecretSource {
                        deployment: address.deployment.clone(),
                        name: address.name.clone(),
                        message: "its value was not read".into(),
                    })?;
            let id = ops::create_secret(docker, address, s, data).await?;
            shared
                .ids
                .lock()
                .expect("ids")
                .secrets
                .insert(s.name.clone(), id.clone());
            (id, None)
        }
        Spec::Config(c) if berth_planner::edge::is_claim(address) => {
            let (id, claimed) = claim_slot(shared, change, c, payloads).await?;
            return record(shared, change, id, None, claimed);
        }
        Spec::Config(c) => {
            let id =
                ops::create_config(docker, address, c, payloads.get(&address.to_string())).await?;
            shared
                .ids
                .lock()
                .expect("ids")
                .configs
                .insert(c.name.clone(), id.clone());
            (id, None)
        }
        Spec::Service(s) => {
            let request =
                ops::service_request(address, s, &shared.ids.lock().expect("ids").clone())?;
            let id = ops::create_service(docker, address, request).await?;
            // Record at once, so that an interrupted wait still leaves the service in state.
            record(shared, change, id.clone(), None, spec.clone())?;
            let version = wait(shared, address, &id, false, None).await?;
            (id, version)
        }
    };
    // A replaced object's old generation is deleted by its delete step, which forgets it.
    record(shared, change, id, version, spec)
}

async fn wait(
    shared: &Shared,
    address: &Address,
    id: &str,
    rolling: bool,
    previous_update: Option<String>,
) -> Result<Option<u64>, ApplyError> {
    if !shared.options.wait {
        return Ok(None);
    }
    let version = converge::service(converge::Wait {
        docker: &shared.cluster.docker,
        address,
        id,
        rolling,
        previous_update,
        timeout: shared.options.timeout,
        progress: shared.progress.as_ref(),
        cancel: &shared.options.cancel,
    })
    .await?;
    Ok(Some(version))
}

async fn update(shared: &Shared, change: &Change) -> Result<(), ApplyError> {
    let docker = &shared.cluster.docker;
    let address = &change.address;
    let after = effective_spec(shared, change);
    let (Some(Spec::Service(spec)), Some(observed)) = (&after, &change.observed) else {
        return Err(ApplyError::internal(
            address,
            "only services are updated in place",
        ));
    };
    let detached = shared
        .detached
        .lock()
        .expect("detached")
        .get(&observed.id)
        .copied();
    let mut version = detached.or(observed.version).unwrap_or(0);
    let previous_update = docker
        .inspect_service(
            &observed.id,
            None::<bollard::query_parameters::InspectServiceOptions>,
        )
        .await
        .map_err(|e| ops::docker_error("inspect", address, e))?
        .update_status
        .and_then(|u| u.started_at);
    loop {
        let request =
            ops::service_request(address, spec, &shared.ids.lock().expect("ids").clone())?;
        match ops::update_service(docker, address, &observed.id, version, request).await? {
            Updated::Done => break,
            Updated::OutOfSequence => {
                // Someone changed the service since it was read: re-read, re-check, and continue
                // only when it is still what the plan was made against.
                let current = reread(shared, address).await?;
                match current {
                    Some(current)
                        if Some(&current.spec) == change.before.as_ref()
                            && current.version != Some(version) =>
                    {
                        version = current.version.unwrap_or(0);
                    }
                    _ => {
                        return Err(ApplyError::ChangedSincePlan {
                            address: Box::new(address.clone()),
                            doing: "update",
                        })
                    }
                }
            }
        }
    }
    record(
        shared,
        change,
        observed.id.clone(),
        None,
        Spec::Service(spec.clone()),
    )?;
    let new_version = wait(
        shared,
        address,
        &observed.id,
        change.restarts_tasks,
        previous_update,
    )
    .await?;
    record(
        shared,
        change,
        observed.id.clone(),
        new_version,
        Spec::Service(spec.clone()),
    )
}

/// Updates a service so that its tasks leave networks and volumes that are about to be deleted
/// and created again: its live spec without them. Its planned update attaches it to the new ones.
/// The live spec is read at once (with its current version), so nothing else is changed.
async fn detach(shared: &Shared, change: &Change, leaves: &[&Change]) -> Result<(), ApplyError> {
    let address = &change.address;
    let Some(observed) = &change.observed else {
        return Ok(());
    };
    let (mut spec, version, previous_update) =
        crate::read::service_spec(&shared.cluster, &observed.id)
            .await
            .map_err(|e| ApplyError::engine("inspect", address, e))?;
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for leave in leaves {
        let Some(before) = &leave.observed else {
            continue;
        };
        match leave.kind() {
            Kind::Network => {
                networks.insert(before.id.clone());
                networks.insert(before.name.clone());
            }
            Kind::Volume => {
                volumes.insert(before.name.clone());
            }
            _ => {}
        }
    }
    let template = &mut spec["TaskTemplate"];
    if let Some(list) = template["Networks"].as_array_mut() {
        list.retain(|n| !n["Target"].as_str().is_some_and(|t| networks.contains(t)));
    }
    if let Some(list) = template["ContainerSpec"]["Mounts"].as_array_mut() {
        list.retain(|m| {
            !(m["Type"] == "volume" && m["Source"].as_str().is_some_and(|s| volumes.contains(s)))
        });
    }
    let request = ops::raw_service_request(spec).map_err(|e| ApplyError::internal(address, e))?;
    match ops::update_service(
        &shared.cluster.docker,
        address,
        &observed.id,
        version,
        request,
    )
    .await?
    {
        Updated::Done => {}
        Updated::OutOfSequence => {
            return Err(ApplyError::ChangedSincePlan {
                address: Box::new(address.clone()),
                doing: "moving it off a replaced network or volume",
            })
        }
    }
    // The convergence wait reads the version anyway; only `--no-wait` needs a read of its own.
    let version = match wait(shared, address, &observed.id, true, previous_update).await? {
        Some(version) => version,
        None => {
            crate::read::service_spec(&shared.cluster, &observed.id)
                .await
                .map_err(|e| ApplyError::engine("inspect", address, e))?
                .1
        }
    };
    shared
        .detached
        .lock()
        .expect("detached")
        .insert(observed.id.clone(), version);
    Ok(())
}

/// The normalised live spec and version of one address.
async fn reread(
    shared: &Shared,
    address: &Address,
) -> Result<Option<ObservedResource>, ApplyError> {
    let snapshot = crate::read::snapshot(&shared.cluster).await?;
    let observed = berth_planner::Observed::from_docker(&snapshot)?;
    Ok(observed
        .resources
        .into_iter()
        .find(|r| &r.address == address))
}

async fn delete(shared: &Shared, change: &Change) -> Result<(), ApplyError> {
    let address = &change.address;
    let Some(observed) = &change.observed else {
        return Ok(());
    };
    let deadline = Instant::now() + shared.options.timeout;
    if change.kind() == Kind::Volume {
        // Swarm keeps the stopped containers of a service's earlier tasks (its task history),
        // and a stopped container still holds its volumes: once the service left the volume
        // (or is gone), those are removed, a second at a time, until the volume goes.
        loop {
            release_volume(shared, &observed.name).await;
            let attempt = (Instant::now() + Duration::from_secs(1)).min(deadline);
            match ops::remove(
                &shared.cluster.docker,
                address,
                Kind::Volume,
                &observed.id,
                attempt,
            )
            .await
            {
                Ok(()) => break,
                Err(e)
                    if e.docker_kind() == Some(DockerErrorKind::InUse)
                        && Instant::now() < deadline => {}
                Err(e) => return Err(e),
            }
        }
    } else {
        ops::remove(
            &shared.cluster.docker,
            address,
            change.kind(),
            &observed.id,
            deadline,
        )
        .await?;
    }
    match change.kind() {
        Kind::Service => wait_gone(shared, &observed.id, deadline).await,
        Kind::Network => {
            wait_network_gone(shared, &observed.id, deadline).await;
            // Its name is free again: a replacement may create it.
            let mut ids = shared.ids.lock().expect("ids");
            ids.networks.retain(|_, id| *id != observed.id);
        }
        _ => {}
    }
    shared.checkpoint(&address.deployment, |s| s.forget(&observed.id))
}

/// Removes the stopped containers of Swarm tasks that still hold a volume. A running container
/// is never touched: then the volume stays in use and its removal fails with Docker's reason.
async fn release_volume(shared: &Shared, volume: &str) {
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([
        ("volume", vec![volume]),
        ("label", vec!["com.docker.swarm.task.id"]),
        ("status", vec!["created", "exited", "dead"]),
    ]);
    let docker = &shared.cluster.docker;
    let Ok(containers) = docker
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
    else {
        return;
    };
    for c in containers {
        if let Some(id) = c.id {
            let _ = docker
                .remove_container(
                    &id,
                    None::<bollard::query_parameters::RemoveContainerOptions>,
                )
                .await;
        }
    }
}

/// A removed swarm network stays listed (though unusable) while containers of removed tasks
/// that used it linger; an apply right after would take it for existing. So a network delete
/// waits (bounded) until the network is no longer listed.
async fn wait_network_gone(shared: &Shared, id: &str, deadline: Instant) {
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("id", vec![id])]);
    while Instant::now() < deadline {
        let listed = shared
            .cluster
            .docker
            .list_networks(Some(
                bollard::query_parameters::ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map(|l| l.iter().any(|n| n.id.as_deref() == Some(id)))
            .unwrap_or(false);
        if !listed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// After a service is removed its tasks exit in the background; objects they used can only be
/// removed once they are gone, so the delete waits (bounded) for the tasks to disappear.
async fn wait_gone(shared: &Shared, service_id: &str, deadline: Instant) {
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("service", vec![service_id])]);
    while Instant::now() < deadline {
        let tasks = shared
            .cluster
            .docker
            .list_tasks(Some(
                bollard::query_parameters::ListTasksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap_or_default();
        // Containers of removed tasks linger, and one still starting would create a volume it
        // mounts anew (without berth's labels) after berth removed it: wait for them too.
        let label = format!("com.docker.swarm.service.id={service_id}");
        let containers: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        let lingering = shared
            .cluster
            .docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&containers)
                    .build(),
            ))
            .await
            .map(|c| !c.is_empty())
            .unwrap_or(false);
        if tasks.is_empty() && !lingering {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
