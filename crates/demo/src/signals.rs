//! SIGTERM and SIGINT handling, which a container's PID 1 must do itself.
//!
//! Swarm stops a task by sending SIGTERM and, after the grace period, SIGKILL. In a `FROM
//! scratch` image this binary is PID 1 of its PID namespace, and the kernel does not deliver a
//! signal to such a process unless the process handles it (SIGKILL sent from outside the container
//! excepted): without a handler, each `docker service update` or `docker stop` would wait out the
//! whole grace period.
//!
//! std offers no signal API and this crate takes no dependencies, so it declares the two C library
//! functions it needs from the libc that std already links, `signal` and `write`, and uses the
//! classic self-pipe: the handler only writes one byte to a pipe, which is async-signal-safe, and
//! a normal thread blocks reading the pipe.

use std::io::{self, PipeReader, PipeWriter, Read};
use std::os::fd::AsRawFd;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

/// `SIG_ERR` from `<signal.h>`: the handler value `(void (*)(int)) -1`.
const SIG_ERR: usize = usize::MAX;

unsafe extern "C" {
    /// glibc's `signal`, with BSD semantics: the handler stays installed and most interrupted
    /// system calls restart. Reads from sockets with a timeout fail with `EINTR` all the same
    /// (see signal(7)), which is why every read loop in this crate retries on `Interrupted`.
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;

    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
}

/// The write end of the self-pipe, used by the handler, or -1 before installation.
static PIPE_FD: AtomicI32 = AtomicI32::new(-1);

/// Set by the first stop signal. Only that signal writes to the pipe, so the pipe can never fill
/// up and the handler can never block in `write`, however many signals arrive.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Keeps the write end of the pipe open for the life of the process.
static PIPE_WRITER: OnceLock<PipeWriter> = OnceLock::new();

extern "C" fn on_signal(signum: c_int) {
    let fd = PIPE_FD.load(Ordering::SeqCst);
    if fd >= 0 && !SIGNALLED.swap(true, Ordering::SeqCst) {
        let byte = signum as u8;
        // SAFETY: `write` is async-signal-safe, `fd` stays open because `PIPE_WRITER` is never
        // dropped, and the pointer refers to one live byte on this stack frame. Only one byte is
        // ever written to the empty pipe, so the write cannot block or come out short.
        unsafe {
            write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// A stop signal received by the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Terminate,
    Interrupt,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Terminate => "SIGTERM",
            Stop::Interrupt => "SIGINT",
        })
    }
}

/// The receiving end of the stop signals, returned by [`install`].
pub struct StopSignals {
    reader: PipeReader,
}

impl StopSignals {
    /// Blocks until SIGTERM or SIGINT arrives.
    pub fn wait(mut self) -> Stop {
        let mut byte = [0u8; 1];
        loop {
            match self.reader.read(&mut byte) {
                Ok(1) if c_int::from(byte[0]) == SIGINT => return Stop::Interrupt,
                Ok(1) => return Stop::Terminate,
                // The write end never closes, so any other outcome is an interrupted read.
                _ => continue,
            }
        }
    }
}

/// Installs the handlers for SIGTERM and SIGINT. Call it once, before any thread depends on it.
pub fn install() -> io::Result<StopSignals> {
    let (reader, writer) = io::pipe()?;
    PIPE_FD.store(writer.as_raw_fd(), Ordering::SeqCst);
    if PIPE_WRITER.set(writer).is_err() {
        return Err(io::Error::other("signal handlers are already installed"));
    }
    for signum in [SIGTERM, SIGINT] {
        // SAFETY: `on_signal` has the `void (*)(int)` signature that `signal` expects and only
        // performs async-signal-safe operations: lock-free atomics and `write`.
        if unsafe { signal(signum, on_signal) } == SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(StopSignals { reader })
}
