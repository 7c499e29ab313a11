//! The local-directory backend: every project environment has its own directory
//! (`<root>/<project>/<env>/`) holding `state.json`, `lock.json` and `history/<serial>.json`, so
//! applies to different project environments never wait for each other. Chosen explicitly
//! (`--state-dir`, `BERTH_STATE_DIR`); it is what the local backend's tests and single-machine
//! set-ups use.
//!
//! Writes are atomic (temporary file, fsync, rename, fsync of the directory), so a reader sees
//! either the old or the new state, whenever berth is killed. An apply archives the state it
//! started from in `history/<serial>.json`, then checkpoints the new serial after every resource.
//! History keeps the newest `retention` serials (see [`crate::state::DEFAULT_RETENTION`]).

use crate::error::ApplyError;
use crate::state::{migrate, State, FORMAT_VERSION};
use berth_planner::DeploymentId;
use serde::Serialize;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state directories under one root.
#[derive(Debug, Clone)]
pub struct LocalStore {
    pub root: PathBuf,
    pub retention: usize,
}

fn io(path: &Path, source: std::io::Error) -> ApplyError {
    ApplyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<State, ApplyError> {
    let text = fs::read_to_string(path).map_err(|e| io(path, e))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| ApplyError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    migrate(doc, path)
}

impl LocalStore {
    pub fn dir(&self, d: &DeploymentId) -> PathBuf {
        self.root.join(&d.project).join(&d.env)
    }

    fn history_file(&self, d: &DeploymentId, serial: u64) -> PathBuf {
        self.dir(d)
            .join("history")
            .join(format!("{serial:08}.json"))
    }

    pub fn load(&self, d: &DeploymentId) -> Result<Option<State>, ApplyError> {
        let path = self.dir(d).join("state.json");
        if !path.exists() {
            return Ok(None);
        }
        read(&path).map(Some)
    }

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

    pub fn load_serial(&self, d: &DeploymentId, serial: u64) -> Result<Option<State>, ApplyError> {
        if let Some(current) = self.load(d)? {
            if current.serial == serial {
                return Ok(Some(current));
            }
        }
        let path = self.history_file(d, serial);
        if !path.exists() {
            return Ok(None);
        }
        read(&path).map(Some)
    }

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

    pub fn begin(&self, d: &DeploymentId) -> Result<State, ApplyError> {
        match self.load(d)? {
            Some(current) => {
                let history = self.dir(d).join("history");
                fs::create_dir_all(&history).map_err(|e| io(&history, e))?;
                write_atomic(&self.history_file(d, current.serial), &current)?;
                self.prune(d)?;
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

    /// Keeps the newest `retention` serials of history (the current state is one of them).
    fn prune(&self, d: &DeploymentId) -> Result<(), ApplyError> {
        let serials = self.history(d)?;
        let keep = self.retention.max(1).saturating_sub(1).max(1);
        if serials.len() > keep {
            for s in &serials[..serials.len() - keep] {
                let path = self.history_file(d, *s);
                fs::remove_file(&path).map_err(|e| io(&path, e))?;
            }
        }
        Ok(())
    }

    pub fn save(&self, state: &State) -> Result<(), ApplyError> {
        let dir = self.dir(&state.deployment);
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        write_atomic(&dir.join("state.json"), state)
    }

    /// Writes `states` (one project environment's, oldest first) as its history and current
    /// state, keeping their serials and lineage.
    pub fn import(&self, states: &[State]) -> Result<(), ApplyError> {
        let Some((current, older)) = states.split_last() else {
            return Ok(());
        };
        let history = self.dir(&current.deployment).join("history");
        fs::create_dir_all(&history).map_err(|e| io(&history, e))?;
        for s in older {
            write_atomic(&self.history_file(&s.deployment, s.serial), s)?;
        }
        self.save(current)
    }

    /// Forgets the project environment: its state and history (not a lock held on it).
    pub fn remove(&self, d: &DeploymentId) -> Result<(), ApplyError> {
        let dir = self.dir(d);
        let history = dir.join("history");
        if history.exists() {
            fs::remove_dir_all(&history).map_err(|e| io(&history, e))?;
        }
        let state = dir.join("state.json");
        if state.exists() {
            fs::remove_file(&state).map_err(|e| io(&state, e))?;
        }
        Ok(())
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
