//! The formatter behind `berth fmt`. Configurations are read and reviewed by many people, so there
//! is one canonical layout and the tool writes it; nobody has to argue about spacing. The
//! formatter prints the syntax tree back, so it can only change layout: every comment is kept with
//! its text, and strings, numbers and quantities are printed from the source exactly as written.
//!
//! The layout rules:
//!
//! - Two spaces of indentation per level, `key = value`, one item per line (commas between items
//!   are dropped), `kind label {` ... `}` for a block and `kind label {}` for an empty one.
//! - Blank lines: at most one between items, kept where the source had one; never one at the start
//!   of the file, right after `{`, or right before `}`. Between two top-level items one blank line
//!   is always put when either of them is a block. A blank line between an item's leading
//!   comments and the item (a detached comment) or between two leading comments is kept too.
//! - Alignment, as `terraform fmt` does it: the `=` of consecutive single-line attributes line up.
//!   A run of such attributes ends at a blank line, at a block, at an attribute whose value spans
//!   several lines (which is itself not aligned), and before an item that has leading comments
//!   (that item starts the next run). Trailing comments are not aligned.
//! - A list is printed on one line, `[a, b, c]`, when nothing inside it carries a comment, every
//!   element fits on one line, and the line fits in [`MAX_WIDTH`] columns; otherwise one element
//!   per line, each followed by a comma, with `]` on its own line.
//! - A map literal is printed on one line, `{ a = 1, b = 2 }`, when it has at most
//!   [`MAX_INLINE_ENTRIES`] entries, all of them attributes, no comments, no value that needs
//!   several lines, and the line fits; otherwise it is laid out like a block body.
//! - Whether a value fits is measured from the start of its line to its end, alignment padding
//!   included and a trailing comment excluded. A list or map that would fit but for the padding is
//!   laid out over several lines, which takes it out of its run. The decisions depend only on the
//!   syntax tree, never on the layout of the input, so formatting is idempotent.
//! - Comments: leading comments on their own lines before their item at its indentation; a
//!   trailing comment after its item (after the comma in a list) with one space before it;
//!   comments before a closing `}` or `]` on their own lines at the inner indentation. A comment's
//!   text is printed as written, except that trailing whitespace is removed from its lines. A
//!   comment goes where the parser attached it: one written right after an opening `{` leads the
//!   first item, so it moves to its own line, and one written inside an item (between the key and
//!   the `=`, say) leads the next item.
//! - Multi-line (`"""`) strings are printed exactly as written, lines after the first included.
//!
//! The file ends with exactly one newline; an empty file (or one with only white space) formats
//! to the empty string.

use crate::diagnostic::{Diagnostic, Sink};
use crate::parser::parse;
use crate::span::{FileId, Span};
use crate::syntax::{
    Block, Body, Comment, Expr, ExprKind, File, Item, ItemKind, List, Name, Trivia,
};

/// Lists and maps are put on one line only when that line fits in this many columns.
pub const MAX_WIDTH: usize = 100;

/// A map literal with more entries than this is always laid out one entry per line.
pub const MAX_INLINE_ENTRIES: usize = 3;

/// Spaces per indentation level.
const INDENT: usize = 2;

/// Parses `source` and formats it. A file with syntax errors is not formatted: its error
/// diagnostics are returned instead, because printing a partly read tree would lose text.
pub fn format_source(file: FileId, source: &str) -> Result<String, Vec<Diagnostic>> {
    let mut sink = Sink::new();
    let tree = parse(file, source, &mut sink);
    if sink.has_errors() {
        return Err(sink
            .into_sorted()
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect());
    }
    Ok(format_file(&tree, source))
}

/// Prints `file` in the canonical layout. `source` must be the text `file` was parsed from: it is
/// where literals are printed from.
pub fn format_file(file: &File, source: &str) -> String {
    let printer = Printer { source };
    let mut out = String::new();
    printer.body(&mut out, &file.body, 0, true);
    out
}

/// Every comment of `file` in source order, as the formatter prints it (trailing whitespace of
/// each line removed), so that the comments of a file and of its formatted version compare equal.
pub fn collect_comments(file: &File) -> Vec<String> {
    let mut out = Vec::new();
    collect_body(&file.body, &mut out);
    out
}

