//! The platform edge on the real Swarm, through a real Traefik: routing of every environment's
//! hosts, onboarding a project without disturbing the others, zero-downtime updates and
//! automatic rollback seen from a client, tenant isolation on the overlay networks, and the
//! proxy's internal endpoints (its `traefik` entrypoint, its metrics) closed to tenants.
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

use crate::harness::{cleanup_project, docker, expect_code, inspect, stdout, text, World};
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
    versions: BTreeMap<String, u64>,
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
// Routing, onboarding, zero downtime
// ---------------------------------------------------------------------------------------------

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

/// `shop`: `web` (2 replicas, the primary route plus a custom host `www-<stack>.<domain>`) and
/// `api` (its default host `api-<stack>.<domain>`, plus the path prefix `/version` of the
/// primary host). Each answer names its stack and service (`project=<stack>.<service>`); the
/// api's `/version` answers `api`. Production, staging and preview environments.
fn shop(name: &str, domain: &str, image: &str) -> String {
    format!(
        r#"variable pr {{
  type    = number
  default = 0
}}

project {name} {{
  service web {{
    image    = "{image}"
    replicas = 2

    env {{
      BERTH_DEMO_PROJECT = "${{deployment.stack}}.web"
    }}

{HEALTH}
    route {{
      primary = true
      port    = 8080
    }}

    route {{
      host = "www-${{deployment.stack}}.{domain}"
      port = 8080
    }}
  }}

  service api {{
    image = "berth/demo:1"

    env {{
      BERTH_DEMO_PROJECT = "${{deployment.stack}}.api"
      BERTH_DEMO_VERSION = "api"
    }}

{HEALTH}
    route {{
      port = 8080
    }}

    route {{
      host = "${{deployment.stack}}.{domain}"
      path = "/version"
      port = 8080
    }}
  }}

  environment production {{}}

  environment staging {{
    service web {{
      replicas = 1
    }}
  }}

  environment preview {{
    service web {{
      replicas = 1
    }}
  }}
}}
"#
    )
}

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

