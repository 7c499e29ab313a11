//! Lowering of single values: variables substituted, references resolved, and the result checked
//! against the type the attribute expects. Every problem is reported with the span of the value.

use super::schema::{AttrSchema, RefKind, Ty};
use super::scope::{Scope, Target};
use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::span::Span;
use crate::syntax::{Expr, ExprKind, Ref, StrPart};
use crate::units::{self, UnitError};

/// A variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl VarValue {
    pub fn render(&self) -> String {
        match self {
            VarValue::Str(s) => s.clone(),
            VarValue::Num(n) => fmt_num(*n),
            VarValue::Bool(b) => b.to_string(),
        }
    }
}

pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A value with variables substituted and references resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    Qty(String),
    Bool(bool),
    List(Vec<(Val, Span)>),
    Target(Target),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Num(_) => "a number",
            Val::Qty(_) => "a quantity",
            Val::Bool(_) => "a bool",
            Val::List(_) => "a list",
            Val::Target(t) => t.describe(),
        }
    }
}

/// Lowers values in one scope, reporting to a sink.
pub struct Lower<'a, 'g> {
    pub scope: &'a mut Scope<'g>,
    pub sink: &'a mut Sink,
}

impl Lower<'_, '_> {
    pub fn val(&mut self, expr: &Expr) -> Option<Val> {
        match &expr.kind {
            ExprKind::Str(s) => {
                let mut out = String::new();
                let mut ok = true;
                for part in &s.parts {
                    match part {
                        StrPart::Lit(t) => out.push_str(t),
                        StrPart::Interp(r) => match self.resolve(r)? {
                            Val::Str(t) => out.push_str(&t),
                            Val::Num(n) => out.push_str(&fmt_num(n)),
                            Val::Bool(b) => out.push_str(&b.to_string()),
                            other => {
                                ok = false;
                                self.sink.push(
                                    Diagnostic::new(
                                        Code::WrongType,
                                        r.span,
                                        format!(
                                            "`{}` is {}, which cannot be put in a string",
                                            r.dotted(),
                                            other.kind()
                                        ),
                                    )
                                    .with_label("not a text value")
                                    .with_help(interp_help(&other)),
                                );
                            }
                        },
                    }
                }
                ok.then_some(Val::Str(out))
            }
            ExprKind::Number(n) => Some(Val::Num(*n)),
            ExprKind::Quantity(q) => Some(Val::Qty(q.clone())),
            ExprKind::Bool(b) => Some(Val::Bool(*b)),
            ExprKind::List(list) => {
                let mut out = Vec::new();
                for e in &list.elements {
                    if let Some(v) = self.val(&e.value) {
                        out.push((v, e.value.span));
                    }
                }
                Some(Val::List(out))
            }
            ExprKind::Ref(r) => self.resolve(r),
            ExprKind::Map(_) => {
                self.sink.push(
                    Diagnostic::new(Code::WrongType, expr.span, "a map is not allowed here")
                        .with_label("unexpected map"),
                );
                None
            }
            ExprKind::Error => None,
        }
    }

    fn resolve(&mut self, r: &Ref) -> Option<Val> {
        match self.scope.resolve(r, self.sink)? {
            Target::Var(v) => Some(match v {
                VarValue::Str(s) => Val::Str(s),
                VarValue::Num(n) => Val::Num(n),
                VarValue::Bool(b) => Val::Bool(b),
            }),
            Target::Text(t) => Some(Val::Str(t)),
            other => Some(Val::Target(other)),
        }
    }

