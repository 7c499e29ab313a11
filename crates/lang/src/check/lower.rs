//! Lowering: from the merged syntax of one project environment to a [`Deployment`] of the
//! checked model. Values are typed and converted here, and the rules that need whole values
//! (reservation under limit, health timeout under interval, image syntax, hosts) are checked.
//! This file holds the project environment's own blocks; a service's are in `lower/` by block
//! kind (`service.rs`, `health.rs`, `placement.rs`, `route.rs`).

use super::rules;
use super::schema::{self, AttrSchema, RefKind};
use super::scope::{Scope, Target};
use super::value::{Lower, Val};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::model::*;
use crate::naming;
use crate::span::Span;
use crate::syntax::{Block, Body, Expr, ExprKind, ItemKind, Name};
use std::collections::BTreeMap;

mod canary;
mod health;
mod jobs;
mod placement;
mod route;
mod service;

use canary::*;
use health::*;
use placement::*;
use route::*;
use service::*;

/// The schema of an attribute whose default or bounds lowering applies: they are written once,
/// in the schema (and so in `schema/LANGUAGE.md`), never repeated here. Lowering asks only for
/// attributes the schema declares, on paths every valid fixture runs, so a miss is a bug of
/// berth's, not of the input.
#[track_caller]
pub(crate) fn declared(kind: &str, name: &str) -> &'static AttrSchema {
    schema::attribute(kind, name)
        .unwrap_or_else(|| panic!("the schema declares no `{name}` in `{kind}`"))
}

/// The schema's default of a duration attribute (`health.interval`: `10s`), in nanoseconds.
#[track_caller]
pub(crate) fn default_ns(kind: &str, name: &str) -> u64 {
    declared(kind, name)
        .default_duration()
        .unwrap_or_else(|| panic!("the schema states no duration default for `{kind}.{name}`"))
}

/// The schema's default of a whole-number attribute (`health.retries`: `3`).
#[track_caller]
pub(crate) fn default_int(kind: &str, name: &str) -> u64 {
    declared(kind, name)
        .default_int()
        .unwrap_or_else(|| panic!("the schema states no number default for `{kind}.{name}`"))
}

pub fn attr<'b>(body: &'b Body, name: &str) -> Option<&'b Expr> {
    body.attributes()
        .find(|a| a.key.text == name)
        .map(|a| &a.value)
}

pub fn block<'b>(body: &'b Body, kind: &str) -> Option<&'b Block> {
    body.blocks().map(|(_, b)| b).find(|b| b.kind.text == kind)
}

pub fn blocks<'b>(body: &'b Body, kind: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
    body.blocks()
        .map(|(_, b)| b)
        .filter(move |b| b.kind.text == kind)
}

/// Entries of a map written either as `name { k = v }` or `name = { k = v }`.
pub fn map_entries<'b>(body: &'b Body, name: &str) -> Vec<(&'b Name, &'b Expr)> {
    let inner = body.items.iter().find_map(|i| match &i.kind {
        ItemKind::Block(b) if b.kind.text == name => Some(&b.body),
        ItemKind::Attribute(a) if a.key.text == name => match &a.value.kind {
            ExprKind::Map(m) => Some(m),
            _ => None,
        },
        _ => None,
    });
    inner
        .map(|b| b.attributes().map(|a| (&a.key, &a.value)).collect())
        .unwrap_or_default()
}

/// What lowering needs besides the merged body.
pub struct Context<'a> {
    pub platform: &'a Platform,
    pub domain: Option<String>,
    /// A domain was written, so when `domain` is `None` it was invalid (and reported).
    pub domain_given: bool,
    pub pr: Option<u64>,
    pub project_span: Span,
    /// The project's grant, when the configuration has a platform.
    pub grant: Option<&'a Grant>,
}

