//! The life of a project environment on the real Swarm: apply and converge, plan nothing after,
//! drift made by hand reported and undone, scaling, image changes and rollback, destroy scoped to
//! one environment with volumes kept, secrets never written anywhere, locks, crash safety and
//! concurrent applies.

use crate::harness::{docker, expect_code, flat, inspect, read_tree, stdout, text, World};
use std::time::{Duration, Instant};

/// A project with a health-checked web service (a volume, a secret by env), a worker, and a
/// spare network. Not routed, so the proxy is not involved.
fn project(
    name: &str,
    secret_env: &str,
    image: &str,
    web_replicas: u32,
    worker_replicas: u32,
) -> String {
    format!(
        r#"project {name} {{
  volume data {{
    size = 1G
  }}

  secret token {{
    env = "{secret_env}"
  }}

  network spare {{}}

  service web {{
    image    = "{image}"
    replicas = {web_replicas}

    env {{
      TOKEN_FILE = secret.token
    }}

    mount {{
      source = volume.data
      target = "/data"
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
      retries  = 3
    }}
  }}

  service worker {{
    image    = "berth/demo:1"
    replicas = {worker_replicas}

    resources {{
      limits {{
        cpu    = 0.1
        memory = 16M
      }}
    }}
  }}

  environment production {{}}

  environment staging {{}}
}}
"#
    )
}

struct Setup {
    world: World,
    name: String,
    secret_env: String,
    secret: String,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        let mut world = World::new();
        let name = world.project(tag);
        // Under the project's own prefix, the only environment variables its secrets may read.
        let secret_env = format!("BERTH_{}_TOKEN", name.to_uppercase().replace('-', "_"));
        let secret = format!("s3cr3t-{}-value", world.id);
        Setup {
            world,
            name,
            secret_env,
            secret,
        }
    }

    fn write(&self, image: &str, web: u32, worker: u32) {
        self.world.write(
            "main.berth",
            &project(&self.name, &self.secret_env, image, web, worker),
        );
    }

    fn berth(&self, args: &[&str]) -> std::process::Output {
        let mut full: Vec<&str> = args.to_vec();
        full.push(self.world.dir_str());
        self.world
            .berth_env(&full, &[(self.secret_env.as_str(), self.secret.as_str())])
    }

    fn apply(&self, env: &str) -> std::process::Output {
        self.berth(&[
            "apply",
            "--auto-approve",
            "--project",
            &self.name,
            "--env",
            env,
        ])
    }

    fn plan_code(&self, env: &str) -> std::process::Output {
        self.berth(&[
            "plan",
            "--detailed-exitcode",
            "--project",
            &self.name,
            "--env",
            env,
        ])
    }

    fn service(&self, stack_suffix: &str, service: &str) -> String {
        format!("{}{stack_suffix}_{service}", self.name)
    }
}

#[test]
fn apply_converges_plans_nothing_after_and_never_writes_secrets() {
    let s = Setup::new("life");
    s.write("berth/demo:1", 2, 1);
    let first = s.apply("production");
    expect_code(&first, 0);
    assert!(
        stdout(&first).contains("Apply complete! Resources: 6 added"),
        "{}",
        text(&first)
    );
    assert_eq!(
        inspect(&s.service("", "web"), "{{.Spec.Mode.Replicated.Replicas}}"),
        "2"
    );

    // Applying and reading back give the same model: the next plan is empty, also from state.
    let again = s.plan_code("production");
    expect_code(&again, 0);
    assert!(stdout(&again).contains("No changes"), "{}", text(&again));
    expect_code(
        &s.berth(&[
            "plan",
            "--detailed-exitcode",
            "--refresh=false",
            "--project",
            &s.name,
            "--env",
            "production",
        ]),
        0,
    );

    // The secret's value is in Swarm, and nowhere berth writes or prints.
    let json = s.berth(&[
        "plan",
        "--format",
        "json",
        "--project",
        &s.name,
        "--env",
        "staging",
    ]);
    expect_code(&json, 0);
    let saved = s.world.dir.join("staging.plan");
    expect_code(
        &s.berth(&[
            "plan",
            "--out",
            saved.to_str().unwrap(),
            "--project",
            &s.name,
            "--env",
            "staging",
        ]),
        0,
    );
    let status = s.berth(&["status", "--format", "json"]);
    for (what, haystack) in [
        ("apply output", text(&first)),
        ("JSON plan", text(&json)),
        ("state files", read_tree(&s.world.state)),
        ("saved plan", std::fs::read_to_string(&saved).unwrap()),
        ("status", text(&status)),
    ] {
        assert!(
            !haystack.contains(&s.secret),
            "the secret value appears in the {what}"
        );
    }
    assert!(
        read_tree(&s.world.state).contains("berth.digest"),
        "state records the secret by digest"
    );
}