fn collect_body(body: &Body, out: &mut Vec<String>) {
    for item in &body.items {
        collect_leading(&item.trivia, out);
        match &item.kind {
            ItemKind::Attribute(attribute) => collect_expr(&attribute.value, out),
            ItemKind::Block(block) => collect_body(&block.body, out),
        }
        collect_trailing(&item.trivia, out);
    }
    out.extend(body.trailing.iter().map(comment_text));
}

fn collect_expr(expr: &Expr, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::List(list) => {
            for element in &list.elements {
                collect_leading(&element.trivia, out);
                collect_expr(&element.value, out);
                collect_trailing(&element.trivia, out);
            }
            out.extend(list.trailing.iter().map(comment_text));
        }
        ExprKind::Map(body) => collect_body(body, out),
        _ => {}
    }
}

fn collect_leading(trivia: &Trivia, out: &mut Vec<String>) {
    out.extend(trivia.leading.iter().map(comment_text));
}

fn collect_trailing(trivia: &Trivia, out: &mut Vec<String>) {
    out.extend(trivia.trailing.iter().map(comment_text));
}

/// A comment's text as printed: as written, minus the trailing white space of each line.
fn comment_text(comment: &Comment) -> String {
    comment
        .text
        .split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Width of printed text in columns (one per character).
fn width(text: &str) -> usize {
    text.chars().count()
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Whether the stretch of source between `from` and `to` holds an empty line.
fn blank_between(source: &str, from: u32, to: u32) -> bool {
    source
        .get(from as usize..to as usize)
        .is_some_and(|gap| gap.matches('\n').count() >= 2)
}

struct Printer<'s> {
    source: &'s str,
}

impl Printer<'_> {
    /// The source text of `span`.
    fn raw(&self, span: Span) -> Option<&str> {
        self.source.get(span.range())
    }

    fn name(&self, name: &Name) -> String {
        if !name.quoted {
            return name.text.clone();
        }
        match self.raw(name.span) {
            Some(raw) if raw.starts_with('"') => raw.to_string(),
            _ => format!(
                "\"{}\"",
                name.text.replace('\\', "\\\\").replace('"', "\\\"")
            ),
        }
    }

    /// A literal or reference as written; lists and maps are not leaves.
    fn leaf(&self, expr: &Expr) -> String {
        let raw = || self.raw(expr.span).map(str::to_string);
        match &expr.kind {
            ExprKind::Bool(value) => value.to_string(),
            ExprKind::Ref(reference) => reference.dotted(),
            ExprKind::Number(value) => raw().unwrap_or_else(|| value.to_string()),
            ExprKind::Quantity(text) => raw().unwrap_or_else(|| text.clone()),
            ExprKind::Str(_) | ExprKind::Error | ExprKind::List(_) | ExprKind::Map(_) => {
                raw().unwrap_or_default()
            }
        }
    }

    /// The one-line form of `expr`, or `None` when it may not be printed on one line: it holds a
    /// comment or a line break, or it is a map that is too big or holds a block. Width is not
    /// checked here.
    fn flat(&self, expr: &Expr) -> Option<String> {
        match &expr.kind {
            ExprKind::List(list) => {
                if !list.trailing.is_empty() {
                    return None;
                }
                let mut parts = Vec::with_capacity(list.elements.len());
                for element in &list.elements {
                    if has_comments(&element.trivia) {
                        return None;
                    }
                    parts.push(self.flat(&element.value)?);
                }
                Some(format!("[{}]", parts.join(", ")))
            }
            ExprKind::Map(body) => {
                if !body.trailing.is_empty() || body.items.len() > MAX_INLINE_ENTRIES {
                    return None;
                }
                if body.items.is_empty() {
                    return Some("{}".into());
                }
                let mut parts = Vec::with_capacity(body.items.len());
                for item in &body.items {
                    let ItemKind::Attribute(attribute) = &item.kind else {
                        return None;
                    };
                    if has_comments(&item.trivia) {
                        return None;
                    }
                    parts.push(format!(
                        "{} = {}",
                        self.name(&attribute.key),
                        self.flat(&attribute.value)?
                    ));
                }
                Some(format!("{{ {} }}", parts.join(", ")))
            }
            _ => Some(self.leaf(expr)).filter(|text| !text.contains('\n')),
        }
    }

    /// `expr` printed at column `col` of a line indented by `indent`, with `suffix` more columns
    /// to follow it on its line. Lists and maps that do not fit take several lines.
    fn expr(&self, expr: &Expr, indent: usize, col: usize, suffix: usize) -> String {
        let flat = self.flat(expr);
        match (&expr.kind, flat) {
            (ExprKind::List(_) | ExprKind::Map(_), Some(flat))
                if col + width(&flat) + suffix <= MAX_WIDTH =>
            {
                flat
            }
            (_, flat) => self
                .multi_line(expr, indent)
                .or(flat)
                .unwrap_or_else(|| self.leaf(expr)),
        }
    }

    /// A list or map laid out over several lines, or `None` for anything else.
    fn multi_line(&self, expr: &Expr, indent: usize) -> Option<String> {
        match &expr.kind {
            ExprKind::List(list) => Some(self.list(list, indent)),
            ExprKind::Map(body) => {
                let mut out = String::from("{\n");
                self.body(&mut out, body, indent + INDENT, false);
                push_indent(&mut out, indent);
                out.push('}');
                Some(out)
            }
            _ => None,
        }
    }

    /// A list one element per line.
    fn list(&self, list: &List, indent: usize) -> String {
        let inner = indent + INDENT;
        let mut out = String::from("[\n");
        for (index, element) in list.elements.iter().enumerate() {
            if index > 0 && element.trivia.blank_before {
                out.push('\n');
            }
            self.leading(
                &mut out,
                &element.trivia.leading,
                inner,
                element.value.span.start,
            );
            push_indent(&mut out, inner);
            out.push_str(&self.expr(&element.value, inner, inner, 1));
            out.push(',');
            self.trailing(&mut out, element.trivia.trailing.as_ref());
            out.push('\n');
        }
        self.closing_comments(&mut out, &list.trailing, inner, !list.elements.is_empty());
        push_indent(&mut out, indent);
        out.push(']');
        out
    }

    /// Leading comments, each on its own line, then a blank line when the source had one between
    /// the last comment and the node that starts at `node_start`.
    fn leading(&self, out: &mut String, comments: &[Comment], indent: usize, node_start: u32) {
        for (index, comment) in comments.iter().enumerate() {
            if index > 0 && comment.blank_before {
                out.push('\n');
            }
            push_indent(out, indent);
            out.push_str(&comment_text(comment));
            out.push('\n');
        }
        if let Some(last) = comments.last() {
            if blank_between(self.source, last.span.end, node_start) {
                out.push('\n');
            }
        }
    }

    fn trailing(&self, out: &mut String, comment: Option<&Comment>) {
        if let Some(comment) = comment {
            out.push(' ');
            out.push_str(&comment_text(comment));
        }
    }

    /// Comments before a closing delimiter (or at the end of the file). `after_content` says
    /// whether anything precedes them inside the delimiters; only then may a blank line come first.
    fn closing_comments(
        &self,
        out: &mut String,
        comments: &[Comment],
        indent: usize,
        after_content: bool,
    ) {
        for (index, comment) in comments.iter().enumerate() {
            if comment.blank_before && (index > 0 || after_content) {
                out.push('\n');
            }
            push_indent(out, indent);
            out.push_str(&comment_text(comment));
            out.push('\n');
        }
    }

    /// The items and closing comments of a body, one per line, at `indent`. `top` marks the file's
    /// own body, where blocks are always set apart by a blank line.
    fn body(&self, out: &mut String, body: &Body, indent: usize, top: bool) {
        // Values are printed first so that alignment knows which attributes take one line.
        let mut values: Vec<Option<String>> = body
            .items
            .iter()
            .map(|item| match &item.kind {
                ItemKind::Attribute(attribute) => {
                    let col = indent + width(&self.name(&attribute.key)) + 3;
                    Some(self.expr(&attribute.value, indent, col, 0))
                }
                ItemKind::Block(_) => None,
            })
            .collect();
        let mut key_widths = self.aligned_key_widths(body, &values);
        // A list or map pushed past the width limit by alignment padding is broken over lines,
        // which takes it out of its run; repeat until every one-line value fits.
        loop {
            let mut changed = false;
            for (index, item) in body.items.iter().enumerate() {
                let (ItemKind::Attribute(attribute), Some(value)) =
                    (&item.kind, &mut values[index])
                else {
                    continue;
                };
                let end = indent + key_widths[index] + 3 + width(value);
                if end > MAX_WIDTH
                    && !value.contains('\n')
                    && !is_empty_collection(&attribute.value)
                {
                    if let Some(broken) = self.multi_line(&attribute.value, indent) {
                        *value = broken;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
            key_widths = self.aligned_key_widths(body, &values);
        }
        for (index, item) in body.items.iter().enumerate() {
            if index > 0 {
                let previous = &body.items[index - 1];
                let set_apart = top && (is_block(item) || is_block(previous));
                if item.trivia.blank_before || set_apart {
                    out.push('\n');
                }
            }
            self.leading(out, &item.trivia.leading, indent, item.span.start);
            push_indent(out, indent);
            match (&item.kind, &values[index]) {
                (ItemKind::Attribute(attribute), Some(value)) => {
                    let key = self.name(&attribute.key);
                    let pad = key_widths[index].saturating_sub(width(&key));
                    out.push_str(&key);
                    push_indent(out, pad);
                    out.push_str(" = ");
                    out.push_str(value);
                }
                (ItemKind::Block(block), _) => self.block(out, block, indent),
                (ItemKind::Attribute(_), None) => {
                    unreachable!("every attribute's value was printed")
                }
            }
            self.trailing(out, item.trivia.trailing.as_ref());
            out.push('\n');
        }
        self.closing_comments(out, &body.trailing, indent, !body.items.is_empty());
    }

    fn block(&self, out: &mut String, block: &Block, indent: usize) {
        out.push_str(&self.name(&block.kind));
        if let Some(label) = &block.label {
            out.push(' ');
            out.push_str(&self.name(label));
        }
        if block.body.items.is_empty() && block.body.trailing.is_empty() {
            out.push_str(" {}");
            return;
        }
        out.push_str(" {\n");
        self.body(out, &block.body, indent + INDENT, false);
        push_indent(out, indent);
        out.push('}');
    }

    /// For every item, the width its key is padded to (0 for items outside any alignment run).
    fn aligned_key_widths(&self, body: &Body, values: &[Option<String>]) -> Vec<usize> {
        let mut widths = vec![0; body.items.len()];
        let mut run: Vec<(usize, usize)> = Vec::new();
        let mut close = |run: &mut Vec<(usize, usize)>| {
            let widest = run.iter().map(|&(_, w)| w).max().unwrap_or(0);
            for (index, _) in run.drain(..) {
                widths[index] = widest;
            }
        };
        for (index, item) in body.items.iter().enumerate() {
            let single_line = match (&item.kind, &values[index]) {
                (ItemKind::Attribute(attribute), Some(value)) if !value.contains('\n') => {
                    Some(attribute)
                }
                _ => None,
            };
            let breaks = (index > 0 && item.trivia.blank_before)
                || !item.trivia.leading.is_empty()
                || single_line.is_none();
            if breaks {
                close(&mut run);
            }
            if let Some(attribute) = single_line {
                run.push((index, width(&self.name(&attribute.key))));
            }
        }
        close(&mut run);
        widths
    }
}

fn is_block(item: &Item) -> bool {
    matches!(item.kind, ItemKind::Block(_))
}

fn has_comments(trivia: &Trivia) -> bool {
    !trivia.leading.is_empty() || trivia.trailing.is_some()
}

fn is_empty_collection(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::List(list) => list.elements.is_empty() && list.trailing.is_empty(),
        ExprKind::Map(body) => body.items.is_empty() && body.trailing.is_empty(),
        _ => false,
    }
}