#[test]
fn routes_answer_onboarding_disturbs_nobody_and_updates_drop_no_request() {
    let mut e = Edge::new();
    let shop_name = e.world.project("shop");
    let newco_name = e.world.project("newco");
    let platform = e.platform_block();
    e.world.write(
        "main.berth",
        &format!("{platform}{}", shop(&shop_name, &e.domain, "berth/demo:1")),
    );

    // (a) Routing: each environment's hosts answer through the proxy with the right service.
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("platform/proxy/service.traefik"),
        "the first routed apply creates the proxy:\n{}",
        text(&out)
    );
    eprintln!(
        "edge: platform + production applied in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // Staging and the preview at once: both claim a free edge slot, and creating the claim
    // decides which apply gets which.
    let staging = e
        .world
        .command(&[
            "apply",
            "--auto-approve",
            "--project",
            &shop_name,
            "--env",
            "staging",
            e.world.dir_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("berth runs");
    let preview = e.apply(&shop_name, "preview", &["--var", "pr=42"]);
    expect_code(&staging.wait_with_output().expect("berth runs"), 0);
    expect_code(&preview, 0);

    let stacks = [
        shop_name.clone(),
        format!("{shop_name}-staging"),
        format!("{shop_name}-pr-42"),
    ];
    for stack in &stacks {
        let primary = e.host(stack);
        let body = get_ok(&primary, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.web").as_str()),
            "{primary}: {body}"
        );
        let api = e.host(&format!("api-{stack}"));
        let body = get_ok(&api, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.api").as_str()),
            "{api}: {body}"
        );
        let www = e.host(&format!("www-{stack}"));
        let body = get_ok(&www, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.web").as_str()),
            "{www}: {body}"
        );
        // The path prefix goes to the api; the rest of the primary host stays with web.
        assert_eq!(get_ok(&primary, "/version"), "api\n", "{primary}/version");
        assert_eq!(get_ok(&primary, "/health"), "ok\n", "{primary}/health");
    }
    let unrouted = e.host("nobody");
    assert_eq!(
        get(&unrouted, "/", Duration::from_secs(10)),
        Ok((404, "404 page not found\n".to_string())),
        "a host nobody routes gets Traefik's own 404"
    );

    let status = e.berth(&["status", "--format", "json"]);
    expect_code(&status, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).expect("status JSON");
    let urls: BTreeSet<String> = json["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .flat_map(|d| d["routes"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["url"].as_str().map(str::to_string))
        .collect();
    for stack in &stacks {
        for url in [
            // The proxy publishes HTTP on 18080, so the URLs say so.
            format!("http://{}:{HTTP_PORT}/", e.host(stack)),
            format!("http://{}:{HTTP_PORT}/", e.host(&format!("api-{stack}"))),
            format!("http://{}:{HTTP_PORT}/", e.host(&format!("www-{stack}"))),
            format!("http://{}:{HTTP_PORT}/version", e.host(stack)),
        ] {
            assert!(urls.contains(&url), "status lacks {url}: {urls:#?}");
        }
    }

    // (b) Onboarding: applying another routed project fails no request to this one and leaves
    // the proxy's task alone. Discovery is measured from the end of the apply (without its own
    // route check) to the first 200 through the proxy.
    e.world.write("newco.berth", &routed(&newco_name, ""));
    let proxy_before = proxy_task();
    let platform_state = e.world.state.join("platform/proxy/state.json");
    let platform_before = std::fs::read_to_string(&platform_state).expect("the platform's state");
    let primary = e.host(&shop_name);
    let load = Load::start(&primary, 2, 5_000, Duration::from_secs(120));
    let out = e.apply(&newco_name, "production", &["--no-verify"]);
    let discovery = first_ok(&e.host(&newco_name), "/", Duration::from_secs(30));
    load.mark();
    let tally = load.finish(300, Duration::from_millis(500));
    expect_code(&out, 0);
    let discovery = discovery.expect("the new project answers through the proxy within 30 s");
    eprintln!(
        "edge: onboarding: {} requests to {primary} ({} during the apply), {} failed, slowest {} ms; discovery {} ms after the apply ended",
        tally.total(),
        tally.before_mark,
        tally.failed,
        tally.slowest.as_millis(),
        discovery.as_millis()
    );
    assert!(tally.total() >= 300, "{tally:?}");
    assert_eq!(
        tally.failed, 0,
        "requests failed while onboarding: {tally:?}"
    );
    assert_eq!(
        proxy_task(),
        proxy_before,
        "onboarding a project replaced the proxy's task"
    );
    // With the proxy running, the project's apply left the platform out of its scope: it
    // neither locked nor recorded it.
    assert_eq!(
        std::fs::read_to_string(&platform_state).expect("the platform's state"),
        platform_before,
        "a project's apply recorded the platform although the proxy exists"
    );

    // (c) Zero downtime: demo:1 -> demo:2 (2 replicas, start-first, health-checked) under a
    // concurrent request loop.
    let web = format!("{shop_name}_web");
    assert_eq!(inspect(&web, "{{.Spec.UpdateConfig.Order}}"), "start-first");
    e.world.write(
        "main.berth",
        &format!("{platform}{}", shop(&shop_name, &e.domain, "berth/demo:2")),
    );
    let load = Load::start(&primary, 4, 40_000, Duration::from_secs(150));
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    let took = t.elapsed();
    load.mark();
    let tally = load.finish(1_000, Duration::from_secs(2));
    expect_code(&out, 0);
    eprintln!(
        "edge: rolling update demo:1 -> demo:2 in {:.1}s: {} requests ({} during the apply), {} failed, slowest {} ms, versions {:?}",
        took.as_secs_f64(),
        tally.total(),
        tally.before_mark,
        tally.failed,
        tally.slowest.as_millis(),
        tally.versions
    );
    assert!(tally.total() >= 1_000, "{tally:?}");
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rolling update: {tally:?}"
    );
    assert_eq!(tally.last_version(), Some("2"), "{tally:?}");
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );

    // A version whose health check fails is rolled back; the route keeps answering version 2.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            shop(&shop_name, &e.domain, "berth/demo:broken")
        ),
    );
    let load = Load::start(&primary, 2, 40_000, Duration::from_secs(180));
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    let took = t.elapsed();
    load.mark();
    let tally = load.finish(300, Duration::from_secs(1));
    eprintln!(
        "edge: broken version rolled back in {:.1}s: {} requests, {} failed, versions {:?}",
        took.as_secs_f64(),
        tally.total(),
        tally.failed,
        tally.versions
    );
    expect_code(&out, 1);
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rollback: {tally:?}"
    );
    assert_eq!(
        tally.versions.keys().collect::<Vec<_>>(),
        ["2"],
        "only version 2 answered: {tally:?}"
    );
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );
}

