//! The structural check: every block and attribute is one the schema allows where it stands,
//! named blocks have names, single blocks and attributes are not repeated, and required
//! attributes are present. Types are checked later, when values are lowered.

use super::schema::{self, BlockSchema, LabelRule, Ty};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::span::Span;
use crate::syntax::{Body, ExprKind, ItemKind};
use std::collections::HashMap;

/// How strict the walk is.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    /// Report missing required attributes.
    pub required: bool,
    /// Named blocks may repeat (an environment overlay merges them instead).
    pub merge_named: bool,
}

/// Checks `body` (the inside of a block of kind `schema.kind`) and everything below it.
pub fn check_body(
    body: &Body,
    schema: &BlockSchema,
    block_span: Span,
    mode: Mode,
    sink: &mut Sink,
) {
    let mut seen_attrs: HashMap<&str, Span> = HashMap::new();
    let mut seen_single: HashMap<&str, Span> = HashMap::new();
    let mut seen_named: HashMap<(&str, &str), Span> = HashMap::new();
    for item in &body.items {
        match &item.kind {
            ItemKind::Attribute(a) => {
                let name = a.key.text.as_str();
                if let Some(first) = seen_attrs.insert(name, a.key.span) {
                    sink.push(
                        Diagnostic::new(
                            Code::DuplicateAttribute,
                            a.key.span,
                            format!("`{name}` is set twice"),
                        )
                        .with_label("set again here")
                        .with_secondary(first, "first set here"),
                    );
                }
                if let Some(attr) = schema.attr(name) {
                    if attr.ty == Ty::Map {
                        match &a.value.kind {
                            ExprKind::Map(entries) => check_map(entries, sink),
                            ExprKind::Error => {}
                            _ => sink.push(
                                Diagnostic::new(
                                    Code::WrongType,
                                    a.value.span,
                                    format!("`{name}` takes a map"),
                                )
                                .with_label("not a map")
                                .with_help(format!("write `{name} {{ KEY = \"value\" }}`")),
                            ),
                        }
                    }
                    continue;
                }
                if schema.blocks.contains(&name) {
                    sink.push(
                        Diagnostic::new(
                            Code::WrongType,
                            a.key.span,
                            format!("`{name}` is a block, not an attribute"),
                        )
                        .with_label("written as an attribute")
                        .with_help(format!("write `{name} {{ ... }}`")),
                    );
                } else {
                    unknown_attr(name, a.key.span, schema, sink);
                }
            }
            ItemKind::Block(b) => {
                let kind = b.kind.text.as_str();
                if let Some(attr) = schema.attr(kind) {
                    if attr.ty == Ty::Map {
                        if let Some(first) = seen_attrs.insert(kind, b.kind.span) {
                            sink.push(
                                Diagnostic::new(
                                    Code::DuplicateAttribute,
                                    b.kind.span,
                                    format!("`{kind}` is set twice"),
                                )
                                .with_label("set again here")
                                .with_secondary(first, "first set here"),
                            );
                        }
                        if let Some(label) = &b.label {
                            sink.push(
                                Diagnostic::new(
                                    Code::LabelMismatch,
                                    label.span,
                                    format!("`{kind}` takes no name"),
                                )
                                .with_label("remove this name"),
                            );
                        }
                        check_map(&b.body, sink);
                    } else {
                        // Written, if wrongly: not also reported as missing.
                        seen_attrs.entry(kind).or_insert(b.kind.span);
                        sink.push(
                            Diagnostic::new(
                                Code::WrongType,
                                b.kind.span,
                                format!("`{kind}` is an attribute, not a block"),
                            )
                            .with_label("written as a block")
                            .with_help(format!("write `{kind} = {}`", example(attr.ty))),
                        );
                    }
                    continue;
                }
                if !schema.blocks.contains(&kind) {
                    let candidates = schema
                        .blocks
                        .iter()
                        .copied()
                        .chain(schema.attrs.iter().map(|a| a.name));
                    let mut d = Diagnostic::new(
                        Code::UnknownBlock,
                        b.kind.span,
                        format!("unknown block `{kind}` in `{}`", schema.kind),
                    )
                    .with_label("not allowed here")
                    .suggest(kind, candidates);
                    if d.help.is_none() {
                        if let Some(parent) =
                            schema::BLOCKS.iter().find(|s| s.blocks.contains(&kind))
                        {
                            d = d.with_help(format!(
                                "`{kind}` blocks belong in `{}` blocks",
                                parent.kind
                            ));
                        } else if !schema.blocks.is_empty() {
                            d = d.with_help(format!(
                                "`{}` may contain: {}",
                                schema.kind,
                                schema.blocks.join(", ")
                            ));
                        }
                    }
                    sink.push(d);
                    continue;
                }
                let child = schema::block(kind).expect("every listed block has a schema");
                match (child.label, &b.label) {
                    (LabelRule::Required, None) => {
                        sink.push(
                            Diagnostic::new(
                                Code::LabelMismatch,
                                b.kind.span,
                                format!("`{kind}` needs a name"),
                            )
                            .with_label("name missing")
                            .with_help(format!("write `{kind} <name> {{ ... }}`")),
                        );
                        continue;
                    }
                    (LabelRule::None, Some(label)) => {
                        sink.push(
                            Diagnostic::new(
                                Code::LabelMismatch,
                                label.span,
                                format!("`{kind}` takes no name"),
                            )
                            .with_label("remove this name")
                            .with_help(format!("write `{kind} {{ ... }}`")),
                        );
                    }
                    _ => {}
                }
                match &b.label {
                    Some(label) if child.label == LabelRule::Required => {
                        let merge = mode.merge_named || kind == "environment";
                        if let Some(first) =
                            seen_named.insert((kind, label.text.as_str()), label.span)
                        {
                            if !merge {
                                sink.push(
                                    Diagnostic::new(
                                        Code::DuplicateName,
                                        label.span,
                                        format!("{kind} `{}` is declared twice", label.text),
                                    )
                                    .with_label("declared again here")
                                    .with_secondary(first, "first declared here"),
                                );
                            }
                        }
                    }
                    _ if !child.repeatable => {
                        if let Some(first) = seen_single.insert(kind, b.kind.span) {
                            if !mode.merge_named {
                                sink.push(
                                    Diagnostic::new(
                                        Code::DuplicateAttribute,
                                        b.kind.span,
                                        format!("`{kind}` appears twice in `{}`", schema.kind),
                                    )
                                    .with_label("again here")
                                    .with_secondary(first, "first here")
                                    .with_help("merge the two blocks into one"),
                                );
                            }
                        }
                    }
                    _ => {}
                }
                let child_mode = Mode {
                    merge_named: mode.merge_named,
                    required: mode.required && kind != "environment",
                };
                if kind == "environment" {
                    check_body(
                        &b.body,
                        child,
                        b.kind.span,
                        Mode {
                            required: false,
                            merge_named: true,
                        },
                        sink,
                    );
                } else {
                    check_body(&b.body, child, b.kind.span, child_mode, sink);
                }
            }
        }
    }
    if mode.required {
        for attr in schema.attrs.iter().filter(|a| a.required) {
            if !seen_attrs.contains_key(attr.name) {
                sink.push(
                    Diagnostic::new(
                        Code::MissingAttribute,
                        block_span,
                        format!("`{}` is missing `{}`", schema.kind, attr.name),
                    )
                    .with_label(format!("this {} has no `{}`", schema.kind, attr.name))
                    .with_help(format!(
                        "add `{} = {}` ({})",
                        attr.name,
                        example(attr.ty),
                        attr.doc.trim_end_matches('.').to_lowercase()
                    )),
                );
            }
        }
    }
}

