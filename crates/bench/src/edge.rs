//! `berth-bench edge`: the platform edge on the real Swarm, through a real Traefik.
//!
//! - discovery: from the end of `berth apply --no-verify` that creates a routed project to its
//!   first 200 through the proxy (one sample per onboarded project);
//! - onboarding: failed requests to an existing project while those projects are applied;
//! - scaling: 1 to 10 replicas, until Swarm runs all ten and until all ten have answered
//!   through the proxy (distinct `host=` in the demo's answers);
//! - scale down 10 to 2, and a rolling update demo:1 -> demo:2 (2 replicas, start-first,
//!   health-checked): failed requests under a concurrent request loop;
//! - certificate: with the ACME resolver pointed at pebble (started here, see `pebble.rs`), from
//!   the start of the apply of a new TLS project to the first answer that a client trusting only
//!   pebble's root accepts.
//!
//! The proxy is a cluster-wide singleton: the benchmark refuses to start when a
//! `platform_traefik` exists, publishes its own proxy on unusual ports (`--http-port` 18080 and
//! `--https-port` 18443 by default) and removes it, and every project, at the end.
//! Requests go to 127.0.0.1 only, in bounded loops.

use crate::report;
use berth_testkit::client::{https_get, roots};
use berth_testkit::pebble::{gwbridge_gateway, Pebble};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) const PROXY: &str = "platform_traefik";
const DISCOVERY_TARGET: Duration = Duration::from_secs(2);
const SCALING_TARGET: Duration = Duration::from_secs(5);
const CERTIFICATE_TARGET: Duration = Duration::from_secs(30);

pub(crate) fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What one run created, removed when dropped (also on failure): the projects by
/// `berth destroy`, then the platform by `berth destroy --platform`; by labels if that fails.
pub(crate) struct Bench {
    pub(crate) berth: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) projects: Vec<String>,
    pub(crate) http_port: u16,
    pub(crate) domain: String,
    /// The health check's interval: a task is routed (Swarm reports it running) only once its
    /// first check passed, one interval after it started, so this bounds scaling.
    pub(crate) health_ms: u64,
    /// The platform block without its closing brace, and the projects granted in it so far:
    /// every project this run writes gets a grant large enough for the scaling measurement.
    pub(crate) platform: std::cell::RefCell<(String, Vec<String>)>,
}

