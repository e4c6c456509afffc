//! Process-wide duties of a node from config.ini: the `[PidLock]` file that
//! keeps two nodes off one directory, and `lock_memory` (mlockall) that keeps
//! the data out of swap.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

/// Why a process duty failed; each message is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The pid lock file cannot be opened or written.
    #[error("cannot use pid lock file {path}: {source}")]
    PidFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Another process holds the lock.
    #[error("pid lock file {0} is locked by another process: is a node already running here?")]
    Locked(String),
    /// mlockall failed (usually LimitMEMLOCK).
    #[error("cannot lock memory (lock_memory = true; raise LimitMEMLOCK or set it false): {0}")]
    LockMemory(nix::Error),
}

/// A held pid lock; released when dropped (and by the kernel on exit).
pub struct PidLock {
    _file: Flock<File>,
}

impl PidLock {
    /// Locks `path` (created if missing) and writes this process's pid to it.
    pub fn acquire(path: &Path) -> Result<PidLock, ProcessError> {
        let shown = path.display().to_string();
        let io = |source| ProcessError::PidFile { path: shown.clone(), source };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io)?;
        let mut file = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| ProcessError::Locked(shown.clone()))?;
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(PidLock { _file: file })
    }
}

/// Registers handlers for SIGINT and SIGTERM and returns a future that
/// resolves with the name of the first one received. Registering before the
/// node reports ready means an early SIGTERM still stops it cleanly instead
/// of killing it.
pub fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

/// Installs the signal handling of a daemon in the running actor system:
/// SIGHUP reopens the log files, SIGINT/SIGTERM stop the system with
/// `exit_code`. Call it before reporting ready: the handlers are registered
/// when this returns, so no early signal takes its default action.
pub fn handle_signals(log: crate::logging::ReopenHandle, exit_code: i32) -> std::io::Result<()> {
    actix_rt::spawn(crate::logging::reopen_on_sighup(log)?);
    let stop = stop_signal()?;
    actix_rt::spawn(async move {
        let name = stop.await;
        tracing::info!(target: "shoal.process", "{name} received. Shutting down.");
        actix::System::current().stop_with_code(exit_code);
    });
    Ok(())
}

/// Locks all current and future memory of the process in RAM.
pub fn lock_memory() -> Result<(), ProcessError> {
    use nix::sys::mman::{mlockall, MlockAllFlags};
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE).map_err(ProcessError::LockMemory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused() {
        let dir = tempfile::tempdir().expect("scratch dir");
        let path = dir.path().join("pid.lock");
        let first = PidLock::acquire(&path).expect("first lock");
        let pid = std::fs::read_to_string(&path).expect("pid written");
        assert_eq!(pid.trim(), std::process::id().to_string());
        assert!(matches!(PidLock::acquire(&path), Err(ProcessError::Locked(_))));
        drop(first);
        PidLock::acquire(&path).expect("lock is free again");
    }
}
