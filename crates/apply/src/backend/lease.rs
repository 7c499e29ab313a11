//! Locks on the cluster, as leases. A lock is the config `berth.<key>.lock`: creating it is an
//! atomic create-if-absent, so of any number of runs on any number of machines exactly one holds
//! it. It records its holder (who, where, when, what command) and its lease; the holder renews
//! the lease every third of it from a background task (a label update at the config's version
//! index, which moves the config's `UpdatedAt`).
//!
//! A lock whose `UpdatedAt` is older than its lease, by the *engine's* clock (`GET /info`'s
//! `SystemTime`, so clocks of the machines that run berth never matter), belongs to a holder that
//! died or lost the cluster (killed with SIGKILL, a crashed CI runner). The next run breaks it by
//! removing *that* config by its ID, then creates its own: two runs breaking the same expired lock
//! cannot remove each other's new lock, since a new lock has a new ID. A lock whose lease is
//! being renewed is never broken, whatever its holder's host or process looks like from here.
//!
//! When a renewal finds its lock gone (`berth state unlock`, or broken after the holder could not
//! reach the engine for a whole lease), the holder marks it lost, and its store refuses to write
//! state from then on ([`crate::error::ApplyError::LockLost`]); the next apply records whatever
//! this one created, from the cluster.

use super::cluster::{api, key, label, lock_name, ClusterStore, Obj};
use super::{block, spawn};
use crate::error::{ApplyError, DockerErrorKind};
use crate::lock::LockInfo;
use berth_planner::DeploymentId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The lease when none is configured: long enough that a busy engine never lets a live holder's
/// lock expire, short enough that a dead holder's lock is broken within a minute.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A lock this process holds on the cluster.
#[derive(Debug)]
pub struct Held {
    store: ClusterStore,
    deployment: DeploymentId,
    config_id: String,
    lost: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
}

impl Held {
    /// Whether the lease could not be renewed.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and removes the lock, if it is still this one (by its ID).
    pub fn release(&self) {
        self.renewal.abort();
        if let Ok(mut m) = self.store.lost_flags().lock() {
            m.remove(&self.deployment);
        }
        let (store, id) = (self.store.clone(), self.config_id.clone());
        let _ = block(async move {
            let c = store.cluster().await?;
            let _ = api::delete(&c, &id).await;
            Ok(())
        });
    }
}

fn info_of(obj: &Obj) -> LockInfo {
    serde_json::from_slice(&obj.data).unwrap_or_else(|_| LockInfo {
        id: obj.label(label::LOCK_ID).to_string(),
        operation: "?".into(),
        holder: "an unknown holder".into(),
        host: String::new(),
        pid: 0,
        created: "an unknown time".into(),
    })
}

/// Whether the lock's lease ran out by the engine's clock.
fn expired(obj: &Obj, now: f64) -> bool {
    let lease: f64 = obj
        .label(label::LEASE)
        .parse()
        .unwrap_or(DEFAULT_LEASE.as_secs_f64());
    let updated = super::cluster::parse_time(&obj.updated).unwrap_or(now);
    now - updated > lease
}

