//! Values: scalars, strings with interpolation, references, lists and maps. A second `impl` of
//! the parser, kept apart from items and blocks because the value grammar is most of the code.

use super::*;

impl Parser<'_, '_> {
    pub(super) fn expr(&mut self) -> Expr {
        let tok = self.peek();
        match tok.kind {
            TokenKind::LBracket => self.list(),
            TokenKind::LBrace => self.map(),
            _ => self.scalar(tok),
        }
    }

    pub(super) fn map(&mut self) -> Expr {
        let body = self.block_body();
        Expr {
            span: body.span,
            kind: ExprKind::Map(body),
        }
    }

    /// Any value but a list or a map (those nest, so they stay out of this frame).
    #[inline(never)]
    pub(super) fn scalar(&mut self, tok: Token) -> Expr {
        let span = tok.span;
        let kind = match tok.kind {
            TokenKind::Str | TokenKind::TripleStr => {
                self.bump();
                ExprKind::Str(self.string(tok))
            }
            TokenKind::Number => {
                self.bump();
                self.number(tok)
            }
            TokenKind::Quantity => {
                self.bump();
                ExprKind::Quantity(self.text_of(tok).to_string())
            }
            TokenKind::Ident => {
                let text = self.text_of(tok);
                if text == "true" || text == "false" {
                    self.bump();
                    ExprKind::Bool(text == "true")
                } else {
                    let r = self.reference();
                    return Expr {
                        span: r.span,
                        kind: ExprKind::Ref(r),
                    };
                }
            }
            TokenKind::Error => {
                self.bump();
                ExprKind::Error
            }
            _ => {
                self.not_a_value(tok);
                ExprKind::Error
            }
        };
        Expr { kind, span }
    }

    #[inline(never)]
    pub(super) fn number(&mut self, tok: Token) -> ExprKind {
        match self.text_of(tok).parse::<f64>() {
            Ok(n) if n.is_finite() => ExprKind::Number(n),
            _ => {
                self.error(Code::InvalidNumber, tok.span, "number out of range")
                    .label = "larger than any value berth accepts".into();
                ExprKind::Error
            }
        }
    }

    #[inline(never)]
    pub(super) fn not_a_value(&mut self, tok: Token) {
        let what = self.describe(tok);
        self.error(
            Code::UnexpectedToken,
            tok.span,
            format!("expected a value, found {what}"),
        )
        .label = "expected a string, number, list, map or reference".into();
        if !matches!(
            tok.kind,
            TokenKind::RBrace | TokenKind::RBracket | TokenKind::Eof
        ) && !self.starts_line(tok.span.start as usize)
        {
            self.bump();
        }
    }

    pub(super) fn reference(&mut self) -> Ref {
        let first = self.bump();
        let mut segments = vec![self.name(first)];
        while self.peek().kind == TokenKind::Dot {
            let dot = self.bump();
            let next = self.peek();
            let on_next_line = self.starts_line(next.span.start as usize);
            if next.kind == TokenKind::Ident && !on_next_line {
                self.bump();
                segments.push(self.name(next));
            } else if on_next_line || next.kind == TokenKind::Eof {
                let so_far = segments
                    .iter()
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                self.error(
                    Code::UnexpectedToken,
                    dot.span,
                    format!("the reference `{so_far}.` ends with `.`"),
                )
                .label = "expected a name after this `.`".into();
                break;
            } else {
                let what = self.describe(next);
                self.error(
                    Code::UnexpectedToken,
                    next.span,
                    format!("expected a name after `.`, found {what}"),
                )
                .secondary
                .push(crate::diagnostic::Label {
                    span: dot.span,
                    message: "this `.` must be followed by a name".into(),
                });
                break;
            }
        }
        let span = segments[0].span.to(segments[segments.len() - 1].span);
        Ref { segments, span }
    }

