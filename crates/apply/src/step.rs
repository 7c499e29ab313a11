//! What each kind of step does over the [`Engine`]: create, update, delete and detach, with the
//! edge-slot claim, the out-of-sequence re-read and the waits for removed objects to let go.
//! A step that changes a service returns once Docker accepted the change ([`Sent::Converge`]);
//! the executor hands the service to the poller and settles the step when it converged.

use crate::converge::Watch;
use crate::engine::Engine;
use crate::error::{ApplyError, DockerErrorKind};
use crate::execute::Shared;
use crate::ops;
use crate::payload::Payloads;
use crate::schedule::StepKind;
use berth_planner::{Address, Change, DockerSnapshot, Kind, ObservedResource, Spec};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// What a step sent to Docker.
pub enum Sent {
    Done {
        service_update: bool,
    },
    /// Docker accepted a service's change; the step is done when the service converged.
    Converge {
        watch: Box<Watch>,
        after: Box<After>,
        service_update: bool,
    },
}

/// What to record once a service converged, with its version then.
pub enum After {
    Record {
        id: String,
        spec: Spec,
    },
    /// A detach step: the planned update then uses this version.
    Detached {
        id: String,
    },
    /// An update sent with its old weights held ([`held_weights`]): once converged, the
    /// planned labels are sent, then recorded.
    Relabel {
        id: String,
        spec: Spec,
    },
}

const RETRY: Duration = Duration::from_millis(250);

/// Runs one step.
pub(crate) async fn run<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    kind: StepKind,
    leaves: &[&Change],
    payloads: &Payloads,
) -> Result<Sent, ApplyError> {
    match kind {
        StepKind::Create => create(shared, change, payloads).await,
        StepKind::Update => update(shared, change).await,
        StepKind::Delete => delete(shared, change).await.map(|()| Sent::Done {
            service_update: false,
        }),
        StepKind::Detach => detach(shared, change, leaves).await,
    }
}

fn ids<E>(shared: &Shared<E>) -> std::sync::MutexGuard<'_, ops::Ids> {
    shared.ids.lock().unwrap_or_else(|p| p.into_inner())
}

/// After a service's change: wait for it (through the poller), or with `--no-wait`, record it
/// at once without a version. A job is waited for even with `--no-wait`: what depends on it
/// must not change before it exited 0.
fn sent<E>(
    shared: &Shared<E>,
    change: &Change,
    watch: Watch,
    after: After,
    service_update: bool,
) -> Result<Sent, ApplyError> {
    let job = matches!(&change.after, Some(Spec::Service(s)) if s.mode.replicated_job.is_some());
    // Held weights are set once the tasks rolled: that needs the wait.
    let relabel = matches!(after, After::Relabel { .. });
    if shared.options.wait || job || relabel {
        return Ok(Sent::Converge {
            watch: Box::new(watch),
            after: Box::new(after),
            service_update,
        });
    }
    if let After::Record { id, spec } = after {
        shared.record(change, id, None, spec)?;
    }
    Ok(Sent::Done { service_update })
}

/// The spec to send for a change: the planned one, moved to another edge slot if this
/// deployment's planned slot was taken by a concurrent apply.
fn effective_spec<E>(shared: &Shared<E>, change: &Change) -> Option<Spec> {
    let mut spec = change.after.clone()?;
    if let Some((from, to)) = shared
        .moved_slots
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&change.address.deployment)
    {
        berth_planner::edge::rewrite_slot(&mut spec, from, to);
    }
    Some(spec)
}

/// Claims an edge slot: the claim config's name is the slot's, unique in the cluster, so
/// creating it is atomic. When a concurrent apply claimed the planned slot first, the lowest
/// free slot is claimed instead and the deployment's services follow it.
async fn claim_slot<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    spec: &berth_planner::docker::ConfigSpec,
    data: &[u8],
) -> Result<(String, Spec), ApplyError> {
    let address = &change.address;
    let planned = spec.name.clone();
    let mut current = spec.clone();
    let mut tried: BTreeSet<String> = BTreeSet::new();
    loop {
        tried.insert(current.name.clone());
        match shared.engine.create_config(&current, data).await {
            Ok(id) => {
                if current.name != planned {
                    shared
                        .moved_slots
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(
                            address.deployment.clone(),
                            (planned.clone(), current.name.clone()),
                        );
                }
                return Ok((id, Spec::Config(current)));
            }
            Err(e) if e.kind == DockerErrorKind::Conflict => {
                let observed =
                    berth_planner::Observed::from_docker(&shared.engine.snapshot().await?)?;
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
                    return Err(ApplyError::internal(
                        address,
                        "a moved claim is not a config",
                    ));
                };
                current = c;
            }
            Err(e) => return Err(ApplyError::engine("create", address, e)),
        }
    }
}

