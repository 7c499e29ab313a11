//! The Docker Engine API 1.41 shapes of the objects berth creates, with Docker's own field names.
//!
//! They exist so that one typed value serves three purposes: the compiler produces it, the apply
//! crate sends it (bollard's types deserialize from the same JSON), and the observed model parses
//! Docker's answers into it, so desired and observed are compared as equal types. Only the fields
//! berth manages are modelled; every other field Docker returns (`ForceUpdate`, `Runtime`,
//! `Isolation`, `DNSConfig`, `Platforms`, ...) is dropped when parsing, which is the first step of
//! normalisation. Empty and zero values are left out when serialising, as Docker does.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Reads `null` as the type's default: Docker sends `"Labels": null` and `"Options": null`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

pub type Labels = BTreeMap<String, String>;

/// `ServiceSpec`: the body of `POST /services/create` and the `Spec` of `GET /services`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceSpec {
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
    pub task_template: TaskSpec,
    pub mode: ServiceMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_spec: Option<EndpointSpec>,
}

impl ServiceSpec {
    /// Replicas of a replicated service, one for a job (counted like a replica); `None` for a
    /// global one.
    pub fn replicas(&self) -> Option<u64> {
        if self.mode.replicated_job.is_some() {
            return Some(1);
        }
        self.mode
            .replicated
            .as_ref()
            .map(|r| r.replicas.unwrap_or(1))
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskSpec {
    pub container_spec: ContainerSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkAttachment>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSpec {
    pub image: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dir: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<u64>,
    /// Docker spells it `Healthcheck`.
    #[serde(rename = "Healthcheck", skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthConfig>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretReference>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ConfigReference>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub capability_add: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub capability_drop: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// How the engine creates a missing volume for a task: with berth's labels and driver, so
    /// that a volume the engine makes (a task started after the volume was removed, or before
    /// it was created) is berth's like any other, never an unlabelled stranger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub no_copy: bool,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "Labels::is_empty"
    )]
    pub labels: Labels,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "Labels::is_empty"
    )]
    pub options: Labels,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    #[serde(deserialize_with = "nullable")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: u64,
}

/// Where a secret or config is mounted in the container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FileTarget {
    pub name: String,
    #[serde(rename = "UID")]
    pub uid: String,
    #[serde(rename = "GID")]
    pub gid: String,
    pub mode: u32,
}

/// A secret a service mounts. The compiler leaves `SecretID` empty: Swarm needs the ID, which
/// exists only once the secret is created, so apply fills it in from the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecretReference {
    pub file: FileTarget,
    #[serde(rename = "SecretID", skip_serializing_if = "String::is_empty")]
    pub secret_id: String,
    pub secret_name: String,
}

/// A config a service mounts; `ConfigID` is filled in by apply like `SecretID`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigReference {
    pub file: FileTarget,
    #[serde(rename = "ConfigID", skip_serializing_if = "String::is_empty")]
    pub config_id: String,
    pub config_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceRequirements {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceSet {
    #[serde(rename = "NanoCPUs", skip_serializing_if = "is_zero")]
    pub nano_cpus: u64,
    #[serde(rename = "MemoryBytes", skip_serializing_if = "is_zero")]
    pub memory_bytes: u64,
    /// Only Docker's `Limits` has `Pids`.
    #[serde(rename = "Pids", skip_serializing_if = "is_zero")]
    pub pids: u64,
}

impl ResourceSet {
    pub fn is_empty(&self) -> bool {
        self.nano_cpus == 0 && self.memory_bytes == 0 && self.pids == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub condition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Placement {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<PlacementPreference>,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_replicas: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PlacementPreference {
    pub spread: SpreadOver,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SpreadOver {
    pub spread_descriptor: String,
}

/// A network a service's tasks join. The compiler names the network; Docker answers with its ID,
/// which normalisation maps back to the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkAttachment {
    pub target: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceMode {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicated: Option<Replicated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global: Option<Global>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicated_job: Option<ReplicatedJob>,
}

/// A job run to completion: berth runs one task at a time, one completion per run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReplicatedJob {
    pub max_concurrent: u64,
    pub total_completions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Replicated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Global {}

/// `UpdateConfig` and `RollbackConfig` share this shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateConfig {
    pub parallelism: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub delay: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_action: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub monitor: u64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub max_failure_ratio: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub order: String,
}

fn is_zero_f64(f: &f64) -> bool {
    *f == 0.0
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSpec {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortConfig {
    pub protocol: String,
    pub target_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_port: Option<u16>,
    pub publish_mode: String,
}

/// `NetworkCreateRequest` without the request-only fields (`CheckDuplicate`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSpec {
    pub name: String,
    pub driver: String,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(rename = "IPAM", skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: Labels,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipam {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
}

/// `VolumeCreateOptions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeSpec {
    pub name: String,
    pub driver: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub driver_opts: Labels,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
}

/// `SecretSpec` without `Data`: a secret's value never enters the planner. Apply adds `Data`
/// when it creates the secret; the name and the `berth.digest` label carry the content's digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SecretSpec {
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
}

/// `ConfigSpec`. `Data` (base64, as Docker sends it) is present when the compiler knows the
/// content (inline `content`); for a config read from a file apply adds it, like a secret's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigSpec {
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: Labels,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}
