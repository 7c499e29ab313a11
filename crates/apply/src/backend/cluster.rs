//! The cluster backend: every serial of every project environment's state, and its lock, as
//! Swarm configs on the cluster berth deploys to. Configs are replicated by Swarm's Raft log,
//! immutable, unique by name (so creating one is an atomic create-if-absent, HTTP 409 when the
//! name is taken), hold at most 500 KB, and only their labels can change, at the object's
//! version index (optimistic concurrency).
//!
//! Decisions, and why:
//!
//! - **Names.** Config names are short (64 characters), project and environment names are not,
//!   so every object of a project environment is named after its *key*, the first 16 hex digits
//!   of the sha256 of `project/env`: `berth.<key>.head`, `berth.<key>.lock` and the state parts
//!   `berth.<key>.<serial>.<seq>.<part>`. Project and environment are in labels. A tenant's
//!   objects are named `<stack>_<name>…`, and no stack can contain a dot; every label key under
//!   `berth.` is reserved in the language (E0173); and these objects never carry
//!   `berth.managed`, so the planner never sees them as resources. A hostile project file can
//!   therefore neither create nor imitate state or a lock, and a reader checks the labels too.
//! - **Checkpoints.** A state is gzip-compressed JSON split into parts of at most
//!   [`PART_BYTES`] (a 100-service state is about 10 KB compressed). Each checkpoint (the
//!   executor saves after every resource) creates new part configs under a new sequence number,
//!   then moves the head (one config whose labels name the current serial, sequence and number
//!   of parts) with its version index, then removes the checkpoint it replaced within the same
//!   serial. Parts are immutable and complete before the head names them, so a reader always
//!   finds the last complete checkpoint, whenever a writer is killed: at worst a few orphaned
//!   parts remain, which the next apply's pruning removes.
//! - **History.** The last checkpoint of every serial stays: that is the history. When an apply
//!   begins, serials beyond the retention (the newest [`crate::state::DEFAULT_RETENTION`] by
//!   default, `BERTH_STATE_HISTORY` in the binary) and superseded or orphaned parts are removed.
//! - **Secrets.** State never holds a secret's value (only its digest), so a config is a fit.
//!
//! Locks are leases; see [`super::lease`].

use super::block;
use crate::connect::Cluster;
use crate::error::{ApplyError, DockerError, DockerErrorKind};
use crate::state::{migrate, State, FORMAT_VERSION};
use base64::Engine as _;
use berth_planner::DeploymentId;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The most compressed bytes one part holds: Swarm refuses configs over 500 KB.
pub const PART_BYTES: usize = 400 * 1024;

/// The labels of the backend's objects. Every key is under `berth.`, which no project file may
/// use.
pub mod label {
    /// `state`, `head` or `lock`.
    pub const KIND: &str = "berth.store";
    pub const KEY: &str = "berth.store.key";
    pub const PROJECT: &str = "berth.store.project";
    pub const ENV: &str = "berth.store.env";
    pub const SERIAL: &str = "berth.store.serial";
    pub const SEQ: &str = "berth.store.seq";
    pub const PART: &str = "berth.store.part";
    pub const PARTS: &str = "berth.store.parts";
    /// A lock's lease, in seconds.
    pub const LEASE: &str = "berth.store.lease";
    /// How often a lock's lease was renewed.
    pub const RENEWED: &str = "berth.store.renewed";
    /// The lock ID `berth state unlock` takes.
    pub const LOCK_ID: &str = "berth.store.lock-id";
}

/// The key of a project environment, which its objects are named after.
pub fn key(d: &DeploymentId) -> String {
    berth_planner::units::sha256_hex(format!("{}/{}", d.project, d.env).as_bytes())[..16]
        .to_string()
}

pub fn head_name(key: &str) -> String {
    format!("berth.{key}.head")
}

pub fn lock_name(key: &str) -> String {
    format!("berth.{key}.lock")
}

pub fn part_name(key: &str, serial: u64, seq: u64, part: usize) -> String {
    format!("berth.{key}.{serial}.{seq}.{part}")
}

/// The cluster backend of one run. Cheap to clone; it connects on first use.
#[derive(Clone)]
pub struct ClusterStore {
    inner: Arc<Inner>,
}

