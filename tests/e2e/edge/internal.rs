//! The proxy's internal endpoints (its `traefik` entrypoint, its metrics) are closed to
//! tenants' tasks.

use super::*;
use crate::harness::{docker, expect_code, inspect, stdout, text};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The proxy's internal endpoints
// ---------------------------------------------------------------------------------------------

/// The host port of the proxy's metrics entrypoint in this test; no other edge test uses it.
const METRICS_PORT: u16 = 18082;
/// The metrics entrypoint's port inside the proxy's container, which `METRICS_PORT` publishes.
const METRICS_TARGET: u16 = 8082;

/// `/berth-demo get URL` inside a container: the HTTP status it got (`Some(200)` for any 2xx,
/// `None` without an answer) and everything it printed.
fn get_from(container: &str, url: &str) -> (Option<u16>, String) {
    let out = docker(&[
        "exec",
        container,
        "/berth-demo",
        "get",
        url,
        "--timeout-ms",
        "2000",
    ]);
    let said = text(&out);
    let status = if out.status.success() {
        Some(200)
    } else {
        said.split("first failure: status ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
    };
    (status, said)
}

/// The running container of a tenant's service, made ready to connect from: each of `on_link`
/// must be on-link from its namespace (no `via` route), and everything off-link is made
/// unreachable there (the namespace is the test's own, removed with the task), whatever the
/// test does next.
fn tenant_task(service: &str, on_link: &[&str]) -> String {
    let container = container_of(service);
    let pid = pid_of(&container);
    for ip in on_link {
        let route = ip_in(&pid, &["route", "get", ip]);
        assert!(
            route.status.success() && !stdout(&route).contains(" via "),
            "{ip} is not on-link from {service}'s task: {}",
            text(&route)
        );
    }
    for half in ["0.0.0.0/1", "128.0.0.0/1"] {
        let out = ip_in(&pid, &["route", "replace", "unreachable", half]);
        assert!(out.status.success(), "{}", text(&out));
    }
    container
}

/// One scrape of the metrics port on loopback, as a Prometheus on this machine would do.
fn scrape() -> Result<berth_testkit::client::Answer, String> {
    berth_testkit::client::http_get(
        METRICS_PORT,
        "localhost",
        "/metrics",
        Duration::from_secs(5),
    )
}

#[test]
fn the_proxys_internal_endpoints_are_unreachable_from_tenants() {
    let mut e = Edge::new();
    assert!(
        std::net::TcpListener::bind(("0.0.0.0", METRICS_PORT)).is_ok(),
        "port {METRICS_PORT} is in use on this machine; this test publishes the proxy's metrics there"
    );
    let t = e.world.project("t");
    let gateway = berth_testkit::pebble::gwbridge_gateway()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let config = |allow: &str| {
        format!(
            "{}{}",
            e.platform_block_with(&format!(
                "    metrics_port  = {METRICS_PORT}\n    metrics_allow = [\"{allow}\"]\n"
            )),
            routed(&t, "")
        )
    };
    // First the allow list names only addresses no machine here has (TEST-NET-2), as for a
    // Prometheus server elsewhere.
    e.world.write("main.berth", &config("198.51.100.0/24"));
    expect_code(&e.apply(&t, "production", &[]), 0);

    let proxy = container_of(PROXY);
    let slot = inspect(
        &format!("{t}_web"),
        "{{index .Spec.Labels \"traefik.swarm.network\"}}",
    );
    let proxy_ips = addresses(&proxy);
    let proxy_edge = proxy_ips
        .get(&slot)
        .unwrap_or_else(|| panic!("the proxy has no address on {slot}: {proxy_ips:?}"))
        .clone();
    let web = tenant_task(&format!("{t}_web"), &[&proxy_edge, &gateway]);

    // (a) Traefik's internal entrypoint listens on the proxy container's loopback: the proxy's
    // address on the tenant's edge network refuses port 8080 (ping, and the API's internals),
    // while its HTTP entrypoint there answers, as it must for routing.
    let (open, said) = connect_from(&web, &format!("{proxy_edge}:80"));
    assert!(
        open,
        "the tenant cannot reach the proxy's HTTP entrypoint at {proxy_edge}:80:\n{said}"
    );
    let (open, said) = connect_from(&web, &format!("{proxy_edge}:8080"));
    assert!(
        !open && said.contains("refused"),
        "the proxy's internal entrypoint at {proxy_edge}:8080 should refuse the tenant:\n{said}"
    );
    // Inside the container, ping answers there (what a health check of the proxy would call).
    let ping = docker(&[
        "exec",
        &proxy,
        "/traefik",
        "healthcheck",
        "--ping",
        "--entrypoints.traefik.address=127.0.0.1:8080",
    ]);
    assert!(
        ping.status.success(),
        "ping inside the proxy: {}",
        text(&ping)
    );

    // (b) The metrics entrypoint on the tenant's edge network: the allow list refuses the
    // tenant (its address comes from the pool, which `metrics_allow` may not overlap). Traefik
    // reads the router from the proxy's labels within a poll or two; until then it is a 404.
    let deadline = Instant::now() + Duration::from_secs(30);
    let edge_metrics = format!("http://{proxy_edge}:{METRICS_TARGET}/metrics");
    let (status, said) = loop {
        let (status, said) = get_from(&web, &edge_metrics);
        if status == Some(403) || Instant::now() > deadline {
            break (status, said);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status, Some(403), "the tenant at {edge_metrics}:\n{said}");
    assert!(!said.contains("traefik_"), "{said}");

    // Through the node: the tenant's on-link gateway and this machine's loopback both reach
    // the published port, and neither is allowed.
    let via_gateway = format!("http://{gateway}:{METRICS_PORT}/metrics");
    let (status, said) = get_from(&web, &via_gateway);
    assert_eq!(status, Some(403), "the tenant at {via_gateway}:\n{said}");
    let host = scrape().unwrap_or_else(|e| panic!("scrape on 127.0.0.1:{METRICS_PORT}: {e}"));
    assert_eq!(host.status, 403, "{}", host.body);

    // (c) Allowed: the allow list names the gateway, where this machine's own scrape arrives
    // from (Docker's proxy of the published port connects from there). Only the proxy's labels
    // change, so its task stays.
    let before = proxy_task();
    e.world
        .write("main.berth", &config(&format!("{gateway}/32")));
    expect_code(&e.berth(&["apply", "--auto-approve"]), 0);
    assert_eq!(
        proxy_task(),
        before,
        "changing metrics_allow replaced the proxy's task"
    );
    // One request through the proxy, so that the metrics count the tenant's service.
    get_ok(&e.host(&t), "/");
    let (took, answer) = berth_testkit::client::until_status(Duration::from_secs(30), 200, scrape)
        .unwrap_or_else(|e| panic!("the allowed scrape on 127.0.0.1:{METRICS_PORT}: {e}"));
    assert!(answer.body.contains("traefik_"), "{}", answer.body);
    assert!(
        answer.body.contains(&format!("{t}_web")),
        "the metrics name the tenant's service:\n{}",
        answer.body
    );
    eprintln!(
        "edge: metrics: allowed scrape answered 200 {} ms after the apply ({} bytes)",
        took.as_millis(),
        answer.body.len()
    );
    // The tenant still gets none on the edge network. (Its task again: on a loaded machine
    // Swarm may have replaced it after failed health checks.)
    let web = tenant_task(&format!("{t}_web"), &[&proxy_edge, &gateway]);
    let (status, said) = get_from(&web, &edge_metrics);
    assert_eq!(status, Some(403), "the tenant at {edge_metrics}:\n{said}");
    // But the gateway is the node: a tenant's connection to the published port through it
    // arrives from the same address as the node's own scrape, and gets the metrics too. This is
    // why `metrics_allow` must name scrapers off the node (E0200's explanation), and why this
    // test allows the gateway only after the checks above.
    let (status, said) = get_from(&web, &via_gateway);
    assert_eq!(
        status,
        Some(200),
        "the tenant at {via_gateway} with the gateway allowed: the allow list was expected not \
         to tell it from the node; if that changed, update E0200's explanation and \
         docs/planner.md:\n{said}"
    );
}