pub fn deployment(body: &Body, scope: &mut Scope, cx: &Context, sink: &mut Sink) -> Deployment {
    let mut lw = Lower { scope, sink };
    let quota = block(body, "quota")
        .map(|q| quota(&mut lw, q))
        .unwrap_or_default();
    let access = block(body, "access")
        .map(|a| access(&mut lw, &a.body))
        .unwrap_or_default();
    let mut volumes = Vec::new();
    for b in blocks(body, "volume") {
        let Some(label) = &b.label else { continue };
        volumes.push(Volume {
            name: label.text.clone(),
            size: attr(&b.body, "size").and_then(|e| lw.size(e)),
            driver: attr(&b.body, "driver")
                .and_then(|e| lw.string(e))
                .unwrap_or_else(|| "local".into()),
            driver_opts: string_map(&mut lw, &b.body, "driver_opts"),
            labels: string_map(&mut lw, &b.body, "labels"),
            span: label.span,
        });
    }
    let mut secrets = Vec::new();
    for b in blocks(body, "secret") {
        let Some(label) = &b.label else { continue };
        let file = attr(&b.body, "file").and_then(|e| lw.string(e));
        let env = attr(&b.body, "env").and_then(|e| lw.string(e));
        let source = match (file, env) {
            (Some(f), None) => Some(SecretSource::File(f)),
            (None, Some(e)) => Some(SecretSource::Env(e)),
            (a, b) => {
                source_error(
                    lw.sink,
                    "secret",
                    label,
                    a.is_some() && b.is_some(),
                    "`file` or `env`",
                );
                None
            }
        };
        if let Some(source) = source {
            let source_span = attr(&b.body, "file")
                .or_else(|| attr(&b.body, "env"))
                .map_or(label.span, |e| e.span);
            secrets.push(Secret {
                name: label.text.clone(),
                source,
                span: label.span,
                source_span,
            });
        }
    }
    let mut configs = Vec::new();
    for b in blocks(body, "config") {
        let Some(label) = &b.label else { continue };
        let file = attr(&b.body, "file").and_then(|e| lw.string(e));
        let content = attr(&b.body, "content").and_then(|e| lw.string(e));
        let source = match (file, content) {
            (Some(f), None) => Some(ConfigSource::File(f)),
            (None, Some(c)) => Some(ConfigSource::Content(c)),
            (a, b) => {
                source_error(
                    lw.sink,
                    "config",
                    label,
                    a.is_some() && b.is_some(),
                    "`file` or `content`",
                );
                None
            }
        };
        if let Some(source) = source {
            let source_span = attr(&b.body, "file")
                .or_else(|| attr(&b.body, "content"))
                .map_or(label.span, |e| e.span);
            configs.push(ConfigFile {
                name: label.text.clone(),
                source,
                span: label.span,
                source_span,
            });
        }
    }
    let mut networks = Vec::new();
    for b in blocks(body, "network") {
        let Some(label) = &b.label else { continue };
        let flag =
            |lw: &mut Lower, n: &str| attr(&b.body, n).and_then(|e| lw.bool(e)).unwrap_or(false);
        let mut shared_with = Vec::new();
        if let Some(e) = attr(&b.body, "shared_with") {
            for (p, span) in lw.str_list(e).unwrap_or_default() {
                if !lw.scope.globals.projects.contains(&p) {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::UndefinedReference,
                            span,
                            format!("no project named `{p}`"),
                        )
                        .with_label("undefined project")
                        .suggest(&p, lw.scope.globals.projects.iter().map(String::as_str)),
                    );
                }
                shared_with.push(p);
            }
        }
        shared_with.sort();
        shared_with.dedup();
        networks.push(Network {
            name: label.text.clone(),
            internal: flag(&mut lw, "internal"),
            encrypted: flag(&mut lw, "encrypted"),
            attachable: flag(&mut lw, "attachable"),
            shared_with,
            span: label.span,
        });
    }
    let mut services = Vec::new();
    let mut disabled = Vec::new();
    for b in blocks(body, "service") {
        let Some(label) = &b.label else { continue };
        let enabled = attr(&b.body, "enabled")
            .and_then(|e| lw.bool(e))
            .unwrap_or(true);
        if !enabled {
            disabled.push(label.text.clone());
        }
        if let Some(s) = service(&mut lw, label, &b.body, cx) {
            if enabled {
                services.push(s);
            }
        }
    }
    jobs::lower_jobs(&mut lw, body, cx, &mut services, &mut disabled);
    // A canary's Swarm service is `<service>-canary`: no other service may have that name.
    let names: Vec<(String, Span)> = services.iter().map(|s| (s.name.clone(), s.span)).collect();
    for s in &mut services {
        let Some(c) = &s.canary else { continue };
        let taken = format!("{}{CANARY_SUFFIX}", s.name);
        if let Some((_, other)) = names.iter().find(|(n, _)| *n == taken) {
            lw.sink.push(
                Diagnostic::new(
                    Code::CanaryNameTaken,
                    c.span,
                    format!(
                        "the canary of `{}` would run as `{taken}`, the name of another service",
                        s.name
                    ),
                )
                .with_label("named after its service")
                .with_secondary(*other, "already named so")
                .with_help(format!("rename service `{taken}`")),
            );
            s.canary = None;
        }
    }
    // A service may only depend on services deployed in this environment.
    for s in &services {
        for dep in &s.depends_on {
            if disabled.contains(dep) {
                lw.sink.push(
                    Diagnostic::new(
                        Code::UndefinedReference,
                        s.span,
                        format!(
                            "service `{}` depends on `{dep}`, which is disabled in {}",
                            s.name, lw.scope.environment
                        ),
                    )
                    .with_label("depends on a disabled service")
                    .with_help(format!(
                        "enable `{dep}` in this environment or remove the dependency"
                    )),
                );
            }
        }
    }
    Deployment {
        project: lw.scope.project.clone(),
        environment: lw.scope.environment,
        pr: cx.pr,
        stack: lw.scope.stack.clone(),
        domain: cx.domain.clone(),
        quota,
        grant: cx.grant.cloned(),
        access,
        services,
        volumes,
        secrets,
        configs,
        networks,
        span: cx.project_span,
    }
}

