//! Canary and blue-green releases through the real proxy (issue 15): a canary's share of the
//! requests, raising it, aborting and promoting, each under a bounded request loop that must
//! lose nothing; a blue-green switch (share 0, then 100, then promotion); and a canary that is
//! not healthy, which receives nothing while the apply says so.

use super::*;
use crate::harness::{docker, expect_code, stdout, text};
use std::time::{Duration, Instant};

/// `web` (demo:1 unless promoted, `replicas` tasks) and, when `canary` is given, its canary
/// block's lines.
fn release(name: &str, image: &str, replicas: u32, canary: Option<&str>) -> String {
    let canary = canary
        .map(|c| format!("    canary {{\n{c}\n    }}\n\n"))
        .unwrap_or_default();
    format!(
        r#"project {name} {{
  service web {{
    image    = "{image}"
    replicas = {replicas}

    env {{
      BERTH_DEMO_PROJECT = "{name}"
    }}

{HEALTH}
{canary}    route {{
      primary = true
      port    = 8080
    }}
  }}

  environment production {{}}
}}
"#
    )
}

/// `count` requests to `host` (two workers): how many each version answered, and failures.
fn versions(host: &str, count: u64) -> Tally {
    Load::start(host, 2, count, Duration::from_secs(120)).finish(count, Duration::ZERO)
}

fn share_of(t: &Tally, version: &str) -> f64 {
    let n = t.versions.get(version).copied().unwrap_or(0);
    100.0 * n as f64 / t.ok.max(1) as f64
}

/// Applies the configuration under a request loop to `host`; the loop must lose nothing.
#[track_caller]
fn apply_under_load(e: &Edge, project: &str, host: &str, what: &str) -> (Output, Tally) {
    let load = Load::start(host, 2, 40_000, Duration::from_secs(180));
    let out = e.apply(project, "production", &[]);
    // Past the proxy's next poll: what it serves then is what the apply left.
    load.mark();
    let tally = load.finish(200, Duration::from_secs(3));
    eprintln!(
        "edge: releases: {what}: {} requests, {} failed, versions {:?}",
        tally.total(),
        tally.failed,
        tally.versions
    );
    assert_eq!(
        tally.failed,
        0,
        "{what} lost requests: {tally:?}\n{}",
        text(&out)
    );
    (out, tally)
}

fn service_exists(name: &str) -> bool {
    docker(&["service", "inspect", name]).status.success()
}

#[test]
fn a_canary_takes_its_share_and_raising_aborting_and_promoting_lose_no_request() {
    let mut e = Edge::new();
    let name = e.world.project("canary");
    let platform = e.platform_block();
    let host = e.host(&name);
    let preview = format!("canary-{host}");
    let canary_of = |share: u32| format!("      image = \"berth/demo:2\"\n      share = {share}");

    e.world.write(
        "main.berth",
        &format!("{platform}{}", release(&name, "berth/demo:1", 4, None)),
    );
    expect_code(&e.apply(&name, "production", &[]), 0);
    assert_eq!(versions(&host, 100).versions.get("1"), Some(&100));

    // (a) A canary at 20%: the plan says what it does; the stable's tasks are not restarted.
    let stable = format!("{name}_web");
    let tasks_before = stdout(&docker(&["service", "ps", "-q", &stable]));
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:1", 4, Some(&canary_of(20)))
        ),
    );
    let plan = e.berth(&["plan", "--project", &name, "--env", "production"]);
    let shown = text(&plan);
    assert!(
        shown.contains(
            "(canary of web: receives 20% of its requests while healthy; alone at Host(`canary-"
        ),
        "{shown}"
    );
    let started = Instant::now();
    let (out, _) = apply_under_load(&e, &name, &host, "a canary at 20%");
    expect_code(&out, 0);
    assert_eq!(
        stdout(&docker(&["service", "ps", "-q", &stable])),
        tasks_before,
        "adding a canary restarted the stable's tasks"
    );
    // The canary takes traffic within a few polls of the proxy.
    let mut first = None;
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok((200, body)) = get(&host, "/", Duration::from_secs(5)) {
            if field(&body, "version") == Some("2") {
                first = Some(started.elapsed());
                break;
            }
        }
    }
    assert!(
        first.is_some(),
        "the canary received no request within 60 s"
    );
    let t = versions(&host, 1_000);
    let share = share_of(&t, "2");
    eprintln!(
        "edge: releases: share 20 -> observed {share:.1}% of {} requests",
        t.ok
    );
    assert_eq!(t.failed, 0, "{t:?}");
    assert!(
        (15.0..=25.0).contains(&share),
        "a 20% canary got {share:.1}%: {t:?}"
    );
    // Status says whose share it takes.
    let status = text(&e.berth(&["status", "--project", &name, "--env", "production"]));
    assert!(
        status.contains("canary of web: 20% of its requests"),
        "{status}"
    );
    // Its preview host reaches the canary alone.
    let p = versions(&preview, 50);
    assert_eq!(p.versions.get("2"), Some(&50), "the preview host: {p:?}");

    // (b) Raising the share is a label change: a reviewed plan, no restart, nothing lost.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:1", 4, Some(&canary_of(50)))
        ),
    );
    let shown = text(&e.berth(&["plan", "--project", &name, "--env", "production"]));
    assert!(
        shown.contains("its share of web's requests goes from 20% to 50%"),
        "{shown}"
    );
    let (out, _) = apply_under_load(&e, &name, &host, "raising the share to 50%");
    expect_code(&out, 0);
    let t = versions(&host, 400);
    let share = share_of(&t, "2");
    eprintln!(
        "edge: releases: share 50 -> observed {share:.1}% of {} requests",
        t.ok
    );
    assert!(
        (42.0..=58.0).contains(&share),
        "a 50% canary got {share:.1}%: {t:?}"
    );

    // (c) Aborting: the canary goes, everything returns to the stable version.
    e.world.write(
        "main.berth",
        &format!("{platform}{}", release(&name, "berth/demo:1", 4, None)),
    );
    let shown = text(&e.berth(&["plan", "--project", &name, "--env", "production"]));
    assert!(
        shown.contains("(canary of web goes: the 50% it received returns to web)"),
        "{shown}"
    );
    let (out, _) = apply_under_load(&e, &name, &host, "aborting the canary");
    expect_code(&out, 0);
    assert!(
        !service_exists(&format!("{stable}-canary")),
        "the aborted canary still runs"
    );
    let t = versions(&host, 200);
    assert_eq!(t.versions.get("1"), Some(&200), "after the abort: {t:?}");

    // (d) A canary again, then promotion: web takes the canary's image and the canary goes.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:1", 4, Some(&canary_of(20)))
        ),
    );
    expect_code(&e.apply(&name, "production", &[]), 0);
    e.world.write(
        "main.berth",
        &format!("{platform}{}", release(&name, "berth/demo:2", 4, None)),
    );
    let (out, _) = apply_under_load(&e, &name, &host, "promoting the canary");
    expect_code(&out, 0);
    assert!(
        !service_exists(&format!("{stable}-canary")),
        "the promoted canary still runs"
    );
    let t = versions(&host, 200);
    assert_eq!(
        t.versions.get("2"),
        Some(&200),
        "after the promotion: {t:?}"
    );
    let second = e.berth(&[
        "plan",
        "--project",
        &name,
        "--env",
        "production",
        "--detailed-exitcode",
    ]);
    expect_code(&second, 0);
}

