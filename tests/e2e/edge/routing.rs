//! Routing of every environment's hosts, onboarding a project without disturbing the others,
//! and zero-downtime updates with automatic rollback, seen from a client.

use super::*;
use crate::harness::{expect_code, flat, inspect, stdout, text};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Routing, onboarding, zero downtime
// ---------------------------------------------------------------------------------------------

/// `shop`: `web` (2 replicas, the primary route plus a custom host `www-<stack>.<domain>`) and
/// `api` (its default host `api-<stack>.<domain>`, plus the path prefix `/version` of the
/// primary host). Each answer names its stack and service (`project=<stack>.<service>`); the
/// api's `/version` answers `api`. Production, staging and preview environments.
fn shop(name: &str, domain: &str, image: &str) -> String {
    format!(
        r#"variable pr {{
  type    = number
  default = 0
}}

project {name} {{
  service web {{
    image    = "{image}"
    replicas = 2

    env {{
      BERTH_DEMO_PROJECT = "${{deployment.stack}}.web"
    }}

{HEALTH}
    route {{
      primary = true
      port    = 8080
    }}

    route {{
      host = "www-${{deployment.stack}}.{domain}"
      port = 8080
    }}
  }}

  service api {{
    image = "berth/demo:1"

    env {{
      BERTH_DEMO_PROJECT = "${{deployment.stack}}.api"
      BERTH_DEMO_VERSION = "api"
    }}

{HEALTH}
    route {{
      port = 8080
    }}

    route {{
      host = "${{deployment.stack}}.{domain}"
      path = "/version"
      port = 8080
    }}
  }}

  environment production {{}}

  environment staging {{
    service web {{
      replicas = 1
    }}
  }}

  environment preview {{
    service web {{
      replicas = 1
    }}
  }}
}}
"#
    )
}

