//! The planner: the pure heart of berth. It compiles the checked model into Swarm resources,
//! admits them against quotas and capacity, diffs them against what is observed, and renders the
//! plan for people and machines.
//!
//! ```text
//! Config ──compile──▶ Desired ─┐
//!                              ├─plan──▶ Plan ──render::{human, markdown, json}
//! Docker's JSON ──Observed──────┘        └──▶ PlanFile (saved, checked for staleness by apply)
//! ```
//!
//! **Architecture invariant:** the planner is pure. It does no IO (no network, no files, no
//! clock, no environment variables); the same inputs always give the same plan, byte for byte.

pub mod admission;
pub mod boundary;
pub mod compile;
pub mod diff;
pub mod docker;
pub mod edge;
pub mod error;
pub mod graph;
pub mod normalize;
pub mod observed;
pub mod plan;
pub mod planfile;
pub mod render;
pub mod resource;
pub mod swarm;
pub mod units;

pub use admission::{Allocation, AllocationItem};
pub use compile::{
    compile, compile_config, compile_deployments, compile_in_scope, compile_platform,
    digests_needed, platform_sources, Desired, Digests, PlatformSource,
};
pub use diff::{plan, Coverage, PlanOptions, ProxyPresence, Scope};
pub use edge::{rewrite_slot, EdgeSlots};
pub use error::{Measure, PlanError, PlanErrors};
pub use graph::{dot, DepGraph};
pub use observed::{DockerSnapshot, Observed, ObservedError, ObservedResource};
pub use plan::{Action, Change, Plan, Reason, Summary};
pub use planfile::{Origin, PlanFile, Stale};
pub use render::RenderOptions;
pub use resource::{Address, DeploymentId, Kind, Resource, Spec};
