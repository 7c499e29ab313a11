//! The lexer turns source text into tokens with byte spans. It never fails: a character it cannot
//! read becomes an [`TokenKind::Error`] token plus a diagnostic, and lexing goes on, so the parser
//! sees the rest of the file. Token recognisers are small nom parsers over the remaining input.

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::span::{FileId, Span};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::sequence::{pair, tuple};
use nom::IResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Ident,
    /// A `"..."` string, quotes included; escapes and interpolations are read by the parser.
    Str,
    /// A `"""..."""` string, quotes included.
    TripleStr,
    Number,
    /// A number directly followed by a unit: `512M`, `10s`, `1m30s`, `500m`.
    Quantity,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Eq,
    Comma,
    Dot,
    Comment,
    /// Text the lexer could not read; a diagnostic was already reported for it.
    Error,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

fn ident(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
    ))(i)
}

fn number(i: &str) -> IResult<&str, &str> {
    recognize(tuple((
        opt(char('-')),
        digit1,
        opt(pair(char('.'), digit1)),
    )))(i)
}

/// A number followed by one or more unit groups (`1m30s`, `0.5G`, `500ms`).
fn quantity(i: &str) -> IResult<&str, &str> {
    recognize(tuple((
        number,
        take_while1(|c: char| c.is_ascii_alphabetic()),
        many0(pair(
            pair(digit1, opt(pair(char('.'), digit1))),
            take_while1(|c: char| c.is_ascii_alphabetic()),
        )),
    )))(i)
}

fn line_comment(i: &str) -> IResult<&str, &str> {
    recognize(pair(alt((tag("#"), tag("//"))), take_while(|c| c != '\n')))(i)
}

fn block_comment(i: &str) -> IResult<&str, &str> {
    recognize(tuple((tag("/*"), take_until("*/"), tag("*/"))))(i)
}

fn punct(i: &str) -> IResult<&str, char> {
    one_of("{}[]=,.")(i)
}

/// Length of a `"..."` string starting at `i`, or `Err(len)` when it is not closed on its line.
fn string_len(i: &str) -> Result<usize, usize> {
    let bytes = i.as_bytes();
    let mut pos = 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => pos += 2,
            b'"' => return Ok(pos + 1),
            b'\n' => return Err(pos),
            _ => pos += 1,
        }
    }
    Err(bytes.len().min(pos))
}

