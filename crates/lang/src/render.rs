//! Rendering of diagnostics, kept apart from the diagnostic model: miette's graphical report for
//! people and a stable JSON form for machines. Nothing else in the crate formats diagnostics.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{SourceFile, SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
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

fn location(sources: &SourceMap, span: Option<Span>) -> Value {
    let Some(span) = span.filter(|s| known(sources, *s)) else {
        return Value::Null;
    };
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end);
    json!({ "file": file.name, "line": line, "column": column, "end_line": end_line, "end_column": end_column, "start": span.start, "end": span.end })
}

/// The JSON form of diagnostics: `{ "diagnostics": [...], "errors": n, "warnings": n }`. A
/// diagnostic without a span has `"location": null`.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap) -> Value {
    let list: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut v = json!({
                "code": d.code.as_str(),
                "severity": d.severity,
                "message": d.message,
                "location": location(sources, d.span),
                "label": if d.label.is_empty() { Value::Null } else { Value::String(d.label.clone()) },
                "secondary": d.secondary.iter().map(|l| json!({ "message": l.message, "location": location(sources, Some(l.span)) })).collect::<Vec<_>>(),
                "help": d.help,
            });
            if !d.notes.is_empty() {
                v["notes"] = json!(d.notes);
            }
            v
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    json!({ "diagnostics": list, "errors": errors, "warnings": diagnostics.len() - errors })
}

/// A diagnostic as miette wants it: labels in the primary file, one related note per label that
/// points into another file, and one per note. The source is borrowed, never copied: copying
/// (or scanning) a whole file for every diagnostic made rendering quadratic in their number.
struct Report<'a> {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Source<'a>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report<'a>>,
}

impl<'a> Report<'a> {
    fn new(d: &Diagnostic, sources: &'a SourceMap) -> Report<'a> {
        let mut labels = Vec::new();
        let mut related = Vec::new();
        let mut source = None;
        if let Some(span) = d.span.filter(|s| known(sources, *s)) {
            let file = sources.get(span.file);
            labels.push(LabeledSpan::new_primary_with_span(
                (!d.label.is_empty()).then(|| d.label.clone()),
                clamp(span, file.text.len()),
            ));
            source = Some(Source(file));
        }
        for l in d.secondary.iter().filter(|l| known(sources, l.span)) {
            if d.span.is_some_and(|s| s.file == l.span.file) {
                let len = sources.get(l.span.file).text.len();
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    clamp(l.span, len),
                ));
            } else {
                let other = sources.get(l.span.file);
                related.push(Report::advice(
                    l.message.clone(),
                    Some(Source(other)),
                    vec![LabeledSpan::new_primary_with_span(
                        Some(l.message.clone()),
                        clamp(l.span, other.text.len()),
                    )],
                ));
            }
        }
        for note in &d.notes {
            related.push(Report::advice(note.clone(), None, Vec::new()));
        }
        Report {
            message: d.message.clone(),
            code: d.code.as_str().to_string(),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help: d.help.clone(),
            source,
            labels,
            related,
        }
    }

    fn advice(message: String, source: Option<Source<'a>>, labels: Vec<LabeledSpan>) -> Self {
        Report {
            message,
            code: String::new(),
            severity: miette::Severity::Advice,
            help: None,
            source,
            labels,
            related: Vec::new(),
        }
    }
}

/// One source file as miette reads it. miette's own implementation for strings scans the text
/// from its start for every span it reads, which made rendering quadratic in the number of
/// diagnostics. This one finds, with the file's line index, a window of whole lines that holds
/// everything miette may return (one line more before than asked, so that a window never starts
/// where the file does unless the span does too), lets miette's implementation read that window,
/// and moves its answer back to the file's offsets and lines. What it returns is byte for byte
/// what miette returns for the whole file.
#[derive(Clone, Copy)]
struct Source<'a>(&'a SourceFile);

impl SourceCode for Source<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let file = self.0;
        let text = file.text.as_str();
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let first_line = file.line_of(start as u32).saturating_sub(before + 1);
        let last_line = file.line_of(end as u32) + after + 2;
        let from = file.line_start(first_line);
        let to = if last_line < file.line_count() {
            file.line_start(last_line)
        } else {
            text.len()
        };
        let window = &text.as_bytes()[from..to];
        let inner = miette::SourceSpan::from((start - from, span.len()));
        let read = window.read_span(&inner, before, after)?;
        let data: &'b [u8] = read.data();
        let offset = read.span().offset() + from;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            file.name.clone(),
            data,
            (offset, data.len()).into(),
            read.line() + first_line,
            read.column(),
            read.line_count() + first_line,
        )))
    }
}

/// Whether a span points into one of these sources: a diagnostic rendered without the
/// configuration it came from is shown without its snippet rather than not at all.
fn known(sources: &SourceMap, span: Span) -> bool {
    (span.file.0 as usize) < sources.len()
}

fn clamp(span: Span, len: usize) -> (usize, usize) {
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).min(len).max(start);
    (start, end - start)
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
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
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-indexed source returns exactly what miette's own (scanning) implementation
    /// returns, for every span of a text and every context size the renderer asks for.
    #[test]
    fn the_indexed_source_reads_what_miettes_own_reads() {
        let texts = [
            "project shop {\n  service web {\n\n    image = \"a\"\n  }\n}\n",
            "a\nbb\n\nccc",
            "\n\nx\n",
            "",
        ];
        for text in texts {
            let file = SourceFile::new("f.berth", text);
            let ours = Source(&file);
            for start in 0..=text.len() {
                for len in 0..=text.len() - start {
                    let span = miette::SourceSpan::from((start, len));
                    for (before, after) in [(0, 0), (1, 1), (2, 2), (0, 2), (3, 0)] {
                        let theirs = text.read_span(&span, before, after);
                        let mine = ours.read_span(&span, before, after);
                        match (theirs, mine) {
                            (Ok(t), Ok(m)) => {
                                let what = format!("{text:?} {start}+{len} ({before},{after})");
                                assert_eq!(t.data(), m.data(), "data of {what}");
                                assert_eq!(t.span(), m.span(), "span of {what}");
                                assert_eq!(t.line(), m.line(), "line of {what}");
                                assert_eq!(t.column(), m.column(), "column of {what}");
                                assert_eq!(t.line_count(), m.line_count(), "lines of {what}");
                            }
                            (Err(_), Err(_)) => {}
                            (t, m) => panic!(
                                "{text:?} {start}+{len} ({before},{after}): miette {:?}, ours {:?}",
                                t.is_ok(),
                                m.is_ok()
                            ),
                        }
                    }
                }
            }
        }
    }

    /// A diagnostic without a span renders with its code, help and notes, and as JSON with a
    /// null location.
    #[test]
    fn a_diagnostic_without_a_span_renders_in_both_forms() {
        let d = Diagnostic::unlocated(crate::codes::Code::UnknownAttribute, "the engine said no")
            .with_help("try again")
            .with_note("task 1: no such image");
        let sources = SourceMap::new();
        let human = human(std::slice::from_ref(&d), &sources, Style::default());
        assert!(human.contains("the engine said no"), "{human}");
        assert!(human.contains("try again"), "{human}");
        assert!(human.contains("task 1: no such image"), "{human}");
        let json = json(std::slice::from_ref(&d), &sources);
        assert_eq!(json["diagnostics"][0]["location"], Value::Null);
        assert_eq!(json["diagnostics"][0]["notes"][0], "task 1: no such image");
    }
}
