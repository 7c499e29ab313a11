//! The one diagnostic model of berth. Every phase produces [`Diagnostic`] values: lexing, parsing
//! and checking into a [`Sink`], planning and applying through their error kinds' conversions,
//! and the binary for its own usage errors. Rendering for humans (miette) or machines (JSON)
//! happens only at the edge, in [`crate::render`].
//!
//! A diagnostic of the language always points at the configuration. One of a later phase points
//! at it when the configuration is where the problem is (a quota, a route); one about the cluster,
//! the state or the command line has no span.

use crate::codes::Code;
use crate::span::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A secondary location that explains the primary one ("declared here", "first defined here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is in the configuration; `None` for a problem outside it (the cluster,
    /// the state, the command line). Every diagnostic of the language has one.
    pub span: Option<Span>,
    /// What to say at the primary span; empty means the message says it all.
    pub label: String,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// Further facts, one a line (the errors of a service's tasks, the changes that failed).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic whose severity is the one its code is registered with.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: Some(span),
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// A diagnostic about something outside the configuration: no span.
    pub fn unlocated(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: None,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help unless a suggestion already did.
    pub fn or_help(self, help: impl Into<String>) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.with_help(help)
        }
    }

    /// Adds a "did you mean" help when one of `candidates` is close to `name`.
    pub fn suggest<'a>(self, name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        match crate::suggest::closest(name, candidates) {
            Some(best) => self.with_help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects diagnostics so that one run reports every independent problem, not only the first.
#[derive(Debug, Default, Clone)]
pub struct Sink {
    diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.diagnostics.last_mut()
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The diagnostics in a deterministic order: by file, position, then code, with exact
    /// duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.span.map(|s| (s.file, s.start, s.end));
            (key(a), a.code, &a.message).cmp(&(key(b), b.code, &b.message))
        });
        self.diagnostics.dedup();
        self.diagnostics
    }
}
