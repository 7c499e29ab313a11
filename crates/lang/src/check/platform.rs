//! The `platform` block lowered to [`Platform`]: the proxy (ports, dashboard, metrics), ACME and
//! certificates, the address pool and the grants. It is checked before any project, because the
//! projects' checks read the platform's domain, reserved ports and grants.

use super::scope::{Declared, Globals, Scope};
use super::value;
use super::{grant, lower, rules};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::{AcmeChallenge, Certificate, Environment, Platform, Proxy, SecretSource};
use crate::span::Span;
use crate::syntax::Block;
use std::collections::BTreeMap;
use value::Lower;

/// The platform block lowered; without one, the defaults (which the schema states once).
pub(super) fn lower(sink: &mut Sink, block: Option<&Block>) -> Platform {
    let mut p = Platform {
        domain: None,
        acme_email: None,
        acme_ca: None,
        acme_ca_certificate: None,
        acme_challenge: AcmeChallenge::Http,
        certificates: Vec::new(),
        address_pool: None,
        subnet_size: lower::default_int("platform", "subnet_size") as u8,
        advertise_address: "127.0.0.1".into(),
        proxy: Proxy {
            image: "berth/traefik:3.7.15".into(),
            http_port: lower::default_int("proxy", "http_port") as u16,
            https_port: lower::default_int("proxy", "https_port") as u16,
            refresh_ns: lower::default_ns("proxy", "refresh"),
            dashboard: false,
            metrics: true,
            metrics_port: None,
            metrics_allow: Vec::new(),
            access_log: true,
            redirect_https: true,
            constraints: vec!["node.role == manager".into()],
            edge_slots: lower::default_int("proxy", "edge_slots") as u32,
            dashboard_host: None,
            dashboard_users: None,
        },
        grants: BTreeMap::new(),
        require_grants: false,
        admins: Vec::new(),
        span: None,
        source_spans: BTreeMap::new(),
    };
    let Some(block) = block else { return p };
    p.span = Some(block.kind.span);
    let empty = Globals::default();
    let mut scope = Scope::new(
        &empty,
        Declared::default(),
        "platform",
        Environment::Production,
        "platform".into(),
    );
    let mut lw = Lower {
        scope: &mut scope,
        sink,
    };
    let body = &block.body;
    if let Some(e) = lower::attr(body, "domain") {
        p.domain = lw.string(e).filter(|d| rules::host(d, e.span, lw.sink));
    }
    if let Some(e) = lower::attr(body, "acme_email") {
        p.acme_email = lw.string(e);
        if let Some(m) = &p.acme_email {
            rules::email(m, e.span, lw.sink);
        }
    }
    if let Some(e) = lower::attr(body, "admins") {
        p.admins = lower::access_list(&mut lw, e);
    }
    p.acme_ca = lower::attr(body, "acme_ca").and_then(|e| lw.string(e));
    p.acme_ca_certificate = lower::attr(body, "acme_ca_certificate").and_then(|e| lw.string(e));
    if let Some(e) = lower::attr(body, "acme_ca_certificate") {
        p.source_spans.insert("acme_ca_certificate".into(), e.span);
    }
    if let Some(c) =
        lower::attr(body, "acme_challenge").and_then(|e| lw.choice(e, &["http", "tls"]))
    {
        p.acme_challenge = if c == "tls" {
            AcmeChallenge::Tls
        } else {
            AcmeChallenge::Http
        };
    }
    for b in lower::blocks(body, "certificate") {
        let Some(label) = &b.label else { continue };
        if !rules::name("certificate", &label.text, label.span, true, lw.sink) {
            continue;
        }
        let cert = lower::attr(&b.body, "cert").and_then(|e| lw.string(e));
        let file = lower::attr(&b.body, "key").and_then(|e| lw.string(e));
        let env = lower::attr(&b.body, "key_env").and_then(|e| lw.string(e));
        let key = match (file, env) {
            (Some(f), None) => Some(SecretSource::File(f)),
            (None, Some(e)) => Some(SecretSource::Env(e)),
            (a, b) => {
                lower::source_error(
                    lw.sink,
                    "the key of certificate",
                    label,
                    a.is_some() && b.is_some(),
                    "`key` or `key_env`",
                );
                None
            }
        };
        if let (Some(cert), Some(key)) = (cert, key) {
            let at = |attr: &str| lower::attr(&b.body, attr).map_or(label.span, |e| e.span);
            p.source_spans
                .insert(format!("certificate.{}.cert", label.text), at("cert"));
            let key_attr = match &key {
                SecretSource::File(_) => "key",
                SecretSource::Env(_) => "key_env",
            };
            p.source_spans
                .insert(format!("certificate.{}.key", label.text), at(key_attr));
            p.certificates.push(Certificate {
                name: label.text.clone(),
                cert,
                key,
                span: label.span,
            });
        }
    }
    let mut pool_len = None;
    if let Some(e) = lower::attr(body, "address_pool") {
        if let Some(pool) = lw.string(e) {
            pool_len = rules::cidr(&pool, e.span, lw.sink);
            p.address_pool = Some(pool);
        }
    }
    if let Some(e) = lower::attr(body, "advertise_address") {
        if let Some(a) = lw.string(e) {
            if a.parse::<std::net::IpAddr>().is_ok() {
                p.advertise_address = a;
            } else {
                lw.sink.push(
                    Diagnostic::new(
                        Code::InvalidCidr,
                        e.span,
                        format!("`{a}` is not an IP address"),
                    )
                    .with_label("expected an address such as 10.0.0.5")
                    .with_help("swarm mode advertises an IP address, not a host name"),
                );
            }
        }
    }
    if let Some(e) = lower::attr(body, "subnet_size") {
        if let Some(n) = lw.int(e, 16, 28) {
            p.subnet_size = n as u8;
            if let Some(len) = pool_len {
                if n as u8 <= len {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::InvalidCidr,
                            e.span,
                            format!("subnet size /{n} is not smaller than the pool (/{len})"),
                        )
                        .with_label("must be a longer prefix than the pool's")
                        .with_help(format!("use a value between {} and 28", len + 1)),
                    );
                }
            }
        }
    }
    if let Some(v) = lower::attr(body, "require_grants").and_then(|e| lw.bool(e)) {
        p.require_grants = v;
    }
    p.grants = grant::lower_all(body, p.domain.clone().as_deref(), &mut lw);
    if let Some(proxy) = lower::block(body, "proxy") {
        let b = &proxy.body;
        if let Some(v) = lower::attr(b, "image")
            .and_then(|e| lw.string(e).filter(|i| rules::image(i, e.span, lw.sink)))
        {
            p.proxy.image = v;
        }
        if let Some(v) = lower::attr(b, "http_port").and_then(|e| lw.port(e)) {
            p.proxy.http_port = v;
        }
        if let Some(v) = lower::attr(b, "https_port").and_then(|e| lw.port(e)) {
            p.proxy.https_port = v;
        }
        if let Some(v) = lower::attr(b, "refresh").and_then(|e| lw.duration(e)) {
            p.proxy.refresh_ns = v;
        }
        for (name, slot) in [
            ("dashboard", &mut p.proxy.dashboard),
            ("metrics", &mut p.proxy.metrics),
            ("access_log", &mut p.proxy.access_log),
            ("redirect_https", &mut p.proxy.redirect_https),
        ] {
            if let Some(v) = lower::attr(b, name).and_then(|e| lw.bool(e)) {
                *slot = v;
            }
        }
        if let Some(v) = lower::attr(b, "edge_slots").and_then(|e| lw.int(e, 1, 512)) {
            p.proxy.edge_slots = v as u32;
        }
        dashboard(&mut p, proxy, &mut lw);
        let pool_span = lower::attr(body, "address_pool").map(|e| e.span);
        metrics(&mut p, proxy, pool_span, &mut lw);
        proxy_ports(&p, proxy, &mut lw);
        if let Some(e) = lower::attr(b, "constraints") {
            if let Some(list) = lw.str_list(e) {
                p.proxy.constraints = list
                    .into_iter()
                    .filter_map(|(c, span)| rules::constraint(&c, span, lw.sink))
                    .collect();
            }
        }
    }
    p
}
/// The dashboard's users and host. It shows every tenant's routes, so it is never served
/// without authentication: `dashboard = true` needs users (E0167).
fn dashboard(p: &mut Platform, proxy: &Block, lw: &mut Lower) {
    let b = &proxy.body;
    let file = lower::attr(b, "dashboard_users").and_then(|e| lw.string(e));
    let env = lower::attr(b, "dashboard_users_env").and_then(|e| lw.string(e));
    if let Some(e) =
        lower::attr(b, "dashboard_users").or_else(|| lower::attr(b, "dashboard_users_env"))
    {
        p.source_spans
            .insert("proxy.dashboard_users".into(), e.span);
    }
    p.proxy.dashboard_users = match (file, env) {
        (Some(f), None) => Some(SecretSource::File(f)),
        (None, Some(e)) => Some(SecretSource::Env(e)),
        (Some(_), Some(_)) => {
            let span = lower::attr(b, "dashboard_users_env").map_or(proxy.kind.span, |e| e.span);
            lw.sink.push(
                Diagnostic::new(
                    Code::SecretWithoutSource,
                    span,
                    "the dashboard's users have two sources",
                )
                .with_label("give exactly one source")
                .with_help("set exactly one of `dashboard_users` or `dashboard_users_env`"),
            );
            None
        }
        (None, None) => None,
    };
    let Some(flag) = lower::attr(b, "dashboard") else {
        return;
    };
    if !p.proxy.dashboard {
        return;
    }
    if p.proxy.dashboard_users.is_none()
        && lower::attr(b, "dashboard_users").is_none()
        && lower::attr(b, "dashboard_users_env").is_none()
    {
        lw.sink.push(
            Diagnostic::new(
                Code::DashboardWithoutUsers,
                flag.span,
                "the dashboard would be served without authentication",
            )
            .with_label("no `dashboard_users` or `dashboard_users_env`")
            .with_help("give its users as htpasswd lines: `dashboard_users = \"dashboard.htpasswd\"` (a file made with `htpasswd -nB admin`), or `dashboard_users_env = \"VAR\"`"),
        );
    }
    match lower::attr(b, "dashboard_host") {
        Some(e) => {
            p.proxy.dashboard_host = lw.string(e).filter(|h| rules::host(h, e.span, lw.sink));
        }
        None => match &p.domain {
            Some(domain) => p.proxy.dashboard_host = Some(format!("traefik.{domain}")),
            None => lw.sink.push(
                Diagnostic::new(
                    Code::NoPlatformDomain,
                    flag.span,
                    "the dashboard has no host and there is no domain to derive one",
                )
                .with_label("served at `traefik.<platform domain>` by default")
                .with_help(
                    "set `dashboard_host = \"...\"` in `proxy`, or `domain` in the platform block",
                ),
            ),
        },
    }
}

