//! Reading the live state of berth's objects: one list call per kind, filtered by berth's
//! `berth.managed` label (not one call per object), plus the nodes and running tasks the planner
//! needs for capacity. The answers are handed to the planner as Docker's JSON, where one module
//! knows what they mean.

use crate::connect::Cluster;
use crate::error::{ApplyError, DockerError};
use berth_planner::resource::label;
use berth_planner::{Address, DockerSnapshot};
use bollard::query_parameters::{
    ListConfigsOptionsBuilder, ListNetworksOptionsBuilder, ListNodesOptions,
    ListSecretsOptionsBuilder, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use serde::Serialize;
use std::collections::HashMap;

fn docker_err(operation: &'static str, e: bollard::errors::Error) -> ApplyError {
    ApplyError::engine(operation, "the cluster", e)
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// Everything berth manages, and the cluster's capacity, in seven list calls made concurrently.
pub async fn snapshot(cluster: &Cluster) -> Result<DockerSnapshot, ApplyError> {
    match Some(&cluster.raw) {
        Some(endpoint) => snapshot_raw(cluster, endpoint).await,
        None => snapshot_typed(cluster).await,
    }
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

/// Through bollard's types, for endpoints [`crate::raw`] does not speak (e.g. `ssh://`): health
/// checks are lost there, see [`crate::raw`].
async fn snapshot_typed(cluster: &Cluster) -> Result<DockerSnapshot, ApplyError> {
    let d = &cluster.docker;
    let managed: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec!["berth.managed=true"])]);
    let running: HashMap<&str, Vec<&str>> = HashMap::from([("desired-state", vec!["running"])]);
    let (services, networks, volumes, secrets, configs, nodes, tasks) = tokio::join!(
        d.list_services(Some(
            ListServicesOptionsBuilder::default()
                .filters(&managed)
                .status(true)
                .build()
        )),
        d.list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&managed)
                .build()
        )),
        d.list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&managed)
                .build()
        )),
        d.list_secrets(Some(
            ListSecretsOptionsBuilder::default()
                .filters(&managed)
                .build()
        )),
        d.list_configs(Some(
            ListConfigsOptionsBuilder::default()
                .filters(&managed)
                .build()
        )),
        d.list_nodes(None::<ListNodesOptions>),
        d.list_tasks(Some(
            ListTasksOptionsBuilder::default().filters(&running).build()
        )),
    );
    Ok(DockerSnapshot {
        services: to_json(&services.map_err(|e| docker_err("listing services", e))?),
        networks: to_json(&networks.map_err(|e| docker_err("listing networks", e))?),
        volumes: to_json(&volumes.map_err(|e| docker_err("listing volumes", e))?),
        secrets: to_json(&secrets.map_err(|e| docker_err("listing secrets", e))?),
        configs: to_json(&configs.map_err(|e| docker_err("listing configs", e))?),
        nodes: to_json(&nodes.map_err(|e| docker_err("listing nodes", e))?),
        tasks: to_json(&tasks.map_err(|e| docker_err("listing tasks", e))?),
    })
}
