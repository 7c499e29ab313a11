//! The hint for an engine that is not in swarm mode, followed on a private Docker daemon this test
//! starts and stops (the shared engine must stay a swarm manager for every other test).

use crate::harness::{docker, expect_code, flat, stdout, text};
use crate::truth::Truth;
use std::process::Output;

/// A second Docker daemon of this test's own, not in swarm mode, for the hints that need an
/// engine other than the shared one (which must stay a swarm manager for every other test). It
/// keeps everything under one temporary directory (data, exec root, socket, containerd), uses
/// no bridge and no iptables, and is stopped and its directory removed when dropped, whether the
/// test passed or not.
struct PrivateEngine {
    child: std::process::Child,
    dir: std::path::PathBuf,
    /// `unix://<dir>/docker.sock`, for `DOCKER_HOST`.
    host: String,
}

impl PrivateEngine {
    fn start(tag: &str) -> PrivateEngine {
        // A short path: a unix socket's path holds at most 107 bytes.
        let dir = std::path::PathBuf::from(format!("/tmp/berth-eng-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["data", "exec"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // Its own configuration file: the machine's `/etc/docker/daemon.json` names the shared
        // engine's data root, which a second daemon must not use.
        std::fs::write(dir.join("daemon.json"), "{\"storage-driver\": \"vfs\"}\n").unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let host = format!("unix://{}/docker.sock", dir.display());
        let child = std::process::Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .args(["--host", &host])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(["--containerd-namespace", &format!("berth-{tag}")])
            .args([
                "--containerd-plugins-namespace",
                &format!("berth-{tag}-plugins"),
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("dockerd does not start: {e}"));
        let engine = PrivateEngine { child, dir, host };
        // Bounded: up to 60 s for the daemon to answer.
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(60) {
            if engine.docker(&["version"]).status.success() {
                return engine;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let said = std::fs::read_to_string(engine.dir.join("dockerd.log")).unwrap_or_default();
        panic!("the private dockerd did not answer within 60 s:\n{said}");
    }

    /// The docker CLI against this engine.
    fn docker(&self, args: &[&str]) -> Output {
        std::process::Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .output()
            .expect("docker runs")
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        // Bounded: 30 s to stop (it stops its containerd first), then killed.
        let started = std::time::Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if started.elapsed() < std::time::Duration::from_secs(30) => {
                    std::thread::sleep(std::time::Duration::from_millis(200))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        // Anything it left mounted under its directory goes before the directory.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let prefix = self.dir.display().to_string();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|p| p.starts_with(&prefix))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = std::process::Command::new("umount")
                .args(["-l", p])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port on loopback below 49152 (Swarm's data path port must be), found by binding one
/// and letting it go.
fn free_port(udp: bool) -> u16 {
    for _ in 0..200 {
        let port = if udp {
            std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.local_addr())
                .map(|a| a.port())
        } else {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|s| s.local_addr())
                .map(|a| a.port())
        }
        .unwrap();
        if port < 49152 {
            return port;
        }
    }
    panic!("no free port below 49152 on loopback in 200 tries");
}

/// The hint of an engine that is not in swarm mode (`docker swarm init --advertise-addr
/// <address>`), followed on a private daemon of the test's own: berth refuses the plan with
/// E0301 and the hint, the hint as printed makes the engine a swarm manager, and the same plan
/// then reads the cluster and plans. The shared engine's swarm already listens on the default
/// ports (2377, and the data path's 4789), so the private swarm is given free ones on loopback.
#[test]
fn the_swarm_init_hint_works_when_followed_on_an_engine_without_swarm() {
    let t = Truth::new("swarm");
    t.write("berth/demo:1", "info");
    let engine = PrivateEngine::start(&t.world.id);
    let plan = || {
        t.world
            .command(&[
                "plan",
                "--detailed-exitcode",
                "-p",
                &t.name,
                "-e",
                "production",
                t.world.dir_str(),
            ])
            .env("DOCKER_HOST", &engine.host)
            .output()
            .unwrap()
    };
    let refused = plan();
    expect_code(&refused, 1);
    let said = flat(&text(&refused));
    assert!(
        said.contains("E0301")
            && said.contains("swarm mode is not active")
            && said.contains("`docker swarm init --advertise-addr <address>`"),
        "{said}"
    );
    // Followed as printed, docker swarm init --advertise-addr with this machine's address,
    // against the private engine.
    let listen = format!("127.0.0.1:{}", free_port(false));
    let data_path = free_port(true).to_string();
    let init = engine.docker(&[
        "swarm",
        "init",
        "--advertise-addr",
        "127.0.0.1",
        "--listen-addr",
        &listen,
        "--data-path-port",
        &data_path,
    ]);
    assert!(init.status.success(), "{}", text(&init));
    let state = engine.docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert_eq!(stdout(&state).trim(), "active", "{}", text(&state));
    // The same plan now reads that cluster and plans the project (2: changes to make).
    let planned = plan();
    expect_code(&planned, 2);
    assert!(
        stdout(&planned).contains(&format!("{}/production", t.name)),
        "{}",
        text(&planned)
    );
    // Nothing of this test reached the shared engine.
    let shared = docker(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.project={}", t.name),
    ]);
    assert_eq!(stdout(&shared).trim(), "");
}