#[test]
fn a_blue_green_switch_loses_no_request_and_an_unhealthy_canary_gets_nothing() {
    let mut e = Edge::new();
    let name = e.world.project("bluegreen");
    let platform = e.platform_block();
    let host = e.host(&name);
    let preview = format!("canary-{host}");
    let green = |share: u32| {
        format!("      image = \"berth/demo:2\"\n      share = {share}\n      replicas = 2")
    };

    // Blue serves; green is reachable only at its preview host.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:1", 2, Some(&green(0)))
        ),
    );
    expect_code(&e.apply(&name, "production", &[]), 0);
    let t = versions(&host, 200);
    assert_eq!(
        t.versions.get("1"),
        Some(&200),
        "green at share 0 took traffic: {t:?}"
    );
    let p = versions(&preview, 50);
    assert_eq!(
        p.versions.get("2"),
        Some(&50),
        "green's preview host: {p:?}"
    );

    // The switch to 100: everything goes to green, nothing is lost.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:1", 2, Some(&green(100)))
        ),
    );
    let (out, _) = apply_under_load(&e, &name, &host, "switching blue-green to 100");
    expect_code(&out, 0);
    let t = versions(&host, 200);
    assert_eq!(t.versions.get("2"), Some(&200), "after the switch: {t:?}");

    // Promotion: web becomes green, and the second service goes; nothing is lost.
    e.world.write(
        "main.berth",
        &format!("{platform}{}", release(&name, "berth/demo:2", 2, None)),
    );
    let (out, during) = apply_under_load(&e, &name, &host, "promoting green");
    expect_code(&out, 0);
    // Blue weighed 0 and keeps weighing 0 while its tasks are replaced: it gets nothing back.
    assert_eq!(
        during.versions.get("1"),
        None,
        "blue answered during the promotion: {during:?}"
    );
    let t = versions(&host, 200);
    assert_eq!(
        t.versions.get("2"),
        Some(&200),
        "after the promotion: {t:?}"
    );
    assert!(!service_exists(&format!("{name}_web-canary")));

    // A canary that is not healthy receives nothing, and the apply says so.
    let broken = "      image = \"berth/demo:broken\"\n      share = 50";
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            release(&name, "berth/demo:2", 2, Some(broken))
        ),
    );
    let (out, tally) = apply_under_load(&e, &name, &host, "an unhealthy canary");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("E0360"), "{shown}");
    assert!(
        shown.contains("it receives none of web's requests"),
        "{shown}"
    );
    assert_eq!(
        tally.versions.keys().collect::<Vec<_>>(),
        vec!["2"],
        "only the stable version answered: {tally:?}"
    );
    let status = text(&e.berth(&["status", "--project", &name, "--env", "production"]));
    assert!(
        status.contains("canary of web at 50%, not healthy: receives none of its requests"),
        "{status}"
    );
    // Aborting it is an ordinary plan.
    e.world.write(
        "main.berth",
        &format!("{platform}{}", release(&name, "berth/demo:2", 2, None)),
    );
    expect_code(&e.apply(&name, "production", &[]), 0);
    assert!(!service_exists(&format!("{name}_web-canary")));
}