struct Inner {
    cluster: Mutex<Option<Cluster>>,
    retention: usize,
    /// The locks this process holds, and whether each one's lease was lost.
    pub(crate) lost: Mutex<HashMap<DeploymentId, Arc<AtomicBool>>>,
}

impl std::fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStore")
            .field("retention", &self.inner.retention)
            .finish()
    }
}

/// One config as the backend reads it.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub id: String,
    pub version: u64,
    pub updated: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    pub data: Vec<u8>,
}

impl Obj {
    fn from_json(v: &Value) -> Obj {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let labels = v["Spec"]["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect::<HashMap<_, _>>()
            })
            .unwrap_or_default();
        let data = base64::engine::general_purpose::STANDARD
            .decode(v["Spec"]["Data"].as_str().unwrap_or_default())
            .unwrap_or_default();
        Obj {
            id: text(&v["ID"]),
            version: v["Version"]["Index"].as_u64().unwrap_or(0),
            updated: text(&v["UpdatedAt"]),
            name: text(&v["Spec"]["Name"]),
            labels,
            data,
        }
    }

    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map(String::as_str).unwrap_or_default()
    }

    pub fn number(&self, key: &str) -> u64 {
        self.label(key).parse().unwrap_or(0)
    }

    fn deployment(&self) -> Option<DeploymentId> {
        let (project, env) = (self.label(label::PROJECT), self.label(label::ENV));
        let d = DeploymentId {
            project: project.to_string(),
            env: env.to_string(),
        };
        // A reader believes an object only when its name is the one its labels imply.
        (!project.is_empty() && !env.is_empty() && self.label(label::KEY) == key(&d)).then_some(d)
    }
}

/// The engine's calls the backend makes, on its own runtime.
pub(crate) mod api {
    use super::*;

    fn path(c: &Cluster, rest: &str) -> String {
        format!("/v{}{rest}", c.api_version)
    }

    pub async fn inspect(c: &Cluster, name: &str) -> Result<Option<Obj>, DockerError> {
        let timeout = std::time::Duration::from_secs(60);
        match crate::raw::get(&c.raw, &path(c, &format!("/configs/{name}")), timeout).await {
            Ok(text) => {
                let v: Value =
                    serde_json::from_str(&text).map_err(|e| DockerError::other(e.to_string()))?;
                let obj = Obj::from_json(&v);
                // `GET /configs/{x}` also matches an ID or an ID prefix: only the name counts.
                Ok((obj.name == name || obj.id == name).then_some(obj))
            }
            Err(e) => {
                let e = DockerError::from_raw(&e);
                if e.kind == DockerErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    pub async fn list(c: &Cluster, labels: &[String]) -> Result<Vec<Obj>, DockerError> {
        let filters = serde_json::json!({ "label": labels }).to_string();
        let p = path(
            c,
            &format!("/configs?filters={}", crate::raw::encode(&filters)),
        );
        let text = crate::raw::get(&c.raw, &p, std::time::Duration::from_secs(60))
            .await
            .map_err(|e| DockerError::from_raw(&e))?;
        let v: Vec<Value> =
            serde_json::from_str(&text).map_err(|e| DockerError::other(e.to_string()))?;
        Ok(v.iter().map(Obj::from_json).collect())
    }

    pub async fn create(
        c: &Cluster,
        name: &str,
        labels: HashMap<String, String>,
        data: &[u8],
    ) -> Result<String, DockerError> {
        let spec = bollard::models::ConfigSpec {
            name: Some(name.to_string()),
            labels: Some(labels),
            data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
            templating: None,
        };
        Ok(c.docker.create_config(spec).await?.id)
    }

    /// Removes a config by ID; `false` when it was already gone.
    pub async fn delete(c: &Cluster, id: &str) -> Result<bool, DockerError> {
        match c.docker.delete_config(id).await.map_err(DockerError::from) {
            Ok(()) => Ok(true),
            Err(e) if e.kind == DockerErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replaces the labels of `obj`, at the version it was read at.
    pub async fn relabel(
        c: &Cluster,
        obj: &Obj,
        labels: HashMap<String, String>,
    ) -> Result<(), DockerError> {
        let spec = bollard::models::ConfigSpec {
            name: Some(obj.name.clone()),
            labels: Some(labels),
            data: Some(base64::engine::general_purpose::STANDARD.encode(&obj.data)),
            templating: None,
        };
        let options = bollard::query_parameters::UpdateConfigOptionsBuilder::new()
            .version(obj.version as i64)
            .build();
        Ok(c.docker.update_config(&obj.id, spec, options).await?)
    }

    /// The engine's clock, in seconds since the epoch: leases are judged by the cluster's time,
    /// never by the clock of the machine that runs berth.
    pub async fn now(c: &Cluster) -> Result<f64, DockerError> {
        let text = crate::raw::get(
            &c.raw,
            &path(c, "/info"),
            std::time::Duration::from_secs(60),
        )
        .await
        .map_err(|e| DockerError::from_raw(&e))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| DockerError::other(e.to_string()))?;
        super::parse_time(v["SystemTime"].as_str().unwrap_or_default())
            .ok_or_else(|| DockerError::other("the engine's SystemTime is not a time"))
    }
}

/// An RFC 3339 time (`2026-12-01T17:40:00.123456789Z`, or with an offset) in seconds since the
/// epoch.
pub fn parse_time(s: &str) -> Option<f64> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let mut t = clock.splitn(3, ':');
    let (h, min) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let sec: f64 = t.next()?.parse().ok()?;
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + min * 60 - offset) as f64 + sec)
}

/// gzip of the state's JSON, split into parts Swarm accepts.
pub fn encode(state: &State) -> Vec<Vec<u8>> {
    let json = serde_json::to_vec(state).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(&json);
    let bytes = gz.finish().unwrap_or_default();
    bytes.chunks(PART_BYTES).map(<[u8]>::to_vec).collect()
}

/// The state the parts hold, migrated to the current format.
pub fn decode(parts: &[Vec<u8>], name: &str) -> Result<State, ApplyError> {
    let path = Path::new(name);
    let bad = |message: String| ApplyError::State {
        path: path.to_path_buf(),
        message,
    };
    let joined: Vec<u8> = parts.concat();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&joined[..])
        .read_to_end(&mut json)
        .map_err(|e| bad(format!("not gzip-compressed: {e}")))?;
    let doc: Value = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    migrate(doc, path)
}

