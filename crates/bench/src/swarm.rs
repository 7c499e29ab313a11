//! Benchmarks against the real Swarm, side by side with `docker stack deploy`:
//!
//! - `deploy`: N projects (2 services, a network, a volume, a secret each) from nothing, by
//!   `berth apply` and by `docker stack deploy` of equivalent compose files one after another:
//!   time until every service exists and until every task runs. Then both re-apply the unchanged
//!   configuration, and the service updates each made are counted from Docker's events.
//! - `plan`: `berth plan` with no changes over N services (replicas 0, so no containers).
//!
//! Every object has a unique `bench<id>` prefix and is removed at the end.

use crate::cluster::{berth_binary, cleanup, count, docker, id};
use crate::report;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command runs");
    if !out.status.success() {
        eprintln!(
            "command failed: {cmd:?}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    out
}

/// A project of two services on one overlay network (the project's implicit `default`, which
/// every berth service joins), with a volume and a secret: the same shape as
/// [`compose_project`], whose services join its one network `back`.
fn berth_project(name: &str, replicas: u32) -> String {
    let service = |s: &str| {
        format!("  service {s} {{\n    image    = \"berth/demo:1\"\n    replicas = {replicas}\n\n    env {{\n      TOKEN_FILE = secret.token\n    }}\n\n    mount {{\n      source = volume.data\n      target = \"/data\"\n    }}\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n")
    };
    format!("project {name} {{\n  volume data {{}}\n\n  secret token {{\n    file = \"{name}/token.txt\"\n  }}\n\n{}\n{}}}\n", service("web"), service("worker"))
}

/// The secret file of a berth project: in the project's own directory, where berth reads it.
fn token(dir: &std::path::Path, project: &str) {
    std::fs::create_dir_all(dir.join(project)).unwrap();
    std::fs::write(dir.join(project).join("token.txt"), "bench-token").unwrap();
}

fn compose_project(replicas: u32) -> String {
    let service = |s: &str| {
        format!("  {s}:\n    image: berth/demo:1\n    networks: [back]\n    secrets: [token]\n    volumes: [\"data:/data\"]\n    deploy:\n      replicas: {replicas}\n      resources:\n        limits:\n          memory: 16M\n")
    };
    format!("version: \"3.8\"\nservices:\n{}{}networks:\n  back:\n    driver: overlay\nvolumes:\n  data: {{}}\nsecrets:\n  token:\n    file: ./token.txt\n", service("web"), service("worker"))
}

fn wait_running(prefix: &str, expected: usize, start: Instant) -> Duration {
    let deadline = start + Duration::from_secs(600);
    loop {
        let (total, running) = count(prefix);
        if total >= expected && running >= expected {
            return start.elapsed();
        }
        if Instant::now() > deadline {
            eprintln!("timed out: {running}/{expected} services running");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Service updates Docker reported between two moments, for names starting with `prefix`.
fn updates_since(prefix: &str, since: &str) -> usize {
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let out = docker(&[
        "events",
        "--since",
        since,
        "--until",
        &until,
        "--filter",
        "type=service",
        "--filter",
        "event=update",
        "--format",
        "{{.Actor.Attributes.name}}",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .count()
}

fn now_secs() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

/// `docker stack deploy` of every generated compose project, one after another.
fn stack_deploy_all(dir: &Path, prefix: &str, n: usize) {
    for i in 0..n {
        run_ok(
            Command::new("docker")
                .args([
                    "stack",
                    "deploy",
                    "--resolve-image",
                    "never",
                    "-c",
                    "docker-compose.yml",
                    &format!("{prefix}{i}"),
                ])
                .current_dir(dir.join(format!("compose{i}"))),
        );
    }
}

pub fn deploy(args: &[String]) -> i32 {
    let n = report::flag(args, "--projects", 50usize);
    let berth = berth_binary(args);
    let id = id();
    let dir = std::env::temp_dir().join(&id);
    let berth_dir = dir.join("berth");
    std::fs::create_dir_all(&berth_dir).unwrap();
    let berth_prefix = format!("{id}b");
    let stack_prefix = format!("{id}s");
    for i in 0..n {
        token(&berth_dir, &format!("{berth_prefix}{i}"));
        std::fs::write(
            berth_dir.join(format!("p{i}.berth")),
            berth_project(&format!("{berth_prefix}{i}"), 1),
        )
        .unwrap();
        let d = dir.join(format!("compose{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("docker-compose.yml"), compose_project(1)).unwrap();
        std::fs::write(d.join("token.txt"), "bench-token").unwrap();
    }
    let state = dir.join("state");
    println!("deploy: {n} projects x (2 services, a network, a volume, a secret), berth vs docker stack deploy");

    // berth, from nothing.
    let start = Instant::now();
    run_ok(
        Command::new(&berth)
            .args([
                "apply",
                "--auto-approve",
                "--no-wait",
                "--parallelism",
                "10",
            ])
            .arg(&berth_dir)
            .env("BERTH_STATE_DIR", &state),
    );
    let berth_exist = start.elapsed();
    let berth_run = wait_running(&berth_prefix, 2 * n, start);
    // berth, unchanged, counting service updates.
    let since = now_secs();
    std::thread::sleep(Duration::from_millis(1100));
    let t = Instant::now();
    run_ok(
        Command::new(&berth)
            .args(["apply", "--auto-approve"])
            .arg(&berth_dir)
            .env("BERTH_STATE_DIR", &state),
    );
    let berth_reapply = t.elapsed();
    std::thread::sleep(Duration::from_millis(1100));
    let berth_updates = updates_since(&berth_prefix, &since);
    cleanup(&berth_prefix);

    // docker stack deploy, one project after another.
    let start = Instant::now();
    stack_deploy_all(&dir, &stack_prefix, n);
    let stack_exist = start.elapsed();
    let stack_run = wait_running(&stack_prefix, 2 * n, start);
    let since = now_secs();
    std::thread::sleep(Duration::from_millis(1100));
    let t = Instant::now();
    stack_deploy_all(&dir, &stack_prefix, n);
    let stack_reapply = t.elapsed();
    std::thread::sleep(Duration::from_millis(1100));
    let stack_updates = updates_since(&stack_prefix, &since);
    for i in 0..n {
        docker(&["stack", "rm", &format!("{stack_prefix}{i}")]);
    }
    cleanup(&stack_prefix);
    let _ = std::fs::remove_dir_all(&dir);

    let s = |d: Duration| d.as_secs_f64();
    println!("| measure | berth | docker stack deploy | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| all {} services exist | {:.1} s | {:.1} s | {:.1}x |",
        2 * n,
        s(berth_exist),
        s(stack_exist),
        s(stack_exist) / s(berth_exist)
    );
    println!(
        "| all tasks running | {:.1} s | {:.1} s | {:.1}x |",
        s(berth_run),
        s(stack_run),
        s(stack_run) / s(berth_run)
    );
    println!(
        "| re-apply unchanged: time | {:.1} s | {:.1} s | |",
        s(berth_reapply),
        s(stack_reapply)
    );
    println!("| re-apply unchanged: service updates | {berth_updates} | {stack_updates} | |");
    let ok = s(stack_exist) / s(berth_exist) >= 3.0 && berth_updates == 0;
    println!(
        "targets (berth at least 3x faster to exist, zero updates on re-apply): {}",
        if ok { "OK" } else { "MISSED" }
    );
    if ok {
        0
    } else {
        3
    }
}

pub fn plan(args: &[String]) -> i32 {
    let services = report::flag(args, "--services", 500usize);
    let iterations = report::flag(args, "--iterations", 5usize).max(1);
    let berth = berth_binary(args);
    let id = id();
    let dir = std::env::temp_dir().join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..services / 2 {
        token(&dir, &format!("{id}p{i}"));
        std::fs::write(
            dir.join(format!("p{i}.berth")),
            berth_project(&format!("{id}p{i}"), 0),
        )
        .unwrap();
    }
    let state = dir.join("state");
    // `--cluster`: state on the cluster (the default backend) instead of a local directory.
    let on_cluster = args.iter().any(|a| a == "--cluster");
    let with_state = |cmd: &mut Command| {
        if on_cluster {
            cmd.env_remove("BERTH_STATE_DIR");
        } else {
            cmd.env("BERTH_STATE_DIR", &state);
        }
    };
    let mut apply = Command::new(&berth);
    apply
        .args([
            "apply",
            "--auto-approve",
            "--no-wait",
            "--parallelism",
            "20",
        ])
        .arg(&dir);
    with_state(&mut apply);
    run_ok(&mut apply);
    let mut samples = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let mut plan = Command::new(&berth);
        plan.args(["plan", "--detailed-exitcode"]).arg(&dir);
        with_state(&mut plan);
        let out = plan.output().unwrap();
        samples.push(t.elapsed());
        if out.status.code() != Some(0) {
            eprintln!(
                "the plan is not empty:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
            cleanup(&id);
            return 1;
        }
    }
    cleanup(&id);
    let _ = std::fs::remove_dir_all(&dir);
    let summary = report::summarize(samples);
    println!(
        "plan, no changes, {services} services ({} objects, state {}): median {:.0} ms, min {:.0} ms (target: 2000 ms) {}",
        services / 2 * 5,
        if on_cluster { "on the cluster" } else { "in a directory" },
        summary.median.as_secs_f64() * 1e3,
        summary.min.as_secs_f64() * 1e3,
        if summary.median <= Duration::from_secs(2) { "OK" } else { "MISSED" }
    );
    0
}
