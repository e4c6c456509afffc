//! Log output in the original's format and places, driven by the original's
//! `[LOG.*]` config sections, so that existing log parsers, `grep`s and
//! logrotate rules keep working.
//!
//! A root.log line reads `2024-05-01 12:00:00,05 Info [dhtnode.main] - text`:
//! local time, milliseconds zero-padded to *at least two* digits (ocean's
//! quirk: `,05`, `,42`, `,435`), the level, the logger name in brackets (the
//! tracing *target*; shoal code logs with targets like `dhtnode.main` to
//! match the original's logger names), then the message. Structured fields
//! other than the message follow it as ` name=value`.
//!
//! Levels: ocean has trace, info, warn, error and fatal (its "debug" setting
//! means trace). tracing's TRACE and DEBUG both print as `Trace`; an ERROR
//! event carrying the field `fatal = true` prints as `Fatal`
//! (`tracing::error!(target: "dhtnode.main", fatal = true, "...")`) and is
//! the only thing a `level = fatal` logger lets through.
//!
//! Loggers nest by name: `[LOG.dhtnode]` governs `dhtnode.main` and
//! `dhtnode::x` targets alike, `[LOG.Root]` everything. A target's level is
//! the one of the closest configured logger that sets one (trace when none
//! does). Its line goes to the outputs (file, console) of that logger and of
//! its ancestors up to the root, stopping below the first logger that has
//! outputs of its own and is not `additive`, which is how the original
//! decides too. Without a `[LOG.Root]` section the root has no outputs.
//!
//! Console output goes, as in ocean, to stderr for warn and above and to
//! stdout otherwise. Files are written by `tracing-appender`'s non-blocking
//! worker (nothing is dropped: the node waits when the queue is full); the
//! directory of a log file is created when missing (the original requires it
//! to exist).
//!
//! # Reopening after logrotate
//!
//! logrotate renames `log/*.log` and then has systemd send SIGHUP
//! (`systemctl reload`); the node must then start a fresh file under the old
//! name. Each log file is held by a [`ReopenableFile`] that compares a shared
//! generation counter before each write and reopens the path when it moved
//! on. [`LogGuard::reopen`] (or a cloned [`ReopenHandle`]) bumps the counter;
//! the reopen itself happens on the writer thread with the next line, so no
//! line is lost or written half to each file. The node runs
//! [`reopen_on_sighup`] in its actor system, so the signal never takes its
//! default action, which would kill the node.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDateTime, Timelike};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

use crate::config::{LogConfig, LogLayout, LogLevel, LoggerConfig};

/// Lines a log file's writer thread may fall behind before a logging
/// thread waits for it (512 KiB of queue). tracing-appender's default,
/// 128,000, makes each file's queue touch 4 MB when it is made: half of an
/// idle dlsnode's memory.
const QUEUED_LINES: usize = 16 * 1024;

/// Why logging could not be set up; the node does not start without it, as
/// the original does not.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The directory of a log file could not be created.
    #[error("cannot create log directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A log file could not be opened for appending.
    #[error("cannot open log file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Another global tracing subscriber is already installed.
    #[error("cannot install the log subscriber: {0}")]
    Install(String),
}

/// Keeps the log files' writer threads alive (dropping it flushes them) and
/// reopens the files on demand.
#[must_use = "dropping the guard stops writing log files"]
pub struct LogGuard {
    _workers: Vec<WorkerGuard>,
    reopen: ReopenHandle,
}

impl LogGuard {
    /// Makes every log file be reopened (by path) before its next line; call
    /// it on SIGHUP, after logrotate moved the files away.
    pub fn reopen(&self) {
        self.reopen.reopen();
    }

    /// A handle that can reopen the files from elsewhere (a signal task)
    /// without owning the guard.
    pub fn reopen_handle(&self) -> ReopenHandle {
        self.reopen.clone()
    }
}

/// Cloneable trigger for reopening the log files, see [`LogGuard::reopen`].
#[derive(Debug, Clone, Default)]
pub struct ReopenHandle {
    generation: Arc<AtomicU64>,
}

