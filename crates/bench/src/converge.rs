//! `converge`: how long an apply that waits for convergence takes, side by side in one run with
//! the floor it cannot beat and with the docker CLI's way of deploying and waiting.
//!
//! For the same N projects of two one-replica `berth/demo:1` services each (`web` health-checked
//! every 2 s by the demo's own client, `worker` with the image's check disabled), each measured
//! from nothing and removed before the next:
//!
//! - **berth**: `berth apply --auto-approve`, which waits until every task runs (healthy, where
//!   there is a health check): wall time until it exits 0.
//! - **floor**: `berth apply --auto-approve --no-wait`, then one poller asking the engine
//!   (`docker service ls`, at most every 250 ms) until every service runs all its tasks: wall
//!   time of both. Waiting can only add to this.
//! - **peer** (`--peer`): `docker stack deploy --detach=false` of equivalent compose files, one
//!   project after another: wall time of all.
//!
//! berth and the floor are measured `--rounds` times, alternating which goes first; the peer,
//! much slower, once. The targets (berth/floor at most 1.25, peer/berth at least 3) are printed,
//! never asserted. Every phase's objects carry their own `bench<id>` prefix and a drop guard
//! removes them, also when the phase fails.

use crate::cluster::{berth_binary, count, docker, id, Guard};
use crate::report;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The slowest an apply or a stack deploy may be before the run is abandoned.
const COMMAND_LIMIT: Duration = Duration::from_secs(600);
/// The floor's poller asks the engine at most this often (berth's own poll interval).
const POLL: Duration = Duration::from_millis(250);
/// Before measuring, wait (at most [`SETTLE_LIMIT`]) for the 1-minute load average to fall
/// below this (`--settle-load L`; 0 skips the wait).
const SETTLE_LOAD: f64 = 2.5;
const SETTLE_LIMIT: Duration = Duration::from_secs(180);
const FLOOR_RATIO_TARGET: f64 = 1.25;
const PEER_RATIO_TARGET: f64 = 3.0;

/// The demo's health check, written the same way in both tools: every 2 s, as in the examples.
const CHECK: [&str; 3] = ["/berth-demo", "check", "http://127.0.0.1:8080/health"];

/// A project of two one-replica services on the project's implicit network (which every berth
/// service joins): `web` with the demo's health check, `worker` with the image's one disabled.
fn berth_project(name: &str) -> String {
    let command = CHECK.map(|a| format!("\"{a}\"")).join(", ");
    format!(
        "project {name} {{
  service web {{
    image    = \"berth/demo:1\"
    replicas = 1

    health {{
      command  = [{command}]
      interval = 2s
      timeout  = 1s
      retries  = 3
    }}
  }}

  service worker {{
    image    = \"berth/demo:1\"
    replicas = 1

    health {{
      disable = true
    }}
  }}
}}
"
    )
}

/// The same project for `docker stack deploy`: the same images, replicas and health checks,
/// both services on one overlay network.
fn compose_project() -> String {
    let test = CHECK.map(|a| format!("\"{a}\"")).join(", ");
    format!(
        "version: \"3.8\"
services:
  web:
    image: berth/demo:1
    networks: [back]
    healthcheck:
      test: [\"CMD\", {test}]
      interval: 2s
      timeout: 1s
      retries: 3
    deploy:
      replicas: 1
  worker:
    image: berth/demo:1
    networks: [back]
    healthcheck:
      disable: true
    deploy:
      replicas: 1
networks:
  back:
    driver: overlay
"
    )
}

/// The 1-minute load average.
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs a command to completion with its output in `log`; fails when it exits non-zero or
/// outlives [`COMMAND_LIMIT`] (then it is killed).
fn run(cmd: &mut Command, log: &Path) -> Result<(), String> {
    let file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{cmd:?} did not finish within {} s",
                COMMAND_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if status.success() {
        return Ok(());
    }
    let output = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = output.lines().rev().take(30).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!("{cmd:?} failed ({status}):\n{}", tail.join("\n")))
}

