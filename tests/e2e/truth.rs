//! Output that never misleads (issue 14), on the real Swarm: one test per untruth the issue
//! found. State records what runs after a rolled-back apply and drift agrees; the failure reason
//! is the failed update's own; drift and status fail when their selection checks nothing, a
//! preview has one name everywhere and a whole plan names the previews it leaves out; a plan from
//! recorded state says so; only what changed takes a new serial; a destroy's plan says it was
//! asked for; a status of nothing applied fails. Also the hints whose following needs the engine
//! (see `hints.rs`). Missing sources are `sources.rs`'s, the swarm-init hint on an engine without
//! swarm `noswarm.rs`'s, and the graph of a claimed slot `edge/graph.rs`'s; they share
//! [`Truth`].

use crate::harness::{docker, expect_code, flat, stdout, text, World};
use std::process::Output;

/// One project with a health-checked web service, in production, staging and previews.
pub(crate) fn project(name: &str, image: &str, level: &str) -> String {
    format!(
        r#"variable pr {{
  type = number
}}

project {name} {{
  volume data {{}}

  service web {{
    image = "{image}"

    mount {{
      source = volume.data
      target = "/data"
    }}

    env {{
      LOG_LEVEL = "{level}"
    }}

    resources {{
      limits {{
        cpu    = 0.2
        memory = 32M
      }}
    }}

    health {{
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = 2s
      timeout  = 1s
      retries  = 2
    }}
  }}

  environment production {{}}

  environment staging {{}}

  environment preview {{}}
}}
"#
    )
}

pub(crate) struct Truth {
    pub(crate) world: World,
    pub(crate) name: String,
}

impl Truth {
    pub(crate) fn new(tag: &str) -> Truth {
        let mut world = World::new();
        let name = world.project(tag);
        Truth { world, name }
    }

    pub(crate) fn write(&self, image: &str, level: &str) {
        self.world
            .write("main.berth", &project(&self.name, image, level));
    }

    /// berth with `args`, then the configuration directory.
    pub(crate) fn berth(&self, args: &[&str]) -> Output {
        let mut full = args.to_vec();
        full.push(self.world.dir_str());
        self.world.berth(&full)
    }

    pub(crate) fn apply(&self, env: &str) -> Output {
        self.berth(&["apply", "--auto-approve", "-p", &self.name, "-e", env])
    }

    /// The image state records for the web service of one environment.
    pub(crate) fn recorded_image(&self, env: &str) -> String {
        let show = self
            .world
            .berth(&["state", "show", &format!("{}/{env}", self.name)]);
        expect_code(&show, 0);
        let state: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"].as_str().unwrap().ends_with("/service.web"))
            .map(|r| r["spec"]["spec"]["TaskTemplate"]["ContainerSpec"]["Image"].to_string())
            .unwrap_or_default()
    }

    pub(crate) fn serial(&self, env: &str) -> u64 {
        let show = self
            .world
            .berth(&["state", "show", &format!("{}/{env}", self.name)]);
        expect_code(&show, 0);
        let state: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
        state["serial"].as_u64().unwrap()
    }
}

/// Item 1: Swarm rolled the broken image back, so state records the image that runs, and the
/// next drift check finds nothing to "restore".
#[test]
fn a_rolled_back_apply_records_what_runs_and_drift_agrees() {
    let t = Truth::new("rolled");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    t.write("berth/demo:broken", "info");
    let out = t.apply("production");
    expect_code(&out, 1);
    assert!(flat(&text(&out)).contains("rolled back"), "{}", text(&out));
    let web = format!("{}_web", t.name);
    let running = docker(&[
        "service",
        "inspect",
        &web,
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ]);
    assert_eq!(stdout(&running).trim(), "berth/demo:1");
    assert!(
        t.recorded_image("production").contains("berth/demo:1"),
        "state records {}, Swarm runs berth/demo:1",
        t.recorded_image("production")
    );
    let drift = t.berth(&["drift", "-p", &t.name]);
    expect_code(&drift, 0);
    // The configuration still asks for the broken image: the next plan offers it again.
    expect_code(
        &t.berth(&[
            "plan",
            "--detailed-exitcode",
            "-p",
            &t.name,
            "-e",
            "production",
        ]),
        2,
    );
}