/// Lexes `text` (one file) into tokens, ending with an `Eof` token. Problems go to `sink`.
pub fn lex(file: FileId, text: &str, sink: &mut Sink) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len() / 4);
    let mut rest = text;
    let offset = |rest: &str| text.len() - rest.len();
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{feff}']);
        let start = offset(rest);
        if rest.is_empty() {
            tokens.push(Token {
                kind: TokenKind::Eof,
                span: Span::new(file, start, start),
            });
            return tokens;
        }
        let mut push = |kind, len: usize| {
            tokens.push(Token {
                kind,
                span: Span::new(file, start, start + len),
            });
            len
        };
        let first = rest.chars().next().unwrap_or(' ');
        let consumed = if let Some(inner) = rest.strip_prefix("\"\"\"") {
            match inner.find("\"\"\"") {
                Some(end) => push(TokenKind::TripleStr, end + 6),
                None => {
                    sink.push(
                        Diagnostic::new(
                            Code::UnterminatedString,
                            Span::new(file, start, start + 3),
                            "unterminated multi-line string",
                        )
                        .with_label("this string is never closed")
                        .with_help("close it with `\"\"\"`"),
                    );
                    push(TokenKind::Error, rest.len())
                }
            }
        } else if first == '"' {
            match string_len(rest) {
                Ok(len) => push(TokenKind::Str, len),
                Err(len) => {
                    sink.push(
                        Diagnostic::new(
                            Code::UnterminatedString,
                            Span::new(file, start, start + 1),
                            "unterminated string",
                        )
                        .with_label("this string is not closed on its line")
                        .with_help("add the closing `\"`; use `\"\"\"` for text that spans lines"),
                    );
                    push(TokenKind::Error, len)
                }
            }
        } else if let Ok((_, c)) = line_comment(rest) {
            push(TokenKind::Comment, c.len())
        } else if rest.starts_with("/*") {
            match block_comment(rest) {
                Ok((_, c)) => push(TokenKind::Comment, c.len()),
                Err(_) => {
                    sink.push(
                        Diagnostic::new(
                            Code::UnterminatedString,
                            Span::new(file, start, start + 2),
                            "unterminated block comment",
                        )
                        .with_label("this comment is never closed")
                        .with_help("close it with `*/`"),
                    );
                    push(TokenKind::Comment, rest.len())
                }
            }
        } else if let Ok((_, q)) = quantity(rest) {
            push(TokenKind::Quantity, q.len())
        } else if let Ok((after, n)) = number(rest) {
            // A number glued to something that is neither a unit nor punctuation (`3_000`, `1.2.3`).
            let junk = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .map(char::len_utf8)
                .sum::<usize>();
            if junk > 0 {
                let len = n.len() + junk;
                sink.push(
                    Diagnostic::new(
                        Code::InvalidNumber,
                        Span::new(file, start, start + len),
                        format!("invalid number `{}`", &rest[..len]),
                    )
                    .with_label("not a number or a quantity"),
                );
                push(TokenKind::Error, len)
            } else {
                push(TokenKind::Number, n.len())
            }
        } else if let Ok((_, id)) = ident(rest) {
            push(TokenKind::Ident, id.len())
        } else if let Ok((_, c)) = punct(rest) {
            let kind = match c {
                '{' => TokenKind::LBrace,
                '}' => TokenKind::RBrace,
                '[' => TokenKind::LBracket,
                ']' => TokenKind::RBracket,
                '=' => TokenKind::Eq,
                ',' => TokenKind::Comma,
                _ => TokenKind::Dot,
            };
            push(kind, 1)
        } else {
            let bad: usize = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !"{}[]=,.\"#".contains(*c))
                .map(char::len_utf8)
                .sum::<usize>()
                .max(first.len_utf8());
            let shown = if first.is_control() || first.is_whitespace() {
                first.escape_default().to_string()
            } else {
                first.to_string()
            };
            let mut d = Diagnostic::new(
                Code::UnexpectedChar,
                Span::new(file, start, start + bad),
                format!("unexpected character `{shown}`"),
            )
            .with_label("berth cannot read this");
            if matches!(first, '“' | '”' | '„' | '‘' | '’' | '«' | '»') {
                d = d.with_help(
                    "typographic quotes are not string quotes: use straight double quotes \"...\"",
                );
            } else if first == ':' {
                d = d.with_help("attributes are written `name = value`");
            } else if first == ';' {
                d = d.with_help("berth needs no `;`: separate attributes with new lines or `,`");
            } else if first == '\'' {
                d = d.with_help("strings use double quotes: \"...\"");
            } else if first.is_alphabetic() {
                d = d.with_help(
                    "names use ASCII letters, digits, `_` and `-`; other text goes in a string",
                );
            }
            sink.push(d);
            push(TokenKind::Error, bad)
        };
        rest = &rest[consumed..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut sink = Sink::new();
        lex(FileId(0), text, &mut sink)
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn keywords_need_a_boundary_and_quantities_glue() {
        use TokenKind::*;
        assert_eq!(kinds("trueFlag = 512M"), vec![Ident, Eq, Quantity, Eof]);
        assert_eq!(
            kinds("t = 1m30s # c"),
            vec![Ident, Eq, Quantity, Comment, Eof]
        );
        assert_eq!(
            kinds("a.b-c [1, 0.5]"),
            vec![Ident, Dot, Ident, LBracket, Number, Comma, Number, RBracket, Eof]
        );
        assert_eq!(
            kinds("\"x\\\"y\" \"\"\"m\nl\"\"\""),
            vec![Str, TripleStr, Eof]
        );
    }

    #[test]
    fn bad_input_becomes_error_tokens_and_diagnostics() {
        let mut sink = Sink::new();
        let tokens = lex(FileId(0), "a = 'x' ; \"open", &mut sink);
        assert!(tokens.iter().any(|t| t.kind == TokenKind::Error));
        assert_eq!(sink.len(), 3);
    }
}