// ---------------------------------------------------------------------------------------------
// Isolation
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
fn addresses(container: &str) -> BTreeMap<String, String> {
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
fn connect_from(container: &str, target: &str) -> (bool, String) {
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

#[test]
fn tenants_reach_only_themselves_and_declared_links() {
    let mut e = Edge::new();
    let a = e.world.project("a");
    let b = e.world.project("b");
    let c = e.world.project("c");
    let platform = e.platform_block();
    let limits = "    resources {\n      limits {\n        cpu    = 0.5\n        memory = 32M\n      }\n    }\n";
    e.world.write(
        "main.berth",
        &format!(
            r#"{platform}project {a} {{
  service web {{
    image = "berth/demo:1"

{HEALTH}
    route {{
      primary = true
      port    = 8080
    }}
  }}

  service db {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"

{limits}  }}
}}

project {c} {{
  network partners {{
    shared_with = ["{b}"]
  }}

  service svc {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"
    networks      = [network.partners]

{limits}  }}
}}

project {b} {{
  service db {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"
    networks      = [project.{c}.network.partners]

{limits}  }}
}}
"#
        ),
    );
    // C owns the shared network, so it goes before B.
    for p in [&a, &c, &b] {
        expect_code(&e.apply(p, "production", &[]), 0);
    }

    let a_web = container_of(&format!("{a}_web"));
    let b_db = container_of(&format!("{b}_db"));
    let (a_pid, b_pid) = (pid_of(&a_web), pid_of(&b_db));

    // B's task addresses, seen from A's web: an address outside A's subnets leaves through the
    // gateway (a route `via`) and off this machine, where something else may answer, so it is
    // never connected to and counts as unreachable. Only on-link addresses would be tried.
    let b_ips = addresses(&b_db);
    assert!(
        b_ips.len() >= 2,
        "B's db is on its own network and the shared one: {b_ips:?}"
    );
    let mut off_link = Vec::new();
    let mut on_link = Vec::new();
    for (network, ip) in &b_ips {
        let route = ip_in(&a_pid, &["route", "get", ip]);
        assert!(route.status.success(), "{}", text(&route));
        if stdout(&route).contains(" via ") {
            off_link.push(format!("{network}={ip}"));
        } else {
            on_link.push((network.clone(), ip.clone(), stdout(&route)));
        }
    }

    // A name the embedded DNS cannot answer is forwarded to the host's resolvers, off this
    // machine. Before any name is looked up, everything off-link is made unreachable in both
    // namespaces (this test's own tasks, removed at the end), so such a forward fails locally.
    for pid in [&a_pid, &b_pid] {
        for half in ["0.0.0.0/1", "128.0.0.0/1"] {
            let out = ip_in(pid, &["route", "add", "unreachable", half]);
            assert!(out.status.success(), "{}", text(&out));
        }
    }

    for (network, ip, route) in &on_link {
        let (open, said) = connect_from(&a_web, &format!("{ip}:8080"));
        assert!(
            !open,
            "A's web opened a connection to B's task at {ip} ({network}), on-link: {route}\n{said}"
        );
    }
    eprintln!(
        "edge: isolation: {} of B's {} task addresses are off-link from A (not connected to, unreachable): {off_link:?}",
        off_link.len(),
        b_ips.len()
    );

    // A's services reach each other by name.
    let (open, said) = connect_from(&a_web, &format!("{a}_db:8080"));
    assert!(open, "A's web cannot reach A's db:\n{said}");

    // B's name does not resolve from A: it is in none of the service tables of A's networks,
    // which is what the embedded DNS answers from (nor is C's), and a lookup fails.
    let a_networks = addresses(&a_web);
    let mut visible = BTreeSet::new();
    for network in a_networks.keys() {
        let out = docker(&[
            "network",
            "inspect",
            "--verbose",
            network,
            "--format",
            "{{range $name, $s := .Services}}{{$name}}\n{{end}}",
        ]);
        visible.extend(stdout(&out).lines().map(str::to_string));
    }
    assert!(visible.contains(&format!("{a}_db")), "{visible:?}");
    for other in [format!("{b}_db"), format!("{c}_svc")] {
        assert!(
            !visible.contains(&other),
            "{other} is visible on A's networks {a_networks:?}"
        );
    }
    let (open, said) = connect_from(&a_web, &format!("{b}_db:8080"));
    assert!(!open, "A's web reached B's db by name:\n{said}");
    assert!(
        said.contains("cannot resolve"),
        "B's name should not resolve from A:\n{said}"
    );

    // A's edge slot network holds A's routed tasks and the proxy, nobody else.
    let slot = inspect(
        &format!("{a}_web"),
        "{{index .Spec.Labels \"traefik.swarm.network\"}}",
    );
    assert!(slot.starts_with("platform_edge-"), "{slot}");
    let members = docker(&[
        "network",
        "inspect",
        &slot,
        "--format",
        "{{range $id, $c := .Containers}}{{$c.Name}}\n{{end}}",
    ]);
    let members: Vec<String> = stdout(&members)
        .lines()
        .filter(|n| !n.is_empty() && !n.ends_with("-endpoint"))
        .map(str::to_string)
        .collect();
    assert!(
        members.iter().any(|m| m.starts_with(&format!("{a}_web."))),
        "{slot}: {members:?}"
    );
    assert_eq!(
        members
            .iter()
            .filter(|m| m.starts_with(&format!("{PROXY}.")))
            .count(),
        1,
        "{slot}: {members:?}"
    );
    assert!(
        members
            .iter()
            .all(|m| m.starts_with(&format!("{a}_web.")) || m.starts_with(&format!("{PROXY}."))),
        "{slot} holds others than A's routed tasks and the proxy: {members:?}"
    );

    // The declared link: B reaches C's service by name over C's shared network.
    let (open, said) = connect_from(&b_db, &format!("{c}_svc:8080"));
    assert!(open, "B cannot reach C over the shared network:\n{said}");
}

