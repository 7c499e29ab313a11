//! State and locks on the cluster (the default backend), through the real binary: two copies of
//! a configuration in different directories (two CI runners) share one history and one lock;
//! contention is refused naming the holder or waited for; a holder killed with SIGKILL leaves a
//! lease that expires and is broken; ten concurrent applies of one project environment take
//! turns and each records its own serial; a rollback returns to a serial and refuses a secret
//! whose source changed; CI plans from pulled state with no engine; local state moves with
//! `berth state push`.

use crate::harness::{docker, expect_code, flat, heavy, inspect, stdout, text, World};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One small unrouted service; `marker` changes its spec, `secret` mounts a secret read from
/// the environment variable of that name.
fn project(name: &str, image: &str, marker: &str, secret: Option<&str>) -> String {
    let (declared, used) = match secret {
        Some(var) => (
            format!("  secret token {{\n    env = \"{var}\"\n  }}\n\n"),
            "      TOKEN_FILE = secret.token\n",
        ),
        None => (String::new(), ""),
    };
    format!(
        r#"project {name} {{
{declared}  service web {{
    image = "{image}"

    env {{
      MARKER = "{marker}"
{used}    }}

    resources {{
      limits {{
        cpu    = 0.1
        memory = 16M
      }}
    }}
  }}
}}
"#
    )
}

