//! What can go wrong when berth meets the cluster or its state, as data. The binary renders these
//! and maps them to exit codes; nothing here prints.

use berth_planner::{Address, DeploymentId};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot reach the Docker Engine at {endpoint}: {message}")]
    Unreachable {
        endpoint: String,
        message: String,
        hint: String,
    },
    #[error("swarm mode is not active on the Docker Engine at {endpoint}")]
    SwarmInactive { endpoint: String },
    #[error(
        "the Docker Engine's API version {version} is older than 1.41, the oldest berth supports"
    )]
    EngineTooOld { version: String },
    #[error("Docker refused {operation} of {address}: {message}")]
    Docker {
        operation: &'static str,
        address: String,
        message: String,
    },
    #[error("cannot read Docker's answer: {0}")]
    Observe(#[from] berth_planner::ObservedError),
    #[error("state of {deployment} is locked by {holder} since {since} (lock ID {id})")]
    Locked {
        deployment: Box<DeploymentId>,
        id: String,
        holder: String,
        since: String,
        stale: bool,
    },
    #[error("no lock with ID {id} is held on any project environment under {dir}")]
    NoSuchLock { id: String, dir: PathBuf },
    #[error("state file {path}: {message}")]
    State { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret `{name}` of {deployment}: {message}")]
    SecretSource {
        deployment: DeploymentId,
        name: String,
        message: String,
    },
    #[error("{address} did not converge: {message}")]
    NotConverged {
        address: Box<Address>,
        message: String,
        task_errors: Vec<String>,
    },
    #[error("{address} was rolled back by Swarm: {message}")]
    RolledBack {
        address: Box<Address>,
        message: String,
        task_errors: Vec<String>,
    },
    #[error("the saved plan is stale: {0}")]
    Stale(#[from] berth_planner::Stale),
    #[error("interrupted: {done} change(s) applied and recorded, {skipped} not started")]
    Interrupted { done: usize, skipped: usize },
    #[error("{failed} change(s) failed")]
    Failed {
        failed: usize,
        errors: Vec<ApplyError>,
    },
}

impl ApplyError {
    /// What the user can do about it, when berth knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Unreachable { hint, .. } => Some(hint.clone()),
            ApplyError::SwarmInactive { .. } => Some("initialise it with `docker swarm init --advertise-addr <address>` (on this machine: `scripts/swarm-init.sh`)".into()),
            ApplyError::Locked { id, stale, .. } => Some(if *stale {
                format!("the holder's process no longer runs; remove the lock with `berth state unlock {id}`")
            } else {
                format!("wait for it (`--lock-timeout 5m`), or if you are sure nobody applies, `berth state unlock {id}`")
            }),
            ApplyError::Stale(_) => Some("run `berth plan` again and review the new plan".into()),
            _ => None,
        }
    }
}
