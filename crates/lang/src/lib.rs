//! The berth language: everything between the text a user writes and a checked model of their
//! projects. Reading goes lexer → parser (syntax tree with comments and spans) → checker (typed
//! model plus diagnostics). The crate does no IO beyond being handed source text and knows
//! nothing of Docker; the Swarm naming scheme it checks lengths against lives in [`naming`].

pub mod access;
pub mod codes;
pub mod diagnostic;
pub mod lexer;
pub mod parser;
pub mod span;
pub mod suggest;
pub mod syntax;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Label, Severity, Sink};
pub use span::{FileId, SourceFile, SourceMap, Span};
pub mod check;
pub mod fmt;
pub mod model;
pub mod naming;
pub mod units;

pub use check::{analyze, Analysis, Input, Options, VarInput};
pub mod render;