/// berth with the cluster backend (the harness points every other test at a directory).
fn command(w: &World, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = w.command(args);
    cmd.env_remove("BERTH_STATE_DIR")
        .env_remove("BERTH_LOCK_LEASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(w: &World, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(w, args, env).output().expect("berth runs")
}

fn spawn(w: &World, args: &[&str], env: &[(&str, &str)]) -> Child {
    command(w, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth starts")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The current state of `project/production` as the cluster has it.
fn pulled(w: &World, project: &str) -> serde_json::Value {
    let out = run(
        w,
        &["state", "pull", "-p", project, "-e", "production"],
        &[],
    );
    expect_code(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn serial(w: &World, project: &str) -> u64 {
    pulled(w, project)["serial"].as_u64().unwrap()
}

/// The lines of `berth state history`.
fn history(w: &World, project: &str) -> Vec<String> {
    let out = run(
        w,
        &["state", "history", &format!("{project}/production")],
        &[],
    );
    expect_code(&out, 0);
    stdout(&out).lines().map(str::to_string).collect()
}

/// Waits until a lock of the project exists on the cluster.
fn wait_for_lock(project: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let out = docker(&[
            "config",
            "ls",
            "-q",
            "--filter",
            "label=berth.store=lock",
            "--filter",
            &format!("label=berth.store.project={project}"),
        ]);
        if !out.stdout.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no lock of {project} appeared");
}

#[test]
fn copies_in_two_directories_share_state_and_locks() {
    let mut w = World::new();
    let p = w.project("share");
    let (a, b) = (w.dir.join("a"), w.dir.join("b"));
    w.write("a/main.berth", &project(&p, "berth/demo:1", "0", None));
    w.write("b/main.berth", &project(&p, "berth/demo:1", "0", None));
    expect_code(&run(&w, &["apply", "--auto-approve", path(&a)], &[]), 0);
    assert!(
        !a.join(".berth").exists(),
        "nothing is kept on this machine"
    );

    // Another runner: a fresh copy with no `.berth` sees the same serial and plans no change.
    assert_eq!(serial(&w, &p), 1);
    assert_eq!(history(&w, &p), ["1 (current)"]);
    expect_code(&run(&w, &["plan", "--detailed-exitcode", path(&b)], &[]), 0);

    // CI without the cluster: the pulled state is planned against, with no engine at all.
    let file = w.dir.join("pulled.json");
    std::fs::write(&file, serde_json::to_vec(&pulled(&w, &p)).unwrap()).unwrap();
    let offline = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let out = run(
        &w,
        &[
            "plan",
            "--refresh=false",
            "--state-file",
            path(&file),
            "--detailed-exitcode",
            path(&b),
        ],
        &offline,
    );
    expect_code(&out, 0);
    // The offline plan sees a change as a change.
    w.write("b/main.berth", &project(&p, "berth/demo:2", "0", None));
    let args = ["plan", "--refresh=false", "--state-file", path(&file)];
    let out = run(
        &w,
        &[&args[..], &["--detailed-exitcode", path(&b)]].concat(),
        &offline,
    );
    expect_code(&out, 2);

    // While one copy applies, the other is refused, naming the holder; waiting, it succeeds.
    w.write("a/main.berth", &project(&p, "berth/demo:2", "0", None));
    let holder = spawn(&w, &["apply", "--auto-approve", path(&a)], &[]);
    wait_for_lock(&p);
    let refused = run(&w, &["apply", "--auto-approve", path(&b)], &[]);
    expect_code(&refused, 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("E0305")
            && stderr.contains(&format!("pid {}", holder.id()))
            && stderr.contains("apply"),
        "{}",
        text(&refused)
    );
    let waited = run(
        &w,
        &["apply", "--auto-approve", "--lock-timeout", "2m", path(&b)],
        &[],
    );
    expect_code(&waited, 0);
    expect_code(&holder.wait_with_output().unwrap(), 0);
    assert_eq!(
        serial(&w, &p),
        2,
        "the waiting apply found nothing left to do"
    );
    assert_eq!(history(&w, &p), ["1", "2 (current)"]);

    // A holder killed with SIGKILL mid-apply leaves a lock; its lease expires and the next
    // apply breaks it. State is never torn: every serial kept reads back.
    w.write("a/main.berth", &project(&p, "berth/demo:1", "0", None));
    let mut killed = spawn(
        &w,
        &["apply", "--auto-approve", path(&a)],
        &[("BERTH_LOCK_LEASE", "2s")],
    );
    wait_for_lock(&p);
    std::thread::sleep(Duration::from_millis(300));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let listed = run(&w, &["state", "list"], &[]);
    assert!(
        stdout(&listed).contains(&format!("{p}/production"))
            && stdout(&listed).contains("locked by"),
        "the killed holder's lock stays until its lease expires: {}",
        text(&listed)
    );
    let broke = run(
        &w,
        &["apply", "--auto-approve", "--lock-timeout", "1m", path(&b)],
        &[],
    );
    expect_code(&broke, 0);
    assert!(
        String::from_utf8_lossy(&broke.stderr).contains("removed the lock"),
        "{}",
        text(&broke)
    );
    assert_eq!(
        inspect(
            &format!("{p}_web"),
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        ),
        "berth/demo:2"
    );
    expect_code(&run(&w, &["plan", "--detailed-exitcode", path(&b)], &[]), 0);
    let current = serial(&w, &p);
    assert!(current >= 3, "the breaking apply recorded a serial");
    for line in history(&w, &p) {
        let n = line.split_whitespace().next().unwrap();
        let out = run(
            &w,
            &["state", "show", &format!("{p}/production"), "--serial", n],
            &[],
        );
        expect_code(&out, 0);
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["serial"].as_u64().unwrap().to_string(), n);
    }
}

#[test]
fn ten_concurrent_applies_of_one_environment_take_turns() {
    let _heavy = heavy();
    let mut w = World::new();
    let p = w.project("turns");
    w.write("main.berth", &project(&p, "berth/demo:1", "0", None));
    expect_code(&run(&w, &["apply", "--auto-approve", w.dir_str()], &[]), 0);
    // Ten copies, each changing the service its own way, applied at once by ten processes.
    for i in 1..=10 {
        w.write(
            &format!("c{i}/main.berth"),
            &project(&p, "berth/demo:1", &i.to_string(), None),
        );
    }
    let dirs: Vec<String> = (1..=10)
        .map(|i| w.dir.join(format!("c{i}")).to_str().unwrap().to_string())
        .collect();
    let children: Vec<Child> = dirs
        .iter()
        .map(|d| {
            spawn(
                &w,
                &[
                    "apply",
                    "--auto-approve",
                    "--no-wait",
                    "--lock-timeout",
                    "3m",
                    d,
                ],
                &[],
            )
        })
        .collect();
    for c in children {
        expect_code(&c.wait_with_output().unwrap(), 0);
    }
    // Exactly one at a time: each apply began from the serial the one before it recorded, so
    // none was lost, and every serial records one copy's change.
    assert_eq!(serial(&w, &p), 11);
    let lines = history(&w, &p);
    assert_eq!(lines.len(), 11, "{lines:?}");
    let mut markers = Vec::new();
    for n in 2..=11 {
        let out = run(
            &w,
            &[
                "state",
                "show",
                &format!("{p}/production"),
                "--serial",
                &n.to_string(),
            ],
            &[],
        );
        expect_code(&out, 0);
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let env = s["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["address"]
                    .as_str()
                    .is_some_and(|a| a.ends_with("service.web"))
            })
            .map(|r| r["spec"].to_string())
            .unwrap();
        let marker = (1..=10)
            .find(|i| env.contains(&format!("MARKER={i}\"")))
            .unwrap_or_else(|| panic!("serial {n} records no copy's change: {env}"));
        markers.push(marker);
    }
    markers.sort();
    assert_eq!(markers, (1..=10).collect::<Vec<_>>());
}

#[test]
fn rollback_returns_to_a_serial_and_refuses_a_changed_secret() {
    let mut w = World::new();
    let p = w.project("back");
    let var = format!("BERTH_{}_TOKEN", p.to_uppercase().replace('-', "_"));
    let dir = w.dir_str().to_string();
    let one = [(var.as_str(), "first-value")];
    w.write("main.berth", &project(&p, "berth/demo:1", "0", Some(&var)));
    expect_code(&run(&w, &["apply", "--auto-approve", &dir], &one), 0);
    w.write("main.berth", &project(&p, "berth/demo:2", "0", Some(&var)));
    expect_code(&run(&w, &["apply", "--auto-approve", &dir], &one), 0);
    let service = format!("{p}_web");
    let image = "{{.Spec.TaskTemplate.ContainerSpec.Image}}";
    assert_eq!(inspect(&service, image), "berth/demo:2");

    // Without an environment a rollback is a usage error that says what to pass; passing
    // --project and --env follows it.
    let usage = run(
        &w,
        &[
            "rollback",
            "--project",
            &p,
            "--to",
            "1",
            "--auto-approve",
            &dir,
        ],
        &one,
    );
    expect_code(&usage, 64);
    assert!(
        flat(&text(&usage)).contains("pass --project and --env"),
        "{}",
        text(&usage)
    );
    let out = run(
        &w,
        &[
            "rollback",
            "--project",
            &p,
            "--env",
            "production",
            "--to",
            "1",
            "--auto-approve",
            &dir,
        ],
        &one,
    );
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("berth/demo:2\" -> \"berth/demo:1\""),
        "{}",
        text(&out)
    );
    assert_eq!(inspect(&service, image), "berth/demo:1");
    assert_eq!(serial(&w, &p), 3);
    assert_eq!(history(&w, &p), ["1", "2", "3 (current)"]);

    // A serial that was never recorded is refused, and the hint lists the ones kept.
    let deployment = format!("{p}/production");
    let to = [
        "rollback",
        "-p",
        &p,
        "-e",
        "production",
        "--to",
        "9",
        "--auto-approve",
        &dir,
    ];
    let missing = run(&w, &to, &one);
    expect_code(&missing, 1);
    let said = flat(&text(&missing));
    assert!(
        said.contains("E0324") && said.contains(&format!("`berth state history {deployment}`")),
        "{}",
        text(&missing)
    );
    let listed = run(&w, &["state", "history", &deployment], &[]);
    expect_code(&listed, 0);
    assert_eq!(
        stdout(&listed).lines().collect::<Vec<_>>(),
        ["1", "2", "3 (current)"]
    );

    // The secret rotates; a rollback to before the rotation would need the old value.
    let two = [(var.as_str(), "second-value")];
    expect_code(&run(&w, &["apply", "--auto-approve", &dir], &two), 0);
    let refused = run(
        &w,
        &[
            "rollback",
            "-p",
            &p,
            "-e",
            "production",
            "--to",
            "3",
            "--auto-approve",
            &dir,
        ],
        &two,
    );
    expect_code(&refused, 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("E0323") && stderr.contains("secret.token"),
        "{}",
        text(&refused)
    );
    assert_eq!(serial(&w, &p), 4, "a refused rollback records nothing");
}

#[test]
fn local_state_is_moved_to_the_cluster_with_push() {
    let mut w = World::new();
    let p = w.project("move");
    let dir = w.dir_str().to_string();
    let local = w.dir.join(".berth").join("state");
    let here = [("BERTH_STATE_DIR", path(&local))];
    w.write("main.berth", &project(&p, "berth/demo:1", "0", None));
    expect_code(&run(&w, &["apply", "--auto-approve", &dir], &here), 0);
    w.write("main.berth", &project(&p, "berth/demo:1", "1", None));
    expect_code(
        &run(&w, &["apply", "--auto-approve", "--no-wait", &dir], &here),
        0,
    );
    let recorded: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(local.join(&p).join("production").join("state.json")).unwrap(),
    )
    .unwrap();

    // The cluster has none of it: berth says so instead of starting a second history.
    let refused = run(&w, &["apply", "--auto-approve", &dir], &[]);
    expect_code(&refused, 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    // miette wraps long lines, also inside a path.
    let unwrapped: String = stderr.chars().filter(|c| !c.is_whitespace()).collect();
    let push = format!("`berth state push {dir}`");
    let keep = format!("`--state-dir {}`", path(&local));
    assert!(
        stderr.contains("E0322")
            && unwrapped.contains(&push.replace(' ', ""))
            && unwrapped.contains(&keep.replace(' ', "")),
        "{}",
        text(&refused)
    );
    // Keeping it with --state-dir works and records nothing new, here or on the cluster.
    let kept = run(
        &w,
        &["apply", "--auto-approve", "--state-dir", path(&local), &dir],
        &[],
    );
    expect_code(&kept, 0);
    assert!(stdout(&kept).contains("No changes"), "{}", text(&kept));

    let pushed = run(&w, &["state", "push", &dir], &[]);
    expect_code(&pushed, 0);
    assert!(
        flat(&text(&pushed)).contains("checked `berth state list`"),
        "{}",
        text(&pushed)
    );
    let list = run(&w, &["state", "list"], &[]);
    expect_code(&list, 0);
    assert!(
        stdout(&list).contains(&format!("{p}/production")),
        "{}",
        text(&list)
    );
    let moved = pulled(&w, &p);
    assert_eq!(moved["serial"], recorded["serial"]);
    assert_eq!(moved["lineage"], recorded["lineage"]);
    assert_eq!(history(&w, &p), ["1", "2 (current)"]);
    expect_code(&run(&w, &["plan", "--detailed-exitcode", &dir], &[]), 0);
    // Pushing twice never overwrites.
    let again = run(&w, &["state", "push", &dir], &[]);
    expect_code(&again, 1);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("E0325"),
        "{}",
        text(&again)
    );

    // `state rm` forgets only an environment that holds nothing.
    let rm = ["state", "rm", "-p", &p, "-e", "production"];
    let kept = run(&w, &rm, &[]);
    expect_code(&kept, 1);
    assert!(
        String::from_utf8_lossy(&kept.stderr).contains("E0325"),
        "{}",
        text(&kept)
    );
    let destroy = [
        "destroy",
        "-p",
        &p,
        "-e",
        "production",
        "--auto-approve",
        &dir,
    ];
    expect_code(&run(&w, &destroy, &[]), 0);
    expect_code(&run(&w, &rm, &[]), 0);
    let list = run(&w, &["state", "list"], &[]);
    assert!(!stdout(&list).contains(&p), "{}", text(&list));
}

#[test]
fn killed_at_any_moment_the_cluster_state_stays_whole() {
    let _heavy = heavy();
    let mut w = World::new();
    let p = w.project("crash");
    let services: String = (0..4)
        .map(|i| format!("  service s{i} {{\n    image = \"berth/demo:1\"\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n"))
        .collect();
    w.write("main.berth", &format!("project {p} {{\n{services}}}\n"));
    let dir = w.dir_str().to_string();
    for attempt in 0..5u64 {
        // A short lease, so the killed holder's lock expires soon.
        let mut child = command(
            &w,
            &["apply", "--auto-approve", &dir],
            &[("BERTH_LOCK_LEASE", "1s")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(200 + attempt * 400));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let out = run_apply(&w, &dir);
        expect_code(&out, 0);
        expect_code(&run(&w, &["plan", "--detailed-exitcode", &dir], &[]), 0);
        let state = pulled(&w, &p);
        assert_eq!(
            state["resources"].as_array().unwrap().len(),
            5,
            "run {attempt}: every object recorded once (four services and the network)"
        );
        // Every serial kept reads back whole.
        for line in history(&w, &p) {
            let n = line.split_whitespace().next().unwrap();
            let show = ["state", "show", &format!("{p}/production"), "--serial", n];
            expect_code(&run(&w, &show, &[]), 0);
        }
        let destroy = [
            "destroy",
            "-p",
            &p,
            "-e",
            "production",
            "--auto-approve",
            &dir,
        ];
        expect_code(&run(&w, &destroy, &[]), 0);
    }
}

fn run_apply(w: &World, dir: &str) -> Output {
    run(
        w,
        &["apply", "--auto-approve", "--lock-timeout", "1m", dir],
        &[],
    )
}

/// Removes the platform's state and lock from the cluster backend when dropped.
struct PlatformState;

impl Drop for PlatformState {
    fn drop(&mut self) {
        let out = docker(&[
            "config",
            "ls",
            "-q",
            "--filter",
            "label=berth.store.project=platform",
        ]);
        for id in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
        {
            docker(&["config", "rm", id]);
        }
    }
}

#[test]
fn two_directories_applying_the_platform_share_its_state_and_lock() {
    let e = crate::edge::Edge::new();
    // Dropped before the edge guard destroys the proxy.
    let _state = PlatformState;
    let w = &e.world;
    let (a, b) = (w.dir.join("a"), w.dir.join("b"));
    w.write("a/platform.berth", &e.platform_block());
    w.write("b/platform.berth", &e.platform_block());

    // While the first directory creates the proxy, the second is refused its lock; waiting,
    // it finds the platform applied and nothing to change.
    let first = spawn(w, &["apply", "--auto-approve", path(&a)], &[]);
    wait_for_lock("platform");
    let refused = run(w, &["apply", "--auto-approve", path(&b)], &[]);
    expect_code(&refused, 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("E0305")
            && stderr.contains("platform/proxy")
            && stderr.contains(&format!("pid {}", first.id())),
        "{}",
        text(&refused)
    );
    let waited = run(
        w,
        &["apply", "--auto-approve", "--lock-timeout", "3m", path(&b)],
        &[],
    );
    expect_code(&first.wait_with_output().unwrap(), 0);
    expect_code(&waited, 0);
    expect_code(&run(w, &["plan", "--detailed-exitcode", path(&b)], &[]), 0);
    let history = run(w, &["state", "history", "platform/proxy"], &[]);
    assert_eq!(stdout(&history).trim(), "1 (current)", "{}", text(&history));

    let destroy = [
        "destroy",
        "--platform",
        "--auto-approve",
        "--allow-data-loss",
        path(&b),
    ];
    expect_code(&run(w, &destroy, &[]), 0);
    expect_code(
        &run(w, &["state", "rm", "-p", "platform", "-e", "proxy"], &[]),
        0,
    );
}
