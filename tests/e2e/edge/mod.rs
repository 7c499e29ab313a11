//! The platform edge on the real Swarm, through a real Traefik: routing of every environment's
//! hosts, onboarding a project without disturbing the others, zero-downtime updates and
//! automatic rollback seen from a client, tenant isolation on the overlay networks, the
//! proxy's internal endpoints (its `traefik` entrypoint, its metrics) closed to tenants, the
//! platform's own serial, and an apply whose route does not answer through the proxy.
//!
//! The proxy is a cluster-wide singleton (`platform_traefik`), so the tests of this module run
//! one at a time (a static mutex, and a file lock against other test processes). Each creates the platform from its own configuration, which
//! publishes the proxy on unusual ports (18080, 18443), and removes it when it ends, passed or
//! failed (`berth destroy --platform`, in a guard dropped after the projects' cleanup). A proxy
//! these tests did not create is never touched: the test fails and says so.
//!
//! Network rule: requests go to 127.0.0.1 only; connections from containers go only to on-link
//! addresses of this test's own containers and, in the metrics test, to the gateway of
//! `docker_gwbridge`, an address of this machine on-link from the task (checked, as every other
//! on-link address, with `ip route get`). Every request loop is bounded in count and time.

use crate::harness::{cleanup_project, docker, stdout, text, World};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) const HTTP_PORT: u16 = 18080;
pub(crate) const HTTPS_PORT: u16 = 18443;
pub(crate) const PROXY: &str = "platform_traefik";

/// Serialises the tests of this module: they share the one proxy.
static EDGE: Mutex<()> = Mutex::new(());
/// Whether a proxy that this test binary created may exist (so that it may be removed).
static OURS: AtomicBool = AtomicBool::new(false);

// ---------------------------------------------------------------------------------------------
// The platform and the test's world
// ---------------------------------------------------------------------------------------------

/// One edge test: its world (projects cleaned first when dropped), then the platform it
/// created (destroyed next), then the module's lock (released last). Fields drop in order.
pub(crate) struct Edge {
    pub(crate) world: World,
    _platform: PlatformGuard,
    /// No heavy test (`harness::heavy`) runs beside an edge test: a hundred applies at once
    /// starve the proxy's start and polls, and then the route checks measure the machine.
    _heavy: MutexGuard<'static, ()>,
    _serial: MutexGuard<'static, ()>,
    /// The same between test processes on this machine (an advisory lock on a file, released
    /// by the OS when the process ends however it ends).
    _machine: std::fs::File,
    /// Every hostname routed by this test ends with it: `<world id>.test`.
    pub(crate) domain: String,
}

impl Edge {
    pub(crate) fn new() -> Edge {
        // A test that failed while holding the lock poisons it; the next one still runs.
        let serial = EDGE.lock().unwrap_or_else(|e| e.into_inner());
        let machine = machine_lock();
        let heavy = crate::harness::heavy();
        let world = World::new();
        if proxy_exists() {
            if OURS.load(Ordering::SeqCst) {
                // Left by an earlier test of this run whose removal failed: ours to remove.
                destroy_platform();
            }
            assert!(
                !proxy_exists(),
                "a `{PROXY}` service exists that these tests did not create (another berth \
                 platform runs on this engine, e.g. the quickstart's). The edge tests need to \
                 create their own proxy and will not touch that one: remove it (`berth destroy \
                 --platform`) or run these tests on another engine."
            );
        }
        if OURS.load(Ordering::SeqCst) && acme_volume_exists() {
            destroy_platform();
        }
        assert!(
            !acme_volume_exists(),
            "a `platform_acme` volume exists that these tests did not create (a berth platform \
             with ACME was destroyed on this engine and kept its certificates). The TLS tests \
             would reuse its ACME account: remove it (`docker volume rm platform_acme`)."
        );
        for port in [HTTP_PORT, HTTPS_PORT] {
            assert!(
                std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(),
                "port {port} is in use on this machine; the edge tests publish their proxy there"
            );
        }
        // From here on, a proxy that appears is the one our first apply creates.
        OURS.store(true, Ordering::SeqCst);
        let domain = format!("{}.test", world.id);
        Edge {
            world,
            _platform: PlatformGuard,
            _heavy: heavy,
            _serial: serial,
            _machine: machine,
            domain,
        }
    }

