//! Renderers over the one plan model: for people on a terminal ([`human`], Terraform's
//! conventions), for pull requests ([`markdown`]) and for machines ([`json`], versioned, with a
//! JSON Schema in `schema/plan.schema.json`). Renderers never decide anything; they only show
//! what the plan says.

mod human;
mod json;
mod markdown;
mod view;

pub use human::human;
pub use json::{json, json_value, FORMAT_VERSION};
pub use markdown::markdown;

/// How to render. The caller decides colour (the CLI from the terminal and `NO_COLOR`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    pub color: bool,
}
