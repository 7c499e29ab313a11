//! The one interface between the executor and Docker: exactly the operations an apply needs,
//! each returning a classified [`DockerError`]. [`DockerEngine`] implements it over a
//! [`Cluster`] (through `ops.rs`, `read.rs` and `raw.rs`); the executor's tests implement it in
//! memory. No Docker call of the executor bypasses it.
//!
//! Services travel as Docker's own JSON (with networks, secrets and configs by ID): that is what
//! the executor edits (a detach removes networks and mounts from the live spec), and what an
//! engine must accept.

use crate::connect::Cluster;
use crate::error::{ApplyError, DockerError};
use crate::ops::{self, Ids};
use berth_planner::docker::{ConfigSpec, NetworkSpec, SecretSpec, VolumeSpec};
use berth_planner::{DockerSnapshot, Kind};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListServicesOptionsBuilder,
    ListTasksOptionsBuilder,
};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;

/// What the executor reads of a service to tell whether it converged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceState {
    pub id: String,
    pub version: u64,
    /// Swarm's `UpdateStatus.State` (`updating`, `completed`, `rollback_started`, `paused`, ...),
    /// empty when the service was never updated.
    pub update_state: String,
    pub update_message: String,
    /// `UpdateStatus.StartedAt`, to tell this update's report from an earlier one's.
    pub update_started: Option<String>,
    /// Replicas of a replicated service; `None` for a global one.
    pub replicas: Option<u64>,
    /// For a job (`ReplicatedJob` mode): what says which run is this one, and how long it may take.
    pub job: Option<JobState>,
}

/// A job's run as the service object tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// `JobStatus.JobIteration.Index`: the run the current spec started; a task of this run
    /// carries the same index.
    pub iteration: Option<u64>,
    /// The `berth.job.timeout` label, in seconds.
    pub timeout_secs: Option<u64>,
}

impl ServiceState {
    /// From a service object in Docker's JSON (`GET /services/{id}` or one of `GET /services`).
    pub fn from_json(service: &Value) -> ServiceState {
        let status = &service["UpdateStatus"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        ServiceState {
            id: text(&service["ID"]),
            version: service["Version"]["Index"].as_u64().unwrap_or(0),
            update_state: text(&status["State"]),
            update_message: text(&status["Message"]),
            update_started: status["StartedAt"].as_str().map(str::to_string),
            replicas: service["Spec"]["Mode"]
                .get("Replicated")
                .map(|r| r["Replicas"].as_u64().unwrap_or(1)),
            job: service["Spec"]["Mode"]
                .get("ReplicatedJob")
                .map(|_| JobState {
                    iteration: service["JobStatus"]["JobIteration"]["Index"].as_u64(),
                    timeout_secs: service["Spec"]["Labels"]
                        [berth_planner::swarm::label::JOB_TIMEOUT]
                        .as_str()
                        .and_then(|s| s.parse().ok()),
                }),
        }
    }
}

/// One service as Docker's JSON, read in one call, and what it says about convergence.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    pub state: ServiceState,
    /// The whole object (`ID`, `Version`, `Spec`, `UpdateStatus`, ...).
    pub raw: Value,
}

/// One task of a service, as convergence reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskView {
    pub id: String,
    pub service_id: String,
    pub slot: Option<u64>,
    pub node_id: String,
    pub desired_state: String,
    pub state: String,
    pub err: String,
    /// `CreatedAt`, the manager's clock: tells this update's tasks from an earlier attempt's.
    pub created: String,
    /// For a job's task: the run it belongs to (`JobIteration.Index`).
    pub job_iteration: Option<u64>,
    /// The container's exit code, once it exited.
    pub exit_code: Option<i64>,
    /// `Status.Timestamp`: when the task reached its state.
    pub timestamp: String,
}

impl TaskView {
    pub fn from_json(task: &Value) -> TaskView {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        TaskView {
            id: text(&task["ID"]),
            service_id: text(&task["ServiceID"]),
            slot: task["Slot"].as_u64(),
            node_id: text(&task["NodeID"]),
            desired_state: text(&task["DesiredState"]),
            state: text(&task["Status"]["State"]),
            err: text(&task["Status"]["Err"]),
            created: text(&task["CreatedAt"]),
            job_iteration: task["JobIteration"]["Index"].as_u64(),
            exit_code: task["Status"]["ContainerStatus"]["ExitCode"].as_i64(),
            timestamp: text(&task["Status"]["Timestamp"]),
        }
    }
}