/// Takes the lock of `d`, waiting up to `timeout`; returns it and a lock it broke.
pub fn acquire(
    store: &ClusterStore,
    d: &DeploymentId,
    info: &LockInfo,
    timeout: Duration,
    lease: Duration,
) -> Result<(Held, Option<LockInfo>), ApplyError> {
    let (this, d, info) = (store.clone(), d.clone(), info.clone());
    block(async move {
        let c = this.cluster().await?;
        let k = key(&d);
        let name = lock_name(&k);
        let lease_secs = lease.as_secs_f64().max(1.0);
        let l: HashMap<String, String> = [
            (label::KIND, "lock".to_string()),
            (label::KEY, k.clone()),
            (label::PROJECT, d.project.clone()),
            (label::ENV, d.env.clone()),
            (label::LEASE, format!("{lease_secs}")),
            (label::RENEWED, "0".to_string()),
            (label::LOCK_ID, info.id.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let data = serde_json::to_vec_pretty(&info).unwrap_or_default();
        let deadline = Instant::now() + timeout;
        let mut broken = None;
        loop {
            match api::create(&c, &name, l.clone(), &data).await {
                Ok(config_id) => {
                    let lost = Arc::new(AtomicBool::new(false));
                    if let Ok(mut m) = this.lost_flags().lock() {
                        m.insert(d.clone(), lost.clone());
                    }
                    let renewal = spawn(renew(
                        this.clone(),
                        config_id.clone(),
                        info.id.clone(),
                        lease,
                        lost.clone(),
                    ));
                    let held = Held {
                        store: this.clone(),
                        deployment: d.clone(),
                        config_id,
                        lost,
                        renewal,
                    };
                    return Ok((held, broken));
                }
                Err(e) if e.kind == DockerErrorKind::Conflict => {
                    let Some(obj) = api::inspect(&c, &name)
                        .await
                        .map_err(|e| ApplyError::engine("reading", &name, e))?
                    else {
                        continue;
                    };
                    let now = api::now(&c)
                        .await
                        .map_err(|e| ApplyError::engine("reading the time of", "the engine", e))?;
                    if expired(&obj, now) {
                        if api::delete(&c, &obj.id)
                            .await
                            .map_err(|e| ApplyError::engine("breaking", &name, e))?
                        {
                            broken = Some(info_of(&obj));
                        }
                        continue;
                    }
                    if Instant::now() >= deadline {
                        let held = info_of(&obj);
                        return Err(ApplyError::Locked {
                            deployment: Box::new(d.clone()),
                            stale: false,
                            id: held.id,
                            holder: format!(
                                "{} (pid {}, {}, lease {}s)",
                                held.holder,
                                held.pid,
                                held.operation,
                                obj.label(label::LEASE)
                            ),
                            since: held.created,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(ApplyError::engine("creating", &name, e)),
            }
        }
    })
}

/// Renews the lease every third of it until the lock is released, or found gone.
async fn renew(
    store: ClusterStore,
    config_id: String,
    lock_id: String,
    lease: Duration,
    lost: Arc<AtomicBool>,
) {
    let every = (lease / 3).max(Duration::from_millis(300));
    let mut renewed: u64 = 0;
    loop {
        tokio::time::sleep(every).await;
        let Ok(c) = store.cluster().await else {
            continue;
        };
        match api::inspect(&c, &config_id).await {
            Ok(Some(obj)) if obj.label(label::LOCK_ID) == lock_id => {
                renewed += 1;
                let mut l = obj.labels.clone();
                l.insert(label::RENEWED.to_string(), renewed.to_string());
                match api::relabel(&c, &obj, l).await {
                    Err(e) if e.kind == DockerErrorKind::NotFound => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A transient failure: the next renewal tries again within the lease.
                    _ => {}
                }
            }
            Ok(_) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(_) => {}
        }
    }
}

/// Every lock held on the cluster.
pub fn held(store: &ClusterStore) -> Result<Vec<(DeploymentId, LockInfo)>, ApplyError> {
    let this = store.clone();
    block(async move {
        let c = this.cluster().await?;
        let objs = api::list(&c, &[format!("{}=lock", label::KIND)])
            .await
            .map_err(|e| ApplyError::engine("listing", "the locks", e))?;
        let mut out: Vec<(DeploymentId, LockInfo)> = objs
            .iter()
            .filter_map(|o| {
                let d = DeploymentId {
                    project: o.label(label::PROJECT).to_string(),
                    env: o.label(label::ENV).to_string(),
                };
                (o.name == lock_name(&key(&d))).then(|| (d, info_of(o)))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    })
}

/// Removes the lock with this ID (by its config's ID, so a newer lock is never removed).
pub fn unlock(
    store: &ClusterStore,
    id: &str,
) -> Result<Option<(DeploymentId, LockInfo)>, ApplyError> {
    let (this, id) = (store.clone(), id.to_string());
    block(async move {
        let c = this.cluster().await?;
        let objs = api::list(
            &c,
            &[
                format!("{}=lock", label::KIND),
                format!("{}={id}", label::LOCK_ID),
            ],
        )
        .await
        .map_err(|e| ApplyError::engine("listing", "the locks", e))?;
        for o in objs {
            let d = DeploymentId {
                project: o.label(label::PROJECT).to_string(),
                env: o.label(label::ENV).to_string(),
            };
            if o.name == lock_name(&key(&d)) && info_of(&o).id == id {
                api::delete(&c, &o.id)
                    .await
                    .map_err(|e| ApplyError::engine("removing", &o.name, e))?;
                return Ok(Some((d, info_of(&o))));
            }
        }
        Ok(None)
    })
}
