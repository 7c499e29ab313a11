//! Planning errors as data. Every independent problem is collected (a project over quota and a
//! route collision are both reported in one run); turning them into `berth_lang` diagnostics
//! happens only at the edge, through [`PlanError::to_diagnostic`].

use crate::resource::{Address, DeploymentId, Kind};
use crate::units;
use berth_lang::model::Environment;
use berth_lang::{Code, Diagnostic, Span};
use std::fmt;

/// What a quota or a node's capacity limits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Reserved cpu, in nano-cpus.
    Cpu,
    /// Reserved memory, in bytes.
    Memory,
    /// Cpu limits, in nano-cpus.
    LimitCpu,
    /// Memory limits, in bytes.
    LimitMemory,
    /// Declared volume sizes, in bytes.
    Storage,
    Replicas,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Cpu,
        Measure::Memory,
        Measure::LimitCpu,
        Measure::LimitMemory,
        Measure::Storage,
        Measure::Replicas,
    ];

    /// The quota attribute that limits it.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Cpu => "cpu",
            Measure::Memory => "memory",
            Measure::LimitCpu => "limit_cpu",
            Measure::LimitMemory => "limit_memory",
            Measure::Storage => "storage",
            Measure::Replicas => "replicas",
        }
    }

    /// A value in the unit users write, without naming the measure: `0.5`, `512MiB`, `3`.
    pub fn format_value(self, value: u64) -> String {
        match self {
            Measure::Cpu | Measure::LimitCpu => units::cpus(value),
            Measure::Memory | Measure::LimitMemory | Measure::Storage => units::bytes(value),
            Measure::Replicas => value.to_string(),
        }
    }

    /// A value in the unit users write.
    pub fn format(self, value: u64) -> String {
        match self {
            Measure::Cpu | Measure::LimitCpu => format!("{} cpu", units::cpus(value)),
            Measure::Memory | Measure::LimitMemory | Measure::Storage => units::bytes(value),
            Measure::Replicas => value.to_string(),
        }
    }

    /// An amount that says what it is: `2.75 cpu`, `64GiB of memory`.
    pub fn amount(self, value: u64) -> String {
        match self {
            Measure::Cpu | Measure::LimitCpu | Measure::Replicas => self.format(value),
            _ => format!(
                "{} of {}",
                self.format(value),
                self.as_str().trim_start_matches("limit_")
            ),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Measure::Cpu => "reserved cpu (reservation x replicas)",
            Measure::Memory => "reserved memory (reservation x replicas)",
            Measure::LimitCpu => "cpu limits (limit x replicas)",
            Measure::LimitMemory => "memory limits (limit x replicas)",
            Measure::Storage => "declared volume sizes",
            Measure::Replicas => "replicas",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "no content digest was given for {address}; the caller must read it and pass its sha256"
    )]
    MissingDigest { address: Address },

    #[error("{first} and {second} would both use the Swarm stack `{stack}`")]
    StackCollision {
        stack: String,
        first: DeploymentId,
        second: DeploymentId,
    },

    #[error(
        "{deployment} declares a {kind} named `{name}`, which berth reserves for its own {kind}"
    )]
    ReservedName {
        deployment: DeploymentId,
        kind: Kind,
        name: String,
        span: Span,
    },

    #[error("{deployment} needs an edge slot, but all {count} edge slots are claimed; raise `platform.proxy.edge_slots` (this restarts the proxy once)")]
    EdgeSlotsExhausted {
        deployment: DeploymentId,
        count: u32,
    },

    #[error("{deployment} needs the edge network `{network}`, which does not exist yet: apply the platform first (`berth apply` without --project/--env)")]
    EdgeNetworkMissing {
        deployment: DeploymentId,
        network: String,
    },

    #[error("the platform would remove the edge network `{network}`, which {deployment} still claims: plan {deployment} together with the platform (`berth apply` without --project/--env) so that it moves to another slot first, or keep `platform.proxy.edge_slots` as it is")]
    EdgeSlotStillClaimed {
        deployment: DeploymentId,
        network: String,
    },

    #[error("{host}{} is routed by both {first} and {second}", path.as_deref().unwrap_or(""))]
    DuplicateRoute {
        host: String,
        path: Option<String>,
        first: Address,
        second: Address,
        span: Span,
        first_span: Span,
    },

    #[error("{host}{} is routed by {address} but already by the running service `{owner}` (router `{router}`)", path.as_deref().unwrap_or(""))]
    RouteTaken {
        host: String,
        path: Option<String>,
        address: Address,
        owner: String,
        router: String,
        span: Span,
    },

    /// The deployment's stack is used by running objects of another project (E0205).
    #[error("{deployment} would use the Swarm stack `{stack}`, which the running project `{owner}` already uses (`{object}`)")]
    StackTaken {
        deployment: DeploymentId,
        stack: String,
        /// The other project (its objects' `berth.project` label).
        owner: String,
        /// One of its objects in the stack, by Swarm name.
        object: String,
        span: Option<Span>,
    },

    /// A route's host, with any path, is routed by a running service of another project (E0206).
    #[error("{host}{} is routed by {address}, but the host belongs to the running project `{owner}` (its service `{service}` routes it, router `{router}`)", path.as_deref().unwrap_or(""))]
    HostTaken {
        host: String,
        path: Option<String>,
        address: Address,
        owner: String,
        /// The running service's Swarm name.
        service: String,
        router: String,
        span: Span,
    },

    /// The project's name is a running project's stack of another environment (E0207).
    #[error("the project name `{project}` looks like the {environment} environment of the running project `{owner}`: it would get that environment's stack, Swarm names and default host (`{project}.<domain>`)")]
    LooksLikeEnvironment {
        project: String,
        owner: String,
        environment: Environment,
        span: Option<Span>,
    },

    /// A preview beyond the number of previews its project may run at once (E0209).
    #[error("project `{project}` already runs {running} preview{} ({stacks}); its grant allows {cap} at once", if *running == 1 { "" } else { "s" })]
    TooManyPreviews {
        project: String,
        running: usize,
        stacks: String,
        cap: u64,
        span: Option<Span>,
    },

    /// The project's name is the derived host of a running project's service (E0208).
    #[error("the project name `{project}` looks like service `{service}` of the running project `{owner}`: `{project}.<domain>` is the host berth derives for `{service}` of the stack `{stack}`")]
    LooksLikeServiceHost {
        project: String,
        owner: String,
        service: String,
        /// The running project's stack whose service host the name imitates.
        stack: String,
        span: Option<Span>,
    },

    #[error("dependency cycle: {}", cycle.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    DependencyCycle {
        cycle: Vec<Address>,
        span: Option<Span>,
    },

    #[error("{deployment}: {} is {} but the quota allows {} ({} is the largest part: {})",
        measure.describe(), measure.format(*used), measure.format(*quota), largest, measure.format(*largest_value))]
    QuotaExceeded {
        deployment: DeploymentId,
        measure: Measure,
        used: u64,
        quota: u64,
        /// The service (or volume) contributing most.
        largest: Address,
        largest_value: u64,
        span: Option<Span>,
        quota_span: Option<Span>,
    },

    #[error("Swarm could never schedule {address}: one task reserves {} but the node with most room has {} free ({} in total, {} reserved by other services)",
        measure.amount(*needed), measure.format(*free), measure.format(*capacity), measure.format(*reserved))]
    TaskTooLarge {
        address: Address,
        measure: Measure,
        needed: u64,
        free: u64,
        capacity: u64,
        reserved: u64,
        span: Option<Span>,
    },

    #[error("Swarm could never schedule all of {deployment}: its services reserve {} but the cluster has {} free ({} in total, {} reserved by other services)",
        measure.amount(*needed), measure.format(*free), measure.format(*capacity), measure.format(*reserved))]
    ClusterFull {
        deployment: DeploymentId,
        measure: Measure,
        needed: u64,
        free: u64,
        capacity: u64,
        reserved: u64,
        span: Option<Span>,
    },

    #[error("{address} would be {verb}, which destroys the data of volume `{name}`; pass --allow-data-loss to allow it", verb = if *replace { "replaced" } else { "destroyed" })]
    DataLoss {
        address: Address,
        name: String,
        replace: bool,
    },
}

