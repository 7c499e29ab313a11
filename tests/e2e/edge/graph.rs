//! `berth graph` after an apply, through the edge tests' proxy: the edge slot the deployment
//! claimed, not the placeholder (issue 14, item 7).

use crate::harness::{expect_code, stdout};

/// Item 7, graph: once a deployment claimed its edge slot, `berth graph` draws its service on
/// that slot's network, not on the placeholder `edge-unassigned`. Uses the edge tests' proxy.
#[test]
fn graph_draws_the_claimed_edge_slot() {
    let mut e = crate::edge::Edge::new();
    let name = e.world.project("graph");
    let platform = e.platform_block();
    e.world.write(
        "main.berth",
        &format!(
            "{platform}project {name} {{\n  service web {{\n    image = \"berth/demo:1\"\n\n    resources {{\n      limits {{\n        memory = 16M\n      }}\n    }}\n\n    route {{\n      primary = true\n      port    = 8080\n    }}\n  }}\n\n  environment production {{}}\n}}\n"
        ),
    );
    let graph = |e: &crate::edge::Edge| {
        let out = e.berth(&["graph", "-p", &name, "-e", "production"]);
        expect_code(&out, 0);
        stdout(&out)
    };
    // Before the apply nothing is claimed: the placeholder is the truth.
    assert!(graph(&e).contains("network.edge-unassigned"));
    expect_code(&e.apply(&name, "production", &[]), 0);
    let after = graph(&e);
    let web = format!("\"{name}/production/service.web\" -> \"platform/proxy/network.edge-");
    assert!(
        !after.contains("edge-unassigned") && after.contains(&web),
        "{after}"
    );
}
