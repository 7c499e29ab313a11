//! Lowering of a service's `canary` block: the second version's image, share, replicas, what
//! else differs (command, args, env) and its preview hosts, one per route of the service.
//! Whether the preview hosts are the project's to route is the boundary check's, as for routes.

use super::*;

/// The preview host of a route's host when none is given: `canary-` before its first label,
/// which keeps it under the same domain (and, for derived hosts, the same project).
pub fn preview_host(host: &str) -> String {
    format!("canary-{host}")
}

pub(super) fn canary(
    lw: &mut Lower,
    service: &str,
    global: bool,
    routes: &[Route],
    written_routes: usize,
    b: &Block,
) -> Option<Canary> {
    let body = &b.body;
    let image = attr(body, "image").and_then(|e| {
        let img = lw.string(e)?;
        rules::image(&img, e.span, lw.sink).then_some(img)
    });
    let share = attr(body, "share").and_then(|e| lw.int_in(e, declared("canary", "share")));
    let replicas = attr(body, "replicas")
        .and_then(|e| lw.int_in(e, declared("canary", "replicas")))
        .unwrap_or_else(|| default_int("canary", "replicas"));
    let command = strings(lw, body, "command");
    let args = strings(lw, body, "args");
    // Secret references in the canary's env are mounted like the service's own: the planner
    // derives the mounts from the env values.
    let env = env_map(lw, body, &mut Vec::new());
    let given = match attr(body, "host") {
        Some(e) => {
            let h = lw.string(e)?.to_ascii_lowercase();
            if !rules::host(&h, e.span, lw.sink) {
                return None;
            }
            Some(h)
        }
        None => None,
    };

    if !global && routes.len() != written_routes {
        // A route was refused, with its own error: the canary cannot be checked against it.
        return None;
    }
    if global || routes.is_empty() {
        let (why, help) = if global {
            (
                "a global service has no replica count to weigh",
                "remove `mode = \"global\"` or the `canary` block",
            )
        } else {
            (
                "the service has no `route`",
                "add a `route` to the service, or remove the `canary` block",
            )
        };
        lw.sink.push(
            Diagnostic::new(
                Code::CanaryWithoutRoute,
                b.kind.span,
                format!("service `{service}` has a canary but no routed traffic to share: {why}"),
            )
            .with_label("nothing to share")
            .with_help(help),
        );
        return None;
    }

    let mut preview = Vec::with_capacity(routes.len());
    for (n, r) in routes.iter().enumerate() {
        let host = match (&given, n) {
            (Some(h), 0) => h.clone(),
            _ => preview_host(&r.host),
        };
        if !rules::host(&host, b.kind.span, lw.sink) {
            return None;
        }
        preview.push(Route {
            host,
            path: r.path.clone(),
            port: r.port,
            tls: r.tls,
            span: attr(body, "host").map_or(b.kind.span, |e| e.span),
        });
    }
    Some(Canary {
        image: image?,
        share: u8::try_from(share?).ok()?,
        replicas,
        command,
        args,
        env,
        preview,
        span: b.kind.span,
    })
}