impl ReopenHandle {
    /// Asks every file writer sharing this handle to reopen its path before
    /// its next write.
    pub fn reopen(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reopens the log files every time the process receives SIGHUP (what
/// `systemctl reload dht@N` and the logrotate rule send). Runs until the
/// runtime stops; the node spawns it first thing in its actor system, so the
/// system owns it and SIGHUP never falls back to its default (killing the
/// process).
///
/// The handler is registered when this is called, not when the returned
/// future first runs, so a SIGHUP arriving right after start-up is already
/// handled.
pub fn reopen_on_sighup(handle: ReopenHandle) -> io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let hangup = signal(SignalKind::hangup())?;
    Ok(reopen_loop(hangup, handle))
}

async fn reopen_loop(mut hangup: tokio::signal::unix::Signal, handle: ReopenHandle) {
    while hangup.recv().await.is_some() {
        handle.reopen();
        tracing::info!(target: "dhtnode.main", "SIGHUP received: log files reopened");
    }
}

/// A file opened for appending that reopens its path when the shared
/// generation moves on (after logrotate renamed it).
pub struct ReopenableFile {
    path: PathBuf,
    file: Option<File>,
    seen: u64,
    generation: Arc<AtomicU64>,
}

impl ReopenableFile {
    /// Opens `path` for appending (creating it), following `handle`.
    pub fn open(path: PathBuf, handle: &ReopenHandle) -> io::Result<Self> {
        let file = open_append(&path)?;
        let generation = Arc::clone(&handle.generation);
        let seen = generation.load(Ordering::Relaxed);
        Ok(ReopenableFile { path, file: Some(file), seen, generation })
    }

    fn current(&mut self) -> io::Result<&mut File> {
        let generation = self.generation.load(Ordering::Relaxed);
        if generation != self.seen || self.file.is_none() {
            self.seen = generation;
            // Keep writing to the old file if the path cannot be reopened
            // (a full or read-only disk should not lose every later line).
            match open_append(&self.path) {
                Ok(file) => self.file = Some(file),
                Err(error) if self.file.is_none() => return Err(error),
                Err(_) => {}
            }
        }
        Ok(self.file.as_mut().expect("a file is open"))
    }
}

impl Write for ReopenableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.current()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Installs the global tracing subscriber writing what `config` asks for
/// (relative file names are taken relative to `base_dir`, normally the
/// working directory), together with the stats' per-level event counter,
/// and makes SIGHUP reopen the log files (see the module documentation).
pub fn init(config: &LogConfig, base_dir: &Path) -> Result<LogGuard, LogError> {
    let (layer, guard) = layer(config, base_dir)?;
    let subscriber = tracing_subscriber::registry().with(layer).with(crate::stats::LogCounter);
    tracing::subscriber::set_global_default(subscriber).map_err(|e| LogError::Install(e.to_string()))?;
    Ok(guard)
}

/// The layer [`init`] installs, for composing another subscriber (tests).
pub fn layer(config: &LogConfig, base_dir: &Path) -> Result<(OceanLogLayer, LogGuard), LogError> {
    let reopen = ReopenHandle::default();
    let mut outputs: Vec<Output> = Vec::new();
    let mut files: HashMap<PathBuf, NonBlocking> = HashMap::new();
    let mut workers = Vec::new();
    let mut loggers = Vec::new();

    let mut add_logger = |name: Option<&str>, settings: &LoggerConfig| -> Result<(), LogError> {
        let mut indices = Vec::new();
        if let Some(file) = &settings.file {
            let path = if file.is_absolute() { file.clone() } else { base_dir.join(file) };
            let writer = match files.get(&path) {
                Some(writer) => writer.clone(),
                None => {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)
                            .map_err(|source| LogError::CreateDir { path: dir.to_path_buf(), source })?;
                    }
                    let file = ReopenableFile::open(path.clone(), &reopen)
                        .map_err(|source| LogError::Open { path: path.clone(), source })?;
                    let (writer, worker) = NonBlockingBuilder::default()
                        .buffered_lines_limit(QUEUED_LINES)
                        .lossy(false)
                        .thread_name("shoal-log-writer")
                        .finish(file);
                    workers.push(worker);
                    files.insert(path, writer.clone());
                    writer
                }
            };
            indices.push(outputs.len());
            outputs.push(Output { sink: Sink::File(writer), layout: settings.file_layout });
        }
        // The root writes to the console unless told not to; others only
        // when told to.
        if settings.console.unwrap_or(name.is_none()) {
            indices.push(outputs.len());
            outputs.push(Output { sink: Sink::Console, layout: settings.console_layout });
        }
        loggers.push(ConfiguredLogger {
            name: name.map(str::to_string),
            level: settings.level,
            outputs: indices,
            additive: settings.is_additive(),
        });
        Ok(())
    };
    if let Some(root) = &config.root {
        add_logger(None, root)?;
    }
    for (name, settings) in &config.loggers {
        add_logger(Some(name), settings)?;
    }
    // Longest names first, so that the first match is the closest logger.
    loggers.sort_by_key(|l| std::cmp::Reverse(l.name.as_ref().map_or(0, |n| n.len() + 1)));