    pub(super) fn list(&mut self) -> Expr {
        let open = self.bump();
        if !self.enter(open) {
            return Expr {
                kind: ExprKind::Error,
                span: open.span,
            };
        }
        let mut elements = Vec::new();
        // Whether a missing `,` was reported: a list that went wrong reports it once.
        let mut reported = false;
        let end;
        loop {
            let tok = self.peek();
            match tok.kind {
                TokenKind::RBracket => {
                    self.bump();
                    end = tok.span;
                    break;
                }
                TokenKind::Eof if self.swallowed => {
                    end = open.span;
                    break;
                }
                TokenKind::Eof | TokenKind::RBrace => {
                    self.unclosed(open);
                    end = open.span;
                    break;
                }
                // The next item of the enclosing body: the list was never closed.
                _ if self.starts_item(tok) => {
                    self.unclosed(open);
                    end = open.span;
                    break;
                }
                TokenKind::Comma => {
                    self.bump();
                    self.empty_element(tok);
                }
                // In a list already reported as broken, what cannot start a value is skipped.
                TokenKind::Eq | TokenKind::Dot if reported => {
                    self.bump();
                }
                _ => {
                    let element = self.list_element(tok, &mut reported);
                    elements.push(element);
                }
            }
        }
        self.depth -= 1;
        let trailing = std::mem::take(&mut self.pending);
        Expr {
            kind: ExprKind::List(List { elements, trailing }),
            span: open.span.to(end),
        }
    }

    /// One element of a list and the `,` after it.
    pub(super) fn list_element(&mut self, tok: Token, reported: &mut bool) -> ListElement {
        let trivia = self.leading_trivia(tok.span.start as usize);
        let before = self.pos;
        let value = self.expr();
        self.after_element(&value, before, reported);
        let mut trivia = trivia;
        trivia.trailing = self.trailing_comment(self.prev_end());
        ListElement { trivia, value }
    }

    #[inline(never)]
    pub(super) fn after_element(&mut self, value: &Expr, before: usize, reported: &mut bool) {
        let next = self.peek();
        match next.kind {
            TokenKind::Comma => {
                self.bump();
            }
            // An unclosed list: reported once, at its `[`, by the next turn of the loop.
            TokenKind::RBracket | TokenKind::RBrace | TokenKind::Eof => {}
            _ if self.starts_item(next) => {}
            _ if matches!(value.kind, ExprKind::Error) && self.pos == before => {
                self.bump();
            }
            // Unreadable text was reported by the lexer.
            TokenKind::Error => {}
            _ if *reported => {}
            _ => {
                *reported = true;
                let what = self.describe(next);
                self.error(
                    Code::UnexpectedToken,
                    next.span,
                    format!("expected `,` or `]`, found {what}"),
                )
                .label = "list elements are separated by `,`".into();
            }
        }
    }

    /// Whether `tok` (the current token) begins an item of a body: a name at the start of a line
    /// followed by `=`, `{` or a label and `{`. Inside a list, that means the list was not closed.
    pub(super) fn starts_item(&self, tok: Token) -> bool {
        if !matches!(tok.kind, TokenKind::Ident | TokenKind::Str)
            || !self.starts_line(tok.span.start as usize)
        {
            return false;
        }
        let next = |i: usize| {
            (i..self.tokens.len())
                .find(|&j| self.tokens[j].kind != TokenKind::Comment)
                .unwrap_or(self.tokens.len() - 1)
        };
        let after = next(self.pos + 1);
        match self.tokens[after].kind {
            TokenKind::Eq | TokenKind::LBrace => true,
            TokenKind::Ident | TokenKind::Str => {
                self.tokens[next(after + 1)].kind == TokenKind::LBrace
            }
            _ => false,
        }
    }

    #[inline(never)]
    pub(super) fn empty_element(&mut self, comma: Token) {
        self.error(Code::UnexpectedToken, comma.span, "unexpected `,`")
            .label = "expected a value before this `,`".into();
    }

