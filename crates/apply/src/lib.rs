//! The only part of berth that talks to Docker or writes state. It reads the live cluster,
//! executes plans in dependency order, waits for convergence, and keeps the versioned, locked
//! state file of every project environment.
//!
//! **Architecture invariant:** no other crate performs Docker calls or writes state; this crate
//! never prints (progress is reported through [`progress::Progress`]).

pub mod backend;
pub mod connect;
pub mod endpoint;
pub mod error;
pub mod lock;
pub mod logs;
pub mod read;
pub mod rollback;
pub mod state;
pub mod status;
pub mod verify;

pub use connect::{connect, connect_engine, Cluster};
pub use endpoint::EngineEndpoint;
pub use error::ApplyError;
pub mod converge;
pub mod deploy;
pub mod engine;
pub mod execute;
pub mod job;
pub mod ops;
pub mod payload;
pub mod poller;
pub mod progress;
mod random;
pub mod raw;
pub mod schedule;
pub mod sources;
pub mod step;