    let layer = OceanLogLayer { outputs, loggers, routes: Mutex::new(HashMap::new()) };
    Ok((layer, LogGuard { _workers: workers, reopen }))
}

/// A `[LOG.<name>]` (or the root, `name: None`) after opening its outputs.
#[derive(Debug)]
struct ConfiguredLogger {
    name: Option<String>,
    level: Option<LogLevel>,
    outputs: Vec<usize>,
    additive: bool,
}

impl ConfiguredLogger {
    /// Whether this logger governs `target`: the root governs everything,
    /// `a.b` governs `a.b`, `a.b.c` and `a.b::c`.
    fn governs(&self, target: &str) -> bool {
        match &self.name {
            None => true,
            Some(name) => {
                target.starts_with(name.as_str())
                    && matches!(&target.as_bytes()[name.len()..], [] | [b'.', ..] | [b':', b':', ..])
            }
        }
    }
}

/// Where one target's events go.
#[derive(Debug)]
struct Route {
    level: LogLevel,
    outputs: Vec<usize>,
}

enum Sink {
    File(NonBlocking),
    Console,
}

struct Output {
    sink: Sink,
    layout: LogLayout,
}

/// The tracing layer writing ocean-format log lines (see the module
/// documentation).
pub struct OceanLogLayer {
    outputs: Vec<Output>,
    loggers: Vec<ConfiguredLogger>,
    routes: Mutex<HashMap<String, Arc<Route>>>,
}

impl OceanLogLayer {
    fn route(&self, target: &str) -> Arc<Route> {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(route) = routes.get(target) {
            return Arc::clone(route);
        }
        let chain: Vec<&ConfiguredLogger> = self.loggers.iter().filter(|l| l.governs(target)).collect();
        let level = chain.iter().find_map(|l| l.level).unwrap_or(LogLevel::Trace);
        let mut outputs = Vec::new();
        for logger in &chain {
            for &index in &logger.outputs {
                if !outputs.contains(&index) {
                    outputs.push(index);
                }
            }
            if !logger.additive {
                break;
            }
        }
        let route = Arc::new(Route { level, outputs });
        routes.insert(target.to_string(), Arc::clone(&route));
        route
    }

    /// The lowest level any logger lets through, for tracing's cheap
    /// up-front filtering.
    fn max_level(&self) -> LevelFilter {
        if self.outputs.is_empty() {
            return LevelFilter::OFF;
        }
        let lowest = self.loggers.iter().map(|l| l.level.unwrap_or(LogLevel::Trace)).min();
        match lowest {
            None | Some(LogLevel::None) => LevelFilter::OFF,
            Some(LogLevel::Trace) => LevelFilter::TRACE,
            Some(LogLevel::Info) => LevelFilter::INFO,
            Some(LogLevel::Warn) => LevelFilter::WARN,
            Some(LogLevel::Error | LogLevel::Fatal) => LevelFilter::ERROR,
        }
    }
}