// ---------------------------------------------------------------------------------------------
// The proxy's internal endpoints
// ---------------------------------------------------------------------------------------------

/// The host port of the proxy's metrics entrypoint in this test; no other edge test uses it.
const METRICS_PORT: u16 = 18082;
/// The metrics entrypoint's port inside the proxy's container, which `METRICS_PORT` publishes.
const METRICS_TARGET: u16 = 8082;

/// `/berth-demo get URL` inside a container: the HTTP status it got (`Some(200)` for any 2xx,
/// `None` without an answer) and everything it printed.
fn get_from(container: &str, url: &str) -> (Option<u16>, String) {
    let out = docker(&[
        "exec",
        container,
        "/berth-demo",
        "get",
        url,
        "--timeout-ms",
        "2000",
    ]);
    let said = text(&out);
    let status = if out.status.success() {
        Some(200)
    } else {
        said.split("first failure: status ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
    };
    (status, said)
}

/// The running container of a tenant's service, made ready to connect from: each of `on_link`
/// must be on-link from its namespace (no `via` route), and everything off-link is made
/// unreachable there (the namespace is the test's own, removed with the task), whatever the
/// test does next.
fn tenant_task(service: &str, on_link: &[&str]) -> String {
    let container = container_of(service);
    let pid = pid_of(&container);
    for ip in on_link {
        let route = ip_in(&pid, &["route", "get", ip]);
        assert!(
            route.status.success() && !stdout(&route).contains(" via "),
            "{ip} is not on-link from {service}'s task: {}",
            text(&route)
        );
    }
    for half in ["0.0.0.0/1", "128.0.0.0/1"] {
        let out = ip_in(&pid, &["route", "replace", "unreachable", half]);
        assert!(out.status.success(), "{}", text(&out));
    }
    container
}

/// One scrape of the metrics port on loopback, as a Prometheus on this machine would do.
fn scrape() -> Result<berth_testkit::client::Answer, String> {
    berth_testkit::client::http_get(
        METRICS_PORT,
        "localhost",
        "/metrics",
        Duration::from_secs(5),
    )
}

#[test]
fn the_proxys_internal_endpoints_are_unreachable_from_tenants() {
    let mut e = Edge::new();
    assert!(
        std::net::TcpListener::bind(("0.0.0.0", METRICS_PORT)).is_ok(),
        "port {METRICS_PORT} is in use on this machine; this test publishes the proxy's metrics there"
    );
    let t = e.world.project("t");
    let gateway = berth_testkit::pebble::gwbridge_gateway()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let config = |allow: &str| {
        format!(
            "{}{}",
            e.platform_block_with(&format!(
                "    metrics_port  = {METRICS_PORT}\n    metrics_allow = [\"{allow}\"]\n"
            )),
            routed(&t, "")
        )
    };
    // First the allow list names only addresses no machine here has (TEST-NET-2), as for a
    // Prometheus server elsewhere.
    e.world.write("main.berth", &config("198.51.100.0/24"));
    expect_code(&e.apply(&t, "production", &[]), 0);

    let proxy = container_of(PROXY);
    let slot = inspect(
        &format!("{t}_web"),
        "{{index .Spec.Labels \"traefik.swarm.network\"}}",
    );
    let proxy_ips = addresses(&proxy);
    let proxy_edge = proxy_ips
        .get(&slot)
        .unwrap_or_else(|| panic!("the proxy has no address on {slot}: {proxy_ips:?}"))
        .clone();
    let web = tenant_task(&format!("{t}_web"), &[&proxy_edge, &gateway]);

    // (a) Traefik's internal entrypoint listens on the proxy container's loopback: the proxy's
    // address on the tenant's edge network refuses port 8080 (ping, and the API's internals),
    // while its HTTP entrypoint there answers, as it must for routing.
    let (open, said) = connect_from(&web, &format!("{proxy_edge}:80"));
    assert!(
        open,
        "the tenant cannot reach the proxy's HTTP entrypoint at {proxy_edge}:80:\n{said}"
    );
    let (open, said) = connect_from(&web, &format!("{proxy_edge}:8080"));
    assert!(
        !open && said.contains("refused"),
        "the proxy's internal entrypoint at {proxy_edge}:8080 should refuse the tenant:\n{said}"
    );
    // Inside the container, ping answers there (what a health check of the proxy would call).
    let ping = docker(&[
        "exec",
        &proxy,
        "/traefik",
        "healthcheck",
        "--ping",
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ]);
    assert!(
        ping.status.success(),
        "ping inside the proxy: {}",
        text(&ping)
    );

    // (b) The metrics entrypoint on the tenant's edge network: the allow list refuses the
    // tenant (its address comes from the pool, which `metrics_allow` may not overlap). Traefik
    // reads the router from the proxy's labels within a poll or two; until then it is a 404.
    let deadline = Instant::now() + Duration::from_secs(30);
    let edge_metrics = format!("http://{proxy_edge}:{METRICS_TARGET}/metrics");
    let (status, said) = loop {
        let (status, said) = get_from(&web, &edge_metrics);
        if status == Some(403) || Instant::now() > deadline {
            break (status, said);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status, Some(403), "the tenant at {edge_metrics}:\n{said}");
    assert!(!said.contains("traefik_"), "{said}");

    // Through the node: the tenant's on-link gateway and this machine's loopback both reach
    // the published port, and neither is allowed.
    let via_gateway = format!("http://{gateway}:{METRICS_PORT}/metrics");
    let (status, said) = get_from(&web, &via_gateway);
    assert_eq!(status, Some(403), "the tenant at {via_gateway}:\n{said}");
    let host = scrape().unwrap_or_else(|e| panic!("scrape on 127.0.0.1:{METRICS_PORT}: {e}"));
    assert_eq!(host.status, 403, "{}", host.body);

    // (c) Allowed: the allow list names the gateway, where this machine's own scrape arrives
    // from (Docker's proxy of the published port connects from there). Only the proxy's labels
    // change, so its task stays.
    let before = proxy_task();
    e.world
        .write("main.berth", &config(&format!("{gateway}/32")));
    expect_code(&e.berth(&["apply", "--auto-approve"]), 0);
    assert_eq!(
        proxy_task(),
        before,
        "changing metrics_allow replaced the proxy's task"
    );
    // One request through the proxy, so that the metrics count the tenant's service.
    get_ok(&e.host(&t), "/");
    let (took, answer) = berth_testkit::client::until_status(Duration::from_secs(30), 200, scrape)
        .unwrap_or_else(|e| panic!("the allowed scrape on 127.0.0.1:{METRICS_PORT}: {e}"));
    assert!(answer.body.contains("traefik_"), "{}", answer.body);
    assert!(
        answer.body.contains(&format!("{t}_web")),
        "the metrics name the tenant's service:\n{}",
        answer.body
    );
    eprintln!(
        "edge: metrics: allowed scrape answered 200 {} ms after the apply ({} bytes)",
        took.as_millis(),
        answer.body.len()
    );
    // The tenant still gets none on the edge network. (Its task again: on a loaded machine
    // Swarm may have replaced it after failed health checks.)
    let web = tenant_task(&format!("{t}_web"), &[&proxy_edge, &gateway]);
    let (status, said) = get_from(&web, &edge_metrics);
    assert_eq!(status, Some(403), "the tenant at {edge_metrics}:\n{said}");
    // But the gateway is the node: a tenant's connection to the published port through it
    // arrives from the same address as the node's own scrape, and gets the metrics too. This is
    // why `metrics_allow` must name scrapers off the node (E0200's explanation), and why this
    // test allows the gateway only after the checks above.
    let (status, said) = get_from(&web, &via_gateway);
    assert_eq!(
        status,
        Some(200),
        "the tenant at {via_gateway} with the gateway allowed: the allow list was expected not \
         to tell it from the node; if that changed, update E0200's explanation and \
         docs/planner.md:\n{said}"
    );
}