    /// The `platform` block every configuration of these tests carries: the first apply of a
    /// routed project creates the proxy from it, and `apply` verifies routes on its port.
    /// Every project of the test so far gets a grant large enough for its environments.
    pub(crate) fn platform_block(&self) -> String {
        self.platform_block_with("")
    }

    /// The same, with more lines in its `proxy` block.
    fn platform_block_with(&self, proxy_extra: &str) -> String {
        let grants: String = self
            .world
            .projects
            .iter()
            .map(|p| format!("\n  grant {p} {{\n    quota {{\n      limit_cpu    = 16\n      limit_memory = 4G\n      replicas     = 30\n    }}\n  }}\n"))
            .collect();
        format!(
            "platform {{\n  domain = \"{}\"\n\n  proxy {{\n    http_port  = {HTTP_PORT}\n    https_port = {HTTPS_PORT}\n    edge_slots = 8\n{proxy_extra}  }}\n{grants}}}\n\n",
            self.domain
        )
    }

    pub(crate) fn berth(&self, args: &[&str]) -> Output {
        let mut full = args.to_vec();
        full.push(self.world.dir_str());
        self.world.berth(&full)
    }

    pub(crate) fn apply(&self, project: &str, env: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "apply",
            "--auto-approve",
            "--project",
            project,
            "--env",
            env,
        ];
        args.extend_from_slice(extra);
        self.berth(&args)
    }

    pub(crate) fn host(&self, stack: &str) -> String {
        format!("{stack}.{}", self.domain)
    }
}

/// Waits (bounded) until no other process on this machine runs these tests, e.g. a second
/// `cargo test` of the end-to-end tests.
fn machine_lock() -> std::fs::File {
    let path = std::env::temp_dir().join("berth-e2e-edge.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("the edge tests' lock file opens");
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return file,
            Err(std::fs::TryLockError::WouldBlock)
                if start.elapsed() < Duration::from_secs(600) =>
            {
                std::thread::sleep(Duration::from_millis(500))
            }
            Err(e) => panic!(
                "another process has been running the edge tests for 10 minutes ({}): {e}",
                path.display()
            ),
        }
    }
}

/// Removes the platform when dropped, if this test binary created it.
struct PlatformGuard;

impl Drop for PlatformGuard {
    fn drop(&mut self) {
        if OURS.load(Ordering::SeqCst) {
            destroy_platform();
        }
    }
}

fn acme_volume_exists() -> bool {
    docker(&["volume", "inspect", "platform_acme"])
        .status
        .success()
}

fn proxy_exists() -> bool {
    docker(&["service", "inspect", PROXY]).status.success()
}