/// Item 2: after an attempt whose image does not exist, an update that fails its health check
/// is reported with its own tasks' errors, not the earlier attempt's "No such image".
#[test]
fn the_failure_reason_comes_from_the_tasks_of_the_failed_update() {
    let t = Truth::new("reason");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    t.write("berth/demo:3", "info");
    let first = t.apply("production");
    expect_code(&first, 1);
    assert!(
        flat(&text(&first)).contains("berth/demo:3"),
        "{}",
        text(&first)
    );
    t.write("berth/demo:broken", "info");
    let second = t.apply("production");
    expect_code(&second, 1);
    let said = flat(&text(&second));
    assert!(said.contains("rolled back"), "{said}");
    assert!(
        !said.contains("No such image") && !said.contains("berth/demo:3"),
        "the reason quotes the earlier attempt: {said}"
    );
}

/// Item 3: drift and status whose selection matches nothing applied fail; a preview is
/// `preview-<pr>` everywhere (`-e preview --pr N` and `--var pr=N` say the same); a whole plan
/// names the previews it leaves out.
#[test]
fn selections_that_match_nothing_fail_and_a_preview_has_one_name() {
    let t = Truth::new("select");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("preview-5"), 0);
    expect_code(
        &t.berth(&[
            "apply",
            "--auto-approve",
            "-p",
            &t.name,
            "-e",
            "preview",
            "--pr",
            "6",
        ]),
        0,
    );
    let preview = format!("{}/preview-5", t.name);
    // Every spelling names the same preview, on every command.
    for spelling in [
        vec!["-e", "preview-5"],
        vec!["-e", "preview", "--pr", "5"],
        vec!["-e", "preview", "--var", "pr=5"],
    ] {
        let mut plan = vec!["plan", "--detailed-exitcode", "-p", &t.name];
        plan.extend(&spelling);
        expect_code(&t.berth(&plan), 0);
        let mut drift = vec!["drift", "-p", &t.name];
        drift.extend(&spelling);
        let out = t.berth(&drift);
        expect_code(&out, 0);
        assert!(stdout(&out).contains(&preview), "{}", text(&out));
    }
    // `-e preview` checks every applied preview, not nothing.
    let all = t.berth(&["drift", "-p", &t.name, "-e", "preview"]);
    expect_code(&all, 0);
    assert!(
        stdout(&all).contains(&preview) && stdout(&all).contains("preview-6"),
        "{}",
        text(&all)
    );
    // Nothing applied matches: a failure with a code, never a pass.
    let none = t.berth(&["drift", "-p", &t.name, "-e", "production"]);
    expect_code(&none, 1);
    assert!(text(&none).contains("E0415"), "{}", text(&none));
    assert!(text(&none).contains(&preview), "{}", text(&none));
    let status = t.berth(&["status", "-p", &format!("{}-nope", t.name)]);
    expect_code(&status, 1);
    assert!(text(&status).contains("E0415"), "{}", text(&status));
    // A whole plan says which previews it leaves out.
    let whole = t.berth(&["plan"]);
    expect_code(&whole, 0);
    let said = flat(&stdout(&whole));
    assert!(
        said.contains("leaves out 2 preview environments")
            && said.contains(&preview)
            && said.contains("preview-6"),
        "{said}"
    );
    // The note of a check that found nothing names `--state-dir`: followed, the check runs.
    let elsewhere = t.world.dir.join("no-state-here");
    let lost = t.berth(&[
        "drift",
        "--state-dir",
        elsewhere.to_str().unwrap(),
        "-p",
        &t.name,
    ]);
    expect_code(&lost, 1);
    assert!(
        flat(&text(&lost)).contains("`--state-dir`"),
        "{}",
        text(&lost)
    );
    let found = t.berth(&[
        "drift",
        "--state-dir",
        t.world.state.to_str().unwrap(),
        "-p",
        &t.name,
    ]);
    expect_code(&found, 0);
    // A preview's destroy without its pull request says how to name it; followed, it works.
    let unnamed = t.berth(&["destroy", "--auto-approve", "-p", &t.name, "-e", "preview"]);
    expect_code(&unnamed, 64);
    assert!(text(&unnamed).contains("`--pr 123`"), "{}", text(&unnamed));
    expect_code(
        &t.berth(&[
            "destroy",
            "--auto-approve",
            "-p",
            &t.name,
            "-e",
            "preview",
            "--pr",
            "6",
        ]),
        0,
    );
}

