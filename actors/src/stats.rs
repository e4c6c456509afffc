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

use crate::counters::{Action, TIMED_REQUESTS};
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
        let mut line = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f").to_string();
        let mut field = |key: &str, value: &dyn std::fmt::Display| {
            let _ = write!(line, " {key}:{value}");
        };
        let cpu = CpuSample::now();
        let (user, system) = cpu.percent_since(&self.cpu);
        self.cpu = cpu;
        let (vsz, rss) = memory();
        field("cpu_user", &format_args!("{user:.2}"));
        field("cpu_system", &format_args!("{system:.2}"));
        field("cpu_total", &format_args!("{:.2}", user + system));
        field("vsz", &vsz);
        field("rss", &rss);
        field("mem_percentage", &format_args!("{:.2}", mem_percentage(rss)));
        let counters = &self.node.counters;
        field("bytes_sent", &counters.bytes_sent.swap(0, Ordering::Relaxed));
        field("bytes_received", &counters.bytes_received.swap(0, Ordering::Relaxed));
        let connections = counters.connections.load(Ordering::Relaxed);
        let limit = self.node.limits.connection_limit.max(1) as f64;
        field("handling_connections", &connections);
        field("handling_connections_pcnt", &format_args!("{:.2}", connections as f64 * 100.0 / limit));
        let neo = counters.neo_connections.load(Ordering::Relaxed);
        field("handling_neo_connections", &neo);
        field("handling_neo_connections_pcnt", &format_args!("{:.2}", neo as f64 * 100.0 / limit));
        let total = self.node.channels.total();
        field("total_bytes", &total.reported_bytes);
        field("total_records", &total.records);
        for (name, stats) in self.node.channels.stats() {
            field(&format!("channel/{name}/bytes"), &stats.reported_bytes);
            field(&format!("channel/{name}/records"), &stats.records);
        }
        field("old_request_versions_in_use", &0);
        for command in TIMED_REQUESTS {
            let Some(figures) = counters.request(command).map(|c| c.take()) else { continue };
            let prefix = format!("request/{}", command.name());
            field(&format!("{prefix}/max_active"), &figures.max_active);
            field(&format!("{prefix}/handled"), &figures.handled);
            let mean = if figures.mean_micros.is_nan() {
                "-nan".to_string()
            } else {
                format!("{:.2}", figures.mean_micros)
            };
            field(&format!("{prefix}/mean_handled_time_micros"), &mean);
            let names = ["10_micros", "100_micros", "1_ms", "10_ms", "100_ms", "over_100_ms"];
            for (name, count) in names.iter().zip(figures.buckets) {
                field(&format!("{prefix}/handled_{name}"), &count);
            }
        }
        for (action, name) in Action::ALL {
            let (records, bytes) = counters.take_action(action);
            field(&format!("action/{name}/records"), &records);
            field(&format!("action/{name}/bytes"), &bytes);
        }
        let logged = |i: usize| LOGGED[i].swap(0, Ordering::Relaxed);
        field("logged_debug", &logged(1));
        field("logged_trace", &logged(0));
        field("logged_verbose", &0);
        field("logged_info", &logged(2));
        field("logged_warn", &logged(3));
        field("logged_error", &logged(4));
        field("logged_fatal", &0);
        line
    }

    fn write_line(&mut self) {
        let line = self.line();
        append_line(&self.path, &line);
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
struct CpuSample {
    at: Instant,
    user_ticks: u64,
    system_ticks: u64,
}

impl CpuSample {
    fn now() -> Self {
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
