//! What berth's end-to-end tests (`tests/e2e`) and benchmarks (`berth-bench`) share for TLS:
//! certificates made with the openssl CLI ([`certs`]), an HTTPS client that trusts only the roots
//! it is given and checks the name ([`client`]), and pebble, Let's Encrypt's test CA, as a child
//! process ([`pebble`]). Errors are strings: a test turns them into a panic with context, a
//! benchmark into its report.
//!
//! Network rule (the tests' and the benchmarks'): the client connects to 127.0.0.1 only; pebble
//! listens on loopback and on the gateway address of `docker_gwbridge`, an address of this
//! machine that the proxy's task has on-link.

pub mod certs;
pub mod client;
pub mod pebble;

/// The TLS library of the client's types (`RootCertStore`).
pub use rustls;
