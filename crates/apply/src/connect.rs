//! Connecting to the Docker Engine: the local socket by default, `DOCKER_HOST` when set (unix,
//! tcp, and tcp with TLS through `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), with API version
//! negotiation, so that an engine older than bollard's default API (this machine's speaks 1.41)
//! is not refused. Every failure says plainly what is wrong and how to fix it.

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
}

fn endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

fn unreachable(endpoint: &str, message: String) -> ApplyError {
    let hint = if endpoint.starts_with("unix://") {
        format!("is the Docker daemon running, and may this user open {}? (`docker info` shows the same problem)", endpoint.trim_start_matches("unix://"))
    } else {
        "check DOCKER_HOST, and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH for TLS; `docker info` shows the same problem".to_string()
    };
    ApplyError::Unreachable {
        endpoint: endpoint.to_string(),
        message,
        hint,
    }
}

/// Connects and negotiates the API version, without checking swarm mode.
pub async fn connect_engine() -> Result<Cluster, ApplyError> {
    let endpoint = endpoint();
    let docker =
        Docker::connect_with_defaults().map_err(|e| unreachable(&endpoint, e.to_string()))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| unreachable(&endpoint, e.to_string()))?;
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
    })
}

/// The node's swarm state (`active`, `inactive`, ...) and whether it is a manager.
async fn swarm_state(cluster: &Cluster) -> Result<(String, bool), ApplyError> {
    let info = cluster
        .docker
        .info()
        .await
        .map_err(|e| unreachable(&cluster.endpoint, e.to_string()))?;
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
        .map_err(|e| ApplyError::Docker {
            operation: "swarm init",
            address: cluster.endpoint.clone(),
            message: e.to_string(),
        })?;
    Ok(true)
}
