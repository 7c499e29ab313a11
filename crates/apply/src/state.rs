//! The versioned state file of each project environment. State is partitioned: every project
//! environment has its own directory (`<root>/<project>/<env>/`), its own lock and its own
//! history, so applies to different project environments never wait for each other.
//!
//! Writes are atomic (temporary file, fsync, rename, fsync of the directory), so a reader sees
//! either the old or the new state, whenever berth is killed. An apply archives the state it
//! started from in `history/<serial>.json`, then checkpoints the new serial after every resource.
//! Secret values never reach state: secrets appear as specs whose data is only a digest.

use crate::error::ApplyError;
use berth_planner::{Address, DeploymentId, Observed, ObservedResource, Spec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
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

/// One run of a job: the engine's job iteration, its task's final state (`complete`, `failed`,
/// `rejected`, or `running` when an apply ended before it), exit code and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub iteration: u64,
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

/// The state directories under one root.
#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn dir(&self, d: &DeploymentId) -> PathBuf {
        self.root.join(&d.project).join(&d.env)
    }

    fn io(path: &Path, source: std::io::Error) -> ApplyError {
        ApplyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn read(path: &Path) -> Result<State, ApplyError> {
        let text = fs::read_to_string(path).map_err(|e| Self::io(path, e))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ApplyError::State {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        migrate(doc, path)
    }

    /// The current state of a project environment, if it was ever applied.
    pub fn load(&self, d: &DeploymentId) -> Result<Option<State>, ApplyError> {
        let path = self.dir(d).join("state.json");
        if !path.exists() {
            return Ok(None);
        }
        Self::read(&path).map(Some)
    }

    /// Serials kept in history, oldest first.
    pub fn history(&self, d: &DeploymentId) -> Result<Vec<u64>, ApplyError> {
        let dir = self.dir(d).join("history");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut serials: Vec<u64> = entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse().ok())
            })
            .collect();
        serials.sort();
        Ok(serials)
    }

    /// The state as it was at `serial` (the current one or one in history).
    pub fn load_serial(&self, d: &DeploymentId, serial: u64) -> Result<Option<State>, ApplyError> {
        if let Some(current) = self.load(d)? {
            if current.serial == serial {
                return Ok(Some(current));
            }
        }
        let path = self
            .dir(d)
            .join("history")
            .join(format!("{serial:08}.json"));
        if !path.exists() {
            return Ok(None);
        }
        Self::read(&path).map(Some)
    }

    /// Every project environment with a state directory, sorted.
    pub fn deployments(&self) -> Vec<DeploymentId> {
        let mut out = Vec::new();
        let Ok(projects) = fs::read_dir(&self.root) else {
            return out;
        };
        for p in projects.flatten().filter(|e| e.path().is_dir()) {
            let Ok(envs) = fs::read_dir(p.path()) else {
                continue;
            };
            for e in envs.flatten().filter(|e| {
                e.path().join("state.json").exists() || e.path().join("lock.json").exists()
            }) {
                if let (Some(project), Some(env)) = (p.file_name().to_str(), e.file_name().to_str())
                {
                    out.push(DeploymentId {
                        project: project.to_string(),
                        env: env.to_string(),
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// Archives the current state (if any) in history and returns the state the apply will
    /// checkpoint: the same resources, the next serial.
    pub fn begin(&self, d: &DeploymentId) -> Result<State, ApplyError> {
        match self.load(d)? {
            Some(current) => {
                let history = self.dir(d).join("history");
                fs::create_dir_all(&history).map_err(|e| Self::io(&history, e))?;
                write_atomic(
                    &history.join(format!("{:08}.json", current.serial)),
                    &current,
                )?;
                let mut next = current;
                next.serial += 1;
                next.format_version = FORMAT_VERSION;
                next.berth_version = env!("CARGO_PKG_VERSION").to_string();
                Ok(next)
            }
            None => {
                let mut s = State::new(d.clone());
                s.serial = 1;
                Ok(s)
            }
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, state: &State) -> Result<(), ApplyError> {
        let dir = self.dir(&state.deployment);
        fs::create_dir_all(&dir).map_err(|e| Self::io(&dir, e))?;
        write_atomic(&dir.join("state.json"), state)
    }
}

/// Temporary file in the same directory, fsync, rename over the target, fsync the directory.
pub fn write_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), ApplyError> {
    let io = |e| ApplyError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let mut json = serde_json::to_vec_pretty(value).map_err(|e| ApplyError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    json.push(b'\n');
    {
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
        assert_eq!(store.deployments(), vec![d]);
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
