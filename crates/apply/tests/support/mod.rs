//! Test support shared by the executor tests.
pub mod fake;