/// Item 3, status: `berth status` with no selection and nothing applied fails (E0415) in every
/// format, naming the command and the state directory it looked in, instead of an empty report
/// that exits 0; once something is applied there, the same command reports it.
#[test]
fn a_status_of_nothing_applied_fails_and_names_where_it_looked() {
    let t = Truth::new("status");
    let state = t.world.state.display().to_string();
    for format in ["human", "json", "prometheus"] {
        let out = t.berth(&["status", "--format", format]);
        expect_code(&out, 1);
        let compact: String = flat(&text(&out)).split_whitespace().collect();
        assert!(
            compact.contains("E0415")
                && compact.contains("`berthstatus`foundnoappliedprojectenvironment")
                && compact.contains(&state.replace(' ', "")),
            "--format {format}: {}",
            text(&out)
        );
    }
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    let out = t.berth(&["status"]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains(&format!("{}/production", t.name)),
        "{}",
        text(&out)
    );
}

/// Item 4: a plan made from recorded state alone says that it did not read the cluster.
#[test]
fn a_plan_from_recorded_state_says_what_it_compared() {
    let t = Truth::new("refresh");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    let live = t.berth(&["plan", "-p", &t.name, "-e", "production"]);
    expect_code(&live, 0);
    assert!(
        flat(&stdout(&live)).contains("with the cluster"),
        "{}",
        text(&live)
    );
    let recorded = t.berth(&["plan", "--refresh=false", "-p", &t.name, "-e", "production"]);
    expect_code(&recorded, 0);
    let said = flat(&stdout(&recorded));
    assert!(
        said.contains("with the recorded state") && !said.contains("with the cluster"),
        "{said}"
    );
    let markdown = t.berth(&[
        "plan",
        "--refresh=false",
        "--format",
        "markdown",
        "-p",
        &t.name,
        "-e",
        "production",
    ]);
    assert!(
        stdout(&markdown).contains("the cluster was not read"),
        "{}",
        text(&markdown)
    );
}

