//! Process-wide duties of a node: the command line every node shares, the
//! worker arbiters, the exit status, and from config.ini the `[PidLock]`
//! file that keeps two nodes off one directory, `lock_memory` (mlockall)
//! that keeps the data out of swap, and `cpu` pinning.

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
    /// sched_setaffinity failed (no such CPU).
    #[error("cannot run on CPU {cpu} ([Server] cpu): {source}")]
    PinCpu {
        /// The CPU asked for.
        cpu: usize,
        /// Why.
        source: nix::Error,
    },
}

/// The config options every node's command line has, as the original's
/// (`-c`, `-O`, `--loose-config-parsing`); flatten it into a program's
/// arguments.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The config.ini.
    #[arg(short = 'c', long = "config")]
    pub config: Option<std::path::PathBuf>,
    /// Override a config value: `-O Section.key=value` (repeatable).
    #[arg(short = 'O', long = "override-config")]
    pub overrides: Vec<String>,
    /// Warn about unknown config keys instead of refusing to start.
    #[arg(long = "loose-config-parsing")]
    pub loose_config_parsing: bool,
}

/// The exit status of a node's run: success, or the error on stderr (one
/// line) and in root.log, and failure.
pub fn exit_status(program: &str, result: Result<(), impl std::fmt::Display>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error:#}");
            tracing::error!(target: "shoal.main", "{program}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One worker arbiter per core, where connections run; stop them with
/// [`stop_workers`].
pub fn start_workers() -> (Vec<actix::Arbiter>, Vec<actix::ArbiterHandle>) {
    let workers: Vec<actix::Arbiter> =
        (0..std::thread::available_parallelism().map_or(2, |n| n.get())).map(|_| actix::Arbiter::new()).collect();
    let handles = workers.iter().map(actix::Arbiter::handle).collect();
    (workers, handles)
}

/// Stops the worker arbiters and waits until their connections are gone.
pub fn stop_workers(workers: Vec<actix::Arbiter>) {
    for worker in workers {
        worker.stop();
        let _ = worker.join();
    }
}

/// What a node holds for as long as it runs: its log writers and its pid
/// lock.
pub struct Started {
    /// The log writers (dropping them flushes the logs).
    pub log: crate::logging::LogGuard,
    /// The `[PidLock]` file, held.
    pub pid_lock: Option<PidLock>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Logging could not be set up.
    #[error("cannot set up logging: {0}")]
    Log(#[from] crate::logging::LogError),
    /// The pid lock or the CPU pinning failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
}

/// What every node does first, in the original's order: logging (then the
/// config warnings are logged under `target`), the `[PidLock]` file, the
/// `cpu` pinning (`-1`: none).
pub fn start_process(
    target: &str,
    log: &crate::config::LogConfig,
    warnings: &[String],
    pid_lock: Option<&Path>,
    cpu: i64,
) -> Result<Started, StartError> {
    let log = crate::logging::init(log, Path::new("."))?;
    for warning in warnings {
        tracing::warn!(target: "shoal.config", "{target}: config: {warning}");
    }
    let pid_lock = pid_lock.map(PidLock::acquire).transpose()?;
    if let Ok(cpu) = usize::try_from(cpu) {
        pin_to_cpu(cpu)?;
    }
    Ok(Started { log, pid_lock })
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

/// Pins the whole process to one CPU (`[Server] cpu` of the dmqnode), as
/// the original does; threads started later inherit it.
pub fn pin_to_cpu(cpu: usize) -> Result<(), ProcessError> {
    use nix::sched::{sched_setaffinity, CpuSet};
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|source| ProcessError::PinCpu { cpu, source })?;
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|source| ProcessError::PinCpu { cpu, source })
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