/// Free-form maps hold only `key = value` attributes.
pub fn check_map(body: &Body, sink: &mut Sink) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &body.items {
        match &item.kind {
            ItemKind::Attribute(a) => {
                if let Some(first) = seen.insert(a.key.text.as_str(), a.key.span) {
                    sink.push(
                        Diagnostic::new(
                            Code::DuplicateAttribute,
                            a.key.span,
                            format!("key `{}` is set twice", a.key.text),
                        )
                        .with_label("set again here")
                        .with_secondary(first, "first set here"),
                    );
                }
            }
            ItemKind::Block(b) => {
                sink.push(
                    Diagnostic::new(
                        Code::WrongType,
                        b.kind.span,
                        "maps hold `key = value` entries, not blocks",
                    )
                    .with_label("a block inside a map"),
                );
            }
        }
    }
}

fn unknown_attr(name: &str, span: Span, schema: &BlockSchema, sink: &mut Sink) {
    let candidates = schema
        .attrs
        .iter()
        .map(|a| a.name)
        .chain(schema.blocks.iter().copied());
    let mut d = Diagnostic::new(
        Code::UnknownAttribute,
        span,
        format!("unknown attribute `{name}` in `{}`", schema.kind),
    )
    .with_label("not allowed here")
    .suggest(name, candidates);
    if d.help.is_none() {
        let elsewhere: Vec<&str> = schema::BLOCKS
            .iter()
            .filter(|b| b.attr(name).is_some())
            .map(|b| b.kind)
            .collect();
        if !elsewhere.is_empty() {
            let kinds: Vec<String> = elsewhere.iter().map(|k| format!("`{k}`")).collect();
            let kinds = match kinds.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => kinds.join(""),
            };
            d = d.with_help(format!("`{name}` belongs in a {kinds} block"));
        } else if !schema.attrs.is_empty() {
            d = d.with_help(format!(
                "`{}` accepts: {}",
                schema.kind,
                schema
                    .attrs
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    sink.push(d);
}

/// An example value of a type, for help texts.
pub fn example(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "\"...\"",
        Ty::Int(..) | Ty::Port => "1",
        Ty::Float(..) => "0.5",
        Ty::Bool => "true",
        Ty::Size => "512M",
        Ty::Duration => "10s",
        Ty::Cpu => "0.5",
        Ty::Enum(choices) => choices.first().copied().unwrap_or("\"...\""),
        Ty::StrList => "[\"...\"]",
        Ty::PortList => "[5432]",
        Ty::RefList(_) => "[name]",
        Ty::Ref(_) => "volume.name",
        Ty::Map => "{ KEY = \"value\" }",
        Ty::Scalar => "\"...\"",
    }
}
