//! An engine in memory: a real implementation of `berth_apply::engine::Engine` that keeps
//! networks, volumes, secrets, configs and services, answers as the engine does (names are
//! unique, an update at an old version is out of sequence, an object in use cannot be removed,
//! a removed object is not found), and simulates convergence: a service's tasks start running
//! after a number of polls chosen per service, or Swarm rolls the update back; a job's task runs
//! and completes after that many polls, or fails with exit code 1 (`rolls_back`). Faults are
//! injected by name. Every call is logged, with how often the services had been polled then.
//!
//! Its answers are built from the same shapes as the engine's (the refusal texts are those
//! captured in `src/error_tests.rs`), and classified by `DockerError::new` like real ones.

#![allow(dead_code)]

use berth_apply::engine::{Engine, ServiceState, ServiceView, TaskView};
use berth_apply::error::DockerError;
use berth_apply::ops::Ids;
use berth_apply::ApplyError;
use berth_planner::docker::{ConfigSpec, NetworkSpec, SecretSpec, VolumeSpec};
use berth_planner::{DockerSnapshot, Kind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// How a service behaves once created or updated.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Polls of its tasks before they run.
    pub polls_to_converge: u32,
    /// Swarm rolls every update back.
    pub rolls_back: bool,
}

#[derive(Debug)]
struct Service {
    spec: Value,
    version: u64,
    /// Polls of its tasks since its last change.
    polls: u32,
    updates: u32,
}

#[derive(Default)]
struct World {
    next: u64,
    /// By ID: name.
    networks: BTreeMap<String, String>,
    volumes: BTreeSet<String>,
    secrets: BTreeMap<String, String>,
    configs: BTreeMap<String, String>,
    services: BTreeMap<String, Service>,
    behaviour: HashMap<String, Behaviour>,
    /// Operations (`create_service:web`) refused with an error of the engine.
    refuse: BTreeSet<String>,
    /// Operations that panic.
    panic: BTreeSet<String>,
    /// Services someone else updates right before berth's next update of them (a version bump
    /// only, or with a changed image).
    bumped: HashMap<String, Option<String>>,
    log: Vec<Call>,
    polls: u32,
}

/// One call the executor made, and how many polls of the services had happened before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub what: String,
    pub polls_before: u32,
}

#[derive(Default)]
pub struct Fake {
    world: Mutex<World>,
    /// Time each call takes (tokio's clock, paused in tests, so no test waits for real).
    pub latency: Duration,
}

fn conflict(what: &str, name: &str) -> DockerError {
    DockerError::new(
        Some(409),
        format!("rpc error: code = AlreadyExists desc = {what} {name} already exists"),
    )
}