/// Item 5: a whole-configuration apply that changes production alone moves production's
/// serial, not staging's, so a plan saved for staging stays fresh.
#[test]
fn an_apply_moves_only_the_serials_of_what_changed() {
    let t = Truth::new("serial");
    t.write("berth/demo:1", "info");
    expect_code(&t.berth(&["apply", "--auto-approve"]), 0);
    let (production, staging) = (t.serial("production"), t.serial("staging"));
    let saved = t.world.dir.join("staging.plan");
    let planned = t.berth(&[
        "plan",
        "-p",
        &t.name,
        "-e",
        "staging",
        "--out",
        saved.to_str().unwrap(),
    ]);
    expect_code(&planned, 0);
    let hint = format!("`berth apply {}`", saved.display());
    assert!(text(&planned).contains(&hint), "{}", text(&planned));
    let production_plan = t.world.dir.join("production.plan");
    expect_code(
        &t.berth(&[
            "plan",
            "-p",
            &t.name,
            "-e",
            "production",
            "--out",
            production_plan.to_str().unwrap(),
        ]),
        0,
    );
    // Only production changes (an environment overlay would do; the project's own text is
    // rewritten with the same staging result by overriding production alone).
    let text_now = project(&t.name, "berth/demo:1", "info").replace(
        "environment production {}",
        "environment production {\n    service web {\n      env {\n        LOG_LEVEL = \"debug\"\n      }\n    }\n  }",
    );
    t.world.write("main.berth", &text_now);
    expect_code(&t.berth(&["apply", "--auto-approve"]), 0);
    assert_eq!(t.serial("production"), production + 1);
    assert_eq!(t.serial("staging"), staging, "staging did not change");
    // The saved staging plan is still fresh: its hint, followed as printed (from the
    // configuration's directory), applies it.
    let followed = t
        .world
        .command(&["apply", "--auto-approve", saved.to_str().unwrap()])
        .current_dir(&t.world.dir)
        .output()
        .unwrap();
    expect_code(&followed, 0);
    // Production's saved plan is stale: berth says to plan again, and that works.
    let stale = t
        .world
        .command(&["apply", "--auto-approve", production_plan.to_str().unwrap()])
        .current_dir(&t.world.dir)
        .output()
        .unwrap();
    expect_code(&stale, 1);
    assert!(
        flat(&text(&stale)).contains("run `berth plan` again"),
        "{}",
        text(&stale)
    );
    expect_code(
        &t.berth(&[
            "plan",
            "-p",
            &t.name,
            "-e",
            "production",
            "--out",
            production_plan.to_str().unwrap(),
        ]),
        0,
    );
    let again = t
        .world
        .command(&["apply", "--auto-approve", production_plan.to_str().unwrap()])
        .current_dir(&t.world.dir)
        .output()
        .unwrap();
    expect_code(&again, 0);
}

/// Item 7: a destroy's plan says the deletes were asked for, not that the objects left the
/// configuration (they did not).
#[test]
fn a_destroy_plan_says_why_it_deletes() {
    let t = Truth::new("destroy");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("staging"), 0);
    // Without a terminal, berth asks for `--auto-approve`; passed, the destroy runs.
    let unconfirmed = t.berth(&["destroy", "-p", &t.name, "-e", "staging"]);
    expect_code(&unconfirmed, 64);
    assert!(
        text(&unconfirmed).contains("pass --auto-approve"),
        "{}",
        text(&unconfirmed)
    );
    let out = t.berth(&["destroy", "--auto-approve", "-p", &t.name, "-e", "staging"]);
    expect_code(&out, 0);
    let said = flat(&stdout(&out));
    assert!(
        said.contains("because `berth destroy` removes") && !said.contains("not in configuration"),
        "{said}"
    );
    // The volume is kept, and berth says how to remove it; followed, it is removed.
    assert!(said.contains("pass --allow-data-loss"), "{said}");
    let volume = format!("{}-staging_data", t.name);
    expect_code(&docker(&["volume", "inspect", &volume]), 0);
    expect_code(
        &t.berth(&[
            "destroy",
            "--auto-approve",
            "--allow-data-loss",
            "-p",
            &t.name,
            "-e",
            "staging",
        ]),
        0,
    );
    expect_code(&docker(&["volume", "inspect", &volume]), 1);
}