#[test]
fn a_rotated_secret_is_replaced_before_the_old_one_goes() {
    let mut s = Setup::new("rotate");
    s.write("berth/demo:1", 1, 1);
    expect_code(&s.apply("production"), 0);
    let listed = |s: &Setup| {
        let out = docker(&[
            "secret",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &format!("label=berth.project={}", s.name),
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let before = listed(&s);
    assert_eq!(before.len(), 1, "{before:?}");
    s.secret = format!("rotated-{}", s.world.id);
    let out = s.apply("production");
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("1 added, 1 changed, 1 destroyed"),
        "{}",
        text(&out)
    );
    let after = listed(&s);
    assert_eq!(after.len(), 1, "the old generation is gone: {after:?}");
    assert_ne!(after, before, "a new content name");
    let mounted = inspect(
        &s.service("", "web"),
        "{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}}{{end}}",
    );
    assert_eq!(mounted, after[0]);
    expect_code(&s.plan_code("production"), 0);
}

#[test]
fn drift_made_by_hand_is_reported_and_undone() {
    let s = Setup::new("drift");
    s.write("berth/demo:1", 1, 1);
    expect_code(&s.apply("production"), 0);
    expect_code(&s.berth(&["drift", "--project", &s.name]), 0);

    let web = s.service("", "web");
    let worker = s.service("", "worker");
    assert!(docker(&[
        "service",
        "update",
        "--detach",
        "--env-add",
        "BY_HAND=1",
        &web
    ])
    .status
    .success());
    assert!(
        docker(&["service", "scale", "--detach", &format!("{worker}=2")])
            .status
            .success()
    );
    assert!(docker(&["network", "rm", &format!("{}_spare", s.name)])
        .status
        .success());

    let drift = s.berth(&["drift", "--project", &s.name]);
    expect_code(&drift, 2);
    let out = stdout(&drift);
    for needle in [
        "service.web",
        "BY_HAND=1",
        "service.worker",
        "network.spare",
    ] {
        assert!(
            out.contains(needle),
            "drift does not mention {needle}:\n{}",
            text(&drift)
        );
    }
    let json = s.berth(&["drift", "--project", &s.name, "--format", "json"]);
    expect_code(&json, 2);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(value["drift"], true);

    expect_code(&s.apply("production"), 0);
    expect_code(&s.berth(&["drift", "--project", &s.name]), 0);
    assert!(!inspect(&web, "{{json .Spec.TaskTemplate.ContainerSpec.Env}}").contains("BY_HAND"));
    assert_eq!(inspect(&worker, "{{.Spec.Mode.Replicated.Replicas}}"), "1");
}

#[test]
fn scaling_changes_only_that_service() {
    let s = Setup::new("scale");
    s.write("berth/demo:1", 1, 1);
    expect_code(&s.apply("production"), 0);
    let web = s.service("", "web");
    let before = inspect(&web, "{{.Version.Index}}");
    s.write("berth/demo:1", 1, 3);
    let out = s.apply("production");
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("0 added, 1 changed, 0 destroyed"),
        "{}",
        text(&out)
    );
    assert_eq!(
        inspect(
            &s.service("", "worker"),
            "{{.Spec.Mode.Replicated.Replicas}}"
        ),
        "3"
    );
    assert_eq!(
        inspect(&web, "{{.Version.Index}}"),
        before,
        "web was not touched"
    );
}

#[test]
fn image_change_rolls_start_first_and_a_broken_version_is_rolled_back() {
    let s = Setup::new("roll");
    s.write("berth/demo:1", 2, 1);
    expect_code(&s.apply("production"), 0);
    let web = s.service("", "web");
    s.write("berth/demo:2", 2, 1);
    expect_code(&s.apply("production"), 0);
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );
    assert_eq!(inspect(&web, "{{.Spec.UpdateConfig.Order}}"), "start-first");

    s.write("berth/demo:broken", 2, 1);
    let out = s.apply("production");
    expect_code(&out, 1);
    assert!(flat(&text(&out)).contains("rolled back"), "{}", text(&out));
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2",
        "Swarm rolled back to the last good version"
    );
}

