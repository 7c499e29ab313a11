//! TLS at the platform edge on the real Swarm, through a real Traefik: a certificate from a real
//! ACME CA (Debian's `pebble`, started by the test), custom certificates from the
//! configuration's files and environment chosen by SNI, and the dashboard behind basic
//! authentication. Certificates, the TLS client and pebble come from `berth-testkit`, which the
//! benchmarks share.
//!
//! These tests share the proxy with the other edge tests, so they take the same locks and
//! create and remove the platform the same way ([`Edge`]).
//!
//! Network rule: the test's own requests go to 127.0.0.1 only. Pebble listens on the gateway
//! address of `docker_gwbridge`, an address of this machine that is on-link from the proxy's
//! task (the test checks there is no `via` route to it), and its management interface on
//! 127.0.0.1. Every loop is bounded.

use crate::edge::{container_of, ip_in, pid_of, routed, Edge, HTTPS_PORT, PROXY};
use crate::harness::{docker, expect_code, read_tree, stdout, text};
use berth_testkit::certs;
use berth_testkit::client::{https_get, until_status};
use berth_testkit::pebble::{gwbridge_gateway, Pebble};
use berth_testkit::rustls::RootCertStore;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The roots of a PEM text, which the test made or pebble gave.
#[track_caller]
fn roots(pem: &str) -> Arc<RootCertStore> {
    berth_testkit::client::roots(pem).unwrap_or_else(|e| panic!("{e}: {pem:?}"))
}

/// Apply succeeded and its own route check saw the host served over HTTPS, never with
/// Traefik's default certificate.
#[track_caller]
fn served_with_its_certificate(out: &std::process::Output, host: &str) -> String {
    expect_code(out, 0);
    let said = text(out);
    assert!(
        said.contains(&format!("Route https://{host}:{HTTPS_PORT}/ answers (200)")),
        "{said}"
    );
    assert!(!said.contains("default certificate"), "{said}");
    said
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn a_routed_host_gets_a_certificate_from_pebble() {
    let mut e = Edge::new();
    let name = e.world.project("acme");
    let gateway = gwbridge_gateway().unwrap_or_else(|e| panic!("{e}"));
    let pebble = Pebble::start(gateway, &e.world.dir).unwrap_or_else(|e| panic!("{e}"));
    e.world.write("pebble-listener-ca.pem", &pebble.listener_ca);
    e.world.write(
        "main.berth",
        &format!(
            r#"platform {{
  domain              = "{domain}"
  acme_email          = "ops@{domain}"
  acme_ca             = "{directory}"
  acme_ca_certificate = "pebble-listener-ca.pem"

  proxy {{
    http_port  = 18080
    https_port = {HTTPS_PORT}
    edge_slots = 8
  }}
}}

{project}"#,
            domain = e.domain,
            directory = pebble.directory,
            project = routed(&name, ""),
        ),
    );
    let host = e.host(&name);

    let start = Instant::now();
    let out = e.apply(&name, "production", &[]);
    let applied = start.elapsed();
    // Berth's own check waited for the certificate, so it warns of no default certificate.
    served_with_its_certificate(&out, &host);

    // Pebble is on-link from the proxy's task: no gateway between them.
    let proxy_pid = pid_of(&container_of(PROXY));
    let route = ip_in(&proxy_pid, &["route", "get", &gateway.to_string()]);
    assert!(
        route.status.success() && !stdout(&route).contains(" via "),
        "{}",
        text(&route)
    );

    // A client that trusts pebble's root alone verifies the chain and the name.
    let trust = roots(&pebble.root);
    let verified = until_status(Duration::from_secs(60), 200, || {
        https_get(HTTPS_PORT, &host, "/", &trust, None)
    });
    let total = start.elapsed();
    let (_, answer) = verified.unwrap_or_else(|err| {
        let logs = docker(&["service", "logs", "--tail", "40", PROXY]);
        panic!(
            "no certificate from pebble for {host}: {err}\n--- proxy:\n{}\n--- pebble:\n{}",
            text(&logs),
            pebble.log()
        )
    });
    assert!(
        answer.body.contains(&format!("project={name}")),
        "{answer:?}"
    );
    eprintln!(
        "tls: certificate from pebble: apply (with its route check) {:.1}s, valid certificate {:.1}s after the apply started",
        applied.as_secs_f64(),
        total.as_secs_f64()
    );
    // A client trusting only the listener's CA (not pebble's root) refuses it: the trust comes
    // from the certificate pebble issued.
    let other = roots(&pebble.listener_ca);
    let refused = https_get(HTTPS_PORT, &host, "/", &other, None);
    assert!(refused.is_err(), "{refused:?}");
    drop(e);
    drop(pebble);
}

