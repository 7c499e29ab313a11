//! One Docker call per kind of change: create, update and remove networks, volumes, secrets,
//! configs and services, with the specs the planner produced converted to bollard's types by
//! serde (both speak Docker's JSON). Each call makes one attempt and returns Docker's answer
//! classified ([`DockerError`]); what to retry is the executor's decision. [`DockerEngine`]
//! (crate::engine::DockerEngine) is their only caller.

use crate::error::{ApplyError, DockerError, DockerErrorKind};
use base64::Engine;
use berth_planner::docker::{ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec, VolumeSpec};
use berth_planner::Address;
use bollard::Docker;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;

/// Converts one of the planner's Docker-shaped specs into bollard's equivalent type. Both are
/// Docker's JSON; a spec that does not convert is a bug, reported as such.
pub fn convert<A: Serialize, B: DeserializeOwned>(spec: &A) -> Result<B, DockerError> {
    serde_json::to_value(spec)
        .and_then(serde_json::from_value)
        .map_err(|e| DockerError::other(format!("berth could not convert its spec: {e}")))
}

pub async fn create_network(docker: &Docker, spec: &NetworkSpec) -> Result<String, DockerError> {
    let request: bollard::models::NetworkCreateRequest = convert(spec)?;
    Ok(docker.create_network(request).await?.id)
}

pub async fn create_volume(docker: &Docker, spec: &VolumeSpec) -> Result<String, DockerError> {
    let request: bollard::models::VolumeCreateRequest = convert(spec)?;
    Ok(docker.create_volume(request).await?.name)
}

pub async fn create_secret(
    docker: &Docker,
    spec: &SecretSpec,
    data: &[u8],
) -> Result<String, DockerError> {
    let mut request: bollard::models::SecretSpec = convert(spec)?;
    request.data = Some(base64::engine::general_purpose::STANDARD.encode(data));
    Ok(docker.create_secret(request).await?.id)
}

/// Creates a config; `data` is its content when the spec carries none.
pub async fn create_config(
    docker: &Docker,
    spec: &ConfigSpec,
    data: &[u8],
) -> Result<String, DockerError> {
    let mut request: bollard::models::ConfigSpec = convert(spec)?;
    if request.data.is_none() {
        request.data = Some(base64::engine::general_purpose::STANDARD.encode(data));
    }
    Ok(docker.create_config(request).await?.id)
}

/// Names of networks, secrets and configs to their IDs, as services must refer to them.
#[derive(Debug, Default, Clone)]
pub struct Ids {
    pub networks: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub configs: BTreeMap<String, String>,
}

/// The service spec as Docker must receive it, in Docker's JSON: networks, secrets and configs
/// by ID.
pub fn service_request(
    address: &Address,
    spec: &ServiceSpec,
    ids: &Ids,
) -> Result<serde_json::Value, ApplyError> {
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
    serde_json::to_value(&spec).map_err(|e| ApplyError::internal(address, e.to_string()))
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
    serde_json::from_value(value).map_err(|e| format!("a service spec berth could not send: {e}"))
}

pub async fn create_service(
    docker: &Docker,
    spec: bollard::models::ServiceSpec,
) -> Result<String, DockerError> {
    docker
        .create_service(spec, None)
        .await?
        .id
        .ok_or_else(|| DockerError::other("Docker returned no ID"))
}

/// Updates a service at `version`; Swarm refuses an older version as
/// [`DockerErrorKind::OutOfSequence`].
pub async fn update_service(
    docker: &Docker,
    id: &str,
    version: u64,
    spec: bollard::models::ServiceSpec,
) -> Result<(), DockerError> {
    let version = i32::try_from(version)
        .map_err(|_| DockerError::other(format!("version index {version} is out of range")))?;
    let options = bollard::query_parameters::UpdateServiceOptionsBuilder::default()
        .version(version)
        .build();
    docker.update_service(id, spec, options, None).await?;
    Ok(())
}

/// One attempt to remove an object.
pub async fn remove(
    docker: &Docker,
    kind: berth_planner::Kind,
    id: &str,
) -> Result<(), DockerError> {
    use berth_planner::Kind;
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
    result.map_err(DockerError::from)
}

/// Whether a refusal means the object is gone already (Swarm removes networks in the background
/// and then answers a second removal with "not found").
pub fn gone(e: &DockerError) -> bool {
    e.kind == DockerErrorKind::NotFound
}