    fn wrong(&mut self, span: Span, ty: Ty, got: &Val) {
        self.sink.push(
            Diagnostic::new(
                Code::WrongType,
                span,
                format!("expected {}, found {}", ty.describe(), got.kind()),
            )
            .with_label(format!("expected {}", ty.describe()))
            .with_help(match (ty, got) {
                (Ty::Size, Val::Num(n)) => {
                    format!("add a unit: `{}M` means {} MiB", fmt_num(*n), fmt_num(*n))
                }
                (Ty::Duration, Val::Num(n)) => format!("add a unit: `{}s`", fmt_num(*n)),
                (Ty::Str, Val::Num(n)) => format!("quote it: `\"{}\"`", fmt_num(*n)),
                (Ty::Int(..) | Ty::Port, Val::Str(s)) if s.parse::<f64>().is_ok() => {
                    format!("remove the quotes: `{s}`")
                }
                (Ty::StrList, Val::Str(s)) if s.split_whitespace().count() > 1 => {
                    format!(
                        "write a list: `[{}]`",
                        s.split_whitespace()
                            .map(|w| format!("\"{w}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                (Ty::StrList | Ty::RefList(_), _) => "write a list: `[ ... ]`".to_string(),
                _ => format!("write {} here", ty.describe()),
            }),
        );
    }

    /// Like [`Lower::wrong`], but a variable of the wrong type gets a help about its declaration
    /// rather than about the literal.
    fn mismatch(&mut self, expr: &Expr, ty: Ty, got: &Val) {
        let var = match &expr.kind {
            ExprKind::Ref(r) if r.segments.len() == 2 && r.segments[0].text == "var" => {
                Some(r.segments[1].text.as_str())
            }
            _ => None,
        };
        let wanted = match ty {
            Ty::Int(..) | Ty::Float(..) | Ty::Port | Ty::Cpu => Some("number"),
            Ty::Bool => Some("bool"),
            Ty::Str | Ty::Enum(_) | Ty::Size | Ty::Duration => Some("string"),
            _ => None,
        };
        match (var, wanted, got) {
            (Some(name), Some(wanted), Val::Str(_) | Val::Num(_) | Val::Bool(_)) => self.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    expr.span,
                    format!("expected {}, found {}", ty.describe(), got.kind()),
                )
                .with_label(format!("`var.{name}` is {}", got.kind()))
                .with_help(format!(
                    "declare `variable {name}` with `type = \"{wanted}\"`"
                )),
            ),
            _ => self.wrong(expr.span, ty, got),
        }
    }

    pub fn string(&mut self, expr: &Expr) -> Option<String> {
        match self.val(expr)? {
            Val::Str(s) => Some(s),
            other => {
                self.mismatch(expr, Ty::Str, &other);
                None
            }
        }
    }

    /// A string, number or bool rendered as text (map values).
    pub fn text(&mut self, expr: &Expr) -> Option<Val> {
        match self.val(expr)? {
            Val::Num(n) => Some(Val::Str(fmt_num(n))),
            Val::Bool(b) => Some(Val::Str(b.to_string())),
            Val::Qty(q) => Some(Val::Str(q)),
            v @ (Val::Str(_) | Val::Target(_)) => Some(v),
            other => {
                self.mismatch(expr, Ty::Scalar, &other);
                None
            }
        }
    }

    pub fn bool(&mut self, expr: &Expr) -> Option<bool> {
        match self.val(expr)? {
            Val::Bool(b) => Some(b),
            other => {
                self.mismatch(expr, Ty::Bool, &other);
                None
            }
        }
    }

    pub fn int(&mut self, expr: &Expr, lo: u64, hi: u64) -> Option<u64> {
        let n = match self.val(expr)? {
            Val::Num(n) => n,
            other => {
                self.mismatch(expr, Ty::Int(lo, hi), &other);
                return None;
            }
        };
        if n.fract() != 0.0 {
            self.sink.push(
                Diagnostic::new(
                    Code::WrongType,
                    expr.span,
                    format!("expected a whole number, found {}", fmt_num(n)),
                )
                .with_label("not a whole number"),
            );
            return None;
        }
        if n < lo as f64 || n > hi as f64 {
            let range = if hi == u64::MAX {
                format!("at least {lo}")
            } else {
                format!("from {lo} to {hi}")
            };
            self.sink.push(
                Diagnostic::new(
                    Code::ValueOutOfRange,
                    expr.span,
                    format!("{} is out of range: expected {range}", fmt_num(n)),
                )
                .with_label("out of range"),
            );
            return None;
        }
        Some(n as u64)
    }

    /// A whole number within the bounds the schema gives the attribute.
    pub fn int_in(&mut self, expr: &Expr, schema: &AttrSchema) -> Option<u64> {
        let (lo, hi) = schema.int_bounds();
        self.int(expr, lo, hi)
    }

    /// A number within the bounds the schema gives the attribute.
    pub fn float_in(&mut self, expr: &Expr, schema: &AttrSchema) -> Option<f64> {
        let (lo, hi) = schema.float_bounds();
        self.float(expr, lo, hi)
    }

    pub fn float(&mut self, expr: &Expr, lo: f64, hi: f64) -> Option<f64> {
        match self.val(expr)? {
            Val::Num(n) if (lo..=hi).contains(&n) => Some(n),
            Val::Num(n) => {
                self.sink.push(
                    Diagnostic::new(
                        Code::ValueOutOfRange,
                        expr.span,
                        format!("{} is out of range: expected {lo} to {hi}", fmt_num(n)),
                    )
                    .with_label("out of range"),
                );
                None
            }
            other => {
                self.mismatch(expr, Ty::Float(lo, hi), &other);
                None
            }
        }
    }

    pub fn port(&mut self, expr: &Expr) -> Option<u16> {
        match self.val(expr)? {
            Val::Num(n) if n.fract() == 0.0 && (1.0..=65535.0).contains(&n) => Some(n as u16),
            Val::Num(n) => {
                self.sink.push(
                    Diagnostic::new(
                        Code::PortOutOfRange,
                        expr.span,
                        format!("port {} is out of range", fmt_num(n)),
                    )
                    .with_label("ports are 1 to 65535"),
                );
                None
            }
            other => {
                self.mismatch(expr, Ty::Port, &other);
                None
            }
        }
    }

    pub fn choice(
        &mut self,
        expr: &Expr,
        choices: &'static [&'static str],
    ) -> Option<&'static str> {
        match self.val(expr)? {
            Val::Str(s) => match choices.iter().find(|c| **c == s) {
                Some(c) => Some(c),
                None => {
                    let d = Diagnostic::new(
                        Code::InvalidEnumValue,
                        expr.span,
                        format!(
                            "`{s}` is not one of {}",
                            Ty::Enum(choices).describe().trim_start_matches("one of ")
                        ),
                    )
                    .with_label("unknown choice")
                    .suggest(&s, choices.iter().copied());
                    self.sink.push(d);
                    None
                }
            },
            other => {
                self.mismatch(expr, Ty::Enum(choices), &other);
                None
            }
        }
    }

