//! The versioned state of each project environment, and the [`Store`] that keeps it. State is
//! partitioned: every project environment has its own state, its own lock and its own history,
//! so applies to different project environments never wait for each other. Where it lives is the
//! store's backend ([`crate::backend`]): the cluster by default, a local directory when the run
//! names one. An apply begins the next serial, then checkpoints it after every resource; a reader
//! always finds the last complete checkpoint, whenever berth is killed.
//! Secret values never reach state: secrets appear as specs whose data is only a digest.

use crate::backend::cluster::ClusterStore;
pub use crate::backend::local::{write_atomic, LocalStore};
use crate::error::ApplyError;
use berth_planner::{Address, DeploymentId, Observed, ObservedResource, Spec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
#[cfg(test)]
use std::fs;
use std::path::{Path, PathBuf};

/// The state format this berth writes. Readers accept it and every older version they know how
/// to migrate (see [`migrate`]); a newer one is refused rather than misread.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    /// Identifies one history of states; a plan made against another lineage is stale.
    pub lineage: String,
    /// Increases with every apply.
    pub serial: u64,
    pub deployment: DeploymentId,
    pub berth_version: String,
    pub resources: Vec<StateResource>,
    #[serde(default)]
    pub outputs: Outputs,
    /// Each job's runs that applies saw, oldest first, by address (`crate::job`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jobs: BTreeMap<String, Vec<JobRecord>>,
}

/// One run of a job: the engine's job iteration, the job's service (Docker's ID: a job created
/// again numbers its runs from 0 again), its task's final state (`complete`, `failed`,
/// `rejected`, `timed out` when berth stopped it, or `running` when an apply ended before it),
/// exit code and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub iteration: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateResource {
    pub address: Address,
    /// Docker's ID of the object.
    pub id: String,
    pub version: Option<u64>,
    /// The normalised spec as applied (secret data never included).
    pub spec: Spec,
    /// sha256 of the canonical JSON of `spec`.
    pub digest: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub routes: Vec<RouteOutput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteOutput {
    pub service: String,
    pub url: String,
}

pub fn spec_digest(spec: &Spec) -> String {
    let json = serde_json::to_vec(spec).unwrap_or_default();
    berth_planner::units::sha256_hex(&json)
}

/// Lowercase hexadecimal, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl State {
    pub fn new(deployment: DeploymentId) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: new_lineage(),
            serial: 0,
            deployment,
            berth_version: env!("CARGO_PKG_VERSION").to_string(),
            resources: Vec::new(),
            outputs: Outputs::default(),
            jobs: BTreeMap::new(),
        }
    }

    /// Records `resource` (replacing what was recorded at its address under the same Swarm name).
    pub fn record(&mut self, resource: &ObservedResource) {
        self.resources
            .retain(|r| !(r.address == resource.address && r.spec.name() == resource.spec.name()));
        self.resources.push(StateResource {
            address: resource.address.clone(),
            id: resource.id.clone(),
            version: resource.version,
            digest: spec_digest(&resource.spec),
            spec: resource.spec.clone(),
        });
        self.resources
            .sort_by(|a, b| (&a.address, a.spec.name()).cmp(&(&b.address, b.spec.name())));
    }

    /// Forgets the object with this Docker ID.
    pub fn forget(&mut self, id: &str) {
        self.resources.retain(|r| r.id != id);
    }

    pub fn observed_resources(&self) -> Vec<ObservedResource> {
        self.resources
            .iter()
            .map(|r| ObservedResource {
                address: r.address.clone(),
                id: r.id.clone(),
                version: r.version,
                spec: r.spec.clone(),
            })
            .collect()
    }
}

/// Records what exists for every change the plan leaves alone, so that state catches up with
/// objects an interrupted apply created but could not record. Returns whether anything changed.
pub fn record_unchanged(
    states: &mut std::collections::BTreeMap<DeploymentId, State>,
    plan: &berth_planner::Plan,
) -> bool {
    let mut changed = false;
    for c in plan
        .changes
        .iter()
        .filter(|c| c.action == berth_planner::Action::NoOp)
    {
        let (Some(observed), Some(spec)) = (&c.observed, &c.after) else {
            continue;
        };
        let Some(state) = states.get_mut(&c.address.deployment) else {
            continue;
        };
        let resource = ObservedResource {
            address: c.address.clone(),
            id: observed.id.clone(),
            version: observed.version,
            spec: spec.clone(),
        };
        let known = state.resources.iter().any(|r| {
            r.address == resource.address && r.id == resource.id && r.spec == resource.spec
        });
        if !known {
            state.record(&resource);
            changed = true;
        }
    }
    changed
}

/// The observed model as recorded, for planning without cluster access (`--refresh=false`) and
/// for drift detection.
pub fn observed_from_states<'a>(states: impl IntoIterator<Item = &'a State>) -> Observed {
    Observed::from_resources(
        states
            .into_iter()
            .flat_map(State::observed_resources)
            .collect(),
    )
}

