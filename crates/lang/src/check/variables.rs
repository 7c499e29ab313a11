//! Variable values: the platform's (top-level) and each project's own, from defaults,
//! `BERTH_VAR_*`, var files and `--var` (qualified `--var shop.name=...` for one project's own),
//! and the preview number `pr`. Which variables a project may read is decided in
//! [`super::scope`].

use super::lower;
use super::value::VarValue;
use super::{Checker, Options, VarDecl, VarInput, PLACEHOLDER_PR};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::span::{SourceFile, Span};
use std::collections::{BTreeMap, BTreeSet};

impl Checker<'_> {
    /// Values of the variables `decls` declares: the platform's (`project` is `None`) or one
    /// project's own. `--var shop.name=...` gives project `shop`'s own `name` alone; `--var
    /// name=...` gives every variable called `name`. Values for names no block declares are
    /// reported once, with the platform's (`known` holds every declared name).
    pub(super) fn variables(
        &mut self,
        decls: &BTreeMap<String, VarDecl>,
        options: &Options,
        uses_preview: Option<Span>,
        project: Option<&str>,
        known: &BTreeSet<String>,
    ) -> BTreeMap<String, VarValue> {
        let mut out = BTreeMap::new();
        // Values given from outside, later ones winning (the CLI passes them lowest precedence
        // first); a qualified name wins over a plain one.
        let mut given: BTreeMap<&str, &VarInput> = BTreeMap::new();
        for v in options.vars.iter().filter(|v| !v.name.contains('.')) {
            given.insert(v.name.as_str(), v);
        }
        if let Some(p) = project {
            for v in &options.vars {
                if let Some(name) = v.name.strip_prefix(p).and_then(|n| n.strip_prefix('.')) {
                    given.insert(name, v);
                }
            }
            given.retain(|name, _| decls.contains_key(*name));
        } else {
            for v in options.vars.iter().filter(|v| v.name.contains('.')) {
                given.insert(v.name.as_str(), v);
            }
        }
        let mut external_text = String::new();
        let mut external_spans: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (name, v) in &given {
            let value: String = v
                .value
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let line = if v.origin == "--var" {
                format!("--var {name}={value}")
            } else if v.origin.starts_with("BERTH_VAR_") {
                format!("{}={value}", v.origin)
            } else {
                format!("{}: {name} = {value}", v.origin)
            };
            let start = external_text.len();
            external_text.push_str(&line);
            external_text.push('\n');
            external_spans.insert(name, (start, start + line.len()));
        }
        let external = (!given.is_empty()).then(|| {
            self.sources
                .add(SourceFile::new("<variables>", external_text))
        });
        for (name, v) in &given {
            if project.is_none() && !decls.contains_key(*name) && !known.contains(*name) {
                let (s, e) = external_spans[name];
                let id = external.expect("values were given");
                self.sink.push(
                    Diagnostic::new(
                        Code::UnknownVariable,
                        Span::new(id, s, e),
                        format!(
                            "a value was given for `{name}`, which no `variable` block declares"
                        ),
                    )
                    .with_label(format!("from {}", v.origin))
                    .suggest(name, decls.keys().map(String::as_str))
                    .or_help(format!(
                        "declare it: `variable {name} {{ type = \"{}\" }}`",
                        if *name == "pr" { "number" } else { "string" }
                    )),
                );
                let _ = v;
            }
        }
        for (name, decl) in decls {
            // A variable with an invalid type was reported; treat it as a string so its uses do
            // not cascade into more errors.
            let ty = decl.ty.unwrap_or("string");
            let decl_span = decl.span();
            if let Some(v) = given.get(name.as_str()) {
                let (s, e) = external_spans[name.as_str()];
                let span = Span::new(external.expect("values were given"), s, e);
                match parse_var(ty, &v.value) {
                    Some(val) => {
                        out.insert(name.clone(), val);
                    }
                    None => self.sink.push(
                        Diagnostic::new(
                            Code::BadVariableValue,
                            span,
                            format!("`{}` is not a valid {ty} for variable `{name}`", v.value),
                        )
                        .with_label(format!("from {}", v.origin))
                        .with_secondary(decl_span, format!("declared as {ty} here")),
                    ),
                }
                continue;
            }
            if let Some(default) = lower::attr(&decl.block.body, "default") {
                let val = match (&default.kind, ty) {
                    (crate::syntax::ExprKind::Str(s), "string") => s.as_plain().map(VarValue::Str),
                    (crate::syntax::ExprKind::Number(n), "number") => Some(VarValue::Num(*n)),
                    (crate::syntax::ExprKind::Bool(b), "bool") => Some(VarValue::Bool(*b)),
                    _ => None,
                };
                match val {
                    Some(val) => {
                        out.insert(name.clone(), val);
                    }
                    None => self.sink.push(
                        Diagnostic::new(
                            Code::WrongType,
                            default.span,
                            format!("the default of `{name}` is not a {ty}"),
                        )
                        .with_label(format!("expected a {ty} literal"))
                        .with_secondary(decl_span, "declared here"),
                    ),
                }
                continue;
            }
            let needed = if name == "pr" {
                options.preview && uses_preview.is_some()
            } else {
                options.strict
            };
            if needed {
                let code = if name == "pr" {
                    Code::PreviewWithoutPr
                } else {
                    Code::BadVariableValue
                };
                self.sink.push(
                    Diagnostic::new(code, decl_span, format!("variable `{name}` has no value"))
                        .with_label("no default, and no value given")
                        .with_help(format!(
                            "give it with `--var {name}=...`, `BERTH_VAR_{name}` or a var file"
                        )),
                );
            } else if name == "pr" && options.strict {
                // Planning other environments: previews without a number are left out.
            } else {
                // validate: a placeholder, so the rest can still be checked.
                let placeholder = match ty {
                    "number" => VarValue::Num(PLACEHOLDER_PR as f64),
                    "bool" => VarValue::Bool(false),
                    _ => VarValue::Str(format!("{name}-value")),
                };
                out.insert(name.clone(), placeholder);
            }
        }
        out
    }

    pub(super) fn preview_number(
        &mut self,
        vars: &BTreeMap<String, VarValue>,
        decls: &BTreeMap<String, VarDecl>,
        uses_preview: Option<Span>,
        options: &Options,
    ) -> Option<u64> {
        let span = uses_preview?;
        let Some(decl) = decls.get("pr") else {
            self.sink.push(
                Diagnostic::new(
                    Code::PreviewWithoutPr,
                    span,
                    "a preview environment needs the `pr` variable",
                )
                .with_label("preview environment")
                .with_help(
                    "declare `variable pr { type = \"number\" }` and give it with `--var pr=123`",
                ),
            );
            return None;
        };
        match vars.get("pr") {
            Some(VarValue::Num(n)) if n.fract() == 0.0 && *n >= 0.0 && *n < 1e9 => Some(*n as u64),
            Some(VarValue::Str(s)) if s.parse::<u64>().is_ok() => s.parse().ok(),
            Some(value) => {
                let decl_span = decl.span();
                self.sink.push(
                    Diagnostic::new(
                        Code::PreviewWithoutPr,
                        decl_span,
                        format!(
                            "`pr` must be a pull-request number, not `{}`",
                            value.render()
                        ),
                    )
                    .with_label("not a whole number")
                    .with_help("declare `variable pr { type = \"number\" }`"),
                );
                None
            }
            None => {
                let _ = options;
                None
            }
        }
    }
}

fn parse_var(ty: &str, value: &str) -> Option<VarValue> {
    match ty {
        "string" => Some(VarValue::Str(value.to_string())),
        "number" => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(VarValue::Num),
        "bool" => match value.trim() {
            "true" => Some(VarValue::Bool(true)),
            "false" => Some(VarValue::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}