#[test]
fn destroy_removes_exactly_one_environment_and_keeps_volumes() {
    let mut s = Setup::new("dest");
    let other = s.world.project("other");
    // Each project's secret reads a variable under its own prefix.
    let other_env = format!("BERTH_{}_TOKEN", other.to_uppercase().replace('-', "_"));
    s.write("berth/demo:1", 1, 1);
    s.world.write(
        "other.berth",
        &project(&other, &other_env, "berth/demo:1", 1, 1).replace("environment staging {}", ""),
    );
    expect_code(&s.apply("production"), 0);
    expect_code(&s.apply("staging"), 0);
    expect_code(
        &s.world.berth_env(
            &[
                "apply",
                "--auto-approve",
                "--project",
                &other,
                "--env",
                "production",
                s.world.dir_str(),
            ],
            &[(other_env.as_str(), s.secret.as_str())],
        ),
        0,
    );
    let prod_version = inspect(&s.service("", "web"), "{{.Version.Index}}");
    let other_version = inspect(&format!("{other}_web"), "{{.Version.Index}}");

    let out = s.berth(&[
        "destroy",
        "--auto-approve",
        "--project",
        &s.name,
        "--env",
        "staging",
    ]);
    expect_code(&out, 0);
    assert!(
        docker(&["service", "inspect", &s.service("-staging", "web")])
            .status
            .code()
            != Some(0),
        "staging web is gone"
    );
    assert_eq!(
        inspect(&s.service("", "web"), "{{.Version.Index}}"),
        prod_version,
        "production untouched"
    );
    assert_eq!(
        inspect(&format!("{other}_web"), "{{.Version.Index}}"),
        other_version,
        "the other project untouched"
    );
    let volume = format!("{}-staging_data", s.name);
    assert!(
        docker(&["volume", "inspect", &volume]).status.success(),
        "the staging volume is kept:\n{}",
        text(&out)
    );

    let out = s.berth(&[
        "destroy",
        "--auto-approve",
        "--allow-data-loss",
        "--project",
        &s.name,
        "--env",
        "staging",
    ]);
    expect_code(&out, 0);
    assert!(
        !docker(&["volume", "inspect", &volume]).status.success(),
        "allowed, the volume goes:\n{}",
        text(&out)
    );
}

#[test]
fn a_second_apply_to_the_same_environment_fails_fast_naming_the_holder() {
    let s = Setup::new("lock");
    s.write("berth/demo:1", 2, 1);
    let mut first = s.world.command(&[
        "apply",
        "--auto-approve",
        "--project",
        &s.name,
        "--env",
        "production",
        s.world.dir_str(),
    ]);
    first.env(&s.secret_env, &s.secret);
    let mut child = first
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first apply holds the lock.
    let lock = s
        .world
        .state
        .join(&s.name)
        .join("production")
        .join("lock.json");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = s.apply("production");
    let status = child.wait().unwrap();
    assert!(status.success());
    expect_code(&second, 1);
    assert!(
        flat(&text(&second)).contains("is locked by"),
        "{}",
        text(&second)
    );
}

