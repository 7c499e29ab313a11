//! Rendering of diagnostics, kept apart from the diagnostic model: miette's graphical report for
//! people and a stable JSON form for machines. Nothing else in the crate formats diagnostics.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{json, Value};
use std::fmt;

/// How diagnostics are drawn for people.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// All diagnostics, one report each, followed by a summary line when there is anything to say.
pub fn human(diagnostics: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let mut out = String::new();
    for d in diagnostics {
        let report = Report::new(d, sources);
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if !diagnostics.is_empty() {
        out.push_str(&summary(errors, warnings));
        out.push('\n');
    }
    out
}

pub fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    match (errors, warnings) {
        (0, w) => format!("{} emitted", plural(w, "warning")),
        (e, 0) => format!("{} emitted", plural(e, "error")),
        (e, w) => format!(
            "{} and {} emitted",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

fn location(sources: &SourceMap, span: Span) -> Value {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end);
    json!({ "file": file.name, "line": line, "column": column, "end_line": end_line, "end_column": end_column, "start": span.start, "end": span.end })
}

/// The JSON form of diagnostics: `{ "diagnostics": [...], "errors": n, "warnings": n }`.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> Value {
    let list: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            json!({
                "code": d.code.as_str(),
                "severity": d.severity,
                "message": d.message,
                "location": location(sources, d.span),
                "label": if d.label.is_empty() { Value::Null } else { Value::String(d.label.clone()) },
                "secondary": d.secondary.iter().map(|l| json!({ "message": l.message, "location": location(sources, l.span) })).collect::<Vec<_>>(),
                "help": d.help,
            })
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    json!({ "diagnostics": list, "errors": errors, "warnings": diagnostics.len() - errors })
}

/// A diagnostic as miette wants it: labels in the primary file, and one related note per label
/// that points into another file.
struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(d: &Diagnostic, sources: &SourceMap) -> Report {
        let file = sources.get(d.span.file);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            (!d.label.is_empty()).then(|| d.label.clone()),
            clamp(d.span, file.text.len()),
        )];
        let mut related = Vec::new();
        for l in &d.secondary {
            if l.span.file == d.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    clamp(l.span, file.text.len()),
                ));
            } else {
                let other = sources.get(l.span.file);
                related.push(Report {
                    message: l.message.clone(),
                    code: String::new(),
                    severity: miette::Severity::Advice,
                    help: None,
                    source: NamedSource::new(other.name.clone(), other.text.clone()),
                    labels: vec![LabeledSpan::new_primary_with_span(
                        Some(l.message.clone()),
                        clamp(l.span, other.text.len()),
                    )],
                    related: Vec::new(),
                });
            }
        }
        Report {
            message: d.message.clone(),
            code: d.code.as_str().to_string(),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help: d.help.clone(),
            source: NamedSource::new(file.name.clone(), file.text.clone()),
            labels,
            related,
        }
    }
}

fn clamp(span: Span, len: usize) -> (usize, usize) {
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).min(len).max(start);
    (start, end - start)
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