#[test]
fn routes_answer_onboarding_disturbs_nobody_and_updates_drop_no_request() {
    let mut e = Edge::new();
    let shop_name = e.world.project("shop");
    let newco_name = e.world.project("newco");
    let platform = e.platform_block();
    e.world.write(
        "main.berth",
        &format!("{platform}{}", shop(&shop_name, &e.domain, "berth/demo:1")),
    );

    // (a) Routing: each environment's hosts answer through the proxy with the right service.
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("platform/proxy/service.traefik"),
        "the first routed apply creates the proxy:\n{}",
        text(&out)
    );
    eprintln!(
        "edge: platform + production applied in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // Staging and the preview at once: both claim a free edge slot, and creating the claim
    // decides which apply gets which.
    let staging = e
        .world
        .command(&[
            "apply",
            "--auto-approve",
            "--project",
            &shop_name,
            "--env",
            "staging",
            e.world.dir_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("berth runs");
    let preview = e.apply(&shop_name, "preview", &["--var", "pr=42"]);
    expect_code(&staging.wait_with_output().expect("berth runs"), 0);
    expect_code(&preview, 0);

    let stacks = [
        shop_name.clone(),
        format!("{shop_name}-staging"),
        format!("{shop_name}-pr-42"),
    ];
    for stack in &stacks {
        let primary = e.host(stack);
        let body = get_ok(&primary, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.web").as_str()),
            "{primary}: {body}"
        );
        let api = e.host(&format!("api-{stack}"));
        let body = get_ok(&api, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.api").as_str()),
            "{api}: {body}"
        );
        let www = e.host(&format!("www-{stack}"));
        let body = get_ok(&www, "/");
        assert_eq!(
            field(&body, "project"),
            Some(format!("{stack}.web").as_str()),
            "{www}: {body}"
        );
        // The path prefix goes to the api; the rest of the primary host stays with web.
        assert_eq!(get_ok(&primary, "/version"), "api\n", "{primary}/version");
        assert_eq!(get_ok(&primary, "/health"), "ok\n", "{primary}/health");
    }
    let unrouted = e.host("nobody");
    assert_eq!(
        get(&unrouted, "/", Duration::from_secs(10)),
        Ok((404, "404 page not found\n".to_string())),
        "a host nobody routes gets Traefik's own 404"
    );

    let status = e.berth(&["status", "--format", "json"]);
    expect_code(&status, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).expect("status JSON");
    let urls: BTreeSet<String> = json["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .flat_map(|d| d["routes"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["url"].as_str().map(str::to_string))
        .collect();
    for stack in &stacks {
        for url in [
            // The proxy publishes HTTP on 18080, so the URLs say so.
            format!("http://{}:{HTTP_PORT}/", e.host(stack)),
            format!("http://{}:{HTTP_PORT}/", e.host(&format!("api-{stack}"))),
            format!("http://{}:{HTTP_PORT}/", e.host(&format!("www-{stack}"))),
            format!("http://{}:{HTTP_PORT}/version", e.host(stack)),
        ] {
            assert!(urls.contains(&url), "status lacks {url}: {urls:#?}");
        }
    }

    // (b) Onboarding: applying another routed project fails no request to this one and leaves
    // the proxy's task alone. Discovery is measured from the end of the apply (without its own
    // route check) to the first 200 through the proxy.
    e.world.write("newco.berth", &routed(&newco_name, ""));
    let proxy_before = proxy_task();
    let platform_state = e.world.state.join("platform/proxy/state.json");
    let platform_before = std::fs::read_to_string(&platform_state).expect("the platform's state");
    let primary = e.host(&shop_name);
    let load = Load::start(&primary, 2, 5_000, Duration::from_secs(120));
    let out = e.apply(&newco_name, "production", &["--no-verify"]);
    let discovery = first_ok(&e.host(&newco_name), "/", Duration::from_secs(30));
    load.mark();
    let tally = load.finish(300, Duration::from_millis(500));
    expect_code(&out, 0);
    let discovery = discovery.expect("the new project answers through the proxy within 30 s");
    eprintln!(
        "edge: onboarding: {} requests to {primary} ({} during the apply), {} failed, slowest {} ms; discovery {} ms after the apply ended",
        tally.total(),
        tally.before_mark,
        tally.failed,
        tally.slowest.as_millis(),
        discovery.as_millis()
    );
    assert!(tally.total() >= 300, "{tally:?}");
    assert_eq!(
        tally.failed, 0,
        "requests failed while onboarding: {tally:?}"
    );
    assert_eq!(
        proxy_task(),
        proxy_before,
        "onboarding a project replaced the proxy's task"
    );
    // With the proxy running, the project's apply left the platform out of its scope: it
    // neither locked nor recorded it.
    assert_eq!(
        std::fs::read_to_string(&platform_state).expect("the platform's state"),
        platform_before,
        "a project's apply recorded the platform although the proxy exists"
    );

    // (c) Zero downtime: demo:1 -> demo:2 (2 replicas, start-first, health-checked) under a
    // concurrent request loop.
    let web = format!("{shop_name}_web");
    assert_eq!(inspect(&web, "{{.Spec.UpdateConfig.Order}}"), "start-first");
    e.world.write(
        "main.berth",
        &format!("{platform}{}", shop(&shop_name, &e.domain, "berth/demo:2")),
    );
    let load = Load::start(&primary, 4, 40_000, Duration::from_secs(150));
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    let took = t.elapsed();
    load.mark();
    let tally = load.finish(1_000, Duration::from_secs(2));
    expect_code(&out, 0);
    eprintln!(
        "edge: rolling update demo:1 -> demo:2 in {:.1}s: {} requests ({} during the apply), {} failed, slowest {} ms, versions {:?}",
        took.as_secs_f64(),
        tally.total(),
        tally.before_mark,
        tally.failed,
        tally.slowest.as_millis(),
        tally.versions
    );
    assert!(tally.total() >= 1_000, "{tally:?}");
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rolling update: {tally:?}"
    );
    assert_eq!(tally.last_version(), Some("2"), "{tally:?}");
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );

    // A version whose health check fails is rolled back; the route keeps answering version 2.
    e.world.write(
        "main.berth",
        &format!(
            "{platform}{}",
            shop(&shop_name, &e.domain, "berth/demo:broken")
        ),
    );
    let load = Load::start(&primary, 2, 40_000, Duration::from_secs(180));
    let t = Instant::now();
    let out = e.apply(&shop_name, "production", &[]);
    let took = t.elapsed();
    load.mark();
    let tally = load.finish(300, Duration::from_secs(1));
    eprintln!(
        "edge: broken version rolled back in {:.1}s: {} requests, {} failed, versions {:?}",
        took.as_secs_f64(),
        tally.total(),
        tally.failed,
        tally.versions
    );
    expect_code(&out, 1);
    assert!(flat(&text(&out)).contains("rolled back"), "{}", text(&out));
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rollback: {tally:?}"
    );
    assert_eq!(
        tally.versions.keys().collect::<Vec<_>>(),
        ["2"],
        "only version 2 answered: {tally:?}"
    );
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );
}
