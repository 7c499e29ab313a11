//! Tenant isolation on the overlay networks: a tenant's tasks reach only their own services
//! and the links they declared.

use super::*;
use crate::harness::{docker, expect_code, inspect, stdout, text};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

#[test]
fn tenants_reach_only_themselves_and_declared_links() {
    let mut e = Edge::new();
    let a = e.world.project("a");
    let b = e.world.project("b");
    let c = e.world.project("c");
    let platform = e.platform_block();
    let limits = "    resources {\n      limits {\n        cpu    = 0.5\n        memory = 32M\n      }\n    }\n";
    e.world.write(
        "main.berth",
        &format!(
            r#"{platform}project {a} {{
  service web {{
    image = "berth/demo:1"

{HEALTH}
    route {{
      primary = true
      port    = 8080
    }}
  }}

  service db {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"

{limits}  }}
}}

project {c} {{
  network partners {{
    shared_with = ["{b}"]
  }}

  service svc {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"
    networks      = [network.partners]

{limits}  }}
}}

project {b} {{
  service db {{
    image         = "berth/demo:1"
    endpoint_mode = "dnsrr"
    networks      = [project.{c}.network.partners]

{limits}  }}
}}
"#
        ),
    );
    // C owns the shared network, so it goes before B.
    for p in [&a, &c, &b] {
        expect_code(&e.apply(p, "production", &[]), 0);
    }

    let a_web = container_of(&format!("{a}_web"));
    let b_db = container_of(&format!("{b}_db"));
    let (a_pid, b_pid) = (pid_of(&a_web), pid_of(&b_db));

    // B's task addresses, seen from A's web: an address outside A's subnets leaves through the
    // gateway (a route `via`) and off this machine, where something else may answer, so it is
    // never connected to and counts as unreachable. Only on-link addresses would be tried.
    let b_ips = addresses(&b_db);
    assert!(
        b_ips.len() >= 2,
        "B's db is on its own network and the shared one: {b_ips:?}"
    );
    let mut off_link = Vec::new();
    let mut on_link = Vec::new();
    for (network, ip) in &b_ips {
        let route = ip_in(&a_pid, &["route", "get", ip]);
        assert!(route.status.success(), "{}", text(&route));
        if stdout(&route).contains(" via ") {
            off_link.push(format!("{network}={ip}"));
        } else {
            on_link.push((network.clone(), ip.clone(), stdout(&route)));
        }
    }

    // A name the embedded DNS cannot answer is forwarded to the host's resolvers, off this
    // machine. Before any name is looked up, everything off-link is made unreachable in both
    // namespaces (this test's own tasks, removed at the end), so such a forward fails locally.
    for pid in [&a_pid, &b_pid] {
        for half in ["0.0.0.0/1", "128.0.0.0/1"] {
            let out = ip_in(pid, &["route", "add", "unreachable", half]);
            assert!(out.status.success(), "{}", text(&out));
        }
    }

    for (network, ip, route) in &on_link {
        let (open, said) = connect_from(&a_web, &format!("{ip}:8080"));
        assert!(
            !open,
            "A's web opened a connection to B's task at {ip} ({network}), on-link: {route}\n{said}"
        );
    }
    eprintln!(
        "edge: isolation: {} of B's {} task addresses are off-link from A (not connected to, unreachable): {off_link:?}",
        off_link.len(),
        b_ips.len()
    );

    // A's services reach each other by name.
    let (open, said) = connect_from(&a_web, &format!("{a}_db:8080"));
    assert!(open, "A's web cannot reach A's db:\n{said}");

    // B's name does not resolve from A: it is in none of the service tables of A's networks,
    // which is what the embedded DNS answers from (nor is C's), and a lookup fails.
    let a_networks = addresses(&a_web);
    let mut visible = BTreeSet::new();
    for network in a_networks.keys() {
        let out = docker(&[
            "network",
            "inspect",
            "--verbose",
            network,
            "--format",
            "{{range $name, $s := .Services}}{{$name}}\n{{end}}",
        ]);
        visible.extend(stdout(&out).lines().map(str::to_string));
    }
    assert!(visible.contains(&format!("{a}_db")), "{visible:?}");
    for other in [format!("{b}_db"), format!("{c}_svc")] {
        assert!(
            !visible.contains(&other),
            "{other} is visible on A's networks {a_networks:?}"
        );
    }
    let (open, said) = connect_from(&a_web, &format!("{b}_db:8080"));
    assert!(!open, "A's web reached B's db by name:\n{said}");
    assert!(
        said.contains("cannot resolve"),
        "B's name should not resolve from A:\n{said}"
    );

    // A's edge slot network holds A's routed tasks and the proxy, nobody else.
    let slot = inspect(
        &format!("{a}_web"),
        "{{index .Spec.Labels \"traefik.swarm.network\"}}",
    );
    assert!(slot.starts_with("platform_edge-"), "{slot}");
    let members = docker(&[
        "network",
        "inspect",
        &slot,
        "--format",
        "{{range $id, $c := .Containers}}{{$c.Name}}\n{{end}}",
    ]);
    let members: Vec<String> = stdout(&members)
        .lines()
        .filter(|n| !n.is_empty() && !n.ends_with("-endpoint"))
        .map(str::to_string)
        .collect();
    assert!(
        members.iter().any(|m| m.starts_with(&format!("{a}_web."))),
        "{slot}: {members:?}"
    );
    assert_eq!(
        members
            .iter()
            .filter(|m| m.starts_with(&format!("{PROXY}.")))
            .count(),
        1,
        "{slot}: {members:?}"
    );
    assert!(
        members
            .iter()
            .all(|m| m.starts_with(&format!("{a}_web.")) || m.starts_with(&format!("{PROXY}."))),
        "{slot} holds others than A's routed tasks and the proxy: {members:?}"
    );

    // The declared link: B reaches C's service by name over C's shared network.
    let (open, said) = connect_from(&b_db, &format!("{c}_svc:8080"));
    assert!(open, "B cannot reach C over the shared network:\n{said}");
}
