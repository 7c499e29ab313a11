//! Environment overlays. An `environment` block mirrors the shape of its project, and the
//! project as deployed in that environment is the project's body with the overlay merged in:
//!
//! - an attribute replaces the project's attribute of the same name (or adds it);
//! - a map (`env`, `labels`, `driver_opts`) merges key by key;
//! - a named block (`service web`) merges into the project's block of that name, which must exist;
//! - a single block (`resources`, `health`, `quota`) merges recursively, or is added;
//! - repeatable blocks (`route`, `mount`, `tmpfs`, `publish`) replace the project's whole set of
//!   that kind;
//! - setting the same attribute or key twice within one environment is a conflict.
//!
//! The merge works on syntax, so every merged node keeps the span of the text it came from.

use super::schema::{self, BlockSchema, LabelRule, Ty};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::span::Span;
use crate::syntax::{Block, Body, ExprKind, Item, ItemKind};
use std::collections::{HashMap, HashSet};

/// The project body as deployed in one environment: `project` without its `environment` blocks,
/// with `overlays` (that environment's blocks, in source order) merged in.
pub fn merge(project: &Body, overlays: &[&Block], sink: &mut Sink) -> Body {
    let mut merged = Body {
        items: project
            .items
            .iter()
            .filter(|i| !is_block(i, "environment"))
            .cloned()
            .collect(),
        trailing: Vec::new(),
        span: project.span,
    };
    // An overlay has the shape of its `environment` block; what that shape does not allow was
    // reported by the structural check of the environment and is left out of the merge.
    let schema = schema::block("environment").expect("environment schema");
    let mut state = State {
        assigned: HashMap::new(),
        replaced: HashSet::new(),
    };
    for env in overlays {
        state.apply(&mut merged, &env.body, schema, String::new(), sink);
    }
    merged
}

fn is_block(item: &Item, kind: &str) -> bool {
    matches!(&item.kind, ItemKind::Block(b) if b.kind.text == kind)
}

struct State {
    /// Attribute paths the environment has set, with where.
    assigned: HashMap<String, Span>,
    /// Repeatable block kinds (by path) whose project set was already replaced.
    replaced: HashSet<String>,
}

impl State {
    fn assign(&mut self, path: String, span: Span, sink: &mut Sink) -> bool {
        if let Some(first) = self.assigned.get(&path) {
            sink.push(
                Diagnostic::new(
                    Code::ConflictingOverride,
                    span,
                    format!(
                        "`{}` is overridden twice in this environment",
                        path.trim_start_matches('.')
                    ),
                )
                .with_label("second override")
                .with_secondary(*first, "first override")
                .with_help("keep one of the two values"),
            );
            return false;
        }
        self.assigned.insert(path, span);
        true
    }

