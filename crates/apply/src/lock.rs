//! Locks on project environments, on the store's backend. A second apply to the same project
//! environment fails fast naming the holder, or waits up to `--lock-timeout`; `berth state
//! unlock ID` removes a lock by its ID.
//!
//! On the cluster (the default) a lock is a lease its holder renews, broken once it expires by
//! the engine's clock ([`crate::backend::lease`]). In a local directory it is a file created
//! exclusively (`O_EXCL`) in the project environment's state directory, holding who took it,
//! when and why, removed when the holder finishes; one whose holder process died on this host is
//! broken automatically.

use crate::backend::lease;
use crate::error::ApplyError;
use crate::state::{Backend, Store};
use berth_planner::DeploymentId;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub created: String,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    release: Release,
    pub info: LockInfo,
    /// A lock left by a holder that no longer runs, which taking this lock removed.
    pub broken: Option<LockInfo>,
}

#[derive(Debug)]
enum Release {
    File(PathBuf),
    Cluster(lease::Held),
}

impl Lock {
    /// Whether the lock was lost while held (a cluster lease that could not be renewed).
    pub fn is_lost(&self) -> bool {
        match &self.release {
            Release::File(_) => false,
            Release::Cluster(h) => h.is_lost(),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        match &self.release {
            // Only remove the file if it is still ours (it may have been force-unlocked).
            Release::File(path) => {
                if let Ok(text) = fs::read_to_string(path) {
                    if serde_json::from_str::<LockInfo>(&text).is_ok_and(|l| l.id == self.info.id) {
                        let _ = fs::remove_file(path);
                    }
                }
            }
            Release::Cluster(held) => held.release(),
        }
    }
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Seconds since the epoch as RFC 3339 (UTC), without a date library.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn new_id() -> String {
    crate::state::hex(&crate::random::bytes::<8>())
}

/// Whether a lock's holder is known to be gone: same host, and its process no longer exists.
fn is_stale(info: &LockInfo) -> bool {
    if info.pid == std::process::id() && info.host == hostname() {
        return false;
    }
    info.host == hostname() && !process_alive(info.pid)
}

/// Whether `pid` is a live process that could be a berth: a zombie (killed, not yet reaped, as
/// happens under a PID 1 that does not reap) is dead, and so is a reused PID now running
/// something else.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    if state == "Z" || state == "X" {
        return false;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(argv0).contains("berth") || cmdline.is_empty()
}

/// Takes the lock of `deployment`, waiting up to `timeout` (zero: fail at once).
pub fn acquire(
    store: &Store,
    deployment: &DeploymentId,
    operation: &str,
    timeout: Duration,
) -> Result<Lock, ApplyError> {
    let info = LockInfo {
        id: new_id(),
        operation: operation.to_string(),
        holder: format!(
            "{}@{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            hostname()
        ),
        host: hostname(),
        pid: std::process::id(),
        created: rfc3339(now()),
    };
    if let Backend::Cluster(c) = store.backend() {
        let (held, broken) = lease::acquire(c, deployment, &info, timeout, store.lease)?;
        return Ok(Lock {
            release: Release::Cluster(held),
            info,
            broken,
        });
    }
    let dir = store.dir(deployment);
    fs::create_dir_all(&dir).map_err(|e| ApplyError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let path = dir.join("lock.json");
    let deadline = Instant::now() + timeout;
    let mut broken = None;
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let json = serde_json::to_vec_pretty(&info).unwrap_or_default();
                f.write_all(&json)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| ApplyError::Io {
                        path: path.clone(),
                        source: e,
                    })?;
                return Ok(Lock {
                    release: Release::File(path),
                    info,
                    broken,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A lock whose holder died on this host (killed, crashed) is broken at once:
                // killing berth must never need a human to clean up.
                let held: Option<LockInfo> = fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok());
                if let Some(held) = held.filter(is_stale) {
                    if fs::remove_file(&path).is_ok() {
                        broken = Some(held);
                    }
                    continue;
                }
                if Instant::now() >= deadline {
                    let held: Option<LockInfo> = fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok());
                    let held = held.unwrap_or_else(|| LockInfo {
                        id: "?".into(),
                        operation: "?".into(),
                        holder: "an unknown holder".into(),
                        host: String::new(),
                        pid: 0,
                        created: "an unknown time".into(),
                    });
                    return Err(ApplyError::Locked {
                        deployment: Box::new(deployment.clone()),
                        stale: is_stale(&held),
                        id: held.id,
                        holder: format!("{} (pid {}, {})", held.holder, held.pid, held.operation),
                        since: held.created,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(ApplyError::Io { path, source: e }),
        }
    }
}

/// Every lock currently held under the store.
pub fn held(store: &Store) -> Result<Vec<(DeploymentId, LockInfo)>, ApplyError> {
    if let Backend::Cluster(c) = store.backend() {
        return lease::held(c);
    }
    Ok(store
        .deployments()?
        .into_iter()
        .filter_map(|d| {
            let text = fs::read_to_string(store.dir(&d).join("lock.json")).ok()?;
            Some((d, serde_json::from_str(&text).ok()?))
        })
        .collect())
}

/// Removes the lock with this ID, wherever it is held.
pub fn unlock(store: &Store, id: &str) -> Result<(DeploymentId, LockInfo), ApplyError> {
    if let Backend::Cluster(c) = store.backend() {
        return lease::unlock(c, id)?.ok_or_else(|| ApplyError::NoSuchLock {
            id: id.to_string(),
            dir: PathBuf::from(store.describe()),
        });
    }
    for (d, info) in held(store)? {
        if info.id == id {
            let path = store.dir(&d).join("lock.json");
            fs::remove_file(&path).map_err(|e| ApplyError::Io { path, source: e })?;
            return Ok((d, info));
        }
    }
    Err(ApplyError::NoSuchLock {
        id: id.to_string(),
        dir: PathBuf::from(store.describe()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_unlock_frees() {
        let root = std::env::temp_dir().join(format!(
            "berth-lock-test-{}-{}",
            std::process::id(),
            new_id()
        ));
        let store = Store::new(&root);
        let d = DeploymentId {
            project: "shop".into(),
            env: "staging".into(),
        };
        let first = acquire(&store, &d, "apply", Duration::ZERO).unwrap();
        match acquire(&store, &d, "apply", Duration::from_millis(250)) {
            Err(ApplyError::Locked { id, stale, .. }) => {
                assert_eq!(id, first.info.id);
                assert!(!stale, "our own process is alive");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        let other = DeploymentId {
            project: "shop".into(),
            env: "production".into(),
        };
        let _independent = acquire(&store, &other, "apply", Duration::ZERO).expect("partitioned");
        let (unlocked, _) = unlock(&store, &first.info.id).unwrap();
        assert_eq!(unlocked, d);
        let _again = acquire(&store, &d, "apply", Duration::ZERO).unwrap();
        drop(first);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 16, "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_750_186), "2026-11-27T03:29:46Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}

#[cfg(test)]
mod stale_tests {
    use super::*;

    #[test]
    fn a_dead_holders_lock_is_broken() {
        let root = std::env::temp_dir().join(format!(
            "berth-lock-stale-{}-{}",
            std::process::id(),
            new_id()
        ));
        let store = Store::new(&root);
        let d = DeploymentId {
            project: "shop".into(),
            env: "production".into(),
        };
        fs::create_dir_all(store.dir(&d)).unwrap();
        // A process that has exited: its PID is free (short-lived child).
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let _ = child.wait_with_output();
        let dead = LockInfo {
            id: "dead".into(),
            operation: "apply".into(),
            holder: "x".into(),
            host: hostname(),
            pid,
            created: rfc3339(0),
        };
        fs::write(
            store.dir(&d).join("lock.json"),
            serde_json::to_vec(&dead).unwrap(),
        )
        .unwrap();
        let lock = acquire(&store, &d, "apply", Duration::ZERO).unwrap();
        assert_eq!(lock.broken.as_ref().map(|l| l.id.as_str()), Some("dead"));
        drop(lock);
        fs::remove_dir_all(root).unwrap();
    }
}