/// Polls the engine until the `expected` services named with `prefix` run all their tasks.
fn poll_running(prefix: &str, expected: usize) -> Result<(), String> {
    let deadline = Instant::now() + COMMAND_LIMIT;
    loop {
        let asked = Instant::now();
        let (total, running) = count(prefix);
        if total >= expected && running >= expected {
            return Ok(());
        }
        if asked > deadline {
            return Err(format!(
                "{running} of {expected} services running after {} s",
                COMMAND_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(POLL.saturating_sub(asked.elapsed()));
    }
}

/// One phase's measurement and what the engine showed right after it.
struct Sample {
    wall: Duration,
    /// The floor's `--no-wait` apply alone.
    created: Option<Duration>,
    /// Services running all their tasks, of those named with the phase's prefix.
    running: (usize, usize),
    /// Containers whose health check passed (one health-checked service per project).
    healthy: usize,
    load: f64,
}

impl Sample {
    fn after(prefix: &str, wall: Duration, created: Option<Duration>) -> Sample {
        let (total, running) = count(prefix);
        let healthy = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("name={prefix}"),
            "--filter",
            "health=healthy",
        ]);
        Sample {
            wall,
            created,
            running: (running, total),
            healthy: String::from_utf8_lossy(&healthy.stdout).lines().count(),
            load: load(),
        }
    }

    fn line(&self, name: &str, round: usize, n: usize) -> String {
        format!(
            "round {round}: {name} {:.1} s{}; then {}/{} services running, {}/{n} health-checked tasks healthy, load {:.2}",
            self.wall.as_secs_f64(),
            self.created
                .map(|c| format!(" (the --no-wait apply {:.1} s)", c.as_secs_f64()))
                .unwrap_or_default(),
            self.running.0,
            self.running.1,
            self.healthy,
            self.load
        )
    }
}

/// What every phase needs: the projects' count, the run's directory and the binary.
struct Run {
    n: usize,
    dir: PathBuf,
    berth: PathBuf,
    parallelism: Option<String>,
}

impl Run {
    /// Writes the berth projects named `{prefix}p{i}` into their own directory.
    fn berth_projects(&self, prefix: &str) -> Result<PathBuf, String> {
        let dir = self.dir.join(prefix);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for i in 0..self.n {
            std::fs::write(
                dir.join(format!("p{i}.berth")),
                berth_project(&format!("{prefix}p{i}")),
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(dir)
    }

    fn apply(&self, prefix: &str, projects: &Path, wait: bool) -> Result<(), String> {
        let mut cmd = Command::new(&self.berth);
        cmd.args(["apply", "--auto-approve"]);
        if !wait {
            cmd.arg("--no-wait");
        }
        if let Some(p) = &self.parallelism {
            cmd.args(["--parallelism", p]);
        }
        cmd.arg(projects)
            .env("BERTH_STATE_DIR", self.dir.join(format!("{prefix}-state")));
        let log = self.dir.join(format!("{prefix}-apply.log"));
        run(&mut cmd, &log)
    }

    /// `berth apply`, waiting for convergence.
    fn berth(&self, prefix: &str) -> Result<Sample, String> {
        let projects = self.berth_projects(prefix)?;
        let _guard = Guard::new(&format!("{prefix}p"));
        let start = Instant::now();
        self.apply(prefix, &projects, true)?;
        let wall = start.elapsed();
        Ok(Sample::after(&format!("{prefix}p"), wall, None))
    }

    /// `berth apply --no-wait`, then one poller until every task runs.
    fn floor(&self, prefix: &str) -> Result<Sample, String> {
        let projects = self.berth_projects(prefix)?;
        let _guard = Guard::new(&format!("{prefix}p"));
        let start = Instant::now();
        self.apply(prefix, &projects, false)?;
        let created = start.elapsed();
        poll_running(&format!("{prefix}p"), 2 * self.n)?;
        let wall = start.elapsed();
        Ok(Sample::after(&format!("{prefix}p"), wall, Some(created)))
    }

    /// `docker stack deploy --detach=false`, one project after another.
    fn peer(&self, prefix: &str) -> Result<Sample, String> {
        let mut stacks = Vec::new();
        for i in 0..self.n {
            let dir = self.dir.join(format!("{prefix}p{i}"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("docker-compose.yml"), compose_project())
                .map_err(|e| e.to_string())?;
            stacks.push((format!("{prefix}p{i}"), dir));
        }
        let _guard = Guard::new(&format!("{prefix}p"));
        let start = Instant::now();
        for (stack, dir) in &stacks {
            let log = self.dir.join(format!("{stack}-deploy.log"));
            run(
                Command::new("docker")
                    .args([
                        "stack",
                        "deploy",
                        "--detach=false",
                        "--resolve-image",
                        "never",
                        "-c",
                        "docker-compose.yml",
                        stack,
                    ])
                    .current_dir(dir),
                &log,
            )?;
        }
        let wall = start.elapsed();
        Ok(Sample::after(&format!("{prefix}p"), wall, None))
    }
}

/// Removes the run's directory (projects, state, logs) when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn median(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn seconds((median, min, max): (Duration, Duration, Duration), rounds: usize) -> String {
    if rounds == 1 {
        format!("{:.1} s", median.as_secs_f64())
    } else {
        format!(
            "{:.1} s ({:.1}–{:.1})",
            median.as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64()
        )
    }
}

/// `berth-bench converge [--projects N] [--rounds N] [--berth PATH] [--parallelism N]
/// [--settle-load L] [--peer]`. Exit code 0 when every target measured was met, 3 when one was missed, 1 when the
/// benchmark could not run.
pub fn run_bench(args: &[String]) -> i32 {
    match measure(args) {
        Ok(true) => 0,
        Ok(false) => 3,
        Err(e) => {
            eprintln!("berth-bench converge: {e}");
            1
        }
    }
}

fn measure(args: &[String]) -> Result<bool, String> {
    let n = report::flag(args, "--projects", 10usize).max(1);
    let rounds = report::flag(args, "--rounds", 3usize).max(1);
    let peer = args.iter().any(|a| a == "--peer");
    let id = id();
    let run = Run {
        n,
        dir: std::env::temp_dir().join(&id),
        berth: berth_binary(args),
        parallelism: args
            .iter()
            .position(|a| a == "--parallelism")
            .and_then(|i| args.get(i + 1))
            .cloned(),
    };
    if !run.berth.is_file() {
        return Err(format!(
            "no berth binary at {} (build it, or give --berth PATH)",
            run.berth.display()
        ));
    }
    // Let the previous user of the machine's containers stop and the load fall first, so that
    // every re-run starts from a comparable engine.
    let settle = report::flag(args, "--settle-load", SETTLE_LOAD);
    let waited = Instant::now();
    while settle > 0.0 && load() >= settle && waited.elapsed() < SETTLE_LIMIT {
        std::thread::sleep(Duration::from_secs(5));
    }
    std::fs::create_dir_all(&run.dir).map_err(|e| e.to_string())?;
    let _scratch = Scratch(run.dir.clone());
    println!(
        "converge: {n} projects x 2 one-replica services of berth/demo:1 (one health-checked every 2 s), \
         {rounds} round(s), parallelism {}, load before {:.2} (after waiting {:.0} s for it to fall below {settle})",
        run.parallelism.as_deref().unwrap_or("default"),
        load(),
        waited.elapsed().as_secs_f64()
    );

    let mut berth = Vec::new();
    let mut floor = Vec::new();
    let mut loads = Vec::new();
    for round in 0..rounds {
        // Alternate which goes first, so that neither always meets an engine still settling.
        let berth_first = round % 2 == 0;
        for first in [true, false] {
            let sample = if first == berth_first {
                let s = run.berth(&format!("{id}b{round}"))?;
                println!("{}", s.line("berth", round + 1, n));
                berth.push(s.wall);
                s
            } else {
                let s = run.floor(&format!("{id}f{round}"))?;
                println!("{}", s.line("floor", round + 1, n));
                floor.push(s.wall);
                s
            };
            loads.push(sample.load);
        }
    }
    let peer = if peer {
        let s = run.peer(&format!("{id}s"))?;
        println!("{}", s.line("peer", 1, n));
        loads.push(s.load);
        Some(s.wall)
    } else {
        None
    };

    let berth = median(berth);
    let floor = median(floor);
    let floor_ratio = berth.0.as_secs_f64() / floor.0.as_secs_f64();
    let peer_ratio = peer.map(|p| p.as_secs_f64() / berth.0.as_secs_f64());
    let max_load = loads.iter().cloned().fold(0.0, f64::max);
    println!();
    println!("| projects | berth apply (waits) | floor: `--no-wait`, then poll | berth/floor | `docker stack deploy --detach=false` per project | peer/berth | load (1 min) after each phase, max |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {n} | {} | {} | {floor_ratio:.2}x | {} | {} | {max_load:.1} |",
        seconds(berth, rounds),
        seconds(floor, rounds),
        peer.map(|p| format!("{:.1} s", p.as_secs_f64()))
            .unwrap_or_else(|| "not run".into()),
        peer_ratio
            .map(|r| format!("{r:.1}x"))
            .unwrap_or_else(|| "".into()),
    );
    println!();
    let floor_ok = floor_ratio <= FLOOR_RATIO_TARGET;
    let peer_ok = peer_ratio.is_none_or(|r| r >= PEER_RATIO_TARGET);
    println!(
        "targets: berth/floor at most {FLOOR_RATIO_TARGET}: {}; peer/berth at least {PEER_RATIO_TARGET}: {}",
        if floor_ok { "OK" } else { "MISSED" },
        match peer_ratio {
            None => "not measured (give --peer)",
            Some(_) if peer_ok => "OK",
            Some(_) => "MISSED",
        }
    );
    Ok(floor_ok && peer_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_berth_project_has_one_checked_and_one_unchecked_service() {
        let input = vec![berth_lang::Input {
            name: "p.berth".into(),
            bytes: berth_project("bench1p0").into_bytes(),
        }];
        let analysis = berth_lang::analyze("p", input, &Default::default());
        // No resource limits, as in the compose files: berth only warns about that.
        assert!(!analysis.has_errors(), "{:?}", analysis.diagnostics);
        let config = analysis.config.unwrap();
        assert_eq!(config.deployments.len(), 1);
        let services = &config.deployments[0].services;
        assert_eq!(services.len(), 2);
        let health = |name: &str| {
            services
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.health.clone())
                .unwrap()
        };
        let web = health("web");
        let mut expected = vec!["CMD".to_string()];
        expected.extend(CHECK.map(String::from));
        assert_eq!(web.test, expected);
        assert_eq!(
            (web.interval_ns, web.timeout_ns, web.retries),
            (2_000_000_000, 1_000_000_000, 3)
        );
        assert_eq!(health("worker").test, ["NONE"]);
    }

    #[test]
    fn the_compose_file_checks_web_and_disables_worker() {
        let compose = compose_project();
        let web = &compose[compose.find("  web:").unwrap()..compose.find("  worker:").unwrap()];
        let worker = &compose
            [compose.find("  worker:").unwrap()..compose.find("networks:\n  back").unwrap()];
        assert!(web.contains(
            "test: [\"CMD\", \"/berth-demo\", \"check\", \"http://127.0.0.1:8080/health\"]"
        ));
        assert!(web.contains("interval: 2s"));
        assert!(worker.contains("disable: true"));
        assert_eq!(compose.matches("replicas: 1").count(), 2);
    }
}