    fn unit_error(&mut self, span: Span, code: Code, text: &str, e: UnitError) {
        let mut d = Diagnostic::new(
            code,
            span,
            format!(
                "invalid {} `{text}`",
                match code {
                    Code::InvalidSize => "size",
                    Code::InvalidDuration => "duration",
                    _ => "cpu amount",
                }
            ),
        )
        .with_label(e.to_string());
        d = match &e {
            UnitError::DecimalSize { binary, .. } => d.with_help(format!(
                "Docker reads `{text}` as binary; write `{}{binary}` for {}{binary}iB, or give the exact number of bytes with `B`",
                text.trim_end_matches(|c: char| c.is_ascii_alphabetic()),
                text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            )),
            UnitError::UnknownSizeUnit(_) => d.with_help("size units are B, K, M, G, T (binary, as Docker reads them) and Ki, Mi, Gi, Ti, KiB, MiB, GiB, TiB"),
            UnitError::UnknownDurationUnit(_) | UnitError::DurationOrder => d.with_help("duration units are h, m, s, ms, us, ns, largest first: `1m30s`"),
            UnitError::UnknownCpuUnit(_) => d.with_help("write cores (`0.5`) or millicores (`500m`)"),
            _ => d,
        };
        self.sink.push(d);
    }

    pub fn size(&mut self, expr: &Expr) -> Option<u64> {
        match self.val(expr)? {
            Val::Qty(q) | Val::Str(q) => match units::size(&q) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.unit_error(expr.span, Code::InvalidSize, &q, e);
                    None
                }
            },
            Val::Num(0.0) => Some(0),
            other => {
                self.mismatch(expr, Ty::Size, &other);
                None
            }
        }
    }

    pub fn duration(&mut self, expr: &Expr) -> Option<u64> {
        match self.val(expr)? {
            Val::Qty(q) | Val::Str(q) => match units::duration(&q) {
                Ok(ns) => Some(ns),
                Err(e) => {
                    self.unit_error(expr.span, Code::InvalidDuration, &q, e);
                    None
                }
            },
            Val::Num(0.0) => Some(0),
            other => {
                self.mismatch(expr, Ty::Duration, &other);
                None
            }
        }
    }

    pub fn cpu(&mut self, expr: &Expr) -> Option<u64> {
        let result = match self.val(expr)? {
            Val::Num(n) => units::cpu_cores(n).map_err(|e| (fmt_num(n), e)),
            Val::Qty(q) | Val::Str(q) => units::cpu_quantity(&q).map_err(|e| (q, e)),
            other => {
                self.mismatch(expr, Ty::Cpu, &other);
                return None;
            }
        };
        match result {
            Ok(v) => Some(v),
            Err((text, e)) => {
                self.unit_error(expr.span, Code::InvalidCpu, &text, e);
                None
            }
        }
    }

    pub fn str_list(&mut self, expr: &Expr) -> Option<Vec<(String, Span)>> {
        match self.val(expr)? {
            Val::List(items) => {
                let mut out = Vec::new();
                for (v, span) in items {
                    match v {
                        Val::Str(s) => out.push((s, span)),
                        Val::Num(n) => out.push((fmt_num(n), span)),
                        other => self.wrong(span, Ty::Str, &other),
                    }
                }
                Some(out)
            }
            other => {
                self.mismatch(expr, Ty::StrList, &other);
                None
            }
        }
    }

    /// A list of port numbers, each checked like [`Lower::port`].
    pub fn port_list(&mut self, expr: &Expr) -> Option<Vec<u16>> {
        match self.val(expr)? {
            Val::List(items) => {
                let mut out = Vec::new();
                for (v, span) in items {
                    match v {
                        Val::Num(n) if n.fract() == 0.0 && (1.0..=65535.0).contains(&n) => {
                            out.push(n as u16)
                        }
                        Val::Num(n) => self.sink.push(
                            Diagnostic::new(
                                Code::PortOutOfRange,
                                span,
                                format!("port {} is out of range", fmt_num(n)),
                            )
                            .with_label("ports are 1 to 65535"),
                        ),
                        other => self.wrong(span, Ty::Port, &other),
                    }
                }
                out.sort_unstable();
                out.dedup();
                Some(out)
            }
            other => {
                self.mismatch(expr, Ty::PortList, &other);
                None
            }
        }
    }

    /// A reference (or, in lists, each element) to one of `kinds`.
    pub fn target(&mut self, expr: &Expr, kinds: &[RefKind]) -> Option<Target> {
        match self.val(expr)? {
            Val::Target(t) if t.ref_kind().is_some_and(|k| kinds.contains(&k)) => Some(t),
            Val::Target(t) => {
                let want = one_of(kinds);
                self.sink.push(
                    Diagnostic::new(
                        Code::WrongReferenceKind,
                        expr.span,
                        format!("expected a {want}, but this refers to {}", t.describe()),
                    )
                    .with_label(format!("not a {want}")),
                );
                None
            }
            other => {
                let want = one_of(kinds);
                let mut d = Diagnostic::new(
                    Code::WrongType,
                    expr.span,
                    format!("expected a reference to a {want}, found {}", other.kind()),
                )
                .with_label("not a reference");
                if let (Val::Str(s), Some(first)) = (&other, kinds.first()) {
                    let declared = |k: &RefKind| {
                        let d = &self.scope.declared;
                        match k {
                            RefKind::Service => d.services.contains_key(s),
                            RefKind::Volume => d.volumes.contains_key(s),
                            RefKind::Secret => d.secrets.contains_key(s),
                            RefKind::Config => d.configs.contains_key(s),
                            RefKind::Network => d.networks.contains_key(s),
                        }
                    };
                    let written = |k: &RefKind| match k {
                        RefKind::Service => s.clone(),
                        k => format!("{}.{s}", k.as_str()),
                    };
                    let already = s
                        .split_once('.')
                        .is_some_and(|(prefix, _)| kinds.iter().any(|k| k.as_str() == prefix));
                    d = d.with_help(match kinds.iter().find(|k| declared(k)) {
                        _ if already => format!("a reference is written without quotes: `{s}`"),
                        Some(k) => {
                            format!("a reference is written without quotes: `{}`", written(k))
                        }
                        None => format!(
                            "a reference is written without quotes, e.g. `{}`",
                            written(first)
                        ),
                    });
                }
                self.sink.push(d);
                None
            }
        }
    }

    pub fn target_list(&mut self, expr: &Expr, kind: RefKind) -> Vec<(Target, Span)> {
        let ExprKind::List(list) = &expr.kind else {
            if let Some(v) = self.val(expr) {
                self.mismatch(expr, Ty::RefList(kind), &v);
            }
            return Vec::new();
        };
        list.elements
            .iter()
            .filter_map(|e| self.target(&e.value, &[kind]).map(|t| (t, e.value.span)))
            .collect()
    }
}

/// `volume`, `volume or secret`, `volume, secret or config`.
fn one_of(kinds: &[RefKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

fn interp_help(v: &Val) -> String {
    match v {
        Val::Target(Target::Service(s)) => format!("use `${{{s}.host}}` for the service's host name"),
        Val::Target(Target::Secret(_)) => "secrets cannot be interpolated; set the variable to the secret itself (its file path is used)".into(),
        _ => "interpolate a variable or an attribute such as `db.host`".into(),
    }
}
