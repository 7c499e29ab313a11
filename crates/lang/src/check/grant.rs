//! Grants: what the platform allows each project. Only the `platform` block declares them (a
//! tenant's file cannot), and a project without one gets [`Grant::default_for`]. This module
//! lowers `grant` blocks and checks that no two grants give away the same host or port; what a
//! project may do under its grant is checked in [`super::boundary`].

use super::lower::{self, attr, blocks};
use super::rules;
use super::value::Lower;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::{Grant, ResourceSet};
use crate::syntax::Body;
use std::collections::BTreeMap;

/// The grants of the platform block's body, by project name.
pub fn lower_all(
    body: &Body,
    platform_domain: Option<&str>,
    lw: &mut Lower,
) -> BTreeMap<String, Grant> {
    let mut out: BTreeMap<String, Grant> = BTreeMap::new();
    for b in blocks(body, "grant") {
        let Some(label) = &b.label else { continue };
        if !rules::name("project", &label.text, label.span, false, lw.sink) {
            continue;
        }
        if out.contains_key(&label.text) {
            // Reported as a duplicate name by the structural check.
            continue;
        }
        let mut g = Grant::default_for(&label.text);
        g.declared = true;
        g.span = Some(label.span);
        let body = &b.body;
        if let Some(q) = lower::block(body, "quota") {
            // A declared grant's quota replaces the default one; what it leaves out is unlimited.
            g.quota = lower::quota(lw, q);
        }
        if let Some(l) = lower::block(body, "limits") {
            let d = Grant::default_limits();
            g.default_limits = ResourceSet {
                nano_cpus: attr(&l.body, "cpu").and_then(|e| lw.cpu(e)).or(d.nano_cpus),
                memory_bytes: attr(&l.body, "memory")
                    .and_then(|e| lw.size(e))
                    .or(d.memory_bytes),
                pids: attr(&l.body, "pids")
                    .and_then(|e| lw.int(e, 1, u64::MAX))
                    .or(d.pids),
            };
        }
        if let Some(e) = attr(body, "domains") {
            for (d, span) in lw.str_list(e).unwrap_or_default() {
                let d = d.to_ascii_lowercase();
                if !rules::host(&d, span, lw.sink) {
                    continue;
                }
                let over_platform =
                    platform_domain.is_some_and(|p| covers(&d, p) || covers(&d, &format!("x.{p}")));
                if over_platform {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::BadGrant,
                            span,
                            format!("`{d}` would give project `{}` the platform's domain", label.text),
                        )
                        .with_label("covers every project's derived hosts")
                        .with_help("grant hosts outside the platform's domain; under it, each project routes its derived hosts"),
                    );
                    continue;
                }
                g.domains.push(d);
            }
        }
        if let Some(e) = attr(body, "capabilities") {
            for (c, span) in lw.str_list(e).unwrap_or_default() {
                if let Some(c) = rules::capability(&c, span, lw.sink) {
                    g.capabilities.push(c);
                }
            }
        }
        if let Some(e) = attr(body, "volume_drivers") {
            g.volume_drivers = names(lw.str_list(e));
        }
        if let Some(e) = attr(body, "constraints") {
            for (c, span) in lw.str_list(e).unwrap_or_default() {
                if let Some(c) = rules::constraint(&c, span, lw.sink) {
                    g.constraints.push(c);
                }
            }
        }
        if let Some(e) = attr(body, "ports") {
            g.ports = lw.port_list(e).unwrap_or_default();
        }
        if let Some(e) = attr(body, "variables") {
            g.variables = names(lw.str_list(e));
        }
        for (name, slot) in [
            ("volume_options", &mut g.volume_options),
            ("run_as_root", &mut g.run_as_root),
            ("global", &mut g.global),
        ] {
            if let Some(v) = attr(body, name).and_then(|e| lw.bool(e)) {
                *slot = v;
            }
        }
        if let Some(v) = attr(body, "env_prefix").and_then(|e| lw.string(e)) {
            g.env_prefix = v;
        }
        if let Some(e) = attr(body, "files") {
            if let Some(v) = lw.string(e) {
                match super::boundary::relative_path(&v) {
                    Some(clean) => g.files = clean,
                    None => lw.sink.push(
                        Diagnostic::new(
                            Code::BadGrant,
                            e.span,
                            format!("`{v}` is not a directory inside the configuration"),
                        )
                        .with_label("absolute, empty or with `..`")
                        .with_help("name a directory relative to the configuration, e.g. `files = \"shop\"`"),
                    ),
                }
            }
        }
        out.insert(label.text.clone(), g);
    }
    conflicts(&out, lw);
    out
}

fn names(list: Option<Vec<(String, crate::span::Span)>>) -> Vec<String> {
    let mut out: Vec<String> = list
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a granted domain entry covers `host`: equal, or a `*.suffix` entry with `host` a
/// subdomain of the suffix. A wildcard host is covered only by a wildcard entry for its suffix
/// or a wider one.
pub fn covers(entry: &str, host: &str) -> bool {
    if entry == host {
        return true;
    }
    match entry.strip_prefix("*.") {
        Some(suffix) => {
            let host = host.strip_prefix("*.").unwrap_or(host);
            host.ends_with(&format!(".{suffix}"))
        }
        None => false,
    }
}

/// Two grants may not give the same host (or overlapping wildcards) or the same port.
fn conflicts(grants: &BTreeMap<String, Grant>, lw: &mut Lower) {
    let list: Vec<&Grant> = grants.values().collect();
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            let (Some(sa), Some(sb)) = (a.span, b.span) else {
                continue;
            };
            let mut clash = |message: String, label: &str, help: &str| {
                lw.sink.push(
                    Diagnostic::new(Code::BadGrant, sb, message)
                        .with_label(label.to_string())
                        .with_secondary(sa, format!("grant `{}`", a.project))
                        .with_help(help.to_string()),
                );
            };
            for da in &a.domains {
                for db in b
                    .domains
                    .iter()
                    .filter(|db| covers(da, db) || covers(db, da))
                {
                    clash(
                        format!(
                            "`{db}` of grant `{}` overlaps `{da}` of grant `{}`",
                            b.project, a.project
                        ),
                        "this grant's domain",
                        "each host belongs to one project: grant it to one of them",
                    );
                }
            }
            for p in a.ports.iter().filter(|p| b.ports.contains(p)) {
                clash(
                    format!(
                        "port {p} is granted to both `{}` and `{}`",
                        a.project, b.project
                    ),
                    "this grant",
                    "a node port can be published by one project only",
                );
            }
        }
    }
}