/// The operations of an apply. Every future is `Send`: steps run on tokio's worker threads.
pub trait Engine: Send + Sync + 'static {
    /// Names to IDs of every network, secret and config (services refer to them by ID, and may
    /// join networks berth does not manage).
    fn ids(&self) -> impl Future<Output = Result<Ids, DockerError>> + Send;
    /// Everything berth manages, as the planner reads it (to find a free edge slot).
    fn snapshot(&self) -> impl Future<Output = Result<DockerSnapshot, ApplyError>> + Send;
    fn create_network(
        &self,
        spec: &NetworkSpec,
    ) -> impl Future<Output = Result<String, DockerError>> + Send;
    fn create_volume(
        &self,
        spec: &VolumeSpec,
    ) -> impl Future<Output = Result<String, DockerError>> + Send;
    fn create_secret(
        &self,
        spec: &SecretSpec,
        data: &[u8],
    ) -> impl Future<Output = Result<String, DockerError>> + Send;
    /// `data` is the content when the spec carries none.
    fn create_config(
        &self,
        spec: &ConfigSpec,
        data: &[u8],
    ) -> impl Future<Output = Result<String, DockerError>> + Send;
    /// Creates a service from its spec in Docker's JSON; returns its ID.
    fn create_service(
        &self,
        spec: Value,
    ) -> impl Future<Output = Result<String, DockerError>> + Send;
    /// Updates a service at `version`; an older version is refused as
    /// [`crate::error::DockerErrorKind::OutOfSequence`].
    fn update_service(
        &self,
        id: &str,
        version: u64,
        spec: Value,
    ) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// One removal attempt (the executor decides what to retry).
    fn remove(&self, kind: Kind, id: &str) -> impl Future<Output = Result<(), DockerError>> + Send;
    /// One service, in one call.
    fn inspect_service(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<ServiceView, DockerError>> + Send;
    /// The convergence state of many services, in one call.
    fn services(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<ServiceState>, DockerError>> + Send;
    /// The tasks of many services, in one call.
    fn tasks(
        &self,
        service_ids: &[String],
    ) -> impl Future<Output = Result<Vec<TaskView>, DockerError>> + Send;
    /// Whether containers of a removed service's tasks still exist (running or not).
    fn service_containers(
        &self,
        service_id: &str,
    ) -> impl Future<Output = Result<bool, DockerError>> + Send;
    /// Removes the stopped containers of Swarm tasks that still hold a volume; a running
    /// container is never touched. Best effort: the removal that follows reports what remains.
    fn release_volume(&self, name: &str) -> impl Future<Output = ()> + Send;
    /// The last `lines` lines a task wrote (stdout and stderr), for a failed job's report; empty
    /// when they cannot be read.
    fn task_logs(&self, task: &str, lines: usize) -> impl Future<Output = Vec<String>> + Send {
        let _ = (task, lines);
        async { Vec::new() }
    }
    /// After a service was removed: removes the containers of its tasks that this engine holds,
    /// having stopped (`stop_running`) those still running (10 s to exit, then killed). Swarm
    /// leaves the containers of a removed job's tasks behind, and a task still starting (its
    /// image's health check not yet passed) runs on a long while after its service is gone.
    /// Best effort: the wait that follows says what remains.
    fn clear_service_containers(
        &self,
        service_id: &str,
        stop_running: bool,
    ) -> impl Future<Output = ()> + Send {
        let _ = (service_id, stop_running);
        async {}
    }
    /// Whether a network is still listed (Swarm removes networks in the background).
    fn network_listed(&self, id: &str) -> impl Future<Output = Result<bool, DockerError>> + Send;
}

/// The engine of a real cluster.
#[derive(Clone)]
pub struct DockerEngine {
    pub cluster: Cluster,
}

impl DockerEngine {
    pub fn new(cluster: &Cluster) -> DockerEngine {
        DockerEngine {
            cluster: cluster.clone(),
        }
    }
}

/// A service spec in Docker's JSON as bollard's type (the health check key renamed for it).
fn service_request(spec: Value) -> Result<bollard::models::ServiceSpec, DockerError> {
    ops::raw_service_request(spec).map_err(DockerError::other)
}

fn filters<'a>(key: &'a str, values: &'a [String]) -> HashMap<&'a str, Vec<&'a str>> {
    HashMap::from([(key, values.iter().map(String::as_str).collect())])
}

impl Engine for DockerEngine {
    async fn ids(&self) -> Result<Ids, DockerError> {
        let d = &self.cluster.docker;
        let mut ids = Ids::default();
        let (networks, secrets, configs) = tokio::join!(
            d.list_networks(None::<bollard::query_parameters::ListNetworksOptions>),
            d.list_secrets(None::<bollard::query_parameters::ListSecretsOptions>),
            d.list_configs(None::<bollard::query_parameters::ListConfigsOptions>),
        );
        for n in networks? {
            if let (Some(name), Some(id)) = (n.name, n.id) {
                ids.networks.insert(name, id);
            }
        }
        for s in secrets? {
            if let (Some(name), Some(id)) = (s.spec.and_then(|s| s.name), s.id) {
                ids.secrets.insert(name, id);
            }
        }
        for c in configs? {
            if let (Some(name), Some(id)) = (c.spec.and_then(|s| s.name), c.id) {
                ids.configs.insert(name, id);
            }
        }
        Ok(ids)
    }

