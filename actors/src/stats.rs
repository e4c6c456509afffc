//! Stats: one stats.log line every interval, with the original's keys, so
//! that operators' parsers and dashboards keep working.
//!
//! The line is `YYYY-MM-DD HH:MM:SS,mmm` (local time) followed by
//! space-separated `key:value` pairs: process figures, traffic, connections,
//! channel sizes, per-request counts and timings, record actions and the
//! number of log events per level. Per-interval counters reset after each
//! line. The file is opened for each line, so logrotate can move it at any
//! time without a signal.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::counters::{Action, RequestFigures, TIMED_REQUESTS};
use crate::node::DhtNode;

/// Number of log events per level since the last stats line, indexed
/// trace, debug, info, warn, error (see [`LogCounter`]).
static LOGGED: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// A tracing layer that counts events per level for the `logged_*` stats.
pub struct LogCounter;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let index = match *event.metadata().level() {
            tracing::Level::TRACE => 0,
            tracing::Level::DEBUG => 1,
            tracing::Level::INFO => 2,
            tracing::Level::WARN => 3,
            tracing::Level::ERROR => 4,
        };
        LOGGED[index].fetch_add(1, Ordering::Relaxed);
    }
}

/// The stats writer of a dhtnode.
pub struct Stats {
    node: Arc<DhtNode>,
    path: PathBuf,
    interval: Duration,
    cpu: CpuSample,
}

impl Stats {
    /// A writer of `path` every `interval`.
    pub fn new(node: Arc<DhtNode>, path: PathBuf, interval: Duration) -> Self {
        Stats { node, path, interval, cpu: CpuSample::now() }
    }

    /// Builds the next line (and resets the per-interval counters).
    pub fn line(&mut self) -> String {
        let mut line = StatsLine::start();
        line.process(&mut self.cpu);
        let counters = &self.node.counters;
        let connections = [&*counters.connections, &*counters.neo_connections];
        line.traffic([&counters.bytes_sent, &counters.bytes_received], connections, self.node.limits.connection_limit);
        let total = self.node.channels.total();
        line.field("total_bytes", total.reported_bytes);
        line.field("total_records", total.records);
        for (name, stats) in self.node.channels.stats() {
            line.field(&format!("channel/{name}/bytes"), stats.reported_bytes);
            line.field(&format!("channel/{name}/records"), stats.records);
        }
        line.field("old_request_versions_in_use", 0);
        for command in TIMED_REQUESTS {
            let Some(figures) = counters.request(command).map(|c| c.take()) else { continue };
            line.request(&format!("request/{}", command.name()), &figures);
        }
        for (action, name) in Action::ALL {
            let (records, bytes) = counters.take_action(action);
            line.action(name, records, bytes);
        }
        if let Some(ring) = self.node.ring() {
            ring.stats(&mut line);
        }
        line.finish()
    }

    fn write_line(&mut self) {
        let line = self.line();
        append_line(&self.path, &line);
    }
}

/// A stats.log line being built: the timestamp, then `key:value` fields.
pub struct StatsLine(String);

