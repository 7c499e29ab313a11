//! The observed side of a plan: what berth finds in the cluster, built from Docker's own answers
//! to its list endpoints (`GET /services`, `/networks`, `/volumes`, `/secrets`, `/configs`,
//! `/nodes`, `/tasks`), as raw JSON. Parsing them here, rather than in the apply crate, keeps
//! every rule about what Docker's answers mean (which objects are berth's, what an ID refers to,
//! which nodes count) in one place that is tested against captured answers.

use crate::docker::{
    self, ConfigSpec, Ipam, Labels, NetworkSpec, SecretSpec, ServiceSpec, VolumeSpec,
};
use crate::normalize;
use crate::resource::{label, Address, Kind, Spec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Docker's raw answers, one JSON body per list endpoint. An empty string means the endpoint
/// was not read; without `nodes` the planner cannot check capacity and says so.
#[derive(Debug, Clone, Default)]
pub struct DockerSnapshot {
    pub services: String,
    pub networks: String,
    /// The body of `GET /volumes`: an object with a `Volumes` array.
    pub volumes: String,
    pub secrets: String,
    pub configs: String,
    pub nodes: String,
    pub tasks: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read Docker's answer to GET /{endpoint}: {source}")]
pub struct ObservedError {
    pub endpoint: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// One berth-managed object that exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedResource {
    pub address: Address,
    /// Docker's ID (a volume's is its name).
    pub id: String,
    /// The version index updates must send; volumes and networks have none.
    pub version: Option<u64>,
    /// The normalised spec.
    pub spec: Spec,
}

impl ObservedResource {
    pub fn name(&self) -> &str {
        self.spec.name()
    }
}

/// A node tasks can be scheduled on: ready and active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCapacity {
    pub id: String,
    pub hostname: String,
    pub nano_cpus: u64,
    pub memory_bytes: u64,
}

/// What one task that Swarm keeps running reserves on its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReservation {
    pub service_id: String,
    /// The berth address of its service, when berth manages it.
    pub service: Option<Address>,
    pub node_id: String,
    pub nano_cpus: u64,
    pub memory_bytes: u64,
}

