//! A recursive-descent parser over the lexer's tokens. It never fails: each syntax error is
//! reported to the sink, the parser resynchronises at the next item (an identifier at the start of
//! a line, or the `}` that closes the current body) and goes on, so one run reports every
//! independent error. Nesting is bounded, so no input can exhaust the stack.

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::lexer::{lex, Token, TokenKind};
use crate::span::{FileId, Span};
use crate::syntax::*;

mod value;

use value::unescape_simple;

/// Blocks, lists and maps may nest this deep; deeper input is an error.
pub const MAX_DEPTH: usize = 64;

/// Parses one file. Problems go to `sink`; the returned tree holds whatever could be read.
pub fn parse(file: FileId, text: &str, sink: &mut Sink) -> File {
    if let Some(span) = pasted_compose(file, text) {
        // One diagnostic for the whole file instead of one per `:` and `-` the lexer meets.
        sink.push(
            Diagnostic::new(
                Code::PastedCompose,
                span,
                "this file is a compose file, not berth",
            )
            .with_label("a compose file's top-level key, written in YAML")
            .with_help("translate it with `berth import compose FILE --out DIR`")
            .with_note(
                "berth reads compose files only through `berth import compose` (docs/IMPORT.md)",
            ),
        );
        return File {
            id: file,
            body: Body {
                items: Vec::new(),
                trailing: Vec::new(),
                span: Span::new(file, 0, text.len()),
            },
        };
    }
    let tokens = lex(file, text, sink);
    // An unterminated `"""` string or `/*` comment runs to the end of the file; the blocks it
    // swallowed are then not reported as unclosed, since the lexer already reported the cause.
    let swallowed = tokens.len() >= 2 && {
        let last = tokens[tokens.len() - 2];
        let raw = &text[last.span.range()];
        last.span.end as usize == text.len()
            && ((last.kind == TokenKind::Error && raw.starts_with("\"\"\""))
                || (last.kind == TokenKind::Comment
                    && raw.starts_with("/*")
                    && (raw.len() < 4 || !raw.ends_with("*/"))))
    };
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        sink,
        depth: 0,
        pending: Vec::new(),
        file,
        swallowed,
    };
    let body = p.body(None);
    File { id: file, body }
}

struct Parser<'a, 's> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    sink: &'s mut Sink,
    depth: usize,
    /// Comments read but not yet attached to a node.
    pending: Vec<Comment>,
    file: FileId,
    /// The end of the file was reached inside something already reported (an unterminated string
    /// or comment, or a group nested too deep to read): enclosing groups are then not also
    /// reported as unclosed.
    swallowed: bool,
}

