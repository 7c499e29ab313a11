//! What can go wrong when berth meets the cluster or its state, as data. The binary renders these
//! and maps them to exit codes; nothing here prints. A Docker refusal is classified once, where
//! Docker's answer arrives ([`DockerError`]), so that the executor matches on kinds instead of
//! searching messages; every kind of error has a stable diagnostic code ([`ApplyError::code`]).

use berth_lang::Code;
use berth_planner::{Address, DeploymentId};
use std::path::PathBuf;

/// What a Docker refusal means to berth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerErrorKind {
    /// The object does not exist (or no longer does).
    NotFound,
    /// An object of that name already exists.
    Conflict,
    /// The object is still used (by a service, a task or a container).
    InUse,
    /// A service update carried an older version index than the service has now.
    OutOfSequence,
    /// Anything else: berth does not act on it, it reports it.
    Other,
}

/// One refusal or failure of the Docker Engine: the HTTP status when there was an answer, what
/// it means, and Docker's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct DockerError {
    pub status: Option<u16>,
    pub kind: DockerErrorKind,
    pub message: String,
}

impl DockerError {
    /// Classifies an answer of the engine. The status decides where it is enough; swarmkit's
    /// answers carry their gRPC code in the message (`rpc error: code = AlreadyExists`), and
    /// the engine answers some refusals with a generic status (an update out of sequence is a
    /// 500, a network in use by a service a 400), so those are told apart here, once.
    pub fn new(status: Option<u16>, message: impl Into<String>) -> DockerError {
        let message = message.into();
        let lower = message.to_lowercase();
        let in_use = lower.contains("in use") || lower.contains("active endpoints");
        let kind = if lower.contains("update out of sequence") {
            DockerErrorKind::OutOfSequence
        } else if in_use && status.is_some() {
            DockerErrorKind::InUse
        } else if status == Some(404)
            // Swarm removes networks in the background and answers a second removal with 500.
            || (status.is_some() && (lower.contains("not found") || lower.contains("no such")))
        {
            DockerErrorKind::NotFound
        } else if status == Some(409)
            || (status.is_some() && lower.contains("code = alreadyexists"))
        {
            DockerErrorKind::Conflict
        } else {
            DockerErrorKind::Other
        };
        DockerError {
            status,
            kind,
            message,
        }
    }

    /// An error that is not an answer of the engine (the connection failed, the answer could not
    /// be decoded): never one of the kinds berth acts on.
    pub fn other(message: impl Into<String>) -> DockerError {
        DockerError {
            status: None,
            kind: DockerErrorKind::Other,
            message: message.into(),
        }
    }

    /// From a failed answer read through [`crate::raw`]: its status, and the engine's message.
    pub fn from_raw(e: &crate::raw::RawError) -> DockerError {
        match e.status {
            Some(status) => DockerError::new(Some(status), e.message.clone()),
            None => DockerError::other(e.to_string()),
        }
    }
}

impl From<bollard::errors::Error> for DockerError {
    fn from(e: bollard::errors::Error) -> DockerError {
        match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::new(Some(status_code), message),
            other => DockerError::other(other.to_string()),
        }
    }
}

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
    /// A refusal of the engine, classified.
    #[error("Docker refused {operation} of {address}: {error}")]
    Engine {
        operation: &'static str,
        address: String,
        error: DockerError,
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
    /// A job's run ended with a non-zero exit code or was refused (E0350), or did not end within
    /// its timeout (E0351). `logs` are the task's last lines.
    #[error("{address} {}: {message}", if *timed_out { "timed out" } else { "failed" })]
    JobFailed {
        address: Box<Address>,
        message: String,
        timed_out: bool,
        /// The task whose logs are shown; empty when no task started.
        task: String,
        logs: Vec<String>,
    },
    /// A canary's task failed (its health check, most often): Traefik routes only to running
    /// tasks, so it receives none of its stable service's traffic (E0360).
    #[error("{address} is not healthy ({message}): it receives none of {stable}'s requests, which its stable version keeps serving")]
    CanaryUnhealthy {
        address: Box<Address>,
        stable: String,
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
    /// A saved plan's secret or file-backed config no longer has the content it was planned
    /// with (its digest differs): the plan is stale, like [`ApplyError::Stale`].
    #[error("the saved plan is stale: the content of {address} changed since it was planned; plan again")]
    PayloadChanged { address: Box<Address> },
    #[error("interrupted: {done} change(s) applied and recorded, {skipped} not started")]
    Interrupted { done: usize, skipped: usize },
    #[error("{failed} change(s) failed")]
    Failed {
        failed: usize,
        errors: Vec<ApplyError>,
    },
    /// Something berth itself got wrong (a bug, a conversion that cannot fail, a panicked step):
    /// never reported as a refusal of Docker.
    #[error("internal error at {address}: {message}; this is a berth bug, please report it")]
    Internal { address: String, message: String },
    /// The object changed since the plan was made (someone else updated it).
    #[error("{address} changed since it was planned ({doing})")]
    ChangedSincePlan {
        address: Box<Address>,
        doing: &'static str,
    },
    /// Docker allows two networks of one name; berth never creates the second.
    #[error(
        "{address}: a network named `{name}` already exists and is not managed at this address"
    )]
    NetworkNameTaken { address: Box<Address>, name: String },
    #[error("{address}: every edge slot is claimed")]
    EdgeSlotsExhausted { address: Box<Address> },
    /// A service refers to a network, secret or config that does not exist.
    #[error("{address}: {kind} `{name}` does not exist")]
    MissingReference {
        address: Box<Address>,
        kind: &'static str,
        name: String,
    },
    /// This run's lease on a cluster lock could not be renewed: it may belong to another run now.
    #[error("the lock of {deployment} was lost while this run held it: {message}")]
    LockLost {
        deployment: Box<DeploymentId>,
        message: String,
    },
    /// A state config on the cluster could not be read, decoded or written.
    #[error("state of {deployment} on the cluster: {message}")]
    ClusterState {
        deployment: Box<DeploymentId>,
        message: String,
    },
    /// A configuration directory's local state that the cluster backend lacks.
    #[error("{dir} holds state of {deployments} that the cluster does not have yet")]
    LocalStateNotMoved { dir: PathBuf, deployments: String },
    /// A rollback would need a secret's value as recorded, and its source now holds another.
    #[error(
        "cannot roll {deployment} back to serial {serial}: the value of {address} changed since"
    )]
    RollbackSecretChanged {
        deployment: Box<DeploymentId>,
        serial: u64,
        address: Box<Address>,
    },
    #[error("{deployment} has no state at serial {serial}")]
    NoSuchSerial {
        deployment: Box<DeploymentId>,
        serial: u64,
    },
    /// `state push` into a backend that has state, or `state rm` of one that holds objects.
    #[error("{0}")]
    StateRefused(String),
}