/// Everything observed, normalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// berth-managed objects, sorted by address then Swarm name. An address appears more than
    /// once only for secrets and configs left over from an interrupted rotation.
    pub resources: Vec<ObservedResource>,
    /// `None` when the nodes were not read (planning against the state file alone).
    pub nodes: Option<Vec<NodeCapacity>>,
    pub tasks: Vec<TaskReservation>,
    /// Objects labelled `berth.managed=true` whose `berth.address` label is missing or invalid;
    /// berth leaves them alone.
    pub unaddressed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionObject {
    #[serde(default)]
    index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceObject {
    #[serde(rename = "ID")]
    id: String,
    version: Option<VersionObject>,
    spec: ServiceSpec,
    /// With `?status=true`: the tasks running, desired and (for a job) completed.
    #[serde(default)]
    service_status: Option<ServiceStatusObject>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ServiceStatusObject {
    running_tasks: u64,
    desired_tasks: u64,
    completed_tasks: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkObject {
    name: String,
    #[serde(rename = "Id")]
    id: String,
    #[serde(default)]
    driver: String,
    #[serde(default)]
    internal: bool,
    #[serde(default)]
    attachable: bool,
    #[serde(rename = "IPAM", default)]
    ipam: Option<Ipam>,
    #[serde(default, deserialize_with = "docker::nullable")]
    options: Labels,
    #[serde(default, deserialize_with = "docker::nullable")]
    labels: Labels,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VolumeList {
    #[serde(default, deserialize_with = "docker::nullable")]
    volumes: Vec<VolumeObject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeObject {
    name: String,
    #[serde(default)]
    driver: String,
    #[serde(default, deserialize_with = "docker::nullable")]
    options: Labels,
    #[serde(default, deserialize_with = "docker::nullable")]
    labels: Labels,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretObject {
    #[serde(rename = "ID")]
    id: String,
    version: Option<VersionObject>,
    spec: SecretSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigObject {
    #[serde(rename = "ID")]
    id: String,
    version: Option<VersionObject>,
    spec: ConfigSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NodeObject {
    #[serde(rename = "ID")]
    id: String,
    spec: NodeSpecObject,
    description: NodeDescription,
    status: StateObject,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NodeSpecObject {
    availability: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NodeDescription {
    hostname: String,
    resources: docker::ResourceSet,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StateObject {
    state: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TaskObject {
    #[serde(rename = "ServiceID")]
    service_id: String,
    #[serde(rename = "NodeID")]
    node_id: String,
    desired_state: String,
    spec: TaskSpecObject,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TaskSpecObject {
    resources: Option<docker::ResourceRequirements>,
}

/// A job whose last run neither completed nor still runs (it failed, timed out or was refused)
/// is observed with the label `berth.job.last-run = "incomplete"`, which no desired spec has: the
/// plan then updates the job, which runs it again, before anything that depends on it changes.
/// Without it, a failed job's spec would equal the desired one, and the next apply would update
/// its dependants as if it had succeeded.
fn mark_incomplete_job(s: &mut ServiceObject) {
    let Some(job) = &s.spec.mode.replicated_job else {
        return;
    };
    let Some(status) = &s.service_status else {
        return;
    };
    let wanted = job.total_completions.max(1);
    if status.running_tasks == 0 && status.completed_tasks < wanted.min(status.desired_tasks.max(1))
    {
        s.spec
            .labels
            .insert(label::JOB_LAST_RUN.into(), "incomplete".into());
    }
}

fn parse<'a, T: Deserialize<'a> + Default>(
    endpoint: &'static str,
    body: &'a str,
) -> Result<T, ObservedError> {
    if body.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(body).map_err(|source| ObservedError { endpoint, source })
}

/// The address of a berth-managed object, from its labels.
fn managed_address(labels: &Labels, kind: Kind) -> Result<Option<Address>, ()> {
    if labels.get(label::MANAGED).map(String::as_str) != Some("true") {
        return Ok(None);
    }
    match labels
        .get(label::ADDRESS)
        .and_then(|a| a.parse::<Address>().ok())
    {
        Some(a) if a.kind == kind => Ok(Some(a)),
        _ => Err(()),
    }
}

impl Observed {
    /// Nothing exists.
    pub fn empty() -> Self {
        Observed {
            nodes: None,
            ..Default::default()
        }
    }

    /// Builds the observed model from Docker's answers. Only objects labelled
    /// `berth.managed=true` become resources; every network is used to map IDs to names.
    pub fn from_docker(snapshot: &DockerSnapshot) -> Result<Observed, ObservedError> {
        let networks: Vec<NetworkObject> = parse("networks", &snapshot.networks)?;
        let names: HashMap<String, String> = networks
            .iter()
            .map(|n| (n.id.clone(), n.name.clone()))
            .collect();
        let lookup = |id: &str| names.get(id).cloned();
        let mut out = Observed::default();
        let push = |out: &mut Observed,
                    kind: Kind,
                    labels: &Labels,
                    id: String,
                    version: Option<u64>,
                    spec: Spec| {
            match managed_address(labels, kind) {
                Ok(Some(address)) => {
                    let mut spec = spec;
                    normalize::spec(&mut spec, &lookup);
                    out.resources.push(ObservedResource {
                        address,
                        id,
                        version,
                        spec,
                    });
                }
                Ok(None) => {}
                Err(()) => out.unaddressed.push(format!("{kind} {}", spec.name())),
            }
        };

        for n in networks.iter() {
            let spec = NetworkSpec {
                name: n.name.clone(),
                driver: n.driver.clone(),
                internal: n.internal,
                attachable: n.attachable,
                ipam: n.ipam.clone(),
                options: n.options.clone(),
                labels: n.labels.clone(),
            };
            push(
                &mut out,
                Kind::Network,
                &n.labels,
                n.id.clone(),
                None,
                Spec::Network(spec),
            );
        }
        let volumes: VolumeList = parse("volumes", &snapshot.volumes)?;
        for v in volumes.volumes {
            let labels = v.labels.clone();
            let spec = VolumeSpec {
                name: v.name.clone(),
                driver: v.driver,
                driver_opts: v.options,
                labels: v.labels,
            };
            push(
                &mut out,
                Kind::Volume,
                &labels,
                v.name,
                None,
                Spec::Volume(spec),
            );
        }
        let secrets: Vec<SecretObject> = parse("secrets", &snapshot.secrets)?;
        for s in secrets {
            let labels = s.spec.labels.clone();
            push(
                &mut out,
                Kind::Secret,
                &labels,
                s.id,
                s.version.map(|v| v.index),
                Spec::Secret(s.spec),
            );
        }
        let configs: Vec<ConfigObject> = parse("configs", &snapshot.configs)?;
        for c in configs {
            let labels = c.spec.labels.clone();
            push(
                &mut out,
                Kind::Config,
                &labels,
                c.id,
                c.version.map(|v| v.index),
                Spec::Config(c.spec),
            );
        }
        let services: Vec<ServiceObject> = parse("services", &snapshot.services)?;
        let mut service_addresses: HashMap<String, Address> = HashMap::new();
        for mut s in services {
            mark_incomplete_job(&mut s);
            let labels = s.spec.labels.clone();
            if let Ok(Some(a)) = managed_address(&labels, Kind::Service) {
                service_addresses.insert(s.id.clone(), a);
            }
            push(
                &mut out,
                Kind::Service,
                &labels,
                s.id,
                s.version.map(|v| v.index),
                Spec::Service(Box::new(s.spec)),
            );
        }
        out.resources
            .sort_by(|a, b| (&a.address, a.name()).cmp(&(&b.address, b.name())));

        if !snapshot.nodes.trim().is_empty() {
            let nodes: Vec<NodeObject> = parse("nodes", &snapshot.nodes)?;
            let mut usable: Vec<NodeCapacity> = nodes
                .into_iter()
                .filter(|n| n.status.state == "ready" && n.spec.availability == "active")
                .map(|n| NodeCapacity {
                    id: n.id,
                    hostname: n.description.hostname,
                    nano_cpus: n.description.resources.nano_cpus,
                    memory_bytes: n.description.resources.memory_bytes,
                })
                .collect();
            usable.sort_by(|a, b| a.id.cmp(&b.id));
            out.nodes = Some(usable);
        }
        let tasks: Vec<TaskObject> = parse("tasks", &snapshot.tasks)?;
        out.tasks = tasks
            .into_iter()
            .filter(|t| t.desired_state == "running" && !t.node_id.is_empty())
            .map(|t| {
                let r = t
                    .spec
                    .resources
                    .and_then(|r| r.reservations)
                    .unwrap_or_default();
                TaskReservation {
                    service: service_addresses.get(&t.service_id).cloned(),
                    service_id: t.service_id,
                    node_id: t.node_id,
                    nano_cpus: r.nano_cpus,
                    memory_bytes: r.memory_bytes,
                }
            })
            .collect();
        out.tasks
            .sort_by(|a, b| (&a.node_id, &a.service_id).cmp(&(&b.node_id, &b.service_id)));
        Ok(out)
    }

    /// Builds the observed model from resources recorded elsewhere (the state file): the specs
    /// are normalised again, so older recordings compare like fresh ones.
    pub fn from_resources(resources: Vec<ObservedResource>) -> Observed {
        let mut resources = resources;
        for r in &mut resources {
            normalize::spec(&mut r.spec, &|_| None);
        }
        resources.sort_by(|a, b| (&a.address, a.name()).cmp(&(&b.address, b.name())));
        Observed {
            resources,
            nodes: None,
            tasks: Vec::new(),
            unaddressed: Vec::new(),
        }
    }

    /// Whether the platform's proxy ([`Address::proxy`]) exists. Without it a project's first
    /// apply must include the platform ([`crate::Scope::chosen`]), which creates the proxy and
    /// its edge slot networks.
    pub fn has_proxy(&self) -> bool {
        self.at(&Address::proxy()).next().is_some()
    }

    /// The observed objects at one address.
    pub fn at<'a>(
        &'a self,
        address: &'a Address,
    ) -> impl Iterator<Item = &'a ObservedResource> + 'a {
        let start = self.resources.partition_point(|r| &r.address < address);
        self.resources[start..]
            .iter()
            .take_while(move |r| &r.address == address)
    }

    /// Observed objects grouped by address.
    pub fn by_address(&self) -> BTreeMap<&Address, Vec<&ObservedResource>> {
        let mut map: BTreeMap<&Address, Vec<&ObservedResource>> = BTreeMap::new();
        for r in &self.resources {
            map.entry(&r.address).or_default().push(r);
        }
        map
    }
}