async fn create<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    payloads: &Payloads,
) -> Result<Sent, ApplyError> {
    let engine = &shared.engine;
    let address = &change.address;
    let refused = |e| ApplyError::engine("create", address, e);
    let spec = effective_spec(shared, change)
        .ok_or_else(|| ApplyError::internal(address, "the plan has no spec to create"))?;
    let payload = payloads.get(&address.to_string());
    let id = match &spec {
        Spec::Network(n) => {
            // Docker allows two networks of one name; berth never creates the second.
            if ids(shared).networks.contains_key(&n.name) {
                return Err(ApplyError::NetworkNameTaken {
                    address: Box::new(address.clone()),
                    name: n.name.clone(),
                });
            }
            let id = engine.create_network(n).await.map_err(refused)?;
            ids(shared).networks.insert(n.name.clone(), id.clone());
            id
        }
        Spec::Volume(v) => engine.create_volume(v).await.map_err(refused)?,
        Spec::Secret(s) => {
            let data = payload.ok_or_else(|| ApplyError::SecretSource {
                deployment: address.deployment.clone(),
                name: address.name.clone(),
                message: "its value was not read".into(),
            })?;
            let id = engine.create_secret(s, data).await.map_err(refused)?;
            ids(shared).secrets.insert(s.name.clone(), id.clone());
            id
        }
        Spec::Config(c) => {
            let data = match (c.data.is_some(), payload) {
                (true, _) => &[][..],
                (false, Some(data)) => data,
                (false, None) => {
                    return Err(ApplyError::internal(address, "no content for this config"))
                }
            };
            if berth_planner::edge::is_claim(address) {
                let (id, claimed) = claim_slot(shared, change, c, data).await?;
                shared.record(change, id, None, claimed)?;
                return Ok(Sent::Done {
                    service_update: false,
                });
            }
            let id = engine.create_config(c, data).await.map_err(refused)?;
            ids(shared).configs.insert(c.name.clone(), id.clone());
            id
        }
        Spec::Service(s) => {
            let request = ops::service_request(address, s, &ids(shared).clone())?;
            let id = engine.create_service(request).await.map_err(refused)?;
            // Record at once, so that an interrupted wait still leaves the service in state.
            shared.record(change, id.clone(), None, spec.clone())?;
            let watch = Watch::new(address.clone(), id.clone(), false, None).canary_of(
                s.labels
                    .get(berth_planner::swarm::label::CANARY_OF)
                    .cloned(),
            );
            return sent(shared, change, watch, After::Record { id, spec }, false);
        }
    };
    // A replaced object's old generation is deleted by its delete step, which forgets it.
    shared.record(change, id, None, spec)?;
    Ok(Sent::Done {
        service_update: false,
    })
}