/// The ocean level of an event.
fn event_level(level: &Level, fatal: bool) -> LogLevel {
    match *level {
        Level::ERROR if fatal => LogLevel::Fatal,
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        _ => LogLevel::Trace,
    }
}

/// How ocean prints a level.
pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "Trace",
        LogLevel::Info => "Info",
        LogLevel::Warn => "Warn",
        LogLevel::Error => "Error",
        LogLevel::Fatal => "Fatal",
        LogLevel::None => "None",
    }
}

/// One log line (without the newline) in `layout`, as the original writes
/// it; `time` is local time.
pub fn format_line(layout: LogLayout, time: &NaiveDateTime, level: LogLevel, logger: &str, message: &str) -> String {
    let millis = (time.nanosecond() / 1_000_000).min(999);
    let date = time.format("%Y-%m-%d %H:%M:%S");
    let level = level_name(level);
    match layout {
        LogLayout::Date => format!("{date},{millis:02} {level} [{logger}] - {message}"),
        LogLayout::Simple => format!("{level} [{logger}] - {message}"),
        LogLayout::MessageOnly => message.to_string(),
        LogLayout::StatsLog => format!("{date},{millis:03} {message}"),
    }
}

/// Collects an event's message and other fields.
#[derive(Default)]
struct Fields {
    message: String,
    extra: String,
    fatal: bool,
}

