//! An apply checks each new or changed route through the proxy before it reports success. Here a
//! service's health check passes (the demo server listens on 8080) but its route sends the
//! proxy to port 9090, where nothing listens: the apply fails, says so, and prints two hints,
//! both followed. `berth status` shows the service healthy and the port its route sends to;
//! `--no-verify` applies a change without the check. With the port corrected, the route answers.

use super::*;
use crate::harness::{expect_code, flat, stdout, text};
use std::time::{Duration, Instant};

#[test]
fn a_route_that_does_not_answer_fails_the_apply_and_its_hints_work_when_followed() {
    let mut e = Edge::new();
    let name = e.world.project("verify");
    let config = |e: &Edge, port: u16, level: &str| {
        format!(
            "{}{}",
            e.platform_block(),
            routed(&name, "")
                .replace("port    = 8080", &format!("port    = {port}"))
                .replace(
                    "      BERTH_DEMO_PROJECT",
                    &format!("      LOG_LEVEL          = \"{level}\"\n      BERTH_DEMO_PROJECT"),
                )
        )
    };
    e.world.write("main.berth", &config(&e, 9090, "info"));
    let failed = e.apply(&name, "production", &[]);
    expect_code(&failed, 1);
    let said = flat(&text(&failed));
    assert!(
        said.contains("does not answer through the proxy")
            && said.contains("none listens on the route's `port`")
            && said.contains(
                "`berth status` shows the services' tasks and the port each route sends to"
            )
            && said.contains("pass --no-verify"),
        "{said}"
    );

    // Followed as printed, berth status (here of this project environment) shows what is
    // wrong: the service runs healthy and its route sends the proxy to 9090.
    let status = e.berth(&["status", "-p", &name, "-e", "production"]);
    expect_code(&status, 0);
    let shown = stdout(&status);
    let row = |first: &str| -> Vec<String> {
        shown
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|cells| cells.first().is_some_and(|c| c.starts_with(first)))
            .unwrap_or_else(|| panic!("no row for {first}: {shown}"))
    };
    let web = row("web");
    assert!(
        web.get(1).map(String::as_str) == Some("1") && web.contains(&"healthy".to_string()),
        "{shown}"
    );
    let host = e.host(&name);
    let route = row(&format!("http://{host}"));
    assert_eq!(route[1..], ["web", "9090"], "{shown}");

    // Followed: `--no-verify` applies a change of the same service without checking its route,
    // so it neither fails nor waits for the check's 60 s.
    e.world.write("main.berth", &config(&e, 9090, "debug"));
    let started = Instant::now();
    let unverified = e.apply(&name, "production", &["--no-verify"]);
    expect_code(&unverified, 0);
    assert!(
        !text(&unverified).contains("does not answer") && !text(&unverified).contains("answers ("),
        "{}",
        text(&unverified)
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "--no-verify waited for the route check: {:?}",
        started.elapsed()
    );

    // With the port the server listens on, the same apply verifies its route and succeeds.
    e.world.write("main.berth", &config(&e, 8080, "debug"));
    let fixed = e.apply(&name, "production", &[]);
    expect_code(&fixed, 0);
    assert!(
        stdout(&fixed).contains(&format!("Route http://{host}"))
            && stdout(&fixed).contains("answers (200)"),
        "{}",
        text(&fixed)
    );
}