fn not_found(what: &str, id: &str) -> DockerError {
    DockerError::new(Some(404), format!("{what} {id} not found"))
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    pub fn behave(&self, service: &str, behaviour: Behaviour) {
        self.w().behaviour.insert(service.into(), behaviour);
    }

    /// Refuses an operation such as `create_network:shop_default`.
    pub fn refuse(&self, operation: &str) {
        self.w().refuse.insert(operation.into());
    }

    pub fn panic_on(&self, operation: &str) {
        self.w().panic.insert(operation.into());
    }

    /// Someone else updates `service` just before berth's update; with an image, the spec
    /// changes too.
    pub fn bump_before_update(&self, service: &str, image: Option<&str>) {
        self.w()
            .bumped
            .insert(service.into(), image.map(str::to_string));
    }

    pub fn log(&self) -> Vec<Call> {
        self.w().log.clone()
    }

    /// The position of the first call `what` in the log.
    pub fn position(&self, what: &str) -> Option<usize> {
        self.w().log.iter().position(|c| c.what == what)
    }

    pub fn call(&self, what: &str) -> Option<Call> {
        self.w().log.iter().find(|c| c.what == what).cloned()
    }

    pub fn service_names(&self) -> Vec<String> {
        self.w()
            .services
            .values()
            .map(|s| s.spec["Name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn network_names(&self) -> Vec<String> {
        self.w().networks.values().cloned().collect()
    }

    /// Adds a network that exists before the apply; returns its ID.
    pub fn add_network(&self, name: &str) -> String {
        let mut w = self.w();
        let id = w.id("n");
        w.networks.insert(id.clone(), name.into());
        id
    }

    /// Adds a service that exists before the apply (version 1); returns its ID.
    pub fn add_service(&self, spec: Value) -> String {
        let mut w = self.w();
        let id = w.id("s");
        w.services.insert(
            id.clone(),
            Service {
                spec,
                version: 1,
                polls: u32::MAX / 2,
                updates: 0,
            },
        );
        id
    }

    /// The service as Docker's JSON (what `inspect_service` answers).
    pub fn service_json(&self, id: &str) -> Value {
        let w = self.w();
        w.json(id, &w.services[id])
    }

    fn w(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Logs a call, and fails or panics it when told to.
    async fn enter(&self, operation: &str, name: &str) -> Result<(), DockerError> {
        let what = format!("{operation}:{name}");
        {
            let mut w = self.w();
            let polls_before = w.polls;
            w.log.push(Call {
                what: what.clone(),
                polls_before,
            });
            if w.panic.contains(&what) {
                drop(w);
                panic!("the fake engine was told to panic on {what}");
            }
            if w.refuse.contains(&what) {
                return Err(DockerError::new(
                    Some(500),
                    format!("rpc error: code = Unknown desc = refused {what}"),
                ));
            }
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(())
    }
}

impl World {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:04}", self.next)
    }

    fn name_of(&self, id: &str) -> String {
        self.services
            .get(id)
            .and_then(|s| s.spec["Name"].as_str())
            .unwrap_or(id)
            .to_string()
    }

    fn behaviour(&self, id: &str) -> Behaviour {
        self.behaviour
            .get(&self.name_of(id))
            .copied()
            .unwrap_or_default()
    }

    fn replicas(s: &Service) -> u64 {
        s.spec["Mode"]["Replicated"]["Replicas"]
            .as_u64()
            .unwrap_or(1)
    }

    fn json(&self, id: &str, s: &Service) -> Value {
        let b = self.behaviour(id);
        let mut service = json!({
            "ID": id,
            "Version": { "Index": s.version },
            "Spec": s.spec,
        });
        if s.updates > 0 {
            let state = if b.rolls_back {
                "rollback_completed"
            } else if s.polls >= b.polls_to_converge {
                "completed"
            } else {
                "updating"
            };
            service["UpdateStatus"] = json!({
                "State": state,
                "StartedAt": format!("update-{}", s.updates),
                "Message": if b.rolls_back { "update rolled back due to failure" } else { "" },
            });
        }
        service
    }

    fn tasks(&self, id: &str, s: &Service) -> Vec<TaskView> {
        let b = self.behaviour(id);
        if s.spec["Mode"].get("ReplicatedJob").is_some() {
            // One task per run; the engine numbers neither a job's first run nor its tasks.
            let ended = s.polls >= b.polls_to_converge;
            let (state, exit_code) = match (ended, b.rolls_back) {
                (false, _) => ("running", None),
                (true, false) => ("complete", Some(0)),
                (true, true) => ("failed", Some(1)),
            };
            return vec![TaskView {
                id: format!("{id}.job"),
                service_id: id.into(),
                node_id: "node1".into(),
                desired_state: "complete".into(),
                state: state.into(),
                exit_code,
                ..TaskView::default()
            }];
        }
        let running = s.polls >= b.polls_to_converge && !b.rolls_back;
        (1..=Self::replicas(s))
            .map(|slot| TaskView {
                id: format!("{id}.{slot}"),
                service_id: id.into(),
                slot: Some(slot),
                node_id: "node1".into(),
                desired_state: if b.rolls_back { "shutdown" } else { "running" }.into(),
                state: if b.rolls_back {
                    "failed"
                } else if running {
                    "running"
                } else {
                    "starting"
                }
                .into(),
                err: if b.rolls_back {
                    "task: non-zero exit (1)".into()
                } else {
                    String::new()
                },
                created: String::new(),
                ..TaskView::default()
            })
            .collect()
    }

    fn uses(&self, id: &str) -> bool {
        self.services.values().any(|s| {
            let t = &s.spec["TaskTemplate"];
            t["Networks"]
                .as_array()
                .is_some_and(|l| l.iter().any(|n| n["Target"] == id))
                || t["ContainerSpec"]["Mounts"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|m| m["Source"] == id))
        })
    }
}

impl Engine for Fake {
    async fn ids(&self) -> Result<Ids, DockerError> {
        self.enter("ids", "").await?;
        let w = self.w();
        let flip =
            |m: &BTreeMap<String, String>| m.iter().map(|(i, n)| (n.clone(), i.clone())).collect();
        Ok(Ids {
            networks: flip(&w.networks),
            secrets: flip(&w.secrets),
            configs: flip(&w.configs),
        })
    }

    async fn snapshot(&self) -> Result<DockerSnapshot, ApplyError> {
        Err(ApplyError::internal(
            "the fake",
            "the fake engine has no full read",
        ))
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<String, DockerError> {
        self.enter("create_network", &spec.name).await?;
        let mut w = self.w();
        if w.networks.values().any(|n| *n == spec.name) {
            return Err(DockerError::new(
                Some(409),
                format!("network with name {} already exists", spec.name),
            ));
        }
        let id = w.id("n");
        w.networks.insert(id.clone(), spec.name.clone());
        Ok(id)
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<String, DockerError> {
        self.enter("create_volume", &spec.name).await?;
        self.w().volumes.insert(spec.name.clone());
        Ok(spec.name.clone())
    }

    async fn create_secret(&self, spec: &SecretSpec, _: &[u8]) -> Result<String, DockerError> {
        self.enter("create_secret", &spec.name).await?;
        let mut w = self.w();
        if w.secrets.values().any(|n| *n == spec.name) {
            return Err(conflict("secret", &spec.name));
        }
        let id = w.id("x");
        w.secrets.insert(id.clone(), spec.name.clone());
        Ok(id)
    }

    async fn create_config(&self, spec: &ConfigSpec, _: &[u8]) -> Result<String, DockerError> {
        self.enter("create_config", &spec.name).await?;
        let mut w = self.w();
        if w.configs.values().any(|n| *n == spec.name) {
            return Err(conflict("config", &spec.name));
        }
        let id = w.id("c");
        w.configs.insert(id.clone(), spec.name.clone());
        Ok(id)
    }

    async fn create_service(&self, spec: Value) -> Result<String, DockerError> {
        let name = spec["Name"].as_str().unwrap_or_default().to_string();
        self.enter("create_service", &name).await?;
        let mut w = self.w();
        if w.services.values().any(|s| s.spec["Name"] == name.as_str()) {
            return Err(DockerError::new(Some(409), format!("rpc error: code = AlreadyExists desc = name conflicts with an existing object: service {name} already exists")));
        }
        let id = w.id("s");
        w.services.insert(
            id.clone(),
            Service {
                spec,
                version: 1,
                polls: 0,
                updates: 0,
            },
        );
        Ok(id)
    }

    async fn update_service(&self, id: &str, version: u64, spec: Value) -> Result<(), DockerError> {
        let name = self.w().name_of(id);
        self.enter("update_service", &name).await?;
        let mut w = self.w();
        if let Some(image) = w.bumped.remove(&name) {
            let s = w
                .services
                .get_mut(id)
                .ok_or_else(|| not_found("service", id))?;
            s.version += 1;
            if let Some(image) = image {
                s.spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!(image);
            }
        }
        let rolls_back = w.behaviour(id).rolls_back;
        let s = w
            .services
            .get_mut(id)
            .ok_or_else(|| not_found("service", id))?;
        if version != s.version {
            return Err(DockerError::new(
                Some(500),
                "rpc error: code = Unknown desc = update out of sequence",
            ));
        }
        // Swarm rolls a failing update back to the previous spec at once (as a new version).
        if !rolls_back {
            s.spec = spec;
        }
        s.version += 1;
        s.polls = 0;
        s.updates += 1;
        Ok(())
    }

    async fn remove(&self, kind: Kind, id: &str) -> Result<(), DockerError> {
        let name = self.w().name_of(id);
        self.enter(&format!("remove_{kind}"), &name).await?;
        let mut w = self.w();
        let in_use = w.uses(id);
        let gone = match kind {
            Kind::Service => w.services.remove(id).is_none(),
            Kind::Network if in_use => {
                return Err(DockerError::new(
                    Some(400),
                    format!(
                    "rpc error: code = FailedPrecondition desc = network {id} is in use by service"
                ),
                ))
            }
            Kind::Network => w.networks.remove(id).is_none(),
            Kind::Volume if in_use => {
                return Err(DockerError::new(
                    Some(409),
                    format!("remove {id}: volume is in use - [c1]"),
                ))
            }
            Kind::Volume => !w.volumes.remove(id),
            Kind::Secret => w.secrets.remove(id).is_none(),
            Kind::Config => w.configs.remove(id).is_none(),
        };
        if gone {
            return Err(not_found(&kind.to_string(), id));
        }
        Ok(())
    }

    async fn inspect_service(&self, id: &str) -> Result<ServiceView, DockerError> {
        let name = self.w().name_of(id);
        self.enter("inspect_service", &name).await?;
        let w = self.w();
        let s = w.services.get(id).ok_or_else(|| not_found("service", id))?;
        let raw = w.json(id, s);
        Ok(ServiceView {
            state: ServiceState::from_json(&raw),
            raw,
        })
    }

    async fn services(&self, ids: &[String]) -> Result<Vec<ServiceState>, DockerError> {
        self.enter("services", &ids.len().to_string()).await?;
        let w = self.w();
        Ok(ids
            .iter()
            .filter_map(|id| {
                w.services
                    .get(id)
                    .map(|s| ServiceState::from_json(&w.json(id, s)))
            })
            .collect())
    }

    async fn tasks(&self, service_ids: &[String]) -> Result<Vec<TaskView>, DockerError> {
        self.enter("tasks", &service_ids.len().to_string()).await?;
        let mut w = self.w();
        w.polls += 1;
        let mut out = Vec::new();
        for id in service_ids {
            if let Some(s) = w.services.get_mut(id) {
                s.polls = s.polls.saturating_add(1);
            }
            if let Some(s) = w.services.get(id) {
                out.extend(w.tasks(id, s));
            }
        }
        Ok(out)
    }

    async fn service_containers(&self, _: &str) -> Result<bool, DockerError> {
        Ok(false)
    }

    async fn release_volume(&self, _: &str) {}

    async fn network_listed(&self, id: &str) -> Result<bool, DockerError> {
        Ok(self.w().networks.contains_key(id))
    }
}