/// The lock error's two hints, followed: waiting (`--lock-timeout 5m`) takes the lock once it
/// is released, and `berth state unlock ID` releases a lock whose holder is elsewhere.
#[test]
fn the_lock_hints_work_when_followed() {
    let t = Truth::new("lock");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    // A holder on another host: berth cannot tell whether it still runs, so the lock holds.
    let id = "0123456789abcdef";
    let lock = t
        .world
        .state
        .join(&t.name)
        .join("production")
        .join("lock.json");
    let holder = serde_json::json!({
        "id": id,
        "operation": "apply",
        "holder": "ci@runner-7",
        "host": "runner-7.elsewhere",
        "pid": 4242,
        "created": "2026-12-01T00:00:00Z",
    });
    std::fs::write(&lock, holder.to_string()).unwrap();
    let refused = t.apply("production");
    expect_code(&refused, 1);
    let said = flat(&text(&refused));
    assert!(
        said.contains("`--lock-timeout 5m`")
            && said.contains(&format!("`berth state unlock {id}`")),
        "{said}"
    );
    let mut args = vec!["apply", "--auto-approve", "--lock-timeout", "5m"];
    args.extend(["-p", &t.name, "-e", "production", t.world.dir_str()]);
    let mut waiting = t
        .world
        .command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "the apply did not wait for the lock"
    );
    expect_code(&t.world.berth(&["state", "unlock", id]), 0);
    let waited = waiting.wait_with_output().unwrap();
    expect_code(&waited, 0);
    assert!(!lock.exists(), "the waiting apply released its lock");
}

/// The engine cannot be reached: berth says `docker info` shows the same problem, and it does.
#[test]
fn the_docker_info_hint_shows_the_same_problem() {
    let t = Truth::new("engine");
    t.write("berth/demo:1", "info");
    let socket = format!("unix:///tmp/berth-{}-absent.sock", t.world.id);
    let out = t.world.berth_env(
        &["plan", "-p", &t.name, t.world.dir_str()],
        &[("DOCKER_HOST", socket.as_str())],
    );
    expect_code(&out, 1);
    assert!(
        flat(&text(&out)).contains("`docker info`"),
        "{}",
        text(&out)
    );
    let info = std::process::Command::new("docker")
        .arg("info")
        .env("DOCKER_HOST", &socket)
        .output()
        .unwrap();
    assert!(!info.status.success(), "{}", text(&info));
    assert!(
        text(&info).contains(&format!("berth-{}-absent.sock", t.world.id)),
        "{}",
        text(&info)
    );
}