impl PlanError {
    /// The diagnostic code of this kind of error; every kind has one.
    pub fn code(&self) -> Code {
        match self {
            PlanError::MissingDigest { .. } => Code::MissingDigest,
            PlanError::StackCollision { .. } => Code::StackCollision,
            PlanError::EdgeSlotsExhausted { .. } => Code::EdgeSlotsExhausted,
            PlanError::EdgeNetworkMissing { .. } => Code::EdgeNetworkMissing,
            PlanError::EdgeSlotStillClaimed { .. } => Code::EdgeSlotStillClaimed,
            PlanError::TaskTooLarge { .. } => Code::TaskTooLarge,
            PlanError::ClusterFull { .. } => Code::ClusterFull,
            PlanError::DataLoss { .. } => Code::DataLoss,
            PlanError::DuplicateRoute { .. } | PlanError::RouteTaken { .. } => Code::DuplicateRoute,
            PlanError::StackTaken { .. } => Code::StackOfRunningProject,
            PlanError::HostTaken { .. } => Code::HostOfRunningProject,
            PlanError::LooksLikeEnvironment { .. } => Code::LooksLikeRunningEnvironment,
            PlanError::LooksLikeServiceHost { .. } => Code::LooksLikeRunningServiceHost,
            PlanError::TooManyPreviews { .. } => Code::TooManyPreviews,
            PlanError::DependencyCycle { .. } => Code::DependencyCycle,
            PlanError::ReservedName { .. } => Code::ReservedName,
            PlanError::QuotaExceeded {
                measure: Measure::Replicas,
                ..
            } => Code::ReplicasAboveQuota,
            PlanError::QuotaExceeded {
                measure: Measure::Storage,
                ..
            } => Code::StorageAboveQuota,
            PlanError::QuotaExceeded { .. } => Code::ReservationsAboveQuota,
        }
    }