async fn update<E: Engine>(shared: &Shared<E>, change: &Change) -> Result<Sent, ApplyError> {
    let engine = &shared.engine;
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
        .unwrap_or_else(|p| p.into_inner())
        .get(&observed.id)
        .copied();
    let mut version = detached.or(observed.version).unwrap_or(0);
    let before = engine
        .inspect_service(&observed.id)
        .await
        .map_err(|e| ApplyError::engine("inspect", address, e))?;
    let previous_update = before.state.update_started;
    let since = updated_at(&before.raw);
    let interim = change
        .restarts_tasks
        .then(|| held_weights(change.before.as_ref(), spec))
        .flatten();
    let sending = interim.as_ref().unwrap_or(spec);
    loop {
        let request = ops::service_request(address, sending, &ids(shared).clone())?;
        match engine.update_service(&observed.id, version, request).await {
            Ok(()) => break,
            Err(e) if e.kind == DockerErrorKind::OutOfSequence => {
                // Someone changed the service since it was read: re-read, re-check, and continue
                // only when it is still what the plan was made against.
                match reread(shared, address, &observed.id).await? {
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
            Err(e) => return Err(ApplyError::engine("update", address, e)),
        }
    }
    let spec = Spec::Service(spec.clone());
    let sent_spec = Spec::Service(Box::new(sending.clone()));
    shared.record(change, observed.id.clone(), None, sent_spec)?;
    let watch = Watch::new(
        address.clone(),
        observed.id.clone(),
        change.restarts_tasks,
        previous_update,
    )
    .since(since)
    .canary_of(
        spec.labels()
            .get(berth_planner::swarm::label::CANARY_OF)
            .cloned(),
    );
    let after = match interim {
        Some(_) => After::Relabel {
            id: observed.id.clone(),
            spec,
        },
        None => After::Record {
            id: observed.id.clone(),
            spec,
        },
    };
    sent(shared, change, watch, after, true)
}

/// When an update replaces a service's tasks and changes its routes' weights (a promotion:
/// the stable takes the canary's image and its weight returns to the default), the tasks roll
/// first under the weights they had, so that the old version, which weighed 0 after a blue-green
/// switch, gets no requests back while it is replaced; the new weights follow once every task
/// runs ([`After::Relabel`]). `None` when the weights do not change.
fn held_weights(
    before: Option<&Spec>,
    after: &berth_planner::docker::ServiceSpec,
) -> Option<berth_planner::docker::ServiceSpec> {
    let Some(Spec::Service(before)) = before else {
        return None;
    };
    use berth_planner::swarm::release::{is_weight, weights};
    let (old, new) = (weights(&before.labels), weights(&after.labels));
    if old == new {
        return None;
    }
    let mut interim = after.clone();
    interim.labels.retain(|k, _| !is_weight(k));
    for (k, v) in old {
        interim.labels.insert(k.clone(), v.clone());
    }
    Some(interim)
}

/// The second half of an update whose weights were held while its tasks rolled
/// ([`held_weights`]): the planned spec, whose labels alone differ, so no task restarts.
pub(crate) async fn relabel<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    id: &str,
    spec: &Spec,
) -> Result<u64, ApplyError> {
    let address = &change.address;
    let Spec::Service(s) = spec else {
        return Err(ApplyError::internal(
            address,
            "only services are relabelled",
        ));
    };
    let live = shared
        .engine
        .inspect_service(id)
        .await
        .map_err(|e| ApplyError::engine("inspect", address, e))?;
    let request = ops::service_request(address, s, &ids(shared).clone())?;
    shared
        .engine
        .update_service(id, live.state.version, request)
        .await
        .map_err(|e| ApplyError::engine("update", address, e))?;
    let after = shared
        .engine
        .inspect_service(id)
        .await
        .map_err(|e| ApplyError::engine("inspect", address, e))?;
    Ok(after.state.version)
}

/// A service's `UpdatedAt` as the engine wrote it, if it did.
fn updated_at(raw: &serde_json::Value) -> Option<String> {
    raw["UpdatedAt"].as_str().map(str::to_string)
}

/// Updates a service so that its tasks leave networks and volumes that are about to be deleted
/// and created again: its live spec without them. Its planned update attaches it to the new ones.
/// The live spec is read at once (with its current version), so nothing else is changed.
async fn detach<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    leaves: &[&Change],
) -> Result<Sent, ApplyError> {
    let engine = &shared.engine;
    let address = &change.address;
    let Some(observed) = &change.observed else {
        return Ok(Sent::Done {
            service_update: false,
        });
    };
    let live = engine
        .inspect_service(&observed.id)
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
    let mut spec = live.raw["Spec"].clone();
    let template = &mut spec["TaskTemplate"];
    if let Some(list) = template["Networks"].as_array_mut() {
        list.retain(|n| !n["Target"].as_str().is_some_and(|t| networks.contains(t)));
    }
    if let Some(list) = template["ContainerSpec"]["Mounts"].as_array_mut() {
        list.retain(|m| {
            !(m["Type"] == "volume" && m["Source"].as_str().is_some_and(|s| volumes.contains(s)))
        });
    }
    match engine
        .update_service(&observed.id, live.state.version, spec)
        .await
    {
        Ok(()) => {}
        Err(e) if e.kind == DockerErrorKind::OutOfSequence => {
            return Err(ApplyError::ChangedSincePlan {
                address: Box::new(address.clone()),
                doing: "moving it off a replaced network or volume",
            })
        }
        Err(e) => return Err(ApplyError::engine("detach", address, e)),
    }
    let id = observed.id.clone();
    if shared.options.wait {
        let watch = Watch::new(address.clone(), id.clone(), true, live.state.update_started)
            .since(updated_at(&live.raw));
        return Ok(Sent::Converge {
            watch: Box::new(watch),
            after: Box::new(After::Detached { id }),
            service_update: true,
        });
    }
    // Without the wait, the version after the detach is read once.
    let version = engine
        .inspect_service(&id)
        .await
        .map_err(|e| ApplyError::engine("inspect", address, e))?
        .state
        .version;
    shared
        .detached
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, version);
    Ok(Sent::Done {
        service_update: true,
    })
}

/// After a service's convergence failed (Swarm rolled it back, it timed out, the wait was
/// interrupted), records what Docker holds for it now rather than what berth sent: after a
/// rollback that is the previous spec, so the next drift check compares the cluster with what
/// really runs. When the service cannot be read, what was recorded when Docker accepted the
/// change stays.
pub(crate) async fn record_live<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    id: &str,
) -> Result<(), ApplyError> {
    let Ok(Some(live)) = reread(shared, &change.address, id).await else {
        return Ok(());
    };
    shared.record(change, live.id, live.version, live.spec)
}

