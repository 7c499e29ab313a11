//! The proxy's own serial (issue 14, item 5): the platform is a project environment of its own
//! (`platform/proxy`), and its state takes a new serial only when the platform changed. A tenant's
//! change, applied alone or with the whole configuration, leaves the platform's serial where it
//! was (so a saved plan of the platform stays fresh), and a change of the platform moves only the
//! platform's serial. On the way, the planner's hint for a project planned before the platform's
//! edge network exists (`berth apply` without --project/--env) is followed.

use super::*;
use crate::harness::{expect_code, flat, stdout, text};

/// The serial the state directory of this test records for `id` (`shop/production`).
fn serial(e: &Edge, id: &str) -> u64 {
    let show = e.world.berth(&["state", "show", id]);
    expect_code(&show, 0);
    let state: serde_json::Value = serde_json::from_str(&stdout(&show)).expect("state parses");
    state["serial"].as_u64().expect("a serial")
}

#[test]
fn a_tenants_apply_leaves_the_platforms_serial_and_a_platform_change_moves_only_its_own() {
    let mut e = Edge::new();
    let name = e.world.project("serials");
    let tenant = format!("{name}/production");
    let platform = "platform/proxy";
    // The tenant's text with one environment variable that the test changes.
    let config = |e: &Edge, proxy_extra: &str, level: &str| {
        format!(
            "{}{}",
            e.platform_block_with(proxy_extra),
            routed(&name, "").replace(
                "      BERTH_DEMO_PROJECT",
                &format!("      LOG_LEVEL          = \"{level}\"\n      BERTH_DEMO_PROJECT"),
            )
        )
    };
    e.world.write("main.berth", &config(&e, "", "info"));

    // Planned from recorded state before the platform was ever applied, the project needs an
    // edge network that does not exist: the planner says to apply the whole configuration.
    let early = e.berth(&["plan", "--refresh=false", "-p", &name, "-e", "production"]);
    expect_code(&early, 1);
    assert!(
        text(&early).contains("E0222")
            && flat(&text(&early)).contains("`berth apply` without --project/--env"),
        "{}",
        text(&early)
    );
    // Followed as printed, berth apply without --project/--env: the whole configuration
    // applies, platform first; the same plan then works.
    expect_code(&e.berth(&["apply", "--auto-approve"]), 0);
    expect_code(
        &e.berth(&[
            "plan",
            "--refresh=false",
            "--detailed-exitcode",
            "-p",
            &name,
            "-e",
            "production",
        ]),
        0,
    );
    let (proxy_first, tenant_first) = (serial(&e, platform), serial(&e, &tenant));

    // A tenant's change applied with the whole configuration (the platform is in scope).
    e.world.write("main.berth", &config(&e, "", "debug"));
    let whole = e.berth(&["apply", "--auto-approve"]);
    expect_code(&whole, 0);
    assert_eq!(
        serial(&e, &tenant),
        tenant_first + 1,
        "the tenant changed: {}",
        text(&whole)
    );
    assert_eq!(
        serial(&e, platform),
        proxy_first,
        "the platform did not change, but its serial moved: {}",
        text(&whole)
    );
    // And one applied alone.
    e.world.write("main.berth", &config(&e, "", "warn"));
    expect_code(&e.apply(&name, "production", &[]), 0);
    assert_eq!(serial(&e, &tenant), tenant_first + 2);
    assert_eq!(serial(&e, platform), proxy_first);

    // A platform's change, planned, saved and applied as reviewed, moves the platform's serial
    // alone.
    let saved = e.world.dir.join("platform.plan");
    let saved_str = saved.to_str().unwrap();
    e.world
        .write("main.berth", &config(&e, "    refresh    = 2s\n", "warn"));
    expect_code(&e.berth(&["plan", "--out", saved_str]), 0);
    let changed = e.world.berth(&["apply", saved_str]);
    expect_code(&changed, 0);
    assert_eq!(
        serial(&e, platform),
        proxy_first + 1,
        "the platform changed: {}",
        text(&changed)
    );
    assert_eq!(
        serial(&e, &tenant),
        tenant_first + 2,
        "the tenant did not change, but its serial moved: {}",
        text(&changed)
    );
    // Nothing changed since: a whole apply moves no serial at all.
    expect_code(&e.berth(&["apply", "--auto-approve"]), 0);
    assert_eq!(serial(&e, platform), proxy_first + 1);
    assert_eq!(serial(&e, &tenant), tenant_first + 2);
}
