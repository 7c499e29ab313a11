//! A failing migration job through the proxy: a routed web depends on a job; a new web image
//! runs the job again first, the job exits 1, and the apply stops before web changes. A bounded
//! request loop through Traefik during that apply sees no failure and only the version that was
//! running, and the apply's output carries the job's log lines.

use super::*;
use crate::harness::{expect_code, inspect, stdout, text};
use std::time::{Duration, Instant};

/// A job `migrate` (a shell in the PostgreSQL image, which has one; `script` is what it runs)
/// and the routed `web` that depends on it.
fn project(name: &str, script: &str, web_image: &str) -> String {
    format!(
        r#"project {name} {{
  job migrate {{
    image   = "berth/postgres:15"
    command = ["/bin/sh", "-c", "{script}"]
    timeout = 60s

    resources {{
      limits {{
        cpu    = 0.25
        memory = 32M
      }}
    }}
  }}

  service web {{
    image      = "{web_image}"
    depends_on = [migrate]

    env {{
      BERTH_DEMO_PROJECT = "{name}"
    }}

{HEALTH}
    route {{
      primary = true
      port    = 8080
    }}
  }}
}}
"#
    )
}

#[test]
fn a_failing_job_stops_the_apply_while_the_running_version_serves_through_the_proxy() {
    let mut e = Edge::new();
    let name = e.world.project("jobs");
    let _leftovers = crate::release::JobLeftovers(name.clone());
    let platform = e.platform_block();
    let write = |script: &str, image: &str| {
        e.world.write(
            "main.berth",
            &format!("{platform}{}", project(&name, script, image)),
        )
    };
    write("echo schema v1 ready", "berth/demo:1");
    let out = e.apply(&name, "production", &[]);
    expect_code(&out, 0);
    let host = e.host(&name);
    let body = get_ok(&host, "/");
    assert_eq!(field(&body, "project"), Some(name.as_str()), "{body}");
    let running = field(&body, "version").expect("a version").to_string();

    // A new web image runs the job again first; this run fails.
    write(
        "echo applying 0002_orders_total.sql; echo cannot apply 0002_orders_total.sql >&2; exit 1",
        "berth/demo:2",
    );
    let web = format!("{name}_web");
    let version_before = inspect(&web, "{{.Version.Index}}");
    let load = Load::start(&host, 2, 20_000, Duration::from_secs(120));
    let t = Instant::now();
    let out = e.apply(&name, "production", &[]);
    let took = t.elapsed();
    load.mark();
    let tally = load.finish(300, Duration::from_millis(500));
    eprintln!(
        "edge: failing job in {:.1}s: {} requests ({} during the apply), {} failed, versions {:?}",
        took.as_secs_f64(),
        tally.total(),
        tally.before_mark,
        tally.failed,
        tally.versions
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("cannot apply 0002_orders_total.sql")
            && all.contains("applying 0002_orders_total.sql"),
        "the job's log lines are shown:\n{all}"
    );
    assert!(all.contains("exited with code 1"), "{all}");
    assert!(all.contains("service.web: skipped"), "{all}");
    assert!(
        !stdout(&out).contains("Apply complete"),
        "the apply says it is incomplete:\n{all}"
    );

    // Web did not change: same spec version, same image.
    assert_eq!(inspect(&web, "{{.Version.Index}}"), version_before);
    assert_eq!(
        inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:1"
    );
    // Through the proxy, during the apply and after: no failure, only the running version.
    assert!(
        tally.before_mark > 0,
        "requests ran during the apply: {tally:?}"
    );
    assert!(tally.total() >= 300, "{tally:?}");
    assert_eq!(
        tally.failed, 0,
        "requests failed while the job failed: {tally:?}"
    );
    assert_eq!(
        tally.versions.keys().collect::<Vec<_>>(),
        [&running],
        "only the running version answered: {tally:?}"
    );
    assert_eq!(
        field(&get_ok(&host, "/"), "version"),
        Some(running.as_str())
    );
}