impl<'a> Parser<'a, '_> {
    /// The next significant token; comments on the way are moved to `pending`.
    fn peek(&mut self) -> Token {
        while self.tokens[self.pos].kind == TokenKind::Comment {
            let tok = self.tokens[self.pos];
            let blank_before = self.blank_line_before(tok.span.start as usize);
            self.pending.push(Comment {
                span: tok.span,
                text: self.text[tok.span.range()].to_string(),
                blank_before,
            });
            self.pos += 1;
        }
        self.tokens[self.pos]
    }

    fn bump(&mut self) -> Token {
        let tok = self.peek();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn text_of(&self, tok: Token) -> &'a str {
        &self.text[tok.span.range()]
    }

    /// Whether an empty line precedes `offset` (only whitespace and at least two newlines).
    fn blank_line_before(&self, offset: usize) -> bool {
        let before = &self.text[..offset];
        let ws = before.len() - before.trim_end_matches([' ', '\t', '\r', '\n']).len();
        before[before.len() - ws..].matches('\n').count() >= 2
    }

    /// Whether a line break separates `offset` from the previous non-space character.
    fn starts_line(&self, offset: usize) -> bool {
        let before = self.text[..offset].trim_end_matches([' ', '\t', '\r']);
        before.is_empty() || before.ends_with('\n')
    }

    fn leading_trivia(&mut self, start: usize) -> Trivia {
        let mut leading = std::mem::take(&mut self.pending);
        let blank_before = leading
            .first()
            .map_or_else(|| self.blank_line_before(start), |c| c.blank_before);
        if let Some(first) = leading.first_mut() {
            first.blank_before = false;
        }
        Trivia {
            leading,
            blank_before,
            trailing: None,
        }
    }

    /// The end of the last significant token read; comments a look-ahead skipped do not count.
    fn prev_end(&self) -> u32 {
        let mut i = self.pos;
        while i > 0 && self.tokens[i - 1].kind == TokenKind::Comment {
            i -= 1;
        }
        i.checked_sub(1).map_or(0, |i| self.tokens[i].span.end)
    }

    /// A comment on the same line right after `end` becomes the node's trailing comment.
    fn trailing_comment(&mut self, end: u32) -> Option<Comment> {
        // A look-ahead (for a `.` after a reference, or a `,` after a list element) may already
        // have moved the comment to `pending`.
        if let Some(i) = self.pending.iter().position(|c| c.span.start >= end) {
            if self.text[end as usize..self.pending[i].span.start as usize].contains('\n') {
                return None;
            }
            let mut comment = self.pending.remove(i);
            comment.blank_before = false;
            return Some(comment);
        }
        let tok = self.tokens[self.pos];
        if tok.kind == TokenKind::Comment
            && !self.text[end as usize..tok.span.start as usize].contains('\n')
        {
            self.pos += 1;
            return Some(Comment {
                span: tok.span,
                text: self.text[tok.span.range()].to_string(),
                blank_before: false,
            });
        }
        None
    }

    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.sink.push(Diagnostic::new(code, span, message));
        self.sink_last()
    }

    fn sink_last(&mut self) -> &mut Diagnostic {
        // The sink only grows, so the diagnostic just pushed is the last one.
        self.sink.last_mut().expect("a diagnostic was just pushed")
    }

    /// Like [`Parser::describe`], but a token on a later line is "the end of the line".
    fn describe_next(&self, tok: Token) -> String {
        if tok.kind != TokenKind::Eof && self.starts_line(tok.span.start as usize) {
            "the end of the line".into()
        } else {
            self.describe(tok)
        }
    }

    fn describe(&self, tok: Token) -> String {
        match tok.kind {
            TokenKind::Eof => "end of file".into(),
            TokenKind::Error => "unreadable text".into(),
            _ => format!(
                "`{}`",
                self.text_of(tok).chars().take(40).collect::<String>()
            ),
        }
    }

    /// Items until `}` (when `open` is given) or the end of the file.
    fn body(&mut self, open: Option<Token>) -> Body {
        let start = open.map_or(0, |t| t.span.start as usize);
        let mut items = Vec::new();
        let end = loop {
            let tok = self.peek();
            match tok.kind {
                TokenKind::Eof => {
                    if let Some(open) = open.filter(|_| !self.swallowed) {
                        self.unclosed(open);
                    }
                    break tok.span.end;
                }
                TokenKind::RBrace if open.is_some() => {
                    self.bump();
                    break tok.span.end;
                }
                TokenKind::RBrace => {
                    self.bump();
                    self.stray_brace(tok);
                }
                TokenKind::Ident | TokenKind::Str => self.item(&mut items),
                TokenKind::Error => {
                    // The lexer already reported this text; skip to the next item quietly.
                    self.bump();
                    self.recover();
                }
                TokenKind::Comma => self.comma_after_item(items.last_mut()),
                _ => {
                    self.not_an_item(tok);
                    self.bump();
                    self.recover();
                }
            }
        };
        let trailing = std::mem::take(&mut self.pending);
        Body {
            items,
            trailing,
            span: Span::new(self.file, start, end as usize),
        }
    }

    // The error paths of the recursive functions (`body`, `item`, `expr`, `list`) are methods of
    // their own, never inlined, so that their temporaries do not grow every level of recursion:
    // 64 levels of nesting must fit in a small stack even in debug builds.

    #[inline(never)]
    fn unclosed(&mut self, open: Token) {
        let (what, close) = if open.kind == TokenKind::LBracket {
            ("[", "]")
        } else {
            ("{", "}")
        };
        self.error(Code::Unclosed, open.span, format!("unclosed `{what}`"))
            .label = format!("this `{what}` has no matching `{close}`");
    }

    #[inline(never)]
    fn stray_brace(&mut self, tok: Token) {
        self.error(Code::UnexpectedToken, tok.span, "unexpected `}`")
            .label = "no block is open here".into();
    }

    #[inline(never)]
    fn not_an_item(&mut self, tok: Token) {
        let what = self.describe(tok);
        self.error(
            Code::UnexpectedToken,
            tok.span,
            format!("expected an attribute or a block, found {what}"),
        )
        .label = "expected `name = value` or `kind name { ... }`".into();
    }

    /// Reads a `,` between items. In `a = 1, # note` the comment still belongs to `a`. (A method
    /// of its own so that its locals do not grow the frame of the recursive `body`.)
    fn comma_after_item(&mut self, last: Option<&mut Item>) {
        let comma = self.bump();
        if let Some(last) = last.filter(|item| item.trivia.trailing.is_none()) {
            last.trivia.trailing = self.trailing_comment(comma.span.end);
        }
    }

    /// Skips to the start of the next item: an identifier that begins a line, or the `}` that
    /// closes the current body, stepping over balanced groups.
    fn recover(&mut self) {
        let mut depth = 0usize;
        loop {
            let tok = self.peek();
            match tok.kind {
                TokenKind::Eof => return,
                TokenKind::LBrace | TokenKind::LBracket => depth += 1,
                TokenKind::RBrace if depth == 0 => return,
                // A stray `]` is skipped like any other token.
                TokenKind::RBracket if depth == 0 => {}
                TokenKind::RBrace | TokenKind::RBracket => depth -= 1,
                TokenKind::Ident | TokenKind::Str
                    if depth == 0 && self.starts_line(tok.span.start as usize) =>
                {
                    return
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn name(&mut self, tok: Token) -> Name {
        match tok.kind {
            TokenKind::Str => {
                let raw = self.text_of(tok);
                let text = unescape_simple(&raw[1..raw.len() - 1]);
                Name {
                    text,
                    span: tok.span,
                    quoted: true,
                }
            }
            _ => Name {
                text: self.text_of(tok).to_string(),
                span: tok.span,
                quoted: false,
            },
        }
    }

    /// One item, pushed to `items` unless it could not be read.
    fn item(&mut self, items: &mut Vec<Item>) {
        let key_tok = self.bump();
        let trivia = self.leading_trivia(key_tok.span.start as usize);
        let key = self.name(key_tok);
        let key_span = key.span;
        if let Some(kind) = self.item_kind(key) {
            self.finish_item(items, trivia, kind, key_span);
        }
    }

    /// What follows an item's key: `= value`, `{ ... }` or `label { ... }`.
    fn item_kind(&mut self, key: Name) -> Option<ItemKind> {
        let next = self.peek();
        match next.kind {
            TokenKind::Eq => Some(self.attribute(key)),
            TokenKind::LBrace => Some(self.block(key, None)),
            TokenKind::Ident | TokenKind::Str if !self.starts_line(next.span.start as usize) => {
                self.labeled_block(key)
            }
            TokenKind::Error => {
                // The lexer already reported this text (`image: ...`).
                self.recover();
                None
            }
            _ => {
                self.not_eq_or_brace(&key, next);
                self.recover();
                None
            }
        }
    }

    #[inline(never)]
    fn attribute(&mut self, key: Name) -> ItemKind {
        self.bump();
        let value = self.expr();
        if matches!(value.kind, ExprKind::Error) {
            // Whatever follows a value that could not be read belongs to it.
            self.recover();
        }
        ItemKind::Attribute(Attribute { key, value })
    }

    fn labeled_block(&mut self, key: Name) -> Option<ItemKind> {
        let label_tok = self.bump();
        let label = self.name(label_tok);
        let after = self.peek();
        if after.kind == TokenKind::LBrace {
            return Some(self.block(key, Some(label)));
        }
        if after.kind != TokenKind::Error {
            // (Unreadable text was reported by the lexer.)
            self.no_block_body(&key, &label, label_tok, after);
        }
        self.recover();
        None
    }

    fn block(&mut self, kind: Name, label: Option<Name>) -> ItemKind {
        let body = self.block_body();
        ItemKind::Block(Block { kind, label, body })
    }

    #[inline(never)]
    fn no_block_body(&mut self, key: &Name, label: &Name, label_tok: Token, after: Token) {
        if label_tok.kind == TokenKind::Str {
            // `image "berth/demo:1"`: an attribute without its `=`.
            let raw = self.text_of(label_tok);
            let d = self.error(
                Code::UnexpectedToken,
                label_tok.span,
                format!("expected `=` after `{}`, found {raw}", key.text),
            );
            d.label = "expected `=` before this value".into();
            d.help = Some(format!("attributes are written `{} = {raw}`", key.text));
        } else {
            let what = self.describe_next(after);
            let at = if self.starts_line(after.span.start as usize) || after.kind == TokenKind::Eof
            {
                label.span
            } else {
                after.span
            };
            let d = self.error(
                Code::UnexpectedToken,
                at,
                format!(
                    "expected `{{` after `{} {}`, found {what}",
                    key.text, label.text
                ),
            );
            d.label = "a block's body starts with `{`".into();
            d.help = Some(format!("write `{} {} {{ ... }}`", key.text, label.text));
        }
    }

    #[inline(never)]
    fn not_eq_or_brace(&mut self, key: &Name, next: Token) {
        let what = self.describe_next(next);
        let value_like = matches!(
            next.kind,
            TokenKind::Number | TokenKind::Quantity | TokenKind::TripleStr | TokenKind::LBracket
        ) && !self.starts_line(next.span.start as usize);
        let at = if self.starts_line(next.span.start as usize) || next.kind == TokenKind::Eof {
            key.span
        } else {
            next.span
        };
        let next_text = self.text_of(next);
        let d = self.error(
            Code::UnexpectedToken,
            at,
            format!("expected `=` or `{{` after `{}`, found {what}", key.text),
        );
        if at == key.span {
            d.label =
                "an attribute (`name = value`) or a block (`kind { ... }`) starts here".into();
        } else {
            d.label = "expected `=` or `{` here".into();
            d.secondary.push(crate::diagnostic::Label {
                span: key.span,
                message: "this starts an attribute or a block".into(),
            });
        }
        if value_like {
            d.help = Some(format!(
                "attributes are written `{} = {next_text}`",
                key.text
            ));
        }
    }

    /// The item's span and its trailing comment, once its last token is read.
    #[inline(never)]
    fn finish_item(
        &mut self,
        items: &mut Vec<Item>,
        mut trivia: Trivia,
        kind: ItemKind,
        key_span: Span,
    ) {
        let end = self.prev_end();
        let span = key_span.to(Span {
            file: self.file,
            start: end,
            end,
        });
        trivia.trailing = self.trailing_comment(end);
        items.push(Item { trivia, kind, span });
    }

    /// `{ items }`, at the `{`.
    fn block_body(&mut self) -> Body {
        let open = self.bump();
        if !self.enter(open) {
            return Body {
                items: Vec::new(),
                trailing: Vec::new(),
                span: open.span,
            };
        }
        let body = self.body(Some(open));
        self.depth -= 1;
        body
    }

    /// Counts one more level of nesting; when too deep, reports it, skips the whole group and
    /// returns false.
    fn enter(&mut self, open: Token) -> bool {
        self.depth += 1;
        if self.depth <= MAX_DEPTH {
            return true;
        }
        self.depth -= 1;
        self.error(
            Code::TooDeep,
            open.span,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        )
        .label = "the content of this group is skipped".into();
        let mut depth = 1usize;
        while depth > 0 {
            let tok = self.bump();
            match tok.kind {
                TokenKind::LBrace | TokenKind::LBracket => depth += 1,
                TokenKind::RBrace | TokenKind::RBracket => depth -= 1,
                TokenKind::Eof => {
                    self.swallowed = true;
                    break;
                }
                _ => {}
            }
        }
        self.pending.clear();
        false
    }
}

/// The top-level keys of the Compose Specification.
const COMPOSE_KEYS: [&str; 8] = [
    "version", "services", "name", "volumes", "networks", "secrets", "configs", "include",
];

/// Where `text` shows itself to be a pasted compose file: its first line that is not blank, a
/// comment or a YAML document marker is a compose top-level key (`services:`, `version: "3"`,
/// `x-common: &anchor`) at the start of the line, and the file has a top-level `services:` or
/// `include:` line followed by an indented one. No berth file looks like that: berth has no `:`.
fn pasted_compose(file: FileId, text: &str) -> Option<Span> {
    let mut offset = 0;
    let mut first = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let skip = trimmed.trim_start().is_empty()
            || trimmed.trim_start().starts_with('#')
            || trimmed == "---";
        if !skip {
            first = Some((offset, trimmed));
            break;
        }
        offset += line.len();
    }
    let (start, line) = first?;
    let key = line.split(':').next()?;
    let is_key = !key.is_empty()
        && line.len() > key.len()
        && (COMPOSE_KEYS.contains(&key) || (key.starts_with("x-") && !key.contains(' ')))
        && line[key.len() + 1..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t');
    if !is_key {
        return None;
    }
    // Blank and comment lines do not count; a key may be followed by a comment.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let services = lines.windows(2).any(|w| {
        let head = w[0].split(" #").next().unwrap_or("").trim_end();
        (head == "services:" || head == "include:") && w[1].starts_with([' ', '\t', '-'])
    });
    services.then(|| Span::new(file, start, start + key.len() + 1))
}