#[test]
fn custom_certificates_and_the_dashboard_behind_basic_auth() {
    let mut e = Edge::new();
    let name = e.world.project("custom");
    let host = e.host(&name);
    let dashboard = format!("traefik.{}", e.domain);
    let uncovered = e.host("uncovered");
    // The certificate covers the project's host and the dashboard's; its key comes from the
    // environment, the chain from a file.
    certs::self_signed(&e.world.dir, "shop", &[&host, &dashboard])
        .unwrap_or_else(|e| panic!("{e}"));
    let key = std::fs::read_to_string(e.world.dir.join("shop.key")).unwrap();
    std::fs::remove_file(e.world.dir.join("shop.key")).unwrap();
    let cert = std::fs::read_to_string(e.world.dir.join("shop.pem")).unwrap();
    let password = format!("pw-{}", e.world.id);
    let hash = Command::new("openssl")
        .args(["passwd", "-apr1", &password])
        .output()
        .expect("openssl runs");
    assert!(hash.status.success(), "{}", text(&hash));
    e.world.write(
        "dashboard.htpasswd",
        &format!("admin:{}", stdout(&hash).trim()),
    );
    e.world.write(
        "main.berth",
        &format!(
            r#"platform {{
  domain = "{domain}"

  certificate shop {{
    cert    = "shop.pem"
    key_env = "BERTH_E2E_SHOP_KEY"
  }}

  proxy {{
    http_port       = 18080
    https_port      = {HTTPS_PORT}
    edge_slots      = 8
    dashboard       = true
    dashboard_users = "dashboard.htpasswd"
  }}
}}

{project}"#,
            domain = e.domain,
            project = routed(&name, "\n      tls     = true"),
        ),
    );
    let env = [("BERTH_E2E_SHOP_KEY", key.as_str())];
    let plan = e.world.berth_env(&["plan", e.world.dir_str()], &env);
    expect_code(&plan, 0);
    let out = e.world.berth_env(
        &[
            "apply",
            "--auto-approve",
            "--project",
            &name,
            "--env",
            "production",
            e.world.dir_str(),
        ],
        &env,
    );
    let said = served_with_its_certificate(&out, &host);

    // A client that trusts only this certificate gets it for the host, chosen by SNI.
    let trust = roots(&cert);
    let (_, answer) = until_status(Duration::from_secs(30), 200, || {
        https_get(HTTPS_PORT, &host, "/", &trust, None)
    })
    .unwrap_or_else(|err| panic!("{host} with the custom certificate: {err}"));
    assert!(
        answer.body.contains(&format!("project={name}")),
        "{answer:?}"
    );
    // A host it does not cover gets Traefik's default certificate, which that client refuses.
    let refused = https_get(HTTPS_PORT, &uncovered, "/", &trust, None);
    assert!(refused.is_err(), "{refused:?}");

    // The dashboard: 401 without credentials or with wrong ones, 200 with them.
    let (_, denied) = until_status(Duration::from_secs(30), 401, || {
        https_get(HTTPS_PORT, &dashboard, "/dashboard/", &trust, None)
    })
    .unwrap_or_else(|err| panic!("the dashboard at {dashboard} without credentials: {err}"));
    assert_eq!(denied.status, 401);
    let wrong = https_get(
        HTTPS_PORT,
        &dashboard,
        "/api/overview",
        &trust,
        Some("admin:wrong"),
    )
    .unwrap();
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let credentials = format!("admin:{password}");
    let ok = https_get(
        HTTPS_PORT,
        &dashboard,
        "/api/overview",
        &trust,
        Some(&credentials),
    )
    .unwrap();
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("\"http\""), "{ok:?}");
    let page = https_get(
        HTTPS_PORT,
        &dashboard,
        "/dashboard/",
        &trust,
        Some(&credentials),
    )
    .unwrap();
    assert_eq!(page.status, 200, "{page:?}");

    // The key never appears in plans, state or berth's output: only digests do.
    let key_line = key
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 20)
        .expect("a base64 line of the key");
    for (what, text) in [
        ("plan", crate::harness::text(&plan)),
        ("apply", said),
        ("state", read_tree(&e.world.state)),
    ] {
        assert!(!text.contains(key_line), "the key appears in the {what}");
    }
    let secrets = docker(&[
        "secret",
        "ls",
        "--filter",
        "label=berth.project=platform",
        "--format",
        "{{.Name}}",
    ]);
    let secrets = stdout(&secrets);
    assert!(secrets.contains("platform_tls-shop-key_"), "{secrets}");
    assert!(secrets.contains("platform_dashboard-users_"), "{secrets}");
}