/// The pool Docker takes overlay subnets from when swarm mode is initialised without one.
const DOCKER_DEFAULT_POOL: &str = "10.0.0.0/8";

/// An IPv4 network in CIDR notation as (address bits, prefix length), host bits zero; `None` for
/// anything else (`rules::cidr` says why).
fn ipv4_net(text: &str) -> Option<(u32, u8)> {
    let (ip, len) = text.split_once('/')?;
    let bits = u32::from(ip.parse::<std::net::Ipv4Addr>().ok()?);
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (bits & !mask == 0).then_some((bits, len))
}

/// Whether two IPv4 networks share an address: one contains the other.
fn overlaps(a: (u32, u8), b: (u32, u8)) -> bool {
    let len = a.1.min(b.1);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (a.0 ^ b.0) & mask == 0
}

/// The proxy's metrics entrypoint. Metrics name every tenant's services and count their
/// traffic: `metrics_port` is served only to `metrics_allow` (required with it, E0102), whose
/// ranges may not overlap the pool every tenant network comes from (E0200); its host port is
/// the proxy's own (E0201); and `metrics = false` has nothing to serve on it (E0113).
fn metrics(p: &mut Platform, proxy: &Block, pool_span: Option<Span>, lw: &mut Lower) {
    let b = &proxy.body;
    let port_e = lower::attr(b, "metrics_port");
    let allow_e = lower::attr(b, "metrics_allow");
    let port = port_e.and_then(|e| lw.port(e));
    let pool_text = p.address_pool.as_deref().unwrap_or(DOCKER_DEFAULT_POOL);
    let allow_help =
        "allow only your Prometheus servers' addresses, e.g. `metrics_allow = [\"192.0.2.10/32\"]`";
    let pool = ipv4_net(pool_text);
    let mut allow = Vec::new();
    let mut allow_len = None;
    if let Some(list) = allow_e.and_then(|e| lw.str_list(e)) {
        allow_len = Some(list.len());
        for (range, span) in list {
            if rules::cidr(&range, span, lw.sink).is_none() {
                continue;
            }
            if let (Some(net), Some(pool)) = (ipv4_net(&range), pool) {
                if overlaps(net, pool) {
                    let mut d = Diagnostic::new(
                        Code::MetricsFromTenants,
                        span,
                        format!("`{range}` overlaps the address pool {pool_text}: tenants' tasks could scrape the proxy's metrics"),
                    )
                    .with_label("overlaps the tenants' address pool");
                    d = match pool_span {
                        Some(at) => d
                            .with_secondary(at, format!("tenants' networks come from {pool_text}"))
                            .with_help(allow_help),
                        None => d.with_help(format!(
                            "without `address_pool`, tenants' networks come from Docker's {DOCKER_DEFAULT_POOL}; {allow_help}"
                        )),
                    };
                    lw.sink.push(d);
                    continue;
                }
            }
            allow.push(range);
        }
    }
    match (port_e, allow_e) {
        (Some(at), None) => lw.sink.push(
            Diagnostic::new(
                Code::MissingAttribute,
                at.span,
                "`metrics_port` without `metrics_allow`: nobody may scrape it",
            )
            .with_label("no `metrics_allow`")
            .with_help(allow_help),
        ),
        (None, Some(at)) => lw.sink.push(
            Diagnostic::new(
                Code::MissingAttribute,
                at.span,
                "`metrics_allow` without `metrics_port`: metrics are served only inside the proxy's container",
            )
            .with_label("no `metrics_port` to allow anything on")
            .with_help("set `metrics_port = <host port>` to publish them, or remove `metrics_allow`"),
        ),
        (Some(_), Some(at)) if allow_len == Some(0) => lw.sink.push(
            Diagnostic::new(Code::MissingAttribute, at.span, "`metrics_allow` is empty: nobody may scrape `metrics_port`")
                .with_label("empty list")
                .with_help(allow_help),
        ),
        _ => {}
    }
    let Some(port) = port else { return };
    let at = port_e.map_or(proxy.kind.span, |e| e.span);
    if !p.proxy.metrics {
        let mut d = Diagnostic::new(
            Code::ConflictingAttributes,
            at,
            "`metrics_port` with `metrics = false`: there are no metrics to serve",
        )
        .with_label("a metrics entrypoint");
        if let Some(m) = lower::attr(b, "metrics") {
            d = d.with_secondary(m.span, "metrics switched off");
        }
        lw.sink
            .push(d.with_help("remove `metrics_port` and `metrics_allow`, or `metrics = false`"));
    }
    for (name, other) in [
        ("http_port", p.proxy.http_port),
        ("https_port", p.proxy.https_port),
    ] {
        if port != other {
            continue;
        }
        let mut d = Diagnostic::new(
            Code::ProxyPortCollision,
            at,
            format!("`metrics_port` {port} is also the proxy's `{name}`"),
        )
        .with_label("published twice on the node");
        d = match lower::attr(b, name) {
            Some(e) => d
                .with_secondary(e.span, format!("`{name}` {port}"))
                .with_help("give metrics a host port of its own"),
            None => d.with_help(format!(
                "`{name}` is {port} by default; give metrics a host port of its own"
            )),
        };
        lw.sink.push(d);
    }
    p.proxy.metrics_port = Some(port);
    p.proxy.metrics_allow = allow;
}

/// HTTP and HTTPS are published on the node in host mode: one port each (E0201).
fn proxy_ports(p: &Platform, proxy: &Block, lw: &mut Lower) {
    let b = &proxy.body;
    let port = p.proxy.https_port;
    if p.proxy.http_port != port {
        return;
    }
    let (at, other) = match (lower::attr(b, "https_port"), lower::attr(b, "http_port")) {
        (Some(e), other) => (e.span, other.map(|o| (o.span, "http_port"))),
        (None, Some(e)) => (e.span, None),
        (None, None) => return,
    };
    let mut d = Diagnostic::new(
        Code::ProxyPortCollision,
        at,
        format!("`http_port` and `https_port` are both {port}"),
    )
    .with_label("published twice on the node");
    if let Some((span, name)) = other {
        d = d.with_secondary(span, format!("`{name}` {port}"));
    }
    lw.sink
        .push(d.with_help("give HTTP and HTTPS a host port each"));
}
