//! Where state and locks live. Two backends implement the same operations, and
//! [`crate::state::Store`] dispatches to the one a run chose:
//!
//! - [`cluster`], the default: Swarm configs on the cluster being deployed to, replicated by its
//!   Raft log, so every machine that deploys (CI runners, laptops) shares one history and one
//!   lock per project environment, with nothing else to run.
//! - [`local`]: a directory (`--state-dir`, `BERTH_STATE_DIR`), for one machine and for tests.
//!
//! The cluster backend speaks to the engine asynchronously, while the store's interface is
//! synchronous (the executor checkpoints from inside its own runtime, and the commands that only
//! read state have none). So the cluster backend runs its calls on one runtime of its own, a
//! process-wide background thread that is never dropped ([`block`]), and the caller waits on a
//! channel: this works from synchronous code and from inside another runtime alike, and the
//! lease renewals of held locks run there even while the caller's runtime is busy.

pub mod cluster;
pub mod lease;
pub mod local;

use crate::error::ApplyError;
use std::future::Future;
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("berth-state")
            .enable_all()
            .build()
            .expect("a tokio runtime for the state backend")
    })
}

/// Runs `future` on the backend's runtime and waits for its answer.
pub(crate) fn block<T, F>(future: F) -> Result<T, ApplyError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ApplyError>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().unwrap_or_else(|_| {
        Err(ApplyError::internal(
            "the state backend",
            "a call of the cluster backend panicked",
        ))
    })
}

/// Starts `future` on the backend's runtime without waiting (a lease's renewals).
pub(crate) fn spawn<F>(future: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime().spawn(future)
}
