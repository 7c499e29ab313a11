//! Connecting to the Docker Engine at the run's [`EngineEndpoint`] (the local socket by default,
//! `DOCKER_HOST` when set: unix, tcp, and tcp with TLS), with API version negotiation, so that an
//! engine older than bollard's default API (this machine's speaks 1.41) is not refused. bollard
//! and the raw reader share one HTTP client ([`crate::raw::Client`]). Every failure says plainly
//! what is wrong and how to fix it.

use crate::endpoint::{unreachable, EngineEndpoint};
use crate::error::ApplyError;
use bollard::Docker;

/// A connection to an engine whose swarm mode has been checked.
#[derive(Clone)]
pub struct Cluster {
    pub docker: Docker,
    /// Where the engine is, for messages.
    pub endpoint: String,
    /// The negotiated API version.
    pub api_version: String,
    /// The connection settings of this run, read once.
    pub engine: EngineEndpoint,
    /// The client raw reads go through ([`crate::raw::get`]); bollard uses the same one.
    pub raw: crate::raw::Client,
}

/// Connects and negotiates the API version, without checking swarm mode.
pub async fn connect_engine() -> Result<Cluster, ApplyError> {
    let engine = EngineEndpoint::from_env()?;
    let endpoint = engine.host.clone();
    let raw = crate::raw::Client::new(&engine);
    let docker = raw
        .docker()
        .map_err(|e| unreachable(&endpoint, crate::raw::chain(&e)))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| unreachable(&endpoint, crate::raw::chain(&e)))?;
    let version = docker.client_version();
    let api_version = format!("{}.{}", version.major_version, version.minor_version);
    if (version.major_version, version.minor_version) < (1, 41) {
        return Err(ApplyError::EngineTooOld {
            version: api_version,
        });
    }
    Ok(Cluster {
        docker,
        endpoint,
        api_version,
        engine,
        raw,
    })
}

/// The node's swarm state (`active`, `inactive`, ...) and whether it is a manager.
async fn swarm_state(cluster: &Cluster) -> Result<(String, bool), ApplyError> {
    let info = cluster
        .docker
        .info()
        .await
        .map_err(|e| unreachable(&cluster.endpoint, crate::raw::chain(&e)))?;
    let swarm = info.swarm.unwrap_or_default();
    let state = swarm
        .local_node_state
        .map(|s| s.to_string())
        .unwrap_or_default();
    Ok((state, swarm.control_available.unwrap_or(false)))
}

/// Connects and requires an active swarm manager.
pub async fn connect() -> Result<Cluster, ApplyError> {
    let cluster = connect_engine().await?;
    let (state, manager) = swarm_state(&cluster).await?;
    if state != "active" {
        return Err(ApplyError::SwarmInactive {
            endpoint: cluster.endpoint,
        });
    }
    if !manager {
        return Err(ApplyError::Unreachable {
            endpoint: cluster.endpoint,
            message: "this node is a swarm worker".into(),
            hint: "point DOCKER_HOST at a manager node: only managers accept service changes"
                .into(),
        });
    }
    Ok(cluster)
}

/// Initialises swarm mode when it is inactive, with the platform's address pool. Returns whether
/// it did anything.
pub async fn ensure_swarm(
    cluster: &Cluster,
    advertise: &str,
    pool: Option<&str>,
    subnet_size: u8,
) -> Result<bool, ApplyError> {
    if swarm_state(cluster).await?.0 == "active" {
        return Ok(false);
    }
    let request = bollard::models::SwarmInitRequest {
        listen_addr: Some("0.0.0.0:2377".into()),
        advertise_addr: Some(advertise.to_string()),
        default_addr_pool: pool.map(|p| vec![p.to_string()]),
        subnet_size: pool.map(|_| subnet_size as u32),
        ..Default::default()
    };
    cluster
        .docker
        .init_swarm(request)
        .await
        .map_err(|e| ApplyError::engine("swarm init", &cluster.endpoint, e))?;
    Ok(true)
}
