//! Lowering of a service's `route` blocks: host, path, port and TLS, with the host derived from
//! the project environment's domain when not given.

use super::*;

pub(super) fn route(lw: &mut Lower, service: &str, b: &Block, cx: &Context) -> Option<Route> {
    let body = &b.body;
    let port = attr(body, "port").and_then(|e| lw.port(e));
    let primary = attr(body, "primary")
        .and_then(|e| lw.bool(e))
        .unwrap_or(false);
    let tls = attr(body, "tls")
        .and_then(|e| lw.bool(e))
        .unwrap_or(cx.platform.acme_email.is_some());
    let path = match attr(body, "path") {
        Some(e) => {
            let p = lw.string(e)?;
            if !rules::path_prefix(&p, e.span, lw.sink) {
                return None;
            }
            (p != "/").then_some(p)
        }
        None => None,
    };
    let host = match attr(body, "host") {
        Some(e) => {
            let h = lw.string(e)?.to_ascii_lowercase();
            if !rules::host(&h, e.span, lw.sink) {
                return None;
            }
            h
        }
        None => match &cx.domain {
            Some(domain) => naming::default_host(&lw.scope.stack, service, primary, domain),
            None if cx.domain_given => return None,
            None => {
                lw.sink.push(
                    Diagnostic::new(Code::NoPlatformDomain, b.kind.span, format!("route of service `{service}` has no host and there is no domain to derive one"))
                        .with_label("no `host`")
                        .with_help("set `host = \"...\"` here, `domain` in the project, or `domain` in the platform block"),
                );
                return None;
            }
        },
    };
    if !rules::host(&host, b.kind.span, lw.sink) {
        return None;
    }
    Some(Route {
        host,
        path,
        port: port?,
        tls,
        span: b.kind.span,
    })
}
