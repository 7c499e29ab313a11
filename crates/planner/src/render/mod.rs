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

/// How to render. The caller decides colour (the CLI from the terminal and `NO_COLOR`), and
/// says what the plan was made against and why it deletes, which the plan alone does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    pub color: bool,
    /// What the configuration was compared with, as the "no changes" sentence says.
    pub against: Against,
    /// The plan is a `berth destroy`'s: its deletes were asked for, not left by the
    /// configuration.
    pub destroy: bool,
    /// The plan restores the recorded state (`berth drift`): what it deletes is missing from
    /// the recorded state, not from the configuration.
    pub restore: bool,
}

/// What a plan was made against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Against {
    /// The live cluster, read now.
    #[default]
    Cluster,
    /// The recorded state alone (`--refresh=false`): the cluster was not read.
    RecordedState,
}