/// The normalised live spec and version of one service, read in one call: its networks are
/// named from the IDs this apply knows, as a full read would name them.
async fn reread<E: Engine>(
    shared: &Shared<E>,
    address: &Address,
    id: &str,
) -> Result<Option<ObservedResource>, ApplyError> {
    let live = shared
        .engine
        .inspect_service(id)
        .await
        .map_err(|e| ApplyError::engine("inspect", address, e))?;
    let networks: Vec<serde_json::Value> = ids(shared)
        .networks
        .iter()
        .map(|(name, id)| serde_json::json!({ "Name": name, "Id": id }))
        .collect();
    observe_service(&live.raw, networks, address)
}

/// One service object of Docker's JSON as the planner observes it.
pub fn observe_service(
    raw: &serde_json::Value,
    networks: Vec<serde_json::Value>,
    address: &Address,
) -> Result<Option<ObservedResource>, ApplyError> {
    let snapshot = DockerSnapshot {
        services: serde_json::Value::Array(vec![raw.clone()]).to_string(),
        networks: serde_json::Value::Array(networks).to_string(),
        volumes: "{}".into(),
        secrets: "[]".into(),
        configs: "[]".into(),
        nodes: "[]".into(),
        tasks: "[]".into(),
    };
    let observed = berth_planner::Observed::from_docker(&snapshot)?;
    Ok(observed
        .resources
        .into_iter()
        .find(|r| &r.address == address))
}

/// Removes an object; one already gone counts as removed, and one still in use (by exiting
/// tasks, or a volume by the stopped containers of a service's task history, which are removed
/// first) is retried until `deadline`.
async fn remove<E: Engine>(
    shared: &Shared<E>,
    change: &Change,
    id: &str,
    name: &str,
    deadline: Instant,
) -> Result<(), ApplyError> {
    loop {
        if change.kind() == Kind::Volume {
            shared.engine.release_volume(name).await;
        }
        match shared.engine.remove(change.kind(), id).await {
            Ok(()) => return Ok(()),
            Err(e) if ops::gone(&e) => return Ok(()),
            Err(e) if e.kind == DockerErrorKind::InUse && Instant::now() < deadline => {
                tokio::time::sleep(RETRY).await
            }
            Err(e) => return Err(ApplyError::engine("delete", &change.address, e)),
        }
    }
}

async fn delete<E: Engine>(shared: &Shared<E>, change: &Change) -> Result<(), ApplyError> {
    let address = &change.address;
    let Some(observed) = &change.observed else {
        return Ok(());
    };
    let deadline = Instant::now() + shared.options.timeout;
    remove(shared, change, &observed.id, &observed.name, deadline).await?;
    match change.kind() {
        Kind::Service => {
            wait_gone(shared, &observed.id, deadline).await;
        }
        Kind::Network => {
            wait_network_gone(shared, &observed.id, deadline).await;
            // Its name is free again: a replacement may create it.
            ids(shared).networks.retain(|_, id| *id != observed.id);
        }
        _ => {}
    }
    shared.checkpoint(&address.deployment, |s| s.forget(&observed.id))
}

/// A removed swarm network stays listed (though unusable) while containers of removed tasks
/// that used it linger; an apply right after would take it for existing. So a network delete
/// waits (bounded) until the network is no longer listed.
async fn wait_network_gone<E: Engine>(shared: &Shared<E>, id: &str, deadline: Instant) {
    while Instant::now() < deadline {
        if !shared.engine.network_listed(id).await.unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// After a service is removed its tasks exit in the background; objects they used can only be
/// removed once they are gone, so the delete waits (bounded) for the tasks to disappear.
/// Containers of removed tasks linger, and one still starting would create a volume it mounts
/// anew (without berth's labels) after berth removed it: the wait is for them too. Once the
/// tasks are gone, their containers that no longer run are removed (Swarm leaves those of a
/// job's tasks behind). Says whether they were gone before `deadline`.
pub(crate) async fn wait_gone<E: Engine>(
    shared: &Shared<E>,
    service_id: &str,
    deadline: Instant,
) -> bool {
    let ids = [service_id.to_string()];
    while Instant::now() < deadline {
        let tasks = shared.engine.tasks(&ids).await.unwrap_or_default();
        let lingering = shared
            .engine
            .service_containers(service_id)
            .await
            .unwrap_or(false);
        if tasks.is_empty() && !lingering {
            return true;
        }
        if tasks.is_empty() {
            shared
                .engine
                .clear_service_containers(service_id, false)
                .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