    /// The error as a diagnostic: pointing at the configuration where it has a span there, with
    /// help where berth knows what to do.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let code = self.code();
        let message = self.to_string();
        let at = |span: Option<Span>| match span {
            Some(span) => Diagnostic::new(code, span, message.clone()),
            None => Diagnostic::unlocated(code, message.clone()),
        };
        match self {
            PlanError::DuplicateRoute {
                span,
                first_span,
                first,
                ..
            } => at(Some(*span))
                .with_label("routed again here")
                .with_secondary(*first_span, format!("first routed by {first}")),
            PlanError::RouteTaken { span, .. } => at(Some(*span)).with_label("host already routed"),
            PlanError::StackTaken { span, owner, .. } => at(*span)
                .with_label(format!("this stack holds objects of `{owner}`"))
                .with_help("rename the project; if the running objects are an old copy of this project, ask the platform team to destroy them first"),
            PlanError::HostTaken { span, owner, .. } => at(Some(*span))
                .with_label(format!("a host of `{owner}`"))
                .with_help("route a host of your own project's domain, or ask the platform team to move the host"),
            PlanError::LooksLikeEnvironment { span, owner, .. }
            | PlanError::LooksLikeServiceHost { span, owner, .. } => at(*span)
                .with_label(format!("imitates `{owner}`"))
                .with_help("choose a project name that does not begin or end with another running project's name"),
            PlanError::TooManyPreviews { span, cap, .. } => at(*span)
                .with_label(format!("at most {cap} previews at once"))
                .with_help("destroy a preview that is no longer needed, or ask the platform's owners for a larger `previews`"),
            PlanError::ReservedName { span, .. } => at(Some(*span)),
            PlanError::DependencyCycle { span, .. } => at(*span),
            PlanError::QuotaExceeded {
                span,
                quota_span,
                largest,
                ..
            } => {
                let mut d = at(span.or(*quota_span)).with_label(format!("{largest} contributes most"));
                if let (Some(q), Some(_)) = (quota_span, span) {
                    d = d.with_secondary(*q, "quota set here");
                }
                d.with_help("lower replicas or requests, or raise the project's quota")
            }
            PlanError::TaskTooLarge { span, .. } => at(*span)
                .with_label("reserved here")
                .with_help("lower the reservation, free capacity, or add a node"),
            PlanError::ClusterFull { span, .. } => at(*span)
                .with_help("lower replicas or reservations, or free capacity"),
            PlanError::DataLoss { .. } => at(None).with_help(
                "review the plan; pass --allow-data-loss to plan and apply it if the data may go",
            ),
            PlanError::EdgeSlotsExhausted { .. } => at(None)
                .with_help("raise `platform.proxy.edge_slots` (the proxy restarts once), or destroy a project environment no longer needed"),
            PlanError::EdgeNetworkMissing { .. } | PlanError::EdgeSlotStillClaimed { .. } => {
                at(None).with_help("plan the whole configuration: `berth apply` without --project/--env")
            }
            PlanError::StackCollision { .. } => at(None).with_help("rename one of the projects"),
            PlanError::MissingDigest { .. } => at(None),
        }
    }
}

/// Every error of one planning run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanErrors(pub Vec<PlanError>);

impl PlanErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, value: T) -> Result<T, PlanErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error[{}]: {e}", e.code())?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

impl From<PlanError> for PlanErrors {
    fn from(e: PlanError) -> Self {
        PlanErrors(vec![e])
    }
}