fn new_lineage() -> String {
    let bytes = crate::random::bytes::<16>();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let d = hex(&h.finalize());
    format!(
        "{}-{}-{}-{}-{}",
        &d[0..8],
        &d[8..12],
        &d[12..16],
        &d[16..20],
        &d[20..32]
    )
}

/// Upgrades a state document of an older format to the current one. Format 1 is the first
/// released format, so there is nothing to upgrade yet; a future format N adds a step here from
/// N-1, and keeps every older step.
pub fn migrate(mut doc: serde_json::Value, path: &Path) -> Result<State, ApplyError> {
    let version = doc
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let err = |message: String| ApplyError::State {
        path: path.to_path_buf(),
        message,
    };
    if version > FORMAT_VERSION as u64 {
        return Err(err(format!("format version {version} was written by a newer berth; this berth reads up to {FORMAT_VERSION}")));
    }
    if version == 0 {
        return Err(err(
            "no format_version: this is not a berth state file".into()
        ));
    }
    // Steps from older formats would transform `doc` here, one version at a time.
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("format_version".into(), FORMAT_VERSION.into());
    }
    serde_json::from_value(doc).map_err(|e| err(e.to_string()))
}

/// The states in a file (one state, as `berth state pull` prints it) or in every `*.json` file
/// of a directory, for planning without cluster access.
pub fn read_files(path: &Path) -> Result<Vec<State>, ApplyError> {
    let io = |e| ApplyError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).map_err(io)?.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") && p.is_file() {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| ApplyError::Io {
            path: f.clone(),
            source: e,
        })?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ApplyError::State {
                path: f.clone(),
                message: e.to_string(),
            })?;
        out.push(migrate(doc, &f)?);
    }
    Ok(out)
}

/// Refuses to use the cluster backend for project environments that have state in the
/// configuration directory's local state (`legacy`, `<DIR>/.berth/state`) and none on the
/// cluster: applying would start a second history. `berth state push` moves it.
pub fn check_moved<'a>(
    store: &Store,
    legacy: &Path,
    ids: impl IntoIterator<Item = &'a DeploymentId>,
) -> Result<(), ApplyError> {
    if store.local_root().is_some() || !legacy.is_dir() {
        return Ok(());
    }
    let local = Store::new(legacy);
    let mut unmoved = Vec::new();
    for id in ids {
        if local.load(id)?.is_some() && store.load(id)?.is_none() {
            unmoved.push(id.to_string());
        }
    }
    if unmoved.is_empty() {
        return Ok(());
    }
    Err(ApplyError::LocalStateNotMoved {
        dir: legacy.to_path_buf(),
        deployments: unmoved.join(", "),
    })
}

/// How many serials of each project environment's history are kept, when the run does not say.
pub const DEFAULT_RETENTION: usize = 100;

/// Where a run keeps state and locks: the cluster (the default) or a local directory.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// How long a lock on the cluster lasts unless its holder renews it.
    pub lease: std::time::Duration,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Local(LocalStore),
    Cluster(ClusterStore),
}