impl StatsLine {
    /// A line stamped now (local time, milliseconds).
    pub fn start() -> Self {
        StatsLine(chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f").to_string())
    }

    /// Appends ` key:value`.
    pub fn field(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = write!(self.0, " {key}:{value}");
    }

    /// The process figures every node starts with: CPU since `cpu` (which
    /// becomes now), virtual and resident size, share of the machine.
    pub fn process(&mut self, cpu: &mut CpuSample) {
        let now = CpuSample::now();
        let (user, system) = now.percent_since(cpu);
        *cpu = now;
        let (vsz, rss) = memory();
        self.field("cpu_user", format_args!("{user:.2}"));
        self.field("cpu_system", format_args!("{system:.2}"));
        self.field("cpu_total", format_args!("{:.2}", user + system));
        self.field("vsz", vsz);
        self.field("rss", rss);
        self.field("mem_percentage", format_args!("{:.2}", mem_percentage(rss)));
    }

    /// Traffic since the last line (the counters restart from 0) and the
    /// open legacy and neo connections against `limit`.
    pub fn traffic(&mut self, [sent, received]: [&AtomicU64; 2], [legacy, neo]: [&AtomicU64; 2], limit: usize) {
        self.field("bytes_sent", sent.swap(0, Ordering::Relaxed));
        self.field("bytes_received", received.swap(0, Ordering::Relaxed));
        let limit = limit.max(1) as f64;
        for (name, count) in [("handling_connections", legacy), ("handling_neo_connections", neo)] {
            let count = count.load(Ordering::Relaxed);
            self.field(name, count);
            self.field(&format!("{name}_pcnt"), format_args!("{:.2}", count as f64 * 100.0 / limit));
        }
    }

    /// The nine `<prefix>/…` figures of one request kind: most active at
    /// once, handled, mean time (`-nan` when none) and the time histogram.
    pub fn request(&mut self, prefix: &str, figures: &RequestFigures) {
        self.field(&format!("{prefix}/max_active"), figures.max_active);
        self.field(&format!("{prefix}/handled"), figures.handled);
        let mean = if figures.mean_micros.is_nan() { "-nan".to_string() } else { format!("{:.2}", figures.mean_micros) };
        self.field(&format!("{prefix}/mean_handled_time_micros"), mean);
        let names = ["10_micros", "100_micros", "1_ms", "10_ms", "100_ms", "over_100_ms"];
        for (name, count) in names.iter().zip(figures.buckets) {
            self.field(&format!("{prefix}/handled_{name}"), count);
        }
    }

    /// `action/<name>/records` and `action/<name>/bytes`.
    pub fn action(&mut self, name: &str, records: u64, bytes: u64) {
        self.field(&format!("action/{name}/records"), records);
        self.field(&format!("action/{name}/bytes"), bytes);
    }

    /// Ends the line with the log events per level since the last line.
    pub fn finish(mut self) -> String {
        let logged = |i: usize| LOGGED[i].swap(0, Ordering::Relaxed);
        self.field("logged_debug", logged(1));
        self.field("logged_trace", logged(0));
        self.field("logged_verbose", 0);
        self.field("logged_info", logged(2));
        self.field("logged_warn", logged(3));
        self.field("logged_error", logged(4));
        self.field("logged_fatal", 0);
        self.0
    }
}

/// Appends one line to a stats file, opened for this line only (so that
/// logrotate can move the file at any time); failures are logged.
pub fn append_line(path: &std::path::Path, line: &str) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(parent);
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(error) = written {
        tracing::error!(target: "shoal.stats", "cannot write {}: {error}", path.display());
    }
}

/// Time until the next wall-clock multiple of `interval`: stats lines fall
/// on :00, :30, ... as the original's do.
pub fn until_next_tick(interval: Duration) -> Duration {
    let interval_ms = interval.as_millis().max(1) as i64;
    let now_ms = chrono::Local::now().timestamp_millis();
    Duration::from_millis((interval_ms - now_ms.rem_euclid(interval_ms)) as u64)
}

impl Actor for Stats {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(until_next_tick(self.interval), |stats, ctx| {
            stats.write_line();
            ctx.run_interval(stats.interval, |stats, _| stats.write_line());
        });
    }
}

/// CPU time used by this process so far.
pub struct CpuSample {
    at: Instant,
    user_ticks: u64,
    system_ticks: u64,
}

impl CpuSample {
    /// The CPU time used so far.
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let tick = |i: usize| fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0);
        CpuSample { at: Instant::now(), user_ticks: tick(11), system_ticks: tick(12) }
    }

    /// (user %, system %) of one core between `earlier` and this sample.
    fn percent_since(&self, earlier: &CpuSample) -> (f64, f64) {
        const TICKS_PER_SECOND: f64 = 100.0;
        let seconds = self.at.duration_since(earlier.at).as_secs_f64().max(1e-3);
        let percent = |now: u64, then: u64| now.saturating_sub(then) as f64 / TICKS_PER_SECOND / seconds * 100.0;
        (
            percent(self.user_ticks, earlier.user_ticks),
            percent(self.system_ticks, earlier.system_ticks),
        )
    }
}

/// (virtual size, resident size) of this process in bytes.
fn memory() -> (u64, u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let mut pages = statm.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0) * 4096);
    (pages.next().unwrap_or(0), pages.next().unwrap_or(0))
}

/// Resident size as a percentage of the machine's memory.
fn mem_percentage(rss: u64) -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    if total_kb == 0 {
        return 0.0;
    }
    rss as f64 * 100.0 / (total_kb as f64 * 1024.0)
}