/// `berth destroy --platform`; by labels if that fails, so that nothing is left behind.
fn destroy_platform() {
    let dir = std::env::temp_dir().join(format!("berth-edge-destroy-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        // The platform's ACME volume is this test binary's too (`Edge::new` checked that none
        // existed): it goes with the rest.
        .args([
            "destroy",
            "--platform",
            "--auto-approve",
            "--allow-data-loss",
        ])
        .arg(&dir)
        .env("BERTH_STATE_DIR", dir.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("DOCKER_HOST")
        .output();
    let ok = matches!(&out, Ok(o) if o.status.success());
    if !ok {
        if let Ok(o) = &out {
            eprintln!("berth destroy --platform failed:\n{}", text(o));
        }
        cleanup_project("platform");
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !proxy_exists() && !acme_volume_exists() {
        OURS.store(false, Ordering::SeqCst);
    }
}

/// The proxy's running task and its container's start time: both change when Swarm replaces
/// the task.
fn proxy_task() -> (String, String) {
    let task = docker(&[
        "service",
        "ps",
        PROXY,
        "-q",
        "--no-trunc",
        "--filter",
        "desired-state=running",
    ]);
    let container = container_of(PROXY);
    let started = docker(&["inspect", &container, "--format", "{{.State.StartedAt}}"]);
    (
        stdout(&task).trim().to_string(),
        stdout(&started).trim().to_string(),
    )
}

/// The ID of one running container of a service (this engine is the only node).
pub(crate) fn container_of(service: &str) -> String {
    let out = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ]);
    let text = stdout(&out);
    let id = text.lines().next().unwrap_or_default().trim().to_string();
    assert!(!id.is_empty(), "no running container of {service}");
    id
}

// ---------------------------------------------------------------------------------------------
// HTTP through the proxy, and bounded request loops
// ---------------------------------------------------------------------------------------------

/// One `GET` to the proxy's HTTP port on loopback with the given Host: (status, body).
pub(crate) fn get(host: &str, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    berth_testkit::client::http_get(HTTP_PORT, host, path, timeout).map(|a| (a.status, a.body))
}

/// `GET` that must answer 200; returns the body.
#[track_caller]
pub(crate) fn get_ok(host: &str, path: &str) -> String {
    match get(host, path, Duration::from_secs(10)) {
        Ok((200, body)) => body,
        other => panic!("GET http://{host}{path} through the proxy: {other:?}"),
    }
}

/// A field of the demo's `/` answer: `berth-demo version=2 host=<container> project=<p>`.
pub(crate) fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

/// Polls a host until it answers 200 (bounded), returning how long that took.
fn first_ok(host: &str, path: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok((200, _)) = get(host, path, Duration::from_secs(2)) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// What a request loop saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    /// The first few failures, for the assertion message.
    pub(crate) errors: Vec<String>,
    /// Answers per `project=` of the demo: who answered.
    pub(crate) projects: BTreeMap<String, u64>,
    /// Answers per `version=` of the demo.
    pub(crate) versions: BTreeMap<String, u64>,
    /// The containers that answered (`host=`).
    hosts: BTreeSet<String>,
    /// The version of the last answer, by completion time.
    last: Option<(Instant, String)>,
    /// Answers completed before `mark` was called (e.g. while an apply ran).
    before_mark: u64,
    slowest: Duration,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        for e in other.errors {
            if self.errors.len() < 5 {
                self.errors.push(e);
            }
        }
        for (v, n) in other.versions {
            *self.versions.entry(v).or_default() += n;
        }
        for (p, n) in other.projects {
            *self.projects.entry(p).or_default() += n;
        }
        self.hosts.extend(other.hosts);
        if other.last.as_ref().map(|l| l.0) > self.last.as_ref().map(|l| l.0) {
            self.last = other.last;
        }
        self.before_mark += other.before_mark;
        self.slowest = self.slowest.max(other.slowest);
    }

    fn total(&self) -> u64 {
        self.ok + self.failed
    }

    fn last_version(&self) -> Option<&str> {
        self.last.as_ref().map(|l| l.1.as_str())
    }
}

/// A bounded loop of `GET /` from several threads, until `finish`, a request limit or a time
/// limit, whichever comes first.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    marked: Arc<AtomicBool>,
    issued: Arc<AtomicU64>,
    workers: Vec<JoinHandle<Tally>>,
    started: Instant,
    limit: Duration,
}