impl Store {
    /// The local-directory backend under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store {
            backend: Backend::Local(LocalStore {
                root: root.into(),
                retention: DEFAULT_RETENTION,
            }),
            lease: crate::backend::lease::DEFAULT_LEASE,
        }
    }

    /// The cluster backend, on the engine the run connects to (`DOCKER_HOST`).
    pub fn cluster(retention: usize) -> Store {
        Store {
            backend: Backend::Cluster(ClusterStore::new(retention)),
            lease: crate::backend::lease::DEFAULT_LEASE,
        }
    }

    /// The local directory when one is given, else the cluster.
    pub fn choose(state_dir: Option<PathBuf>, retention: usize) -> Store {
        match state_dir {
            Some(dir) => Store::new(dir).with_retention(retention),
            None => Store::cluster(retention),
        }
    }

    pub fn with_retention(mut self, retention: usize) -> Store {
        match &mut self.backend {
            Backend::Local(l) => l.retention = retention,
            Backend::Cluster(_) => self.backend = Backend::Cluster(ClusterStore::new(retention)),
        }
        self
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The local directory, when this is the local backend.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(l) => Some(&l.root),
            Backend::Cluster(_) => None,
        }
    }

    /// Where state is kept, for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(l) => l.root.display().to_string(),
            Backend::Cluster(_) => "the cluster".into(),
        }
    }

    /// The local directory of a project environment (a name only, on the cluster backend).
    pub fn dir(&self, d: &DeploymentId) -> PathBuf {
        match &self.backend {
            Backend::Local(l) => l.dir(d),
            Backend::Cluster(_) => PathBuf::from(format!("cluster:{d}")),
        }
    }

    /// The current state of a project environment, if it was ever applied.
    pub fn load(&self, d: &DeploymentId) -> Result<Option<State>, ApplyError> {
        match &self.backend {
            Backend::Local(l) => l.load(d),
            Backend::Cluster(c) => c.load(d),
        }
    }

    /// The current states of these project environments (absent ones are new).
    pub fn load_many(
        &self,
        ids: impl IntoIterator<Item = DeploymentId>,
    ) -> Result<BTreeMap<DeploymentId, State>, ApplyError> {
        let ids: Vec<DeploymentId> = ids.into_iter().collect();
        let loaded = match &self.backend {
            Backend::Local(l) => ids
                .into_iter()
                .map(|d| l.load(&d).map(|s| (d, s)))
                .collect::<Result<Vec<_>, _>>()?,
            Backend::Cluster(c) => c.load_many(ids)?,
        };
        Ok(loaded
            .into_iter()
            .filter_map(|(d, s)| s.map(|s| (d, s)))
            .collect())
    }

    /// Serials kept in history (not the current one), oldest first.
    pub fn history(&self, d: &DeploymentId) -> Result<Vec<u64>, ApplyError> {
        match &self.backend {
            Backend::Local(l) => l.history(d),
            Backend::Cluster(c) => c.history(d),
        }
    }

    /// The state as it was at `serial` (the current one or one in history).
    pub fn load_serial(&self, d: &DeploymentId, serial: u64) -> Result<Option<State>, ApplyError> {
        match &self.backend {
            Backend::Local(l) => l.load_serial(d, serial),
            Backend::Cluster(c) => c.load_serial(d, serial),
        }
    }

    /// Every project environment with state or a lock, sorted.
    pub fn deployments(&self) -> Result<Vec<DeploymentId>, ApplyError> {
        match &self.backend {
            Backend::Local(l) => Ok(l.deployments()),
            Backend::Cluster(c) => c.deployments(),
        }
    }

    /// Keeps the current state (if any) in history and returns the state the apply will
    /// checkpoint: the same resources, the next serial.
    pub fn begin(&self, d: &DeploymentId) -> Result<State, ApplyError> {
        match &self.backend {
            Backend::Local(l) => l.begin(d),
            Backend::Cluster(c) => c.begin(d),
        }
    }

    /// Checkpoints the state; a reader finds this one or the one before, never a torn one.
    pub fn save(&self, state: &State) -> Result<(), ApplyError> {
        match &self.backend {
            Backend::Local(l) => l.save(state),
            Backend::Cluster(c) => c.save(state),
        }
    }

    /// Every serial kept of a project environment, oldest first, the current one last.
    pub fn all_serials(&self, d: &DeploymentId) -> Result<Vec<State>, ApplyError> {
        let mut out = Vec::new();
        for serial in self.history(d)? {
            if let Some(s) = self.load_serial(d, serial)? {
                out.push(s);
            }
        }
        out.extend(self.load(d)?);
        Ok(out)
    }

    /// Writes one project environment's serials (oldest first) into a backend that has no state
    /// for it, keeping serials and lineage (`berth state push`).
    pub fn import(&self, states: &[State]) -> Result<(), ApplyError> {
        if let Some(d) = states.first().map(|s| s.deployment.clone()) {
            if self.load(&d)?.is_some() {
                return Err(ApplyError::StateRefused(format!(
                    "{} already has state for {d}; berth never overwrites a history",
                    self.describe()
                )));
            }
        }
        match &self.backend {
            Backend::Local(l) => l.import(states),
            Backend::Cluster(c) => c.import(states),
        }
    }

    /// Forgets a project environment that holds no objects (`berth state rm`).
    pub fn remove(&self, d: &DeploymentId) -> Result<(), ApplyError> {
        if let Some(s) = self.load(d)? {
            if !s.resources.is_empty() {
                return Err(ApplyError::StateRefused(format!(
                    "{d} still records {} object(s); destroy it first (`berth destroy -p {} -e {}`)",
                    s.resources.len(),
                    d.project,
                    d.env
                )));
            }
        }
        match &self.backend {
            Backend::Local(l) => l.remove(d),
            Backend::Cluster(c) => c.remove(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-state-test-{}-{}",
            std::process::id(),
            new_lineage()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn lineages_are_shaped_like_uuids_and_differ() {
        let (a, b) = (new_lineage(), new_lineage());
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn begin_archives_and_increments() {
        let root = tmp();
        let store = Store::new(&root);
        let d = DeploymentId {
            project: "shop".into(),
            env: "production".into(),
        };
        assert!(store.load(&d).unwrap().is_none());
        let first = store.begin(&d).unwrap();
        assert_eq!(first.serial, 1);
        store.save(&first).unwrap();
        let second = store.begin(&d).unwrap();
        assert_eq!((second.serial, &second.lineage), (2, &first.lineage));
        store.save(&second).unwrap();
        assert_eq!(store.history(&d).unwrap(), vec![1]);
        assert_eq!(store.load_serial(&d, 1).unwrap().unwrap().serial, 1);
        assert_eq!(store.load(&d).unwrap().unwrap().serial, 2);
        assert_eq!(store.deployments().unwrap(), vec![d]);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn newer_and_foreign_formats_are_refused() {
        let p = Path::new("state.json");
        assert!(matches!(
            migrate(serde_json::json!({"format_version": 99}), p),
            Err(ApplyError::State { .. })
        ));
        assert!(matches!(
            migrate(serde_json::json!({"hello": 1}), p),
            Err(ApplyError::State { .. })
        ));
    }
}