impl ApplyError {
    /// A refusal of the engine while doing `operation` to `address`.
    pub fn engine(
        operation: &'static str,
        address: impl ToString,
        error: impl Into<DockerError>,
    ) -> ApplyError {
        ApplyError::Engine {
            operation,
            address: address.to_string(),
            error: error.into(),
        }
    }

    /// A bug of berth's at `address`.
    pub fn internal(address: impl ToString, message: impl Into<String>) -> ApplyError {
        ApplyError::Internal {
            address: address.to_string(),
            message: message.into(),
        }
    }

    /// The kind of Docker's refusal, when this is one that was classified.
    pub fn docker_kind(&self) -> Option<DockerErrorKind> {
        match self {
            ApplyError::Engine { error, .. } => Some(error.kind),
            _ => None,
        }
    }

    /// The stable diagnostic code of this kind of error (`berth explain` prints its meaning).
    pub fn code(&self) -> Code {
        match self {
            ApplyError::Unreachable { .. } => Code::EngineUnreachable,
            ApplyError::SwarmInactive { .. } => Code::SwarmInactive,
            ApplyError::EngineTooOld { .. } => Code::EngineTooOld,
            ApplyError::Engine { .. } => Code::DockerRefused,
            ApplyError::Observe(_) => Code::UnreadableAnswer,
            ApplyError::Locked { .. } => Code::StateLocked,
            ApplyError::NoSuchLock { .. } => Code::NoSuchLock,
            ApplyError::State { .. } => Code::BadStateFile,
            ApplyError::Io { .. } => Code::FileUnreadable,
            ApplyError::SecretSource { .. } => Code::SecretUnreadable,
            ApplyError::NotConverged { .. } => Code::NotConverged,
            ApplyError::RolledBack { .. } => Code::RolledBack,
            ApplyError::CanaryUnhealthy { .. } => Code::CanaryUnhealthy,
            ApplyError::JobFailed {
                timed_out: false, ..
            } => Code::JobFailed,
            ApplyError::JobFailed {
                timed_out: true, ..
            } => Code::JobTimedOut,
            ApplyError::Stale(_) | ApplyError::PayloadChanged { .. } => Code::StalePlan,
            ApplyError::Interrupted { .. } => Code::ApplyInterrupted,
            ApplyError::Failed { .. } => Code::ChangesFailed,
            ApplyError::Internal { .. } => Code::InternalError,
            ApplyError::ChangedSincePlan { .. } => Code::ChangedSincePlan,
            ApplyError::NetworkNameTaken { .. } => Code::NetworkNameTaken,
            ApplyError::EdgeSlotsExhausted { .. } => Code::EdgeSlotsTakenDuringApply,
            ApplyError::MissingReference { .. } => Code::MissingReference,
            ApplyError::LockLost { .. } => Code::LockLost,
            ApplyError::ClusterState { .. } => Code::ClusterStateUnreadable,
            ApplyError::LocalStateNotMoved { .. } => Code::LocalStateNotMoved,
            ApplyError::RollbackSecretChanged { .. } => Code::RollbackSecretChanged,
            ApplyError::NoSuchSerial { .. } => Code::NoSuchSerial,
            ApplyError::StateRefused(_) => Code::StateCommandRefused,
        }
    }

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
            ApplyError::Stale(_)
            | ApplyError::PayloadChanged { .. }
            | ApplyError::ChangedSincePlan { .. } => {
                Some("run `berth plan` again and review the new plan".into())
            }
            ApplyError::LocalStateNotMoved { dir, .. } => Some(format!(
                "move it with `berth state push {}`, or keep it with `--state-dir {}`",
                dir.parent().and_then(|p| p.parent()).unwrap_or(dir).display(),
                dir.display()
            )),
            ApplyError::RollbackSecretChanged { .. } => Some(
                "restore the secret's old value in its source, or apply the current configuration"
                    .into(),
            ),
            ApplyError::NoSuchSerial { deployment, .. } => Some(format!(
                "`berth state history {deployment}` lists the serials kept"
            )),
            ApplyError::EdgeSlotsExhausted { .. } => Some(
                "raise `platform.proxy.edge_slots` (this restarts the proxy once)".into(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
