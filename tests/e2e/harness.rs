//! The harness of the end-to-end tests: each test gets unique project names, its own temporary
//! configuration and state directories, runs the real `berth` binary against the real Docker
//! Engine in swarm mode, and removes every object carrying its project labels when it ends,
//! whether it passed or not.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Tests that load this one 2-core node heavily (a hundred services at once, ten applies killed
/// mid-way, every environment of the tenants example) run one at a time: run together they
/// starve each other's health checks, and then measure the machine instead of berth.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for the whole of a heavy test, and by every edge test (`edge::Edge`, after the edge
/// lock): never take it again inside an edge test.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    // A heavy test that failed poisons the lock; the next one still runs.
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// One test's world.
pub struct World {
    /// A short unique prefix, e.g. `e2e1a2b3c4`.
    pub id: String,
    pub dir: PathBuf,
    pub state: PathBuf,
    pub projects: Vec<String>,
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("e{:x}{:x}{n}", std::process::id() % 0xfff, nanos % 0xffff)
}

impl World {
    pub fn new() -> World {
        require_swarm();
        let id = unique();
        let dir = std::env::temp_dir().join(format!("berth-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state");
        World {
            id,
            dir,
            state,
            projects: Vec::new(),
        }
    }

    /// A project name unique to this test, registered for cleanup.
    pub fn project(&mut self, name: &str) -> String {
        let p = format!("{}-{name}", self.id);
        self.projects.push(p.clone());
        p
    }

    /// Writes a configuration file into the test's directory.
    pub fn write(&self, file: &str, text: &str) {
        let path = self.dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_env(args, &[])
    }

    pub fn berth_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("berth runs")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_STATE_DIR", &self.state)
            .env("NO_COLOR", "1")
            .env_remove("DOCKER_HOST");
        cmd
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for p in &self.projects {
            cleanup_project(p);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes every object labelled with the project: services first, then what they used.
pub fn cleanup_project(project: &str) {
    let filter = format!("label=berth.project={project}");
    let ids = |kind: &str| -> Vec<String> {
        let out = docker(&[kind, "ls", "-q", "--filter", &filter]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect()
    };
    let services = ids("service");
    if !services.is_empty() {
        let mut args = vec!["service", "rm"];
        args.extend(services.iter().map(String::as_str));
        docker(&args);
        // Tasks exit in the background; what they used can go once they are gone.
        for _ in 0..100 {
            let tasks = docker(&[
                "ps",
                "-q",
                "--filter",
                &format!("label=com.docker.stack.namespace={project}"),
            ]);
            if tasks.stdout.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    // Swarm leaves the containers of a removed job's tasks behind (exited or created), in every
    // environment's stack of the project (`<project>`, `<project>-staging`, `<project>-pr-<n>`).
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        "label=com.docker.stack.namespace",
        "--format",
        "{{.ID}} {{.Label \"com.docker.stack.namespace\"}}",
    ]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((id, stack)) = line.split_once(' ') else {
            continue;
        };
        let env = stack
            .strip_prefix(project)
            .and_then(|r| r.strip_prefix('-'));
        let ours = match env {
            None => stack == project,
            Some(env) => {
                ["staging", "dev"].contains(&env)
                    || env
                        .strip_prefix("pr-")
                        .is_some_and(|n| n.parse::<u64>().is_ok())
            }
        };
        if ours {
            docker(&["rm", "-f", id]);
        }
    }
    for kind in ["secret", "config"] {
        for id in ids(kind) {
            docker(&[kind, "rm", &id]);
        }
    }
    // The cluster backend's state, head and lock configs of the project.
    let store = format!("label=berth.store.project={project}");
    let out = docker(&["config", "ls", "-q", "--filter", &store]);
    for id in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
    {
        docker(&["config", "rm", id]);
    }
    for _ in 0..50 {
        let nets = ids("network");
        for id in &nets {
            docker(&["network", "rm", id]);
        }
        if ids("network").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = docker(&["volume", "ls", "-q", "--filter", &filter]);
    for v in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
    {
        for _ in 0..50 {
            if docker(&["volume", "rm", v]).status.success() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

fn require_swarm() {
    let out = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && state == "active",
        "the end-to-end tests need the Docker Engine in swarm mode (state: {state:?}); run scripts/swarm-init.sh"
    );
}

/// A rendered diagnostic as one line of words: miette wraps long messages and draws frames.
pub fn flat(rendered: &str) -> String {
    rendered
        .replace(['│', '·'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn text(out: &Output) -> String {
    format!(
        "--- status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Asserts the exit code, showing everything berth said when it differs.
#[track_caller]
pub fn expect_code(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
}

/// The `docker service inspect` value of one field of a service.
pub fn inspect(service: &str, format: &str) -> String {
    let out = docker(&["service", "inspect", service, "--format", format]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every file under `dir`, recursively, as text.
pub fn read_tree(dir: &Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&read_tree(&p));
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push_str(&t);
            }
        }
    }
    out
}
