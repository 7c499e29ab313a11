//! One Docker call per kind of change: create, update and remove networks, volumes, secrets,
//! configs and services, with the specs the planner produced converted to bollard's types by
//! serde (both speak Docker's JSON). Removals of objects still held by exiting tasks are retried
//! until they are free, within a deadline; nothing else is retried blindly.

use crate::error::{ApplyError, DockerError, DockerErrorKind};
use base64::Engine;
use berth_planner::docker::{ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec, VolumeSpec};
use berth_planner::Address;
use bollard::Docker;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Converts one of the planner's Docker-shaped specs into bollard's equivalent type.
pub fn convert<A: Serialize, B: DeserializeOwned>(spec: &A) -> B {
    let value = serde_json::to_value(spec).expect("specs serialize");
    serde_json::from_value(value).expect("planner specs are Docker's JSON shapes")
}

/// A refusal of bollard's call, classified once ([`DockerError`]).
pub fn docker_error(
    operation: &'static str,
    address: &Address,
    e: bollard::errors::Error,
) -> ApplyError {
    ApplyError::engine(operation, address, e)
}

pub async fn create_network(
    docker: &Docker,
    address: &Address,
    spec: &NetworkSpec,
) -> Result<String, ApplyError> {
    let request: bollard::models::NetworkCreateRequest = convert(spec);
    let response = docker
        .create_network(request)
        .await
        .map_err(|e| docker_error("create", address, e))?;
    Ok(response.id)
}

pub async fn create_volume(
    docker: &Docker,
    address: &Address,
    spec: &VolumeSpec,
) -> Result<String, ApplyError> {
    let request: bollard::models::VolumeCreateRequest = convert(spec);
    let volume = docker
        .create_volume(request)
        .await
        .map_err(|e| docker_error("create", address, e))?;
    Ok(volume.name)
}

pub async fn create_secret(
    docker: &Docker,
    address: &Address,
    spec: &SecretSpec,
    data: &[u8],
) -> Result<String, ApplyError> {
    let mut request: bollard::models::SecretSpec = convert(spec);
    request.data = Some(base64::engine::general_purpose::STANDARD.encode(data));
    let response = docker
        .create_secret(request)
        .await
        .map_err(|e| docker_error("create", address, e))?;
    Ok(response.id)
}

pub async fn create_config(
    docker: &Docker,
    address: &Address,
    spec: &ConfigSpec,
    data: Option<&[u8]>,
) -> Result<String, ApplyError> {
    let mut request: bollard::models::ConfigSpec = convert(spec);
    if request.data.is_none() {
        let data =
            data.ok_or_else(|| ApplyError::internal(address, "no content for this config"))?;
        request.data = Some(base64::engine::general_purpose::STANDARD.encode(data));
    }
    let response = docker
        .create_config(request)
        .await
        .map_err(|e| docker_error("create", address, e))?;
    Ok(response.id)
}

/// Names of networks, secrets and configs to their IDs, as services must refer to them.
#[derive(Debug, Default, Clone)]
pub struct Ids {
    pub networks: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub configs: BTreeMap<String, String>,
}

/// The service spec as Docker must receive it: networks, secrets and configs by ID.
pub fn service_request(
    address: &Address,
    spec: &ServiceSpec,
    ids: &Ids,
) -> Result<bollard::models::ServiceSpec, ApplyError> {
    let mut spec = spec.clone();
    let missing = |kind: &'static str, name: &str| ApplyError::MissingReference {
        address: Box::new(address.clone()),
        kind,
        name: name.to_string(),
    };
    for n in &mut spec.task_template.networks {
        n.target = ids
            .networks
            .get(&n.target)
            .cloned()
            .ok_or_else(|| missing("network", &n.target))?;
    }
    for s in &mut spec.task_template.container_spec.secrets {
        s.secret_id = ids
            .secrets
            .get(&s.secret_name)
            .cloned()
            .ok_or_else(|| missing("secret", &s.secret_name))?;
    }
    for c in &mut spec.task_template.container_spec.configs {
        c.config_id = ids
            .configs
            .get(&c.config_name)
            .cloned()
            .ok_or_else(|| missing("config", &c.config_name))?;
    }
    let value =
        serde_json::to_value(&spec).map_err(|e| ApplyError::internal(address, e.to_string()))?;
    raw_service_request(value).map_err(|e| ApplyError::internal(address, e))
}

/// A service spec in Docker's own JSON as bollard sends it. bollard names the health check
/// `HealthCheck` (after Docker's swagger file); the engine's own name is `Healthcheck`, and it
/// reads either, so the key is renamed rather than lost.
pub fn raw_service_request(
    mut value: serde_json::Value,
) -> Result<bollard::models::ServiceSpec, String> {
    if let Some(cs) = value
        .pointer_mut("/TaskTemplate/ContainerSpec")
        .and_then(|v| v.as_object_mut())
    {
        if let Some(h) = cs.remove("Healthcheck") {
            cs.insert("HealthCheck".into(), h);
        }
    }
    serde_json::from_value(value).map_err(|e| format!("a service spec Docker sent: {e}"))
}

pub async fn create_service(
    docker: &Docker,
    address: &Address,
    spec: bollard::models::ServiceSpec,
) -> Result<String, ApplyError> {
    let response = docker
        .create_service(spec, None)
        .await
        .map_err(|e| docker_error("create", address, e))?;
    response.id.ok_or_else(|| {
        ApplyError::engine(
            "create",
            address,
            DockerError::other("Docker returned no ID"),
        )
    })
}

/// The outcome of an update attempt.
pub enum Updated {
    Done,
    /// Someone changed the service since its version was read.
    OutOfSequence,
}

pub async fn update_service(
    docker: &Docker,
    address: &Address,
    id: &str,
    version: u64,
    spec: bollard::models::ServiceSpec,
) -> Result<Updated, ApplyError> {
    let options = bollard::query_parameters::UpdateServiceOptionsBuilder::default()
        .version(version as i32)
        .build();
    match docker.update_service(id, spec, options, None).await {
        Ok(_) => Ok(Updated::Done),
        Err(e) => {
            let e = DockerError::from(e);
            match e.kind {
                DockerErrorKind::OutOfSequence => Ok(Updated::OutOfSequence),
                _ => Err(ApplyError::engine("update", address, e)),
            }
        }
    }
}

/// Removes an object; an object already gone counts as removed, and one still in use by exiting
/// tasks is retried until `deadline`.
pub async fn remove(
    docker: &Docker,
    address: &Address,
    kind: berth_planner::Kind,
    id: &str,
    deadline: Instant,
) -> Result<(), ApplyError> {
    use berth_planner::Kind;
    loop {
        let result = match kind {
            Kind::Service => docker.delete_service(id).await,
            Kind::Network => docker.remove_network(id).await,
            Kind::Volume => {
                docker
                    .remove_volume(id, None::<bollard::query_parameters::RemoveVolumeOptions>)
                    .await
            }
            Kind::Secret => docker.delete_secret(id).await,
            Kind::Config => docker.delete_config(id).await,
        };
        match result.map_err(DockerError::from) {
            Ok(()) => return Ok(()),
            // Gone already (Swarm removes networks in the background and then answers 500 with
            // "not found" to a second removal).
            Err(e) if e.kind == DockerErrorKind::NotFound => return Ok(()),
            Err(e) => {
                if e.kind != DockerErrorKind::InUse || Instant::now() >= deadline {
                    return Err(ApplyError::engine("delete", address, e));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}
