//! Traefik labels to berth routes. berth writes every Traefik label itself from a service's
//! `route` blocks, so the importer reads the routers it recognises (a `Host(...)` rule with an
//! optional `PathPrefix(...)`, its entrypoint, TLS and the port of its load balancer) into
//! routes, leaves out the labels berth writes anyway (`traefik.enable`, the network, the
//! certificate resolver, berth's own retry middleware), and warns about every other one.

use crate::Cx;
use berth_lang::Code;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// A route read from a router's labels; `host` and `path` are berth string literals (with
/// `${var.x}` where the rule interpolates a variable).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Route {
    pub host: Option<String>,
    pub path: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<bool>,
}

/// A label: its key, value, and where it is written (`labels` or `deploy`).
pub type LabelEntry = (String, Value, &'static str);

#[derive(Default)]
struct Router {
    rule: Option<String>,
    service: Option<String>,
    tls: Option<bool>,
    entry_tls: Option<bool>,
    retry: Option<String>,
    ok: bool,
}

/// Reads `rule` when it is `Host(`h`)`, `PathPrefix(`/p`)` or both joined by `&&`.
fn parse_rule(rule: &str) -> Option<(Option<String>, Option<String>)> {
    let rule = rule.trim();
    let rule = rule
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rule);
    if rule.contains("||") {
        return None;
    }
    let (mut host, mut path) = (None, None);
    for term in rule.split("&&") {
        let term = term.trim();
        let (name, arg) = term.split_once('(')?;
        let arg = arg.strip_suffix(')')?.trim();
        let arg = arg
            .strip_prefix('`')
            .and_then(|a| a.strip_suffix('`'))
            .or_else(|| arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')))?;
        if arg.contains('`') || arg.contains(',') {
            return None;
        }
        match name.trim() {
            "Host" if host.is_none() => host = Some(arg.to_string()),
            "PathPrefix" if path.is_none() => path = Some(arg.to_string()),
            _ => return None,
        }
    }
    Some((host, path))
}

/// Marks a variable inside a rule while the rule is read: `\u{1}NAME\u{2}`.
fn encode(t: &crate::Text) -> String {
    t.0.iter()
        .map(|p| match p {
            crate::Part::Lit(s) => s.replace(['\u{1}', '\u{2}'], ""),
            crate::Part::Var(v) => format!("\u{1}{v}\u{2}"),
        })
        .collect()
}

impl Cx<'_> {
    /// A part of a rule read with [`encode`], as a berth string literal with its variables.
    fn decode(&mut self, s: &str) -> String {
        let mut parts = Vec::new();
        for (i, chunk) in s.split(['\u{1}', '\u{2}']).enumerate() {
            if i % 2 == 1 {
                self.used_vars.insert(chunk.to_string());
                parts.push(crate::Part::Var(chunk.to_string()));
            } else if !chunk.is_empty() {
                parts.push(crate::Part::Lit(chunk.to_string()));
            }
        }
        crate::out::text(&crate::Text(parts), &crate::var_name)
    }

    /// Splits `labels` into the routes their Traefik labels describe and the other labels.
    /// `at` is where the labels are written (for diagnostics).
    pub fn routes(
        &mut self,
        service: &str,
        labels: Vec<LabelEntry>,
    ) -> (Vec<Route>, Vec<LabelEntry>, Vec<String>) {
        let mut rest = Vec::new();
        let mut traefik = Vec::new();
        for (k, v, at) in labels {
            if k.starts_with("traefik.") {
                traefik.push((k, v, at));
            } else {
                rest.push((k, v, at));
            }
        }
        if traefik.is_empty() {
            return (Vec::new(), rest, Vec::new());
        }
        let mut routers: BTreeMap<String, Router> = BTreeMap::new();
        let mut ports: BTreeMap<String, u16> = BTreeMap::new();
        let mut middlewares: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut untranslated = Vec::new();
        let mut enabled = true;
        for (k, v, at) in &traefik {
            let path = ["services", service, at];
            // A rule keeps its variables (a route's host may interpolate berth variables);
            // other values are fixed.
            let value = if k.ends_with(".rule") {
                self.text(v, &path).map(|t| encode(&t))
            } else {
                self.fixed(v, &path)
            };
            let Some(value) = value else {
                continue;
            };
            let parts: Vec<&str> = k.split('.').collect();
            match parts.as_slice() {
                ["traefik", "enable"] => enabled = value == "true",
                ["traefik", "docker" | "swarm", "network"] => {}
                ["traefik", "docker" | "swarm", "lbswarm"] => {}
                ["traefik", "http", "routers", r, attr @ ..] => {
                    let router = routers.entry(r.to_string()).or_default();
                    match attr {
                        ["rule"] => router.rule = Some(value),
                        ["service"] => router.service = Some(value),
                        ["entrypoints"] => {
                            let eps: Vec<&str> = value.split(',').map(str::trim).collect();
                            router.entry_tls = Some(eps.iter().any(|e| {
                                matches!(*e, "websecure" | "https" | "web-secure" | "secure")
                            }));
                        }
                        ["tls"] => router.tls = Some(value == "true"),
                        ["tls", "certresolver"] => router.tls = Some(true),
                        ["middlewares"] if value == format!("{r}-retry") => {
                            router.retry = Some(value)
                        }
                        _ => untranslated.push(k.clone()),
                    }
                }
                ["traefik", "http", "services", s, "loadbalancer", "server", "port"] => {
                    match value.parse::<u16>() {
                        Ok(p) => {
                            ports.insert(s.to_string(), p);
                        }
                        Err(_) => untranslated.push(k.clone()),
                    }
                }
                ["traefik", "http", "middlewares", m, "retry", attr] => {
                    middlewares
                        .entry(m.to_string())
                        .or_default()
                        .push(attr.to_string());
                }
                _ => untranslated.push(k.clone()),
            }
        }
        let mut routes = Vec::new();
        for (name, r) in &mut routers {
            let Some(rule) = &r.rule else {
                untranslated.push(format!("traefik.http.routers.{name}.*"));
                continue;
            };
            let Some((host, path)) = parse_rule(rule) else {
                untranslated.push(format!("traefik.http.routers.{name}.rule"));
                continue;
            };
            let port = match &r.service {
                Some(s) => ports.get(s).copied(),
                None if ports.len() == 1 => ports.values().next().copied(),
                None => ports.get(name.as_str()).copied(),
            };
            r.ok = true;
            routes.push(Route {
                host: host.map(|h| self.decode(&h)),
                path: path.map(|p| self.decode(&p)),
                port,
                tls: r.tls.or(r.entry_tls),
            });
        }
        // berth's own retry middleware, of a router that became a route, needs no label.
        for (m, _) in middlewares {
            let own = routers
                .iter()
                .any(|(_, r)| r.ok && r.retry.as_deref() == Some(&m));
            if !own {
                untranslated.push(format!("traefik.http.middlewares.{m}.retry.*"));
            }
        }
        for (name, r) in &routers {
            if r.ok && r.retry.is_none() {
                let _ = name;
            }
        }
        if !enabled {
            self.push(
                Code::ComposeTraefikLabel,
                &["services", service],
                format!(
                    "service `{service}` sets `traefik.enable=false`: its routers are not routes"
                ),
            );
            let notes = vec!["its Traefik labels say `traefik.enable=false`: no route".to_string()];
            return (Vec::new(), rest, notes);
        }
        untranslated.sort();
        untranslated.dedup();
        let notes = untranslated
            .iter()
            .map(|k| format!("Traefik label `{k}` not translated (E0531)"))
            .collect();
        // Where the labels are written, for the warnings' spans.
        let at: &[&str] = match traefik.first().map(|t| t.2) {
            Some("deploy") => &["services", service, "deploy", "labels"],
            _ => &["services", service, "labels"],
        };
        for k in untranslated {
            self.push(
                Code::ComposeTraefikLabel,
                at,
                format!("Traefik label `{k}` of service `{service}` is not translated: berth writes its services' Traefik labels from routes"),
            );
        }
        (routes, rest, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rule;

    #[test]
    fn host_and_path_rules_are_read() {
        assert_eq!(
            parse_rule("Host(`a.example.com`) && PathPrefix(`/api`)"),
            Some((Some("a.example.com".into()), Some("/api".into())))
        );
        assert_eq!(parse_rule("Host(`a`)"), Some((Some("a".into()), None)));
        assert_eq!(parse_rule("Host(`a`) || Host(`b`)"), None);
        assert_eq!(parse_rule("Host(`a`, `b`)"), None);
        assert_eq!(parse_rule("Headers(`X`, `y`)"), None);
    }
}
