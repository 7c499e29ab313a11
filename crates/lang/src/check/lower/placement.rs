//! Lowering of where a service's tasks run and with which rights: its `placement` and
//! `security` blocks.

use super::*;

pub(super) fn placement(lw: &mut Lower, body: &Body) -> Placement {
    let mut constraints = Vec::new();
    if let Some(e) = attr(body, "constraints") {
        for (c, span) in lw.str_list(e).unwrap_or_default() {
            if let Some(c) = rules::constraint(&c, span, lw.sink) {
                constraints.push(c);
            }
        }
    }
    constraints.sort();
    constraints.dedup();
    let spread = attr(body, "spread")
        .and_then(|e| lw.str_list(e))
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    Placement {
        constraints,
        spread,
        max_replicas_per_node: attr(body, "max_replicas_per_node")
            .and_then(|e| lw.int_in(e, declared("placement", "max_replicas_per_node"))),
    }
}

pub(super) fn security(lw: &mut Lower, body: &Body) -> Security {
    let caps = |lw: &mut Lower, n: &str| {
        let mut out = Vec::new();
        if let Some(e) = attr(body, n) {
            for (c, span) in lw.str_list(e).unwrap_or_default() {
                if let Some(c) = rules::capability(&c, span, lw.sink) {
                    out.push(c);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    };
    let cap_drop = caps(lw, "cap_drop");
    let cap_add = caps(lw, "cap_add");
    Security {
        read_only: attr(body, "read_only")
            .and_then(|e| lw.bool(e))
            .unwrap_or(false),
        user: attr(body, "user").and_then(|e| lw.string(e)),
        cap_drop,
        cap_add,
    }
}
