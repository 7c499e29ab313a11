//! What the benchmarks against the real Swarm share: the docker CLI, the `berth` binary under
//! test, the unique `bench<id>` prefix every object of a run carries, counting running services
//! by that prefix, and removing everything with it (also from a drop guard, so that a failed run
//! leaves nothing behind).

use crate::report;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

/// The `berth` binary to measure: `--berth PATH`, or the workspace's release build.
pub fn berth_binary(args: &[String]) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/berth");
    PathBuf::from(report::flag(args, "--berth", default.display().to_string()))
}

/// A prefix unique to this run, so that its objects are told from everyone else's.
pub fn id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("bench{:x}", nanos % 0xfffff)
}

/// Services whose name starts with `prefix`, and how many of them run all their tasks.
pub fn count(prefix: &str) -> (usize, usize) {
    let out = docker(&["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]);
    tally(&String::from_utf8_lossy(&out.stdout), prefix)
}

/// [`count`] over the text of `docker service ls --format '{{.Name}} {{.Replicas}}'`, whose
/// replicas read `running/desired`, followed by ` (max N per node)` when there is such a limit.
/// The engine counts as running the tasks that Swarm wants running and that run; a task with a
/// health check is `starting` until its first check passes, so running means healthy there.
pub fn tally(text: &str, prefix: &str) -> (usize, usize) {
    let mut total = 0;
    let mut running = 0;
    for line in text.lines().filter(|l| l.starts_with(prefix)) {
        total += 1;
        if let Some((r, d)) = line
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.split_once('/'))
        {
            if r == d {
                running += 1;
            }
        }
    }
    (total, running)
}

/// Removes every service, then every secret, config, network and volume whose name starts with
/// `prefix`, waiting for the services' containers to be gone first (networks and volumes in use
/// cannot be removed).
pub fn cleanup(prefix: &str) {
    let out = docker(&["service", "ls", "--format", "{{.Name}}"]);
    let services: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect();
    for chunk in services.chunks(50) {
        let mut args = vec!["service", "rm"];
        args.extend(chunk.iter().map(String::as_str));
        docker(&args);
    }
    for _ in 0..300 {
        let ps = docker(&["ps", "-aq", "--filter", &format!("name={prefix}")]);
        if ps.stdout.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for kind in ["secret", "config", "network", "volume"] {
        let out = docker(&[kind, "ls", "--format", "{{.Name}}"]);
        let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect();
        for chunk in names.chunks(50) {
            let mut args = vec![kind, "rm"];
            args.extend(chunk.iter().map(String::as_str));
            for _ in 0..50 {
                if docker(&args).status.success() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    // State and locks on the cluster backend: named by a hash, found by their project label.
    let out = docker(&[
        "config",
        "ls",
        "--filter",
        "label=berth.store",
        "--format",
        "{{.ID}} {{.Label \"berth.store.project\"}}",
    ]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, project)| project.starts_with(prefix))
        .map(|(id, _)| id.to_string())
        .collect();
    for chunk in ids.chunks(50) {
        let mut args = vec!["config", "rm"];
        args.extend(chunk.iter().map(String::as_str));
        docker(&args);
    }
}

/// Removes everything named with its prefix when dropped, so that a phase that fails (or
/// returns early) still leaves nothing behind.
pub struct Guard {
    prefix: String,
}

impl Guard {
    pub fn new(prefix: &str) -> Guard {
        Guard {
            prefix: prefix.to_string(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        cleanup(&self.prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::tally;

    /// Captured from the engine of this machine (Docker 20.10.24, CLI 28.2.2) during a
    /// `berth-bench converge --projects 2` run: the health-checked `web` of one project is still
    /// `starting` (0/1) while its `worker`, without a check, already runs.
    const SERVICE_LS: &str = include_str!("fixtures/service-ls.txt");

    #[test]
    fn counts_only_the_prefix_and_only_services_whose_tasks_all_run() {
        assert_eq!(tally(SERVICE_LS, "bench858e2b0p"), (4, 3));
        assert_eq!(tally(SERVICE_LS, "bench858e2b0p0_"), (2, 2));
        assert_eq!(tally(SERVICE_LS, "bench858e2b0p1_"), (2, 1));
        assert_eq!(tally(SERVICE_LS, "bench858e2f0p"), (0, 0));
    }
}