    /// Reads escapes and `${...}` interpolations of a string token.
    pub(super) fn string(&mut self, tok: Token) -> StrLit {
        let raw = self.text_of(tok);
        let triple = tok.kind == TokenKind::TripleStr;
        let q = if triple { 3 } else { 1 };
        let base = tok.span.start as usize + q;
        let content = &raw[q..raw.len() - q];
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = content.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => lit.push('\n'),
                    Some((_, 't')) => lit.push('\t'),
                    Some((_, 'r')) => lit.push('\r'),
                    Some((_, '"')) => lit.push('"'),
                    Some((_, '\\')) => lit.push('\\'),
                    Some((_, '$')) => lit.push('$'),
                    other => {
                        let len = 1 + other.map_or(0, |(_, c)| c.len_utf8());
                        let text = &content[i..i + len];
                        let d = self.error(
                            Code::InvalidEscape,
                            Span::new(self.file, base + i, base + i + len),
                            format!("invalid escape `{text}`"),
                        );
                        d.label = "not an escape".into();
                        d.help = Some("write `\\\\` for a backslash".into());
                    }
                },
                '$' if content[i..].starts_with("$${") => {
                    chars.next();
                    chars.next();
                    lit.push_str("${");
                }
                '$' if content[i..].starts_with("${") => {
                    chars.next();
                    let Some(close) = content[i..].find('}') else {
                        self.error(
                            Code::BadInterpolation,
                            Span::new(self.file, base + i, base + i + 2),
                            "unclosed interpolation",
                        )
                        .label = "this `${` has no matching `}`".into();
                        break;
                    };
                    let inner = &content[i + 2..i + close];
                    let inner_start = base + i + 2;
                    match parse_ref_text(self.file, inner, inner_start) {
                        Some(r) => {
                            if !lit.is_empty() {
                                parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                            }
                            parts.push(StrPart::Interp(r));
                        }
                        None => {
                            let span = Span::new(self.file, base + i, base + i + close + 1);
                            let d = if inner.trim().is_empty() {
                                self.error(Code::BadInterpolation, span, "empty interpolation")
                            } else {
                                self.error(
                                    Code::BadInterpolation,
                                    span,
                                    format!("`{}` is not a reference", inner.trim()),
                                )
                            };
                            d.label =
                                "expected a reference such as `var.pr` inside `${...}`".into();
                            d.help = Some("interpolations hold a reference, not an expression; write `$${` for a literal `${`".into());
                        }
                    }
                    while chars.peek().is_some_and(|(j, _)| *j <= i + close) {
                        chars.next();
                    }
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() || parts.is_empty() {
            parts.push(StrPart::Lit(lit));
        }
        if triple {
            dedent(&mut parts);
        }
        StrLit { parts, triple }
    }
}

/// Parses `a.b.c` (with surrounding spaces) at `start` into a reference, or `None`.
fn parse_ref_text(file: FileId, text: &str, start: usize) -> Option<Ref> {
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut segments = Vec::new();
    let mut offset = start + lead;
    for seg in trimmed.split('.') {
        let ok = seg
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return None;
        }
        segments.push(Name {
            text: seg.to_string(),
            span: Span::new(file, offset, offset + seg.len()),
            quoted: false,
        });
        offset += seg.len() + 1;
    }
    let span = Span::new(file, start + lead, start + lead + trimmed.len());
    Some(Ref { segments, span })
}

/// Reads the escapes of a quoted key; keys cannot interpolate.
pub(super) fn unescape_simple(s: &str) -> String {
    s.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Multi-line strings drop the line break after the opening quotes, the indentation common to
/// all non-empty lines, and a last line holding only the closing quotes' indentation.
fn dedent(parts: &mut [StrPart]) {
    let mut whole = String::new();
    for part in parts.iter() {
        if let StrPart::Lit(text) = part {
            whole.push_str(text);
        } else {
            whole.push('\u{0}');
        }
    }
    let body = whole.strip_prefix('\n').unwrap_or(&whole);
    let body = match body.rfind('\n') {
        Some(i) if body[i + 1..].trim().is_empty() => &body[..i + 1],
        _ => body,
    };
    let indent = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let dedented: String = body
        .split_inclusive('\n')
        .map(|l| {
            if l.get(..indent).is_some_and(|p| p.trim().is_empty()) {
                &l[indent..]
            } else {
                l.trim_start_matches([' ', '\t'])
            }
        })
        .collect();
    let pieces: Vec<&str> = dedented.split('\u{0}').collect();
    let mut k = 0;
    for part in parts.iter_mut() {
        match part {
            StrPart::Lit(text) => *text = pieces.get(k).copied().unwrap_or_default().to_string(),
            StrPart::Interp(_) => k += 1,
        }
    }
}
