//! The syntax tree. It keeps every comment and the blank lines between items so that `berth fmt`
//! can print a file back without losing anything, and every node keeps its span for diagnostics.
//! The tree knows nothing about which blocks or attributes exist: that is the checker's business.

use crate::span::{FileId, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub span: Span,
    /// The comment as written, markers included (`# ...`, `// ...`, `/* ... */`).
    pub text: String,
    /// An empty line separates this comment from what came before it.
    pub blank_before: bool,
}

/// Comments and spacing around an item or a list element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trivia {
    pub leading: Vec<Comment>,
    pub blank_before: bool,
    /// A comment that followed the node on its last line.
    pub trailing: Option<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub id: FileId,
    pub body: Body,
}

/// The inside of a block, a map literal, or a whole file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    pub items: Vec<Item>,
    /// Comments after the last item.
    pub trailing: Vec<Comment>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub trivia: Trivia,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Attribute(Attribute),
    Block(Block),
}

/// A name as written: an identifier, or a quoted string for keys such as `"com.example.team"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub key: Name,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: Name,
    pub label: Option<Name>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Str(StrLit),
    /// A number as written; the checker decides whether it is whole.
    Number(f64),
    /// A number with a unit, as written (`512M`, `1m30s`); its meaning depends on the attribute.
    Quantity(String),
    Bool(bool),
    List(List),
    Map(Body),
    Ref(Ref),
    /// Something that did not parse; a diagnostic was reported.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub parts: Vec<StrPart>,
    /// `"""` multi-line string.
    pub triple: bool,
}

impl StrLit {
    /// The string's text when it has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Lit(text) => out.push_str(text),
                StrPart::Interp(_) => return None,
            }
        }
        Some(out)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    Lit(String),
    Interp(Ref),
}

/// A dotted reference: `db.host`, `var.pr`, `secret.db_password`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub segments: Vec<Name>,
    pub span: Span,
}

impl Ref {
    pub fn dotted(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub elements: Vec<ListElement>,
    pub trailing: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListElement {
    pub trivia: Trivia,
    pub value: Expr,
}

impl Body {
    pub fn blocks(&self) -> impl Iterator<Item = (&Item, &Block)> {
        self.items.iter().filter_map(|i| match &i.kind {
            ItemKind::Block(b) => Some((i, b)),
            ItemKind::Attribute(_) => None,
        })
    }

    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|i| match &i.kind {
            ItemKind::Attribute(a) => Some(a),
            ItemKind::Block(_) => None,
        })
    }
}