impl Load {
    pub(crate) fn start(host: &str, workers: usize, max_requests: u64, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let marked = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let handles = (0..workers)
            .map(|_| {
                let (stop, marked, issued) = (stop.clone(), marked.clone(), issued.clone());
                let host = host.to_string();
                std::thread::spawn(move || {
                    let mut t = Tally::default();
                    while !stop.load(Ordering::SeqCst)
                        && started.elapsed() < limit
                        && issued.fetch_add(1, Ordering::SeqCst) < max_requests
                    {
                        let begun = Instant::now();
                        let result = get(&host, "/", Duration::from_secs(10));
                        t.slowest = t.slowest.max(begun.elapsed());
                        if !marked.load(Ordering::SeqCst) {
                            t.before_mark += 1;
                        }
                        match result {
                            Ok((200, body)) => {
                                t.ok += 1;
                                let v = field(&body, "version").unwrap_or("?").to_string();
                                *t.versions.entry(v.clone()).or_default() += 1;
                                if let Some(h) = field(&body, "host") {
                                    t.hosts.insert(h.to_string());
                                }
                                let p = field(&body, "project").unwrap_or("?").to_string();
                                *t.projects.entry(p).or_default() += 1;
                                t.last = Some((Instant::now(), v));
                            }
                            other => {
                                t.failed += 1;
                                if t.errors.len() < 5 {
                                    t.errors.push(format!(
                                        "{:.1}s: {other:?}",
                                        started.elapsed().as_secs_f64()
                                    ));
                                }
                            }
                        }
                        // A little pacing leaves the two cores to Swarm and the apply.
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    t
                })
            })
            .collect();
        Load {
            stop,
            marked,
            issued,
            workers: handles,
            started,
            limit,
        }
    }

    /// Answers completed from now on no longer count as `before_mark`.
    fn mark(&self) {
        self.marked.store(true, Ordering::SeqCst);
    }

    /// Keeps going for at least `after` more, and until `min` requests were sent (bounded by
    /// the time limit), then stops and sums up.
    pub(crate) fn finish(self, min: u64, after: Duration) -> Tally {
        let until = Instant::now() + after;
        while (Instant::now() < until || self.issued.load(Ordering::SeqCst) < min)
            && self.started.elapsed() < self.limit
            && !self.workers.iter().all(|w| w.is_finished())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop.store(true, Ordering::SeqCst);
        let mut total = Tally::default();
        for w in self.workers {
            total.merge(w.join().expect("a load thread panicked"));
        }
        total
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers the tests of several modules share
// ---------------------------------------------------------------------------------------------

/// Runs `ip ARGS` in the network namespace of the process `pid`.
pub(crate) fn ip_in(pid: &str, args: &[&str]) -> Output {
    let mut full = vec!["-t", pid, "-n", "ip"];
    full.extend_from_slice(args);
    std::process::Command::new("nsenter")
        .args(&full)
        .output()
        .expect("nsenter runs")
}

pub(crate) fn pid_of(container: &str) -> String {
    stdout(&docker(&[
        "inspect",
        container,
        "--format",
        "{{.State.Pid}}",
    ]))
    .trim()
    .to_string()
}

/// A container's IPv4 addresses by network name.
pub(crate) fn addresses(container: &str) -> BTreeMap<String, String> {
    let out = docker(&[
        "inspect",
        container,
        "--format",
        "{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}}\n{{end}}",
    ]);
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(_, ip)| !ip.is_empty())
        .map(|(n, ip)| (n.to_string(), ip.to_string()))
        .collect()
}

/// `/berth-demo connect TARGET` inside a container: (connected, what it printed).
pub(crate) fn connect_from(container: &str, target: &str) -> (bool, String) {
    let out = docker(&[
        "exec",
        container,
        "/berth-demo",
        "connect",
        target,
        "--timeout-ms",
        "2000",
    ]);
    (out.status.success(), text(&out))
}

pub(crate) const HEALTH: &str = r#"    health {
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = 2s
      timeout  = 1500ms
      retries  = 3
    }

    resources {
      limits {
        cpu    = 1
        memory = 64M
      }
    }
"#;

/// One routed demo service (onboarding here, TLS in `tls.rs`); `route_extra` adds lines to its
/// route block (e.g. `tls = true`).
pub(crate) fn routed(name: &str, route_extra: &str) -> String {
    format!(
        r#"project {name} {{
  service web {{
    image = "berth/demo:1"

    env {{
      BERTH_DEMO_PROJECT = "{name}"
    }}

{HEALTH}
    route {{
      primary = true
      port    = 8080{route_extra}
    }}
  }}
}}
"#
    )
}

mod graph;
mod internal;
mod isolation;
mod jobs;
mod releases;
mod routing;
mod serials;
mod verify;