/// Hints about the command line and the configuration, followed: none needs the engine.
#[test]
fn hints_that_need_no_engine_work_when_followed() {
    let t = Truth::new("hints");
    let dir = t.world.dir_str();
    // A malformed `--var`: "write `--var NAME=VALUE`, e.g. `--var pr=123`".
    t.write("berth/demo:1", "info");
    let bad = t
        .world
        .berth(&["plan", "--refresh=false", "--var", "pr", dir]);
    expect_code(&bad, 1);
    assert!(text(&bad).contains("`--var NAME=VALUE`"), "{}", text(&bad));
    expect_code(
        &t.world
            .berth(&["plan", "--refresh=false", "--var", "pr=5", dir]),
        0,
    );
    // A usage error points at `berth help <command>`, which answers.
    let usage = t.world.berth(&["drift", "-e", "prod", dir]);
    expect_code(&usage, 64);
    assert!(
        text(&usage).contains("`berth help <command>`"),
        "{}",
        text(&usage)
    );
    expect_code(&t.world.berth(&["help", "drift"]), 0);
    // An unknown code: "`berth explain` lists every code", and it does.
    let unknown = t.world.berth(&["explain", "E9999"]);
    expect_code(&unknown, 1);
    assert!(
        text(&unknown).contains("`berth explain`"),
        "{}",
        text(&unknown)
    );
    let list = t.world.berth(&["explain"]);
    expect_code(&list, 0);
    assert!(stdout(&list).contains("E0415"), "{}", text(&list));

    // A preview without `variable pr`: "declare ... and give it with `--var pr=123`".
    let undeclared = project(&t.name, "berth/demo:1", "info").replace(
        "variable pr {
  type = number
}
",
        "",
    );
    t.world.write("main.berth", &undeclared);
    let preview = t.world.berth(&[
        "plan",
        "--refresh=false",
        "-p",
        &t.name,
        "-e",
        "preview",
        dir,
    ]);
    expect_code(&preview, 1);
    assert!(
        text(&preview).contains("`--var pr=123`"),
        "{}",
        text(&preview)
    );
    t.write("berth/demo:1", "info");
    expect_code(
        &t.world.berth(&[
            "plan",
            "--refresh=false",
            "-p",
            &t.name,
            "-e",
            "preview",
            "--var",
            "pr=7",
            dir,
        ]),
        0,
    );

    // A variable without a value: "give it with `--var tier=...`".
    let with_tier = project(&t.name, "berth/demo:1", "info")
        .replace(
            "  volume data {}",
            "  variable tier {
    type = string
  }

  volume data {}",
        )
        .replace("LOG_LEVEL = \"info\"", "LOG_LEVEL = var.tier");
    t.world.write("main.berth", &with_tier);
    let unset = t.world.berth(&["plan", "--refresh=false", dir]);
    expect_code(&unset, 1);
    assert!(
        text(&unset).contains("`--var tier=...`"),
        "{}",
        text(&unset)
    );
    expect_code(
        &t.world
            .berth(&["plan", "--refresh=false", "--var", "tier=gold", dir]),
        0,
    );

    // A project with errors of its own is left out of another's plan: "`berth validate` shows
    // them".
    t.write("berth/demo:1", "info");
    t.world.write(
        "other.berth",
        &format!(
            "project {}-other {{
  service web {{
    image   = \"berth/demo:1\"
    replcas = 2
  }}

  environment production {{}}
}}
",
            t.world.id
        ),
    );
    let left_out = t
        .world
        .berth(&["plan", "--refresh=false", "-p", &t.name, dir]);
    expect_code(&left_out, 0);
    assert!(
        text(&left_out).contains("`berth validate` shows them"),
        "{}",
        text(&left_out)
    );
    let validate = t.world.berth(&["validate", dir]);
    expect_code(&validate, 1);
    assert!(text(&validate).contains("replcas"), "{}", text(&validate));
    std::fs::remove_file(t.world.dir.join("other.berth")).unwrap();

    // CODEOWNERS out of date: "write it with `berth access codeowners > FILE`"; followed, the
    // check passes.
    let owners = t.world.dir.join("CODEOWNERS");
    let check = || {
        t.world.berth(&[
            "access",
            "codeowners",
            dir,
            "--check",
            owners.to_str().unwrap(),
        ])
    };
    let missing = check();
    expect_code(&missing, 1);
    assert!(
        text(&missing).contains("`berth access codeowners > "),
        "{}",
        text(&missing)
    );
    let generated = t.world.berth(&["access", "codeowners", dir]);
    expect_code(&generated, 0);
    std::fs::write(&owners, &generated.stdout).unwrap();
    expect_code(&check(), 0);
}

/// Item 7, Ctrl-C: an update Docker accepted is neither "finished" nor "0 changed": berth says
/// it is sent and not waited for, counts it so, and state records what Docker holds.
#[test]
fn an_interrupted_apply_says_what_it_sent() {
    use std::io::BufRead;
    let t = Truth::new("intr");
    t.write("berth/demo:1", "info");
    expect_code(&t.apply("production"), 0);
    t.write("berth/demo:2", "info");
    let mut child = t
        .world
        .command(&[
            "apply",
            "--auto-approve",
            "--progress",
            "lines",
            "-p",
            &t.name,
            "-e",
            "production",
            t.world.dir_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Interrupt once the poller reports the accepted update converging.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the update is sent within 2 minutes");
        if line.contains("service.web:") && line.contains("tasks running") {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let err = reader.join().unwrap();
    assert_ne!(status.code(), Some(0));
    assert!(
        err.contains("without waiting for it to converge") && !err.contains("finishing"),
        "{err}"
    );
    assert!(
        out.contains("1 sent to Docker but not converged"),
        "{out}\n{err}"
    );
    // State holds what Docker holds: the update was sent, so drift finds nothing.
    assert!(
        t.recorded_image("production").contains("berth/demo:2"),
        "{}",
        t.recorded_image("production")
    );
    expect_code(&t.berth(&["drift", "-p", &t.name]), 0);
}