impl Visit for Fields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "fatal" {
            self.fatal = value;
        } else {
            let _ = write!(self.extra, " {}={value}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.extra, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.extra, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for OceanLogLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        let route = self.route(metadata.target());
        if route.outputs.is_empty() {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = event_level(metadata.level(), fields.fatal);
        if level < route.level || route.level == LogLevel::None {
            return;
        }
        fields.message.push_str(&fields.extra);
        let now = chrono::Local::now().naive_local();
        for &index in &route.outputs {
            let output = &self.outputs[index];
            let mut line = format_line(output.layout, &now, level, metadata.target(), &fields.message);
            line.push('\n');
            // A log line that cannot be written has nowhere to be reported.
            let _ = match &output.sink {
                Sink::File(writer) => writer.clone().write_all(line.as_bytes()),
                Sink::Console if level >= LogLevel::Warn => io::stderr().lock().write_all(line.as_bytes()),
                Sink::Console => io::stdout().lock().write_all(line.as_bytes()),
            };
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max_level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DhtNodeConfig;
    use chrono::NaiveDate;

    fn at(millis: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_milli_opt(9, 8, 7, millis).unwrap()
    }

    #[test]
    fn date_layout_pads_milliseconds_to_at_least_two_digits() {
        let line = |ms| format_line(LogLayout::Date, &at(ms), LogLevel::Info, "dhtnode.main", "hello");
        assert_eq!(line(5), "2024-05-01 09:08:07,05 Info [dhtnode.main] - hello");
        assert_eq!(line(42), "2024-05-01 09:08:07,42 Info [dhtnode.main] - hello");
        assert_eq!(line(435), "2024-05-01 09:08:07,435 Info [dhtnode.main] - hello");
        assert_eq!(line(0), "2024-05-01 09:08:07,00 Info [dhtnode.main] - hello");
    }

    #[test]
    fn level_names_and_other_layouts() {
        let names: Vec<&str> = [LogLevel::Trace, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Fatal]
            .into_iter()
            .map(level_name)
            .collect();
        assert_eq!(names, ["Trace", "Info", "Warn", "Error", "Fatal"]);
        assert_eq!(format_line(LogLayout::Simple, &at(1), LogLevel::Warn, "a.b", "m"), "Warn [a.b] - m");
        assert_eq!(format_line(LogLayout::MessageOnly, &at(1), LogLevel::Warn, "a.b", "m"), "m");
        assert_eq!(format_line(LogLayout::StatsLog, &at(7), LogLevel::Warn, "a.b", "m"), "2024-05-01 09:08:07,007 m");
    }

    #[test]
    fn tracing_levels_map_to_ocean_levels() {
        assert_eq!(event_level(&Level::TRACE, false), LogLevel::Trace);
        assert_eq!(event_level(&Level::DEBUG, false), LogLevel::Trace);
        assert_eq!(event_level(&Level::INFO, true), LogLevel::Info);
        assert_eq!(event_level(&Level::ERROR, false), LogLevel::Error);
        assert_eq!(event_level(&Level::ERROR, true), LogLevel::Fatal);
    }

    fn config(sections: &str) -> LogConfig {
        let text = format!(
            "[Server]\naddress = 127.0.0.1\nport = 1\nminval = 0x0000000000000000\n\
             maxval = 0xffffffffffffffff\nunix_socket_path = s\n{sections}"
        );
        DhtNodeConfig::from_ini_str(&text).unwrap().log
    }

    /// Lines of `file`, with the timestamp cut off.
    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| l.splitn(3, ' ').nth(2).unwrap().to_string())
            .collect()
    }

    #[test]
    fn writes_root_log_with_levels_and_logger_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = config(
            "[LOG.Root]\nconsole = false\nfile = log/root.log\nlevel = info\n\
             [LOG.dhtnode.storage]\nfile = log/storage.log\nlevel = trace\n\
             [LOG.noisy]\nlevel = error\n",
        );
        let (layer, guard) = layer(&log, dir.path()).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "dhtnode.main", "Starting DHT node");
            tracing::debug!(target: "dhtnode.main", "hidden at info");
            tracing::warn!(target: "dhtnode.main", channel = "c1", "odd");
            tracing::error!(target: "dhtnode.main", fatal = true, "gone");
            tracing::trace!(target: "dhtnode.storage.DumpManager", "loading");
            tracing::warn!(target: "noisy::x", "not shown");
            tracing::error!(target: "noisy.x", "shown");
        });
        drop(guard);
        assert_eq!(
            lines(&dir.path().join("log/root.log")),
            [
                "Info [dhtnode.main] - Starting DHT node",
                "Warn [dhtnode.main] - odd channel=c1",
                "Fatal [dhtnode.main] - gone",
                "Error [noisy.x] - shown",
            ]
        );
        assert_eq!(lines(&dir.path().join("log/storage.log")), ["Trace [dhtnode.storage.DumpManager] - loading"]);
    }

    #[test]
    fn the_file_is_reopened_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = config("[LOG.Root]\nconsole = false\nfile = log/root.log\n");
        let (layer, guard) = layer(&log, dir.path()).unwrap();
        let root = dir.path().join("log/root.log");
        let rotated = dir.path().join("log/root.log.1");
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(target: "t", "before");
            // Let the writer thread catch up before renaming.
            for _ in 0..200 {
                if std::fs::metadata(&root).map(|m| m.len() > 0).unwrap_or(false) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::fs::rename(&root, &rotated).unwrap();
            guard.reopen();
            tracing::info!(target: "t", "after");
        });
        drop(guard);
        assert_eq!(lines(&rotated), ["Info [t] - before"]);
        assert_eq!(lines(&root), ["Info [t] - after"]);
    }

    #[test]
    fn no_root_section_means_no_output() {
        let (layer, _guard) = layer(&config(""), Path::new("/nonexistent")).unwrap();
        assert_eq!(layer.max_level(), LevelFilter::OFF);
        assert!(layer.route("dhtnode.main").outputs.is_empty());
    }

    #[test]
    fn non_additive_loggers_keep_their_lines_to_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let log = config(
            "[LOG.Root]\nconsole = false\nfile = root.log\n\
             [LOG.a]\nfile = a.log\n[LOG.b]\nfile = b.log\nadditive = true\n",
        );
        let (layer, _guard) = layer(&log, dir.path()).unwrap();
        assert_eq!(layer.route("a.x").outputs.len(), 1);
        assert_eq!(layer.route("b::x").outputs.len(), 2);
        assert_eq!(layer.route("ab").outputs.len(), 1, "a does not govern ab");
        assert_eq!(layer.route("c").outputs.len(), 1);
    }
}