#[test]
fn killed_at_any_moment_the_next_apply_converges_without_duplicates() {
    let _heavy = crate::harness::heavy();
    let s = Setup::new("kill");
    let services: String = (0..6)
        .map(|i| format!("  service s{i} {{\n    image = \"berth/demo:1\"\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n"))
        .collect();
    let name = s.name.clone();
    let config = project(&name, &s.secret_env, "berth/demo:1", 1, 1).replacen(
        "  service web",
        &format!("{services}\n  service web"),
        1,
    );
    s.world.write("main.berth", &config);
    for run in 0..10u64 {
        let mut cmd = s.world.command(&[
            "apply",
            "--auto-approve",
            "--project",
            &name,
            "--env",
            "production",
            s.world.dir_str(),
        ]);
        cmd.env(&s.secret_env, &s.secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(150 + run * 250));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let out = s.apply("production");
        expect_code(&out, 0);
        expect_code(&s.plan_code("production"), 0);
        let show = s
            .world
            .berth(&["state", "show", &format!("{name}/production")]);
        expect_code(&show, 0);
        let state: serde_json::Value = serde_json::from_str(&stdout(&show)).expect("state parses");
        assert_eq!(
            state["resources"].as_array().unwrap().len(),
            12,
            "run {run}: every object recorded once"
        );
        let nets = docker(&[
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &format!("label=berth.project={name}"),
        ]);
        let mut names: Vec<String> = String::from_utf8_lossy(&nets.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "run {run}: no duplicate network");
        let unlabelled = docker(&[
            "service",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &format!("label=com.docker.stack.namespace={name}"),
        ]);
        let labelled = docker(&[
            "service",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            "label=berth.address",
        ]);
        for svc in String::from_utf8_lossy(&unlabelled.stdout).lines() {
            assert!(
                String::from_utf8_lossy(&labelled.stdout).contains(svc),
                "run {run}: {svc} has no address label"
            );
        }
        // Every volume of the project carries berth's labels, also one the engine created for
        // a task (the mount tells the engine berth's labels).
        let volumes = docker(&["volume", "ls", "--format", "{{.Name}}"]);
        for volume in String::from_utf8_lossy(&volumes.stdout)
            .lines()
            .filter(|v| v.starts_with(&format!("{name}_")))
        {
            let address = docker(&[
                "volume",
                "inspect",
                "--format",
                "{{index .Labels \"berth.address\"}}",
                volume,
            ]);
            assert!(
                !String::from_utf8_lossy(&address.stdout).trim().is_empty(),
                "run {run}: volume {volume} has no address label"
            );
        }
        // Start the next run from nothing, at a different kill moment.
        expect_code(
            &s.berth(&[
                "destroy",
                "--auto-approve",
                "--allow-data-loss",
                "--project",
                &name,
                "--env",
                "production",
            ]),
            0,
        );
    }
}

