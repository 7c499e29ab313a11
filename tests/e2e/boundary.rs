//! The tenant boundary on the real Swarm and through a real Traefik (docs/SECURITY.md).
//!
//! Two tenants are applied, a victim and an attacker, each from its own file beside the
//! platform's `platform.berth`. While a bounded loop of requests reads the victim's host, the
//! attacker tries each attack that needs a running cluster to matter, each with its own
//! `berth apply --project`: a Traefik router for the victim's host through raw labels, a path
//! under the victim's host, the victim's derived staging host, and a project named like the
//! victim's staging stack. Each is refused with its code before any object changes (the
//! attacker's service keeps its version, no object of a squatting stack appears), and the
//! loop sees the victim alone, with no failure. Then a granted exception (a domain outside the
//! platform's) is refused without its grant and routed once the platform grants it.

use crate::edge::{get, get_ok, routed, Edge, Load};
use crate::harness::{docker, expect_code, text};
use std::time::Duration;

/// The Swarm version of a service: it changes with every update.
fn version(service: &str) -> String {
    let out = docker(&[
        "service",
        "inspect",
        service,
        "--format",
        "{{.Version.Index}}",
    ]);
    assert!(out.status.success(), "{service} exists: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Objects of any kind that carry `berth.stack=<stack>`.
fn objects_of_stack(stack: &str) -> Vec<String> {
    let filter = format!("label=berth.stack={stack}");
    let mut out = Vec::new();
    for kind in ["service", "network", "secret", "config", "volume"] {
        let ls = docker(&[kind, "ls", "-q", "--filter", &filter]);
        out.extend(
            String::from_utf8_lossy(&ls.stdout)
                .lines()
                .map(|l| format!("{kind} {l}")),
        );
    }
    out
}

/// The attacker's routed service with `service_extra` inside its service block and
/// `route_extra` inside its route block.
fn attacker(name: &str, service_extra: &str, route_extra: &str) -> String {
    routed(name, route_extra).replacen(
        "  service web {\n",
        &format!("  service web {{\n{service_extra}"),
        1,
    )
}

#[test]
fn attacks_on_a_running_tenant_are_refused_before_anything_changes() {
    let mut e = Edge::new();
    let victim = e.world.project("shop");
    let evil = e.world.project("evil");
    let partner = format!("partner-{}.test", e.world.id);
    e.world.write("platform.berth", &e.platform_block());
    e.world
        .write(&format!("{victim}.berth"), &routed(&victim, ""));
    e.world
        .write(&format!("{evil}.berth"), &attacker(&evil, "", ""));
    expect_code(&e.apply(&victim, "production", &[]), 0);
    expect_code(&e.apply(&evil, "production", &[]), 0);
    let victim_host = e.host(&victim);
    let body = get_ok(&victim_host, "/");
    assert!(body.contains(&format!("project={victim}")), "{body}");
    let evil_service = format!("{evil}_web");
    let evil_version = version(&evil_service);

    let load = Load::start(&victim_host, 2, 20_000, Duration::from_secs(300));
    let staging_host = e.host(&format!("{victim}-staging"));
    let attacks: [(&str, String, &str); 3] = [
        (
            "a Traefik router for the victim's host through labels",
            attacker(
                &evil,
                &format!(
                    "    labels {{\n      \"traefik.http.routers.x.rule\"     = \"Host(`{victim_host}`)\"\n      \"traefik.http.routers.x.priority\" = \"10000\"\n    }}\n\n"
                ),
                "",
            ),
            "E0173",
        ),
        (
            "a path under the victim's host",
            attacker(
                &evil,
                "",
                &format!("\n      host = \"{victim_host}\"\n      path = \"/admin\""),
            ),
            "E0171",
        ),
        (
            "the victim's derived staging host",
            attacker(&evil, "", &format!("\n      host = \"{staging_host}\"")),
            "E0171",
        ),
    ];
    for (what, config, code) in &attacks {
        e.world.write(&format!("{evil}.berth"), config);
        let out = e.apply(&evil, "production", &[]);
        let said = text(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what} was not refused:\n{said}"
        );
        assert!(said.contains(code), "{what}: no {code} in\n{said}");
        assert_eq!(
            version(&evil_service),
            evil_version,
            "{what}: the attacker's service changed although the apply was refused"
        );
    }

    // A project named like the victim's staging stack, in a file of its own.
    let squat = format!("{victim}-staging");
    // Registered for cleanup, should the refusal ever fail.
    e.world.projects.push(squat.clone());
    e.world
        .write(&format!("{squat}.berth"), &routed(&squat, ""));
    let out = e.apply(&squat, "production", &[]);
    let said = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the squat was not refused:\n{said}"
    );
    assert!(said.contains("E0170"), "{said}");
    assert!(
        objects_of_stack(&squat).is_empty(),
        "the refused squat created objects: {:?}",
        objects_of_stack(&squat)
    );
    std::fs::remove_file(e.world.dir.join(format!("{squat}.berth"))).unwrap();

    let tally = load.finish(200, Duration::from_secs(1));
    assert_eq!(
        tally.failed, 0,
        "the victim's host failed during the attacks: {:?}",
        tally.errors
    );
    assert!(tally.ok >= 200, "too few requests: {}", tally.ok);
    assert_eq!(
        tally.projects.keys().cloned().collect::<Vec<_>>(),
        vec![victim.clone()],
        "someone other than the victim answered the victim's host"
    );

    // A granted exception: a domain outside the platform's is refused without its grant, and
    // routed to the attacker once the platform grants it.
    e.world.write(
        &format!("{evil}.berth"),
        &attacker(&evil, "", &format!("\n      host = \"{partner}\"")),
    );
    let out = e.apply(&evil, "production", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("E0172"), "{}", text(&out));
    let granted = e.platform_block().replacen(
        &format!("  grant {evil} {{\n"),
        &format!("  grant {evil} {{\n    domains = [\"{partner}\"]\n"),
        1,
    );
    assert_ne!(granted, e.platform_block(), "the grant was written");
    e.world.write("platform.berth", &granted);
    expect_code(&e.apply(&evil, "production", &[]), 0);
    let mut answer = None;
    for _ in 0..150 {
        if let Ok((200, body)) = get(&partner, "/", Duration::from_secs(2)) {
            answer = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = answer.expect("the granted host answers through the proxy within 30 s");
    assert!(answer.contains(&format!("project={evil}")), "{answer}");
    // The victim still answers as itself.
    assert!(get_ok(&victim_host, "/").contains(&format!("project={victim}")));
}