pub(crate) fn source_error(sink: &mut Sink, kind: &str, label: &Name, both: bool, choices: &str) {
    let message = if both {
        format!("{kind} `{}` has two sources", label.text)
    } else {
        format!("{kind} `{}` has no source", label.text)
    };
    sink.push(
        Diagnostic::new(Code::SecretWithoutSource, label.span, message)
            .with_label(if both {
                "give exactly one source"
            } else {
                "where does the value come from?"
            })
            .with_help(format!("set exactly one of {choices}")),
    );
}

pub(crate) fn quota(lw: &mut Lower, b: &Block) -> Quota {
    let body = &b.body;
    Quota {
        cpu: attr(body, "cpu").and_then(|e| lw.cpu(e)),
        memory: attr(body, "memory").and_then(|e| lw.size(e)),
        limit_cpu: attr(body, "limit_cpu").and_then(|e| lw.cpu(e)),
        limit_memory: attr(body, "limit_memory").and_then(|e| lw.size(e)),
        storage: attr(body, "storage").and_then(|e| lw.size(e)),
        replicas: attr(body, "replicas").and_then(|e| lw.int_in(e, declared("quota", "replicas"))),
        previews: attr(body, "previews").and_then(|e| lw.int_in(e, declared("quota", "previews"))),
        span: Some(b.kind.span),
    }
}

fn access(lw: &mut Lower, body: &Body) -> Access {
    let mut list = |n: &str| attr(body, n).map_or_else(Vec::new, |e| access_list(lw, e));
    Access {
        owner: list("owner"),
        admin: list("admin"),
        developer: list("developer"),
        viewer: list("viewer"),
    }
}

/// A list of people, teams or CI identities (`access` roles, the platform's `admins`): the
/// entries that are single names (E0213 for the others).
pub fn access_list(lw: &mut Lower, expr: &Expr) -> Vec<String> {
    lw.str_list(expr)
        .unwrap_or_default()
        .into_iter()
        .filter(|(entry, span)| rules::access_entry(entry, *span, lw.sink))
        .map(|(entry, _)| entry)
        .collect()
}

/// A list-of-text attribute (`command`, `args`) without its spans.
fn strings(lw: &mut Lower, body: &Body, name: &str) -> Option<Vec<String>> {
    attr(body, name)
        .and_then(|e| lw.str_list(e))
        .map(|v| v.into_iter().map(|(s, _)| s).collect())
}

fn string_map(lw: &mut Lower, body: &Body, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in map_entries(body, name) {
        match lw.text(value) {
            Some(Val::Str(s)) => {
                out.insert(key.text.clone(), s);
            }
            Some(Val::Target(t)) => lw.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    value.span,
                    format!(
                        "`{}` refers to {}; this map takes text",
                        key.text,
                        t.describe()
                    ),
                )
                .with_label("not a text value"),
            ),
            _ => {}
        }
    }
    out
}

fn path(lw: &mut Lower, e: &Expr) -> Option<String> {
    let p = lw.string(e)?;
    rules::abs_path(&p, e.span, lw.sink).then_some(p)
}