#[test]
fn a_hundred_concurrent_applies_of_different_projects_all_succeed() {
    let _heavy = crate::harness::heavy();
    let mut world = World::new();
    let names: Vec<String> = (0..100).map(|i| world.project(&format!("c{i}"))).collect();
    let mut children = Vec::new();
    for name in &names {
        let dir = world.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.berth"),
            format!("project {name} {{\n  service app {{\n    image = \"berth/demo:1\"\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n}}\n"),
        )
        .unwrap();
        let mut cmd = world.command(&[
            "apply",
            "--auto-approve",
            "--project",
            name,
            "--timeout",
            "300",
            dir.to_str().unwrap(),
        ]);
        // State and locks on the cluster, the default backend: a hundred projects' heads,
        // checkpoints and leases at once.
        cmd.env_remove("BERTH_STATE_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push((name.clone(), cmd.spawn().unwrap()));
    }
    let mut failures = Vec::new();
    for (name, child) in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(format!("{name}: {}", text(&out)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 100 applies failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for name in &names {
        assert_eq!(
            inspect(&format!("{name}_app"), "{{.Spec.Mode.Replicated.Replicas}}"),
            "1"
        );
    }
}

#[test]
fn ctrl_c_starts_nothing_new_records_what_was_in_flight_and_the_next_apply_converges() {
    let mut world = World::new();
    let name = world.project("intr");
    // A chain: each service waits for the one before to be healthy, so the apply takes a while
    // and is interrupted in its middle.
    let services: String = (0..5)
        .map(|i| {
            let after = if i == 0 {
                String::new()
            } else {
                format!("    depends_on = [s{}]\n", i - 1)
            };
            format!(
                "  service s{i} {{\n    image = \"berth/demo:1\"\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n    health {{\n      command  = [\"/berth-demo\", \"check\", \"http://127.0.0.1:8080/health\"]\n      interval = 2s\n      timeout  = 1s\n    }}\n{after}  }}\n"
            )
        })
        .collect();
    world.write("main.berth", &format!("project {name} {{\n{services}}}\n"));

    let mut child = world
        .command(&[
            "apply",
            "--auto-approve",
            "--progress",
            "lines",
            world.dir_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read progress lines as they come; interrupt once the first service is created.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
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
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the first service is created within 2 minutes");
        if line.contains("service.s0: created") {
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
    let mut stdout_text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout_text).unwrap();
    let stderr_text = reader.join().unwrap();
    assert_ne!(
        status.code(),
        Some(0),
        "an interrupted apply exits non-zero"
    );
    assert!(
        stderr_text.contains("Interrupted: starting nothing new"),
        "{stderr_text}"
    );
    assert!(
        stderr_text.contains("skipped (interrupted)"),
        "{stderr_text}"
    );
    assert!(stdout_text.contains("Apply incomplete"), "{stdout_text}");

    // State parses and records every service that exists (what was in flight finished and was
    // recorded), and the services never started do not exist.
    let show = world.berth(&["state", "show", &format!("{name}/production")]);
    expect_code(&show, 0);
    let state: serde_json::Value = serde_json::from_str(&stdout(&show)).expect("state parses");
    let recorded: Vec<String> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["address"].as_str().map(str::to_string))
        .collect();
    let existing = docker(&[
        "service",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        &format!("label=berth.project={name}"),
    ]);
    let existing: Vec<String> = String::from_utf8_lossy(&existing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        existing.len() < 5,
        "the interrupt came after the apply finished: {existing:?}"
    );
    for service in &existing {
        let short = service.trim_start_matches(&format!("{name}_"));
        assert!(
            recorded
                .iter()
                .any(|a| a.ends_with(&format!("/service.{short}"))),
            "{service} exists but state does not record it: {recorded:?}"
        );
    }

    let again = world.berth(&["apply", "--auto-approve", world.dir_str()]);
    expect_code(&again, 0);
    expect_code(
        &world.berth(&["plan", "--detailed-exitcode", world.dir_str()]),
        0,
    );
}

#[test]
fn a_used_network_and_volume_replaced_in_place_are_left_and_joined_again() {
    let mut world = World::new();
    let name = world.project("repl");
    let config = |internal: bool, tmpfs: bool| {
        let opts = if tmpfs {
            "\n    driver_opts {\n      type   = \"tmpfs\"\n      device = \"tmpfs\"\n    }\n"
        } else {
            ""
        };
        format!(
            r#"project {name} {{
  network backend {{
    internal = {internal}
  }}

  volume data {{{opts}}}

  service db {{
    image    = "berth/demo:1"
    networks = [network.backend]

    mount {{
      source = volume.data
      target = "/data"
    }}

    resources {{
      limits {{
        memory = 16M
      }}
    }}

    health {{
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = 2s
      timeout  = 1s
    }}
  }}
}}
"#
        )
    };
    world.write("main.berth", &config(false, false));
    expect_code(
        &world.berth(&["apply", "--auto-approve", world.dir_str()]),
        0,
    );
    let service = format!("{name}_db");
    let network = format!("{name}_backend");
    let old_network = docker(&["network", "inspect", "--format", "{{.Id}}", &network]);

    // Both must be deleted and created again under the same names while `db` uses them.
    world.write("main.berth", &config(true, true));
    let out = world.berth(&[
        "apply",
        "--auto-approve",
        "--allow-data-loss",
        "--progress",
        "lines",
        world.dir_str(),
    ]);
    expect_code(&out, 0);
    let log = text(&out);
    assert!(log.contains("service.db: detached"), "{log}");
    expect_code(
        &world.berth(&["plan", "--detailed-exitcode", world.dir_str()]),
        0,
    );

    let new_network = docker(&[
        "network",
        "inspect",
        "--format",
        "{{.Id}} {{.Internal}}",
        &network,
    ]);
    let new_network = String::from_utf8_lossy(&new_network.stdout)
        .trim()
        .to_string();
    let (new_id, internal) = new_network.split_once(' ').unwrap();
    assert_eq!(internal, "true");
    assert_ne!(new_id, String::from_utf8_lossy(&old_network.stdout).trim());
    let attached = inspect(&service, "{{json .Spec.TaskTemplate.Networks}}");
    assert!(
        attached.contains(new_id),
        "{service} is attached to the new network: {attached}"
    );
    let volume = docker(&[
        "volume",
        "inspect",
        "--format",
        "{{.Options.type}}",
        &format!("{name}_data"),
    ]);
    assert_eq!(String::from_utf8_lossy(&volume.stdout).trim(), "tmpfs");
    let mounts = inspect(&service, "{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}");
    assert!(mounts.contains(&format!("{name}_data")), "{mounts}");
}