fn labels(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn base_labels(kind: &str, d: &DeploymentId) -> Vec<(&'static str, String)> {
    vec![
        (label::KIND, kind.to_string()),
        (label::KEY, key(d)),
        (label::PROJECT, d.project.clone()),
        (label::ENV, d.env.clone()),
    ]
}

/// The complete checkpoints among `parts`: `(serial, seq) -> parts` in order.
fn checkpoints(objs: &[Obj]) -> BTreeMap<(u64, u64), Vec<&Obj>> {
    let mut groups: BTreeMap<(u64, u64), Vec<&Obj>> = BTreeMap::new();
    for o in objs.iter().filter(|o| o.label(label::KIND) == "state") {
        groups
            .entry((o.number(label::SERIAL), o.number(label::SEQ)))
            .or_default()
            .push(o);
    }
    for parts in groups.values_mut() {
        parts.sort_by_key(|o| o.number(label::PART));
    }
    groups
}

fn complete(parts: &[&Obj]) -> bool {
    let n = parts.first().map_or(0, |p| p.number(label::PARTS)) as usize;
    n > 0
        && parts.len() == n
        && parts
            .iter()
            .enumerate()
            .all(|(i, p)| p.number(label::PART) as usize == i)
}

impl ClusterStore {
    pub fn new(retention: usize) -> ClusterStore {
        ClusterStore {
            inner: Arc::new(Inner {
                cluster: Mutex::new(None),
                retention,
                lost: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub(crate) fn lost_flags(&self) -> &Mutex<HashMap<DeploymentId, Arc<AtomicBool>>> {
        &self.inner.lost
    }

    /// The connection, made on first use (on the backend's runtime).
    pub(crate) async fn cluster(&self) -> Result<Cluster, ApplyError> {
        if let Some(c) = self.inner.cluster.lock().ok().and_then(|c| c.clone()) {
            return Ok(c);
        }
        let c = crate::connect::connect().await?;
        if let Ok(mut slot) = self.inner.cluster.lock() {
            *slot = Some(c.clone());
        }
        Ok(c)
    }

    fn err(d: &DeploymentId, what: &str, e: DockerError) -> ApplyError {
        ApplyError::ClusterState {
            deployment: Box::new(d.clone()),
            message: format!("{what}: {e}"),
        }
    }

    async fn read_checkpoint(
        c: &Cluster,
        d: &DeploymentId,
        serial: u64,
        seq: u64,
        parts: usize,
    ) -> Result<State, ApplyError> {
        let k = key(d);
        let mut data = Vec::with_capacity(parts);
        for i in 0..parts {
            let name = part_name(&k, serial, seq, i);
            let obj = api::inspect(c, &name)
                .await
                .map_err(|e| Self::err(d, "reading a state part", e))?
                .filter(|o| o.deployment().as_ref() == Some(d))
                .ok_or_else(|| ApplyError::ClusterState {
                    deployment: Box::new(d.clone()),
                    message: format!(
                        "part {i} of {parts} of serial {serial} (`{name}`) is missing"
                    ),
                })?;
            data.push(obj.data);
        }
        decode(&data, &part_name(&k, serial, seq, 0))
    }

    async fn head(c: &Cluster, d: &DeploymentId) -> Result<Option<Obj>, ApplyError> {
        Ok(api::inspect(c, &head_name(&key(d)))
            .await
            .map_err(|e| Self::err(d, "reading the head", e))?
            .filter(|o| o.label(label::KIND) == "head" && o.deployment().as_ref() == Some(d)))
    }

    async fn load_with(c: &Cluster, d: &DeploymentId) -> Result<Option<State>, ApplyError> {
        let Some(head) = Self::head(c, d).await? else {
            return Ok(None);
        };
        let (serial, seq) = (head.number(label::SERIAL), head.number(label::SEQ));
        let parts = head.number(label::PARTS) as usize;
        Self::read_checkpoint(c, d, serial, seq, parts)
            .await
            .map(Some)
    }

    pub fn load(&self, d: &DeploymentId) -> Result<Option<State>, ApplyError> {
        let (this, d) = (self.clone(), d.clone());
        block(async move {
            let c = this.cluster().await?;
            Self::load_with(&c, &d).await
        })
    }

    /// The current states of many project environments, read concurrently (a plan over
    /// hundreds of them reads them all).
    pub fn load_many(
        &self,
        ids: Vec<DeploymentId>,
    ) -> Result<Vec<(DeploymentId, Option<State>)>, ApplyError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let this = self.clone();
        block(async move {
            let c = this.cluster().await?;
            stream::iter(ids)
                .map(|d| {
                    let c = c.clone();
                    async move { Self::load_with(&c, &d).await.map(|s| (d, s)) }
                })
                .buffered(32)
                .try_collect()
                .await
        })
    }

    async fn states_of(
        c: &Cluster,
        d: &DeploymentId,
        extra: &[String],
    ) -> Result<Vec<Obj>, ApplyError> {
        let mut filter = vec![
            format!("{}=state", label::KIND),
            format!("{}={}", label::KEY, key(d)),
        ];
        filter.extend(extra.iter().cloned());
        Ok(api::list(c, &filter)
            .await
            .map_err(|e| Self::err(d, "listing states", e))?
            .into_iter()
            .filter(|o| o.deployment().as_ref() == Some(d))
            .collect())
    }

    /// Serials kept in history (not the current one), oldest first.
    pub fn history(&self, d: &DeploymentId) -> Result<Vec<u64>, ApplyError> {
        let (this, d) = (self.clone(), d.clone());
        block(async move {
            let c = this.cluster().await?;
            // Without a head nothing was ever recorded; parts of a serial after the head's are
            // a writer's killed before its first checkpoint moved the head: not history.
            let Some(current) = Self::head(&c, &d).await?.map(|h| h.number(label::SERIAL)) else {
                return Ok(Vec::new());
            };
            let objs = Self::states_of(&c, &d, &[]).await?;
            let mut serials: Vec<u64> = checkpoints(&objs)
                .iter()
                .filter(|(_, parts)| complete(parts))
                .map(|((serial, _), _)| *serial)
                .filter(|s| *s < current)
                .collect();
            serials.dedup();
            Ok(serials)
        })
    }

    pub fn load_serial(&self, d: &DeploymentId, serial: u64) -> Result<Option<State>, ApplyError> {
        let (this, d) = (self.clone(), d.clone());
        block(async move {
            let c = this.cluster().await?;
            let Some(head) = Self::head(&c, &d).await? else {
                return Ok(None);
            };
            if head.number(label::SERIAL) == serial {
                let parts = head.number(label::PARTS) as usize;
                let seq = head.number(label::SEQ);
                return Self::read_checkpoint(&c, &d, serial, seq, parts)
                    .await
                    .map(Some);
            }
            if serial > head.number(label::SERIAL) {
                // Parts after the head's serial were never recorded.
                return Ok(None);
            }
            let objs = Self::states_of(&c, &d, &[format!("{}={serial}", label::SERIAL)]).await?;
            let groups = checkpoints(&objs);
            let Some((_, parts)) = groups.iter().rev().find(|(_, p)| complete(p)) else {
                return Ok(None);
            };
            let data: Vec<Vec<u8>> = parts.iter().map(|p| p.data.clone()).collect();
            decode(&data, &parts[0].name).map(Some)
        })
    }

    /// Every project environment with state or a lock on the cluster, sorted.
    pub fn deployments(&self) -> Result<Vec<DeploymentId>, ApplyError> {
        let this = self.clone();
        block(async move {
            let c = this.cluster().await?;
            let mut out = Vec::new();
            for kind in ["head", "lock"] {
                let objs = api::list(&c, &[format!("{}={kind}", label::KIND)])
                    .await
                    .map_err(|e| ApplyError::engine("listing", "the state configs", e))?;
                out.extend(objs.iter().filter_map(Obj::deployment));
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
    }

    /// The state the apply will checkpoint: the same resources, the next serial. The current
    /// serial's last checkpoint stays as history; what the retention drops goes now.
    pub fn begin(&self, d: &DeploymentId) -> Result<State, ApplyError> {
        let current = self.load(d)?;
        let Some(current) = current else {
            let mut s = State::new(d.clone());
            s.serial = 1;
            return Ok(s);
        };
        self.prune(d, current.serial)?;
        let mut next = current;
        next.serial += 1;
        next.format_version = FORMAT_VERSION;
        next.berth_version = env!("CARGO_PKG_VERSION").to_string();
        Ok(next)
    }

    /// Removes superseded checkpoints, parts of serials after the current one (a writer killed
    /// before its first checkpoint moved the head), and serials beyond the retention.
    fn prune(&self, d: &DeploymentId, current: u64) -> Result<(), ApplyError> {
        let (this, d) = (self.clone(), d.clone());
        let retention = self.inner.retention.max(1);
        block(async move {
            let c = this.cluster().await?;
            let head_seq = Self::head(&c, &d).await?.map(|h| h.number(label::SEQ));
            let objs = Self::states_of(&c, &d, &[]).await?;
            let groups = checkpoints(&objs);
            // The checkpoint that stays of each serial: the head's, else the last complete one.
            let mut kept: BTreeMap<u64, u64> = BTreeMap::new();
            for ((serial, seq), parts) in &groups {
                if *serial == current {
                    kept.insert(*serial, head_seq.unwrap_or(*seq));
                } else if *serial < current && complete(parts) {
                    kept.insert(*serial, *seq);
                }
            }
            let serials: Vec<u64> = kept.keys().copied().collect();
            // The serial being begun will be one of the `retention` kept.
            let dropped = serials
                .len()
                .saturating_sub(retention.saturating_sub(1).max(1));
            for s in &serials[..dropped] {
                if *s != current {
                    kept.remove(s);
                }
            }
            for ((serial, seq), parts) in &groups {
                if kept.get(serial) == Some(seq) {
                    continue;
                }
                for p in parts {
                    api::delete(&c, &p.id)
                        .await
                        .map_err(|e| Self::err(&d, "pruning history", e))?;
                }
            }
            Ok(())
        })
    }

    /// Checkpoints `state`: new parts, then the head, then the replaced checkpoint goes.
    pub fn save(&self, state: &State) -> Result<(), ApplyError> {
        let d = state.deployment.clone();
        let lost = self.inner.lost.lock().ok().and_then(|m| m.get(&d).cloned());
        if lost.is_some_and(|l| l.load(std::sync::atomic::Ordering::SeqCst)) {
            return Err(ApplyError::LockLost {
                deployment: Box::new(d),
                message: "its lease could not be renewed, so this run no longer writes state"
                    .into(),
            });
        }
        let (this, state) = (self.clone(), state.clone());
        block(async move { this.write(&state).await })
    }

    async fn write(&self, state: &State) -> Result<(), ApplyError> {
        let d = &state.deployment;
        let k = key(d);
        let c = self.cluster().await?;
        let head = Self::head(&c, d).await?;
        let seq = head.as_ref().map_or(1, |h| h.number(label::SEQ) + 1);
        let parts = encode(state);
        let n = parts.len();
        for (i, data) in parts.iter().enumerate() {
            let name = part_name(&k, state.serial, seq, i);
            let mut l = base_labels("state", d);
            l.extend([
                (label::SERIAL, state.serial.to_string()),
                (label::SEQ, seq.to_string()),
                (label::PART, i.to_string()),
                (label::PARTS, n.to_string()),
            ]);
            let l = labels(&l);
            match api::create(&c, &name, l.clone(), data).await {
                Ok(_) => {}
                Err(e) if e.kind == DockerErrorKind::Conflict => {
                    // Left by a writer killed before it moved the head: never read, replace it.
                    if let Some(old) = api::inspect(&c, &name).await.ok().flatten() {
                        let _ = api::delete(&c, &old.id).await;
                    }
                    api::create(&c, &name, l, data)
                        .await
                        .map_err(|e| Self::err(d, "writing a state part", e))?;
                }
                Err(e) => return Err(Self::err(d, "writing a state part", e)),
            }
        }
        let mut l = base_labels("head", d);
        l.extend([
            (label::SERIAL, state.serial.to_string()),
            (label::SEQ, seq.to_string()),
            (label::PARTS, n.to_string()),
        ]);
        match &head {
            None => api::create(&c, &head_name(&k), labels(&l), b"berth state head\n")
                .await
                .map(|_| ())
                .map_err(|e| Self::err(d, "creating the head", e))?,
            Some(h) => api::relabel(&c, h, labels(&l))
                .await
                .map_err(|e| Self::err(d, "moving the head", e))?,
        }
        if let Some(h) = head.filter(|h| h.number(label::SERIAL) == state.serial) {
            for i in 0..h.number(label::PARTS) as usize {
                let name = part_name(&k, state.serial, h.number(label::SEQ), i);
                if let Some(old) = api::inspect(&c, &name).await.ok().flatten() {
                    let _ = api::delete(&c, &old.id).await;
                }
            }
        }
        Ok(())
    }

    /// Writes `states` (one project environment's, oldest first), keeping serials and lineage.
    pub fn import(&self, states: &[State]) -> Result<(), ApplyError> {
        for s in states {
            self.save(s)?;
        }
        Ok(())
    }

    /// Forgets the project environment: its head and every serial (not a lock held on it).
    pub fn remove(&self, d: &DeploymentId) -> Result<(), ApplyError> {
        let (this, d) = (self.clone(), d.clone());
        block(async move {
            let c = this.cluster().await?;
            let mut objs = Self::states_of(&c, &d, &[]).await?;
            objs.extend(Self::head(&c, &d).await?);
            for o in objs {
                api::delete(&c, &o.id)
                    .await
                    .map_err(|e| Self::err(&d, "removing state", e))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_zones_and_fractions() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_time("2026-11-27T03:29:46Z"), Some(1_795_750_186.0));
        let nanos = parse_time("2000-02-29T00:00:01.5Z").unwrap();
        assert!((nanos - 951_782_401.5).abs() < 1e-6);
        assert_eq!(
            parse_time("2026-11-27T04:29:46+01:00"),
            Some(1_795_750_186.0)
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn states_round_trip_through_parts() {
        let d = DeploymentId {
            project: "shop".into(),
            env: "production".into(),
        };
        let mut s = State::new(d);
        s.serial = 7;
        let parts = encode(&s);
        assert_eq!(parts.len(), 1);
        assert_eq!(decode(&parts, "x").unwrap(), s);
        assert!(decode(&[b"not gzip".to_vec()], "x").is_err());
    }

    #[test]
    fn names_fit_swarm_and_keys_differ() {
        let a = DeploymentId {
            project: "a".repeat(63),
            env: "preview-123456".into(),
        };
        let name = part_name(&key(&a), 99_999_999, 99_999_999, 99);
        assert!(name.len() <= 64, "{name}");
        let b = DeploymentId {
            project: "shop".into(),
            env: "staging".into(),
        };
        assert_ne!(key(&a), key(&b));
        assert_eq!(key(&b).len(), 16);
    }
}
