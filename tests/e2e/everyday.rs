//! The everyday commands on the real Swarm: `berth logs` of a real service (also followed, and
//! its standard error), `berth status` with its headers, a replica count changed outside berth
//! and a failing service's task errors, `berth destroy --all-environments` (volumes kept),
//! `berth init` then validate and plan, and a saved plan applied from another directory without
//! a second confirmation, `berth show` of it, and its configuration found by `--dir` once moved.

use crate::harness::{docker, expect_code, flat, stdout, text, World};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A project whose `ticker` writes a numbered line every half second and whose `crasher`
/// fails at once (after a line on standard error), in production and staging.
fn ticking(name: &str) -> String {
    format!(
        r#"project {name} {{
  volume data {{
    size = 64M
  }}

  service ticker {{
    image    = "berth/busybox:1"
    replicas = 2
    command  = ["/bin/busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.5; done"]

    mount {{
      source = volume.data
      target = "/data"
    }}

    resources {{
      limits {{
        memory = 16M
      }}
    }}
  }}

  service crasher {{
    image   = "berth/busybox:1"
    command = ["/bin/busybox", "sh", "-c", "echo about to fail >&2; exit 3"]

    resources {{
      limits {{
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

/// Runs `f` until it returns `Some` or `limit` passes.
fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

/// The numbers of the `tick-N` lines in `text` written by task `task` (`ticker.1.`).
fn ticks(text: &str, task: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.starts_with(task))
        .filter_map(|l| l.split("| tick-").nth(1)?.trim().parse().ok())
        .collect()
}

fn objects_of(project: &str, kind: &str) -> usize {
    let out = docker(&[
        kind,
        "ls",
        "-q",
        "--filter",
        &format!("label=berth.project={project}"),
    ]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn logs_status_and_a_whole_project_destroyed() {
    let mut w = World::new();
    let name = w.project("daily");
    w.write("main.berth", &ticking(&name));
    let dir = w.dir_str().to_string();
    for env in ["production", "staging"] {
        // The crasher never converges: do not wait for it.
        let out = w.berth(&[
            "apply",
            "--auto-approve",
            "--no-wait",
            "-p",
            &name,
            "-e",
            env,
            &dir,
        ]);
        expect_code(&out, 0);
    }

    // The logs of both tasks, each line prefixed with the service and its task.
    let logs = |extra: &[&str]| {
        let mut args = vec!["logs", "-p", name.as_str(), "-e", "production"];
        args.extend_from_slice(extra);
        w.berth(&args)
    };
    let seen = eventually(Duration::from_secs(60), || {
        let out = logs(&["ticker"]);
        let text = stdout(&out);
        (out.status.success()
            && !ticks(&text, "ticker.1.").is_empty()
            && !ticks(&text, "ticker.2.").is_empty())
        .then_some(text)
    })
    .unwrap_or_else(|| panic!("no ticks in the logs:\n{}", text(&logs(&["ticker"]))));
    assert!(
        !seen.contains("about to fail"),
        "only the service asked for:\n{seen}"
    );
    let last = ticks(&seen, "ticker.1.").into_iter().max().unwrap();

    // `--since` bounds the lines by time: ten minutes back has them, an hour ahead none.
    let recent = logs(&["ticker", "--since", "10m"]);
    assert!(
        !ticks(&stdout(&recent), "ticker.1.").is_empty(),
        "{}",
        text(&recent)
    );
    let ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let future = logs(&["ticker", "--since", &ahead.to_string()]);
    expect_code(&future, 0);
    assert!(
        ticks(&stdout(&future), "ticker.").is_empty(),
        "{}",
        text(&future)
    );

    // Standard error goes to standard error, with the same prefix.
    let crasher = eventually(Duration::from_secs(60), || {
        let out = logs(&["crasher"]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        err.lines()
            .any(|l| l.starts_with("crasher.1.") && l.ends_with("| about to fail"))
            .then_some(err)
    });
    assert!(crasher.is_some(), "{}", text(&logs(&["crasher"])));

    // Followed, lines written after the command started arrive while it runs; it is killed
    // after a bounded wait whatever happens.
    let mut child = w
        .command(&[
            "logs",
            "-p",
            &name,
            "-e",
            "production",
            "ticker",
            "--follow",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth logs runs");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The history arrives at once; a line that arrives seconds after the first, newer than
    // every line before it, was written while the command ran.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first: Option<Instant> = None;
    let mut highest = 0;
    let mut newer = None;
    while Instant::now() < deadline && newer.is_none() {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) else {
            continue;
        };
        for n in ticks(&line, "ticker.1.") {
            let at = *first.get_or_insert_with(Instant::now);
            if n > highest && n > last && at.elapsed() > Duration::from_secs(2) {
                newer = Some(n);
            }
            highest = highest.max(n);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert!(
        newer.is_some(),
        "--follow printed no line written after tick-{last}"
    );

    // Status: headers, a replica count changed outside berth, the crasher's task errors.
    let ticker = format!("{name}_ticker");
    let scaled = docker(&["service", "scale", "--detach", &format!("{ticker}=1")]);
    assert!(scaled.status.success(), "{}", text(&scaled));
    let status = || w.berth(&["status", "-p", &name, "-e", "production", &dir]);
    let shown = eventually(Duration::from_secs(90), || {
        let out = status();
        let text = stdout(&out);
        let crasher_failed = text
            .lines()
            .any(|l| l.trim_start().starts_with("task ") && l.contains("non-zero exit (3)"));
        (out.status.success() && crasher_failed && text.contains("scaled to 1")).then_some(text)
    })
    .unwrap_or_else(|| panic!("{}", text(&status())));
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{name}/production (serial ")),
        "{shown}"
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        ["SERVICE", "RUNNING", "DESIRED", "HEALTH", "IMAGE", "NOTE"],
        "{shown}"
    );
    let ticker_row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("ticker "))
        .unwrap();
    assert!(
        ticker_row.contains("scaled to 1 outside berth (2 configured)"),
        "{shown}"
    );
    let crasher_row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("crasher "))
        .unwrap();
    assert!(crasher_row.contains("failing"), "{shown}");
    assert!(
        !shown.contains(&format!("{name}/staging")),
        "-e selects one environment:\n{shown}"
    );

    // One command destroys every environment of the project; its volumes are kept.
    let out = w.berth(&[
        "destroy",
        "--auto-approve",
        "-p",
        &name,
        "--all-environments",
        &dir,
    ]);
    expect_code(&out, 0);
    let said = stdout(&out);
    assert!(
        said.contains(&format!("{name}/production")) && said.contains(&format!("{name}/staging")),
        "{}",
        text(&out)
    );
    assert_eq!(objects_of(&name, "service"), 0, "{}", text(&out));
    for volume in [format!("{name}_data"), format!("{name}-staging_data")] {
        assert!(
            docker(&["volume", "inspect", &volume]).status.success(),
            "{volume} is kept:\n{}",
            text(&out)
        );
    }
}

#[test]
fn init_writes_a_project_that_validates_and_plans() {
    let mut w = World::new();
    let name = w.project("init");
    let dir = w.dir.join("fresh");
    let dir = dir.to_str().unwrap();
    let out = w.berth(&["init", "--project", &name, dir]);
    expect_code(&out, 0);
    let written = std::fs::read_to_string(w.dir.join("fresh/main.berth")).unwrap();
    assert!(written.starts_with('#'), "a commented project:\n{written}");
    expect_code(&w.berth(&["validate", dir]), 0);
    expect_code(&w.berth(&["fmt", "--check", dir]), 0);
    let plan = w.berth(&["plan", "-p", &name, dir]);
    expect_code(&plan, 0);
    let shown = stdout(&plan);
    assert!(
        shown.contains(&format!("# {name}/production/service.web will be created")),
        "{}",
        text(&plan)
    );
    // In the units the file writes.
    assert!(shown.contains("MemoryBytes = 64MiB"), "{shown}");
    assert!(shown.contains("NanoCPUs = 0.25"), "{shown}");

    let again = w.berth(&["init", "--project", &name, dir]);
    expect_code(&again, 1);
    assert!(flat(&text(&again)).contains("E0421"), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(w.dir.join("fresh/main.berth")).unwrap(),
        written,
        "nothing overwritten"
    );
    // The hint, followed: berth init into another directory.
    assert!(
        flat(&text(&again)).contains("`berth init` only writes into a directory without .berth files; give another directory"),
        "{}",
        text(&again)
    );
    let other = w.dir.join("other");
    expect_code(
        &w.berth(&["init", "--project", &name, other.to_str().unwrap()]),
        0,
    );
    expect_code(&w.berth(&["validate", other.to_str().unwrap()]), 0);
}

fn small(name: &str, replicas: u32) -> String {
    format!(
        "project {name} {{\n  service web {{\n    image    = \"berth/demo:1\"\n    replicas = {replicas}\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n  }}\n}}\n"
    )
}

#[test]
fn a_saved_plan_applies_from_another_directory_without_asking_again() {
    let mut w = World::new();
    let name = w.project("saved");
    w.write("conf/main.berth", &small(&name, 1));
    let conf = w.dir.join("conf");
    let elsewhere = w.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let plan = w.dir.join("artifacts/first.plan");
    std::fs::create_dir_all(plan.parent().unwrap()).unwrap();
    let plan = plan.to_str().unwrap();

    // Planned in the configuration's directory, with no DIR argument.
    let out = w
        .command(&["plan", "-p", &name, "--out", plan])
        .current_dir(&conf)
        .output()
        .unwrap();
    expect_code(&out, 0);

    // `berth show` prints it in each format.
    let shown = w.berth(&["show", plan]);
    expect_code(&shown, 0);
    assert!(
        stdout(&shown).contains(&format!("# {name}/production/service.web will be created")),
        "{}",
        text(&shown)
    );
    let md = w.berth(&["show", "--format", "markdown", plan]);
    assert!(stdout(&md).contains("```diff"), "{}", text(&md));
    let json = w.berth(&["show", "--format", "json", plan]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(json["format_version"].is_string());

    // Applied from another directory, standard input not a terminal and no --auto-approve:
    // the reviewed plan is applied without asking again.
    let out = w
        .command(&["apply", plan])
        .current_dir(&elsewhere)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 0);
    assert!(stdout(&out).contains("Apply complete!"), "{}", text(&out));
    let conf_str = conf.to_str().unwrap();
    expect_code(
        &w.berth(&["plan", "--detailed-exitcode", "-p", &name, conf_str]),
        0,
    );

    // Once the configuration moved, the plan file's recorded directory is named in the error,
    // and `--dir` tells apply where the configuration is now.
    w.write("conf/main.berth", &small(&name, 2));
    let second = w.dir.join("artifacts/second.plan");
    let second = second.to_str().unwrap();
    expect_code(
        &w.berth(&["plan", "-p", &name, "--out", second, conf_str]),
        0,
    );
    let moved = w.dir.join("moved");
    std::fs::rename(&conf, &moved).unwrap();
    let out = w
        .command(&["apply", second])
        .current_dir(&elsewhere)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 1);
    // miette wraps long lines, also inside a path.
    let said: String = text(&out)
        .replace('│', "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let recorded = std::fs::canonicalize(&w.dir).unwrap().join("conf");
    assert!(
        said.contains("E0420") && said.contains(recorded.to_str().unwrap()),
        "{}",
        text(&out)
    );
    assert!(
        said.contains("pass`--dirDIR`withthedirectory"),
        "{}",
        text(&out)
    );
    // A `--dir` that holds no configuration says what `--dir` must name.
    let out = w
        .command(&["apply", second, "--dir", elsewhere.to_str().unwrap()])
        .current_dir(&elsewhere)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 1);
    assert!(
        flat(&text(&out)).contains("E0420")
            && flat(&text(&out)).contains("pass `--dir DIR` naming the directory"),
        "{}",
        text(&out)
    );
    // Following the hint: berth apply PLANFILE --dir DIR, where the configuration is now.
    let out = w
        .command(&["apply", second, "--dir", moved.to_str().unwrap()])
        .current_dir(&elsewhere)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 0);
    assert_eq!(
        crate::harness::inspect(&format!("{name}_web"), "{{.Spec.Mode.Replicated.Replicas}}"),
        "2"
    );
}
