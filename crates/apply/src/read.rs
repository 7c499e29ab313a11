//! Reading the live state of berth's objects: one list call per kind, filtered by berth's
//! `berth.managed` label (not one call per object), plus the nodes and running tasks the planner
//! needs for capacity. The answers are handed to the planner as Docker's JSON, where one module
//! knows what they mean.

use crate::connect::Cluster;
use crate::error::{ApplyError, DockerError};
use berth_planner::resource::label;
use berth_planner::{Address, DockerSnapshot};
use bollard::query_parameters::ListServicesOptionsBuilder;
use std::collections::HashMap;

fn docker_err(operation: &'static str, e: bollard::errors::Error) -> ApplyError {
    ApplyError::engine(operation, "the cluster", e)
}

/// Everything berth manages, and the cluster's capacity, in seven list calls made concurrently.
pub async fn snapshot(cluster: &Cluster) -> Result<DockerSnapshot, ApplyError> {
    snapshot_raw(cluster, &cluster.raw).await
}

/// Whether the platform's proxy service ([`Address::proxy`]) exists: one list call filtered by
/// its labels, so it finds exactly what a full read ([`snapshot`]) would find at that address.
pub async fn proxy_exists(cluster: &Cluster) -> Result<bool, ApplyError> {
    let managed = format!("{}=true", label::MANAGED);
    let address = format!("{}={}", label::ADDRESS, Address::proxy());
    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![&*managed, &*address])]);
    let services = cluster
        .docker
        .list_services(Some(
            ListServicesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| docker_err("listing services", e))?;
    Ok(!services.is_empty())
}

/// One service's live spec as Docker's JSON, its version index, and when its last update began
/// (to tell a new update from it).
pub async fn service_spec(
    cluster: &Cluster,
    id: &str,
) -> Result<(serde_json::Value, u64, Option<String>), DockerError> {
    let service = inspect_service(cluster, id).await?;
    let version = service["Version"]["Index"]
        .as_u64()
        .ok_or_else(|| DockerError::other(format!("service {id} has no version")))?;
    let started = service["UpdateStatus"]["StartedAt"]
        .as_str()
        .map(str::to_string);
    Ok((service["Spec"].clone(), version, started))
}

/// One service as Docker's JSON (`GET /services/{id}`), in one call.
pub async fn inspect_service(
    cluster: &Cluster,
    id: &str,
) -> Result<serde_json::Value, DockerError> {
    let path = format!("/v{}/services/{id}", cluster.api_version);
    let text = crate::raw::get(&cluster.raw, &path, std::time::Duration::from_secs(60))
        .await
        .map_err(|e| DockerError::from_raw(&e))?;
    serde_json::from_str(&text).map_err(|e| DockerError::other(e.to_string()))
}

/// Docker's JSON as it is, through [`crate::raw`].
async fn snapshot_raw(
    cluster: &Cluster,
    endpoint: &crate::raw::Client,
) -> Result<DockerSnapshot, ApplyError> {
    let v = format!("/v{}", cluster.api_version);
    let managed = crate::raw::encode(r#"{"label":["berth.managed=true"]}"#);
    let running = crate::raw::encode(r#"{"desired-state":["running"]}"#);
    let timeout = std::time::Duration::from_secs(60);
    let get = |path: String| async move {
        crate::raw::get(endpoint, &path, timeout)
            .await
            .map_err(|e| ApplyError::engine("read", "the cluster", DockerError::from_raw(&e)))
    };
    let (services, networks, volumes, secrets, configs, nodes, tasks) = tokio::join!(
        get(format!("{v}/services?status=true&filters={managed}")),
        get(format!("{v}/networks?filters={managed}")),
        // Unfiltered: the engine was seen leaving a just-mounted volume out of a label-filtered
        // list; the planner keeps only berth's objects itself.
        get(format!("{v}/volumes")),
        get(format!("{v}/secrets?filters={managed}")),
        get(format!("{v}/configs?filters={managed}")),
        get(format!("{v}/nodes")),
        get(format!("{v}/tasks?filters={running}")),
    );
    Ok(DockerSnapshot {
        services: services?,
        networks: networks?,
        volumes: volumes?,
        secrets: secrets?,
        configs: configs?,
        nodes: nodes?,
        tasks: tasks?,
    })
}
