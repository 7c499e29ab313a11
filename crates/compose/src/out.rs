//! A small writer of berth text: blocks, attributes and literals, escaped so that any string a
//! compose file holds reads back as the same string. The importer writes through it and then
//! formats the result with `berth_lang::fmt`, so the layout here only has to be valid.

use crate::interp::{Part, Text};
use std::fmt::Write;

/// Berth source being written.
#[derive(Default)]
pub struct Out {
    text: String,
    depth: usize,
}

impl Out {
    pub fn finish(self) -> String {
        self.text
    }

    fn line(&mut self, s: &str) {
        for _ in 0..self.depth {
            self.text.push_str("  ");
        }
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// A `# ...` comment line per line of `text`.
    pub fn comment(&mut self, text: &str) {
        for l in text.lines() {
            self.line(&format!("# {l}"));
        }
    }

    pub fn open(&mut self, kind: &str, label: Option<&str>) {
        match label {
            Some(l) => self.line(&format!("{kind} {l} {{")),
            None => self.line(&format!("{kind} {{")),
        }
        self.depth += 1;
    }

    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.line("}");
    }

    /// Text already written as berth source (a block), indented to the current level.
    pub fn raw(&mut self, text: &str) {
        for l in text.lines() {
            self.line(l);
        }
    }

    /// `name = value`, the value already written as berth source.
    pub fn attr(&mut self, name: &str, value: &str) {
        let key = key(name);
        self.line(&format!("{key} = {value}"));
    }
}

/// A map key or attribute name: bare when it is an identifier, else quoted.
pub fn key(name: &str) -> String {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        name.to_string()
    } else {
        string(name)
    }
}

/// A berth string literal holding exactly `s`.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_into(&mut out, s);
    out.push('"');
    out
}

fn escape_into(out: &mut String, s: &str) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `${` would start an interpolation; a lone `$` is literal.
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, " ");
            }
            c => out.push(c),
        }
    }
}

/// A berth string literal of an interpolated text: literal parts escaped, variables as
/// `${var.name}` (the berth names of the compose variables).
pub fn text(t: &Text, name_of: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("\"");
    for part in &t.0 {
        match part {
            Part::Lit(s) => escape_into(&mut out, s),
            Part::Var(v) => {
                let _ = write!(out, "${{var.{}}}", name_of(v));
            }
        }
    }
    out.push('"');
    out
}

/// `["a", "b"]`.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// `[a, b]`: references.
pub fn refs<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<&str> = items.iter().map(|s| s.as_ref()).collect();
    format!("[{}]", inner.join(", "))
}