    async fn snapshot(&self) -> Result<DockerSnapshot, ApplyError> {
        crate::read::snapshot(&self.cluster).await
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<String, DockerError> {
        ops::create_network(&self.cluster.docker, spec).await
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<String, DockerError> {
        ops::create_volume(&self.cluster.docker, spec).await
    }

    async fn create_secret(&self, spec: &SecretSpec, data: &[u8]) -> Result<String, DockerError> {
        ops::create_secret(&self.cluster.docker, spec, data).await
    }

    async fn create_config(&self, spec: &ConfigSpec, data: &[u8]) -> Result<String, DockerError> {
        ops::create_config(&self.cluster.docker, spec, data).await
    }

    async fn create_service(&self, spec: Value) -> Result<String, DockerError> {
        ops::create_service(&self.cluster.docker, service_request(spec)?).await
    }

    async fn update_service(&self, id: &str, version: u64, spec: Value) -> Result<(), DockerError> {
        ops::update_service(&self.cluster.docker, id, version, service_request(spec)?).await
    }

    async fn remove(&self, kind: Kind, id: &str) -> Result<(), DockerError> {
        ops::remove(&self.cluster.docker, kind, id).await
    }

    async fn inspect_service(&self, id: &str) -> Result<ServiceView, DockerError> {
        let raw = crate::read::inspect_service(&self.cluster, id).await?;
        Ok(ServiceView {
            state: ServiceState::from_json(&raw),
            raw,
        })
    }

    async fn services(&self, ids: &[String]) -> Result<Vec<ServiceState>, DockerError> {
        let filters = filters("id", ids);
        let services = self
            .cluster
            .docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        // The list filters by ID prefix: keep exactly the services asked for.
        Ok(services
            .iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .map(|v| ServiceState::from_json(&v))
            .filter(|s| ids.contains(&s.id))
            .collect())
    }

    async fn tasks(&self, service_ids: &[String]) -> Result<Vec<TaskView>, DockerError> {
        let filters = filters("service", service_ids);
        let tasks = self
            .cluster
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await?;
        Ok(tasks
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .map(|v| TaskView::from_json(&v))
            .collect())
    }

    async fn service_containers(&self, service_id: &str) -> Result<bool, DockerError> {
        let label = [format!("com.docker.swarm.service.id={service_id}")];
        let filters = filters("label", &label);
        let containers = self
            .cluster
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(!containers.is_empty())
    }

    async fn task_logs(&self, task: &str, lines: usize) -> Vec<String> {
        use futures_util::StreamExt;
        let options = bollard::query_parameters::LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let chunks: Vec<_> = self
            .cluster
            .docker
            .task_logs(task, Some(options))
            .collect()
            .await;
        let text: String = chunks
            .into_iter()
            .filter_map(Result::ok)
            .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
            .collect();
        let mut out: Vec<String> = text.lines().map(str::to_string).collect();
        let skip = out.len().saturating_sub(lines);
        out.drain(..skip);
        out
    }

    async fn release_volume(&self, name: &str) {
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([
            ("volume", vec![name]),
            ("label", vec!["com.docker.swarm.task.id"]),
            ("status", vec!["created", "exited", "dead"]),
        ]);
        remove_containers(&self.cluster.docker, &filters).await;
    }

    async fn clear_service_containers(&self, service_id: &str, stop_running: bool) {
        let label = format!("com.docker.swarm.service.id={service_id}");
        let docker = &self.cluster.docker;
        let list = |status: Vec<&'static str>| {
            let filters: HashMap<&str, Vec<&str>> =
                HashMap::from([("label", vec![label.as_str()]), ("status", status)]);
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build();
            async move {
                docker
                    .list_containers(Some(options))
                    .await
                    .unwrap_or_default()
            }
        };
        if stop_running {
            for c in list(vec!["running", "restarting"]).await {
                if let Some(id) = c.id {
                    let options = bollard::query_parameters::StopContainerOptionsBuilder::default()
                        .t(10)
                        .build();
                    let _ = docker.stop_container(&id, Some(options)).await;
                }
            }
        }
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([
            ("label", vec![label.as_str()]),
            ("status", vec!["created", "exited", "dead"]),
        ]);
        remove_containers(docker, &filters).await;
    }

    async fn network_listed(&self, id: &str) -> Result<bool, DockerError> {
        let ids = [id.to_string()];
        let filters = filters("id", &ids);
        let listed = self
            .cluster
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(listed.iter().any(|n| n.id.as_deref() == Some(id)))
    }
}

/// Removes every container (stopped ones included) that `filters` match, best effort: what
/// cannot be removed now is left for the next try.
async fn remove_containers(docker: &bollard::Docker, filters: &HashMap<&str, Vec<&str>>) {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(filters)
        .build();
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return;
    };
    for id in containers.into_iter().filter_map(|c| c.id) {
        let _ = docker
            .remove_container(
                &id,
                None::<bollard::query_parameters::RemoveContainerOptions>,
            )
            .await;
    }
}