impl Bench {
    /// A run's bench and its unique id (`<prefix><hex>`, also its domain's first label), with
    /// berth from `--berth` (the release build by default) and the proxy's HTTP port from
    /// `--http-port`; refused when a proxy exists that this run did not create.
    pub(crate) fn new(
        args: &[String],
        prefix: &str,
        health_ms: u64,
    ) -> Result<(Bench, String), String> {
        let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/berth");
        let berth = PathBuf::from(report::flag(args, "--berth", default.display().to_string()));
        let http_port: u16 = report::flag(args, "--http-port", 18080);
        if docker(&["service", "inspect", PROXY]).status.success() {
            return Err(format!(
                "a `{PROXY}` service exists; this benchmark creates and removes its own proxy and \
                 will not touch another one"
            ));
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let id = format!("{prefix}{:x}", nanos % 0xfffff);
        let dir = std::env::temp_dir().join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let bench = Bench {
            berth,
            dir,
            projects: Vec::new(),
            http_port,
            domain: format!("{id}.test"),
            health_ms,
            platform: Default::default(),
        };
        Ok((bench, id))
    }

    fn berth(&self, args: &[&str]) -> Output {
        Command::new(&self.berth)
            .args(args)
            .arg(&self.dir)
            .env("BERTH_STATE_DIR", self.dir.join("state"))
            .env("NO_COLOR", "1")
            .output()
            .expect("berth runs")
    }

    pub(crate) fn apply(&self, project: &str, verify: bool) -> Result<(), String> {
        let mut args = vec!["apply", "--auto-approve", "--project", project];
        if !verify {
            args.push("--no-verify");
        }
        let out = self.berth(&args);
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "berth apply --project {project} failed:\n{}",
                text(&out)
            ))
        }
    }

    pub(crate) fn host(&self, project: &str) -> String {
        format!("{project}.{}", self.domain)
    }

    /// Writes `<project>.berth`: one routed, health-checked demo service, over HTTPS with `tls`.
    fn write(&self, project: &str, image: &str, replicas: u32, tls: bool) {
        self.write_with(project, image, replicas, tls, "");
    }

    /// The same, with `extra` lines in the service block (a `canary`, in `release.rs`).
    pub(crate) fn write_with(
        &self,
        project: &str,
        image: &str,
        replicas: u32,
        tls: bool,
        extra: &str,
    ) {
        let interval = self.health_ms;
        let timeout = interval * 3 / 4;
        let config = format!(
            r#"project {project} {{
  service web {{
    image    = "{image}"
    replicas = {replicas}

    env {{
      BERTH_DEMO_PROJECT = "{project}"
    }}

    health {{
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = {interval}ms
      timeout  = {timeout}ms
      retries  = 3
    }}

    resources {{
      limits {{
        cpu    = 0.5
        memory = 32M
      }}
    }}

    route {{
      primary = true
      port    = 8080
      tls     = {tls}
    }}
{extra}  }}
}}
"#,
        );
        std::fs::write(self.dir.join(format!("{project}.berth")), config).unwrap();
        let mut platform = self.platform.borrow_mut();
        if !platform.1.iter().any(|p| p == project) {
            platform.1.push(project.to_string());
        }
        drop(platform);
        self.write_platform();
    }

    /// Writes `platform.berth` with a grant for every project written so far.
    fn write_platform(&self) {
        let platform = self.platform.borrow();
        if platform.0.is_empty() {
            return;
        }
        let grants: String = platform
            .1
            .iter()
            .map(|p| format!("\n  grant {p} {{\n    quota {{\n      limit_cpu    = 16\n      limit_memory = 2G\n      replicas     = 32\n    }}\n  }}\n"))
            .collect();
        std::fs::write(
            self.dir.join("platform.berth"),
            format!("{}{grants}}}\n", platform.0),
        )
        .unwrap();
    }

    /// Writes `platform.berth`: the proxy on the benchmark's ports, and with `acme` the ACME
    /// resolver pointed at pebble (its listener's CA in `pebble-ca.pem`), HTTP not redirected.
    pub(crate) fn platform(&self, https_port: u16, slots: usize, acme: Option<&str>) {
        let acme = acme
            .map(|directory| {
                format!(
                    "  acme_email          = \"ops@{}\"\n  acme_ca             = \"{directory}\"\n  acme_ca_certificate = \"pebble-ca.pem\"\n",
                    self.domain
                )
            })
            .unwrap_or_default();
        self.platform.borrow_mut().0 = format!(
            "platform {{\n  domain = \"{}\"\n{acme}\n  proxy {{\n    http_port      = {}\n    https_port     = {https_port}\n    edge_slots     = {slots}\n    redirect_https = false\n  }}\n",
            self.domain, self.http_port
        );
        self.write_platform();
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        for p in &self.projects {
            let out = self.berth(&[
                "destroy",
                "--auto-approve",
                "--allow-data-loss",
                "--project",
                p,
                "--env",
                "production",
            ]);
            if !out.status.success() {
                eprintln!("destroy {p}: {}", text(&out));
                remove_by_label(p);
            }
        }
        // With ACME, the platform's volume holds this run's account and certificates: it goes.
        let out = self.berth(&[
            "destroy",
            "--platform",
            "--auto-approve",
            "--allow-data-loss",
        ]);
        if !out.status.success() {
            eprintln!("destroy --platform: {}", text(&out));
            remove_by_label("platform");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes what `berth.project=<project>` labels, services first.
fn remove_by_label(project: &str) {
    let filter = format!("label=berth.project={project}");
    for kind in ["service", "config", "secret", "network"] {
        let out = docker(&[kind, "ls", "-q", "--filter", &filter]);
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            for _ in 0..50 {
                if docker(&[kind, "rm", id]).status.success() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// One `GET /` to the proxy on loopback with a Host header: (status, body).
pub(crate) fn get(port: u16, host: &str, timeout: Duration) -> Result<(u16, String), String> {
    berth_testkit::client::http_get(port, host, "/", timeout).map(|a| (a.status, a.body))
}

pub(crate) fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

/// What a request loop saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    /// When each distinct container (`host=`) first answered, from the loop's start.
    hosts: Vec<(String, Duration)>,
    versions: BTreeSet<String>,
}

/// A bounded loop of `GET /` from `workers` threads until stopped, `max` requests or `limit`.
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    tally: Arc<Mutex<Tally>>,
}

impl Load {
    fn start(port: u16, host: &str, workers: usize, max: u64, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicU64::new(0));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let started = Instant::now();
        let workers = (0..workers)
            .map(|_| {
                let (stop, issued, tally) = (stop.clone(), issued.clone(), tally.clone());
                let host = host.to_string();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst)
                        && started.elapsed() < limit
                        && issued.fetch_add(1, Ordering::SeqCst) < max
                    {
                        let result = get(port, &host, Duration::from_secs(10));
                        let mut t = tally.lock().unwrap();
                        match result {
                            Ok((200, body)) => {
                                t.ok += 1;
                                if let Some(v) = field(&body, "version") {
                                    t.versions.insert(v.to_string());
                                }
                                if let Some(h) = field(&body, "host") {
                                    if !t.hosts.iter().any(|(k, _)| k == h) {
                                        t.hosts.push((h.to_string(), started.elapsed()));
                                    }
                                }
                            }
                            other => {
                                t.failed += 1;
                                t.first_error.get_or_insert_with(|| format!("{other:?}"));
                            }
                        }
                        drop(t);
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Load {
            stop,
            workers,
            tally,
        }
    }

    fn hosts_seen(&self) -> usize {
        self.tally.lock().unwrap().hosts.len()
    }

    fn finish(self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            let _ = w.join();
        }
        std::mem::take(&mut *self.tally.lock().unwrap())
    }
}

fn running(service: &str) -> u64 {
    let out = docker(&[
        "service",
        "ps",
        service,
        "-q",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.CurrentState}}",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Running"))
        .count() as u64
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok {
        "OK"
    } else {
        "MISSED"
    }
}

fn failed_requests(name: &str, t: &Tally) -> bool {
    println!(
        "edge {name}: {} requests, {} failed{} (target 0) {}",
        t.ok + t.failed,
        t.failed,
        t.first_error
            .as_ref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default(),
        verdict(t.failed == 0)
    );
    t.failed == 0
}

/// `berth-bench edge [--berth PATH] [--http-port N] [--https-port N] [--projects N]
/// [--health-interval-ms N]` (the routed services' health check interval, default 2000). Exit code 0 when every
/// target was met, 3 when one was missed, 1 when the benchmark could not run.
pub fn run(args: &[String]) -> i32 {
    match measure(args) {
        Ok(true) => 0,
        Ok(false) => 3,
        Err(e) => {
            eprintln!("berth-bench edge: {e}");
            1
        }
    }
}

fn measure(args: &[String]) -> Result<bool, String> {
    let https_port: u16 = report::flag(args, "--https-port", 18443);
    let onboarded = report::flag(args, "--projects", 3usize).max(1);
    let health_ms = report::flag(args, "--health-interval-ms", 2000u64).max(100);
    let (mut bench, id) = Bench::new(args, "bedge", health_ms)?;
    bench.platform(https_port, onboarded + 3, None);
    let port = bench.http_port;

    // The first routed project creates the proxy.
    let main = format!("{id}-main");
    bench.projects.push(main.clone());
    bench.write(&main, "berth/demo:1", 1, false);
    let t = Instant::now();
    bench.apply(&main, true)?;
    println!(
        "edge first routed apply (creates the proxy and {} edge slots): {:.1} s",
        onboarded + 2,
        t.elapsed().as_secs_f64()
    );
    let main_host = bench.host(&main);
    let mut ok = true;

    // Discovery of each onboarded project, while a loop requests the first one.
    let load = Load::start(port, &main_host, 2, 100_000, Duration::from_secs(600));
    let mut samples = Vec::new();
    for i in 0..onboarded {
        let p = format!("{id}-p{i}");
        bench.projects.push(p.clone());
        bench.write(&p, "berth/demo:1", 1, false);
        bench.apply(&p, false)?;
        let applied = Instant::now();
        let host = bench.host(&p);
        loop {
            if let Ok((200, _)) = get(port, &host, Duration::from_secs(2)) {
                samples.push(applied.elapsed());
                break;
            }
            if applied.elapsed() > Duration::from_secs(60) {
                return Err(format!("{host} did not answer within 60 s of its apply"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let tally = load.finish();
    let mut sorted = samples.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    println!(
        "edge discovery (end of apply to first 200 through the proxy): median {:.0} ms, min {:.0} ms, max {:.0} ms over {} projects (target {} ms) {}",
        median.as_secs_f64() * 1e3,
        sorted[0].as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3,
        sorted.len(),
        DISCOVERY_TARGET.as_millis(),
        verdict(median <= DISCOVERY_TARGET)
    );
    ok &= median <= DISCOVERY_TARGET;
    ok &= failed_requests(
        &format!("onboarding ({onboarded} projects applied while requesting another)"),
        &tally,
    );

    // Scaling 1 -> 10: until all run, and until all ten answered through the proxy.
    let service = format!("{main}_web");
    bench.write(&main, "berth/demo:1", 10, false);
    let load = Load::start(port, &main_host, 4, 1_000_000, Duration::from_secs(120));
    let start = Instant::now();
    let mut all_running = None;
    let applying = {
        let (berth, dir, main) = (bench.berth.clone(), bench.dir.clone(), main.clone());
        std::thread::spawn(move || {
            Command::new(berth)
                .args(["apply", "--auto-approve", "--no-verify", "--project", &main])
                .arg(&dir)
                .env("BERTH_STATE_DIR", dir.join("state"))
                .output()
        })
    };
    while start.elapsed() < Duration::from_secs(120) {
        if all_running.is_none() && running(&service) >= 10 {
            all_running = Some(start.elapsed());
        }
        if all_running.is_some() && load.hosts_seen() >= 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = applying
        .join()
        .map_err(|_| "the apply thread panicked")?
        .map_err(|e| e.to_string())?;
    let apply_took = start.elapsed();
    let tally = load.finish();
    if !out.status.success() {
        return Err(format!("scaling apply failed:\n{}", text(&out)));
    }
    let all_traffic = tally.hosts.iter().map(|h| h.1).max();
    match (all_running, all_traffic, tally.hosts.len()) {
        (Some(run), Some(traffic), n) if n >= 10 => {
            let met = traffic.max(run) <= SCALING_TARGET;
            println!(
                "edge scaling 1 -> 10 replicas (health check every {health_ms} ms): all running after {:.1} s, all receiving traffic after {:.1} s (from the start of the apply, which itself returned after {:.1} s; target {} s) {}",
                run.as_secs_f64(),
                traffic.max(run).as_secs_f64(),
                apply_took.as_secs_f64(),
                SCALING_TARGET.as_secs(),
                verdict(met)
            );
            ok &= met;
        }
        (run, _, n) => {
            println!(
                "edge scaling 1 -> 10 replicas: {} running, {n} answered within 120 s (target {} s) MISSED",
                if run.is_some() { "all" } else { "not all" },
                SCALING_TARGET.as_secs()
            );
            ok = false;
        }
    }
    ok &= failed_requests("scaling 1 -> 10", &tally);

    // Scale down 10 -> 2, then the rolling update, each under a request loop.
    bench.write(&main, "berth/demo:1", 2, false);
    let load = Load::start(port, &main_host, 4, 1_000_000, Duration::from_secs(120));
    bench.apply(&main, false)?;
    std::thread::sleep(Duration::from_secs(2));
    ok &= failed_requests("scale down 10 -> 2", &load.finish());

    bench.write(&main, "berth/demo:2", 2, false);
    let load = Load::start(port, &main_host, 4, 1_000_000, Duration::from_secs(180));
    let t = Instant::now();
    bench.apply(&main, false)?;
    let took = t.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let tally = load.finish();
    println!(
        "edge rolling update demo:1 -> demo:2 (2 replicas, start-first): apply {:.1} s, versions seen {:?}",
        took.as_secs_f64(),
        tally.versions
    );
    ok &= failed_requests("rolling update", &tally);
    ok &= certificate(&mut bench, &id, https_port, onboarded + 3)?;
    println!("edge targets: {}", verdict(ok));
    Ok(ok)
}

/// Certificate: the platform's ACME resolver is pointed at pebble (one whole apply, which
/// restarts the proxy; the other projects' routes are plain HTTP and do not change), then a new
/// project with a TLS route is applied: from the start of that apply to the first answer that
/// a client trusting only pebble's root accepts for the project's host.
fn certificate(bench: &mut Bench, id: &str, https_port: u16, slots: usize) -> Result<bool, String> {
    let pebble = Pebble::start(gwbridge_gateway()?, &bench.dir)?;
    std::fs::write(bench.dir.join("pebble-ca.pem"), &pebble.listener_ca)
        .map_err(|e| e.to_string())?;
    bench.platform(https_port, slots, Some(&pebble.directory));
    let t = Instant::now();
    let out = bench.berth(&["apply", "--auto-approve"]);
    if !out.status.success() {
        return Err(format!(
            "applying the platform with ACME failed:\n{}",
            text(&out)
        ));
    }
    println!(
        "edge platform with ACME (the proxy restarts): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let project = format!("{id}-tls");
    bench.projects.push(project.clone());
    bench.write(&project, "berth/demo:1", 1, true);
    let host = bench.host(&project);
    let trust = roots(&pebble.root)?;
    let start = Instant::now();
    bench.apply(&project, true)?;
    let applied = start.elapsed();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(90) {
        match https_get(https_port, &host, "/", &trust, None) {
            Ok(answer) if answer.status == 200 => {
                let took = start.elapsed();
                let met = took <= CERTIFICATE_TARGET;
                println!(
                    "edge certificate (start of the apply of a new TLS project to the first answer verified against pebble's root alone): {:.1} s (the apply, which waits for it, returned after {:.1} s; target {} s) {}",
                    took.as_secs_f64(),
                    applied.as_secs_f64(),
                    CERTIFICATE_TARGET.as_secs(),
                    verdict(met)
                );
                return Ok(met);
            }
            Ok(answer) => last = format!("{}: {}", answer.status, answer.body),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("edge certificate: no verified answer from {host} within 90 s ({last}) MISSED");
    Ok(false)
}