    fn apply(
        &mut self,
        base: &mut Body,
        overlay: &Body,
        schema: &BlockSchema,
        path: String,
        sink: &mut Sink,
    ) {
        for item in &overlay.items {
            match &item.kind {
                ItemKind::Attribute(a) => {
                    let name = a.key.text.as_str();
                    if schema.attr(name).is_none() {
                        continue;
                    }
                    let here = format!("{path}.{name}");
                    let is_map = schema.attr(name).is_some_and(|s| s.ty == Ty::Map);
                    if is_map {
                        if let ExprKind::Map(entries) = &a.value.kind {
                            self.merge_map(base, name, entries, item, &here, sink);
                            continue;
                        }
                    }
                    if !self.assign(here, a.key.span, sink) {
                        continue;
                    }
                    match base
                        .items
                        .iter_mut()
                        .find(|i| matches!(&i.kind, ItemKind::Attribute(b) if b.key.text == name))
                    {
                        Some(existing) => *existing = item.clone(),
                        None => base.items.push(item.clone()),
                    }
                }
                ItemKind::Block(b) => {
                    let kind = b.kind.text.as_str();
                    if schema.attr(kind).is_some_and(|s| s.ty == Ty::Map) {
                        self.merge_map(base, kind, &b.body, item, &format!("{path}.{kind}"), sink);
                        continue;
                    }
                    let Some(child) = schema
                        .blocks
                        .contains(&kind)
                        .then(|| schema::block(kind))
                        .flatten()
                    else {
                        continue;
                    };
                    if child.label == LabelRule::Required {
                        let Some(label) = &b.label else {
                            continue;
                        };
                        let misspelled = base.blocks().any(|(_, t)| {
                            schema::block(&t.kind.text).is_none()
                                && t.label.as_ref().is_some_and(|l| l.text == label.text)
                        });
                        let target = base.items.iter_mut().find_map(|i| match &mut i.kind {
                            ItemKind::Block(t)
                                if t.kind.text == kind
                                    && t.label.as_ref().is_some_and(|l| l.text == label.text) =>
                            {
                                Some(t)
                            }
                            _ => None,
                        });
                        match target {
                            Some(target) => {
                                let here = format!("{path}.{kind}.{}", label.text);
                                self.apply(&mut target.body, &b.body, child, here, sink);
                            }
                            // The project's block of that name has a misspelled kind, reported as such.
                            None if misspelled => {}
                            None => {
                                let declared: Vec<String> = base
                                    .blocks()
                                    .filter(|(_, t)| t.kind.text == kind)
                                    .filter_map(|(_, t)| t.label.as_ref().map(|l| l.text.clone()))
                                    .collect();
                                let mut d = Diagnostic::new(
                                    Code::OverrideOfUnknown,
                                    label.span,
                                    format!("this environment overrides {kind} `{}`, which the project does not declare", label.text),
                                )
                                .with_label("no such {kind} in the project".replace("{kind}", kind))
                                .suggest(&label.text, declared.iter().map(String::as_str));
                                if d.help.is_none() {
                                    d = d.with_help(if kind == "service" {
                                        format!("declare `service {}` in the project (with `enabled = false` if it should run only in this environment)", label.text)
                                    } else {
                                        format!("declare `{kind} {}` in the project; an environment only changes what the project declares", label.text)
                                    });
                                }
                                sink.push(d);
                            }
                        }
                    } else if child.repeatable {
                        let here = format!("{path}.{kind}");
                        if self.replaced.insert(here) {
                            base.items.retain(|i| !is_block(i, kind));
                        }
                        base.items.push(item.clone());
                    } else {
                        let here = format!("{path}.{kind}");
                        match base.items.iter_mut().find_map(|i| match &mut i.kind {
                            ItemKind::Block(t) if t.kind.text == kind => Some(t),
                            _ => None,
                        }) {
                            Some(target) => {
                                self.apply(&mut target.body, &b.body, child, here, sink)
                            }
                            None => {
                                // Record the added block's attributes so a second overlay conflicts.
                                let mut empty = Item {
                                    kind: ItemKind::Block(Block {
                                        kind: b.kind.clone(),
                                        label: None,
                                        body: Body {
                                            span: b.body.span,
                                            ..Body::default()
                                        },
                                    }),
                                    ..item.clone()
                                };
                                if let ItemKind::Block(t) = &mut empty.kind {
                                    self.apply(&mut t.body, &b.body, child, here, sink);
                                }
                                base.items.push(empty);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Merges the entries of an overlay map into the base's map of the same name.
    fn merge_map(
        &mut self,
        base: &mut Body,
        name: &str,
        entries: &Body,
        item: &Item,
        path: &str,
        sink: &mut Sink,
    ) {
        let existing = base.items.iter_mut().find_map(|i| match &mut i.kind {
            ItemKind::Block(t) if t.kind.text == name => Some(&mut t.body),
            ItemKind::Attribute(a) if a.key.text == name => match &mut a.value.kind {
                ExprKind::Map(body) => Some(body),
                _ => None,
            },
            _ => None,
        });
        let target = match existing {
            Some(body) => body,
            None => {
                let key = match &item.kind {
                    ItemKind::Block(b) => b.kind.clone(),
                    ItemKind::Attribute(a) => a.key.clone(),
                };
                base.items.push(Item {
                    trivia: Default::default(),
                    kind: ItemKind::Block(Block {
                        kind: key,
                        label: None,
                        body: Body {
                            span: entries.span,
                            ..Body::default()
                        },
                    }),
                    span: item.span,
                });
                match &mut base.items.last_mut().expect("just pushed").kind {
                    ItemKind::Block(b) => &mut b.body,
                    ItemKind::Attribute(_) => unreachable!("a block was pushed"),
                }
            }
        };
        for entry in &entries.items {
            let ItemKind::Attribute(a) = &entry.kind else {
                continue;
            };
            if !self.assign(format!("{path}.{}", a.key.text), a.key.span, sink) {
                continue;
            }
            match target
                .items
                .iter_mut()
                .find(|i| matches!(&i.kind, ItemKind::Attribute(b) if b.key.text == a.key.text))
            {
                Some(slot) => *slot = entry.clone(),
                None => target.items.push(entry.clone()),
            }
        }
    }
}
