//! DmqStats: the dmqnode's stats.log line every `[STATS] interval`, with the
//! original's keys: process figures, traffic and connections, totals and
//! per-channel records and bytes, pushed and popped records, and per queue
//! its ring and overflow figures.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::node::{DmqNode, COUNTED_REQUESTS, NEO_REQUESTS};
use super::store::ChannelTotals;
use crate::stats::{append_line, until_next_tick, CpuSample, StatsLine};
use shoal_storage::dmq::store::StorageStats;

/// The stats writer of a dmqnode.
pub struct DmqStats {
    node: Arc<DmqNode>,
    path: PathBuf,
    interval: Duration,
    cpu: CpuSample,
    console: bool,
}

impl DmqStats {
    /// A writer of `path` every `interval`; with `console`, a status line
    /// on stdout too.
    pub fn new(node: Arc<DmqNode>, path: PathBuf, interval: Duration, console: bool) -> Self {
        DmqStats { node, path, interval, cpu: CpuSample::now(), console }
    }

    /// The console line: memory, connections, and per queue its records,
    /// bytes and how full its ring is.
    pub fn console_line(&self, storages: &[StorageStats]) -> String {
        let rss = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<u64>().ok()))
            .map_or(0, |pages| pages * 4096);
        let counters = &self.node.counters;
        let mut line = format!(
            "dmqnode: {:.1} MiB, {} connections, {} neo",
            rss as f64 / (1024.0 * 1024.0),
            counters.connections.load(Ordering::Relaxed),
            counters.neo_connections.load(Ordering::Relaxed)
        );
        for storage in storages {
            let records = storage.memory_records + storage.overflow_records;
            let bytes = storage.memory_bytes + storage.overflow_bytes;
            let percent = storage.memory_used as f64 * 100.0 / storage.capacity.max(1) as f64;
            line.push_str(&format!(" | {}: {records} records {bytes} bytes {percent:.1}%", storage.name));
        }
        line
    }

    /// The line for these storage figures (resets the per-interval counters).
    pub fn line(&mut self, channels: &[ChannelTotals], storages: &[StorageStats]) -> String {
        let mut line = StatsLine::start();
        line.process(&mut self.cpu);
        let counters = &self.node.counters;
        let connections = [&*counters.connections, &*counters.neo_connections];
        line.traffic([&counters.bytes_sent, &counters.bytes_received], connections, self.node.connection_limit);
        line.field("total_bytes", channels.iter().map(|c| c.bytes).sum::<u64>());
        line.field("total_records", channels.iter().map(|c| c.records).sum::<u64>());
        for channel in channels {
            line.field(&format!("channel/{}/bytes", channel.name), channel.bytes);
            line.field(&format!("channel/{}/records", channel.name), channel.records);
        }
        line.field("old_request_versions_in_use", 0);
        for (command, counters) in COUNTED_REQUESTS.iter().zip(&counters.requests) {
            line.request(&format!("request/{}", command.name()), &counters.take());
        }
        for (name, counters) in NEO_REQUESTS.iter().zip(&counters.neo_requests) {
            line.request(&format!("neo_request/{name}"), &counters.take());
        }
        let take = |n: &std::sync::atomic::AtomicU64| n.swap(0, Ordering::Relaxed);
        line.action("pushed", take(&counters.pushed_records), take(&counters.pushed_bytes));
        line.action("popped", take(&counters.popped_records), take(&counters.popped_bytes));
        for storage in storages {
            // The unnamed subscriber's queue `@ch` is shown as `ch`.
            let id = storage.name.strip_prefix('@').unwrap_or(&storage.name);
            line.field(&format!("channel/{id}/bytes_memory"), storage.memory_bytes);
            line.field(&format!("channel/{id}/bytes_overflow"), storage.overflow_bytes);
            line.field(&format!("channel/{id}/records_memory"), storage.memory_records);
            line.field(&format!("channel/{id}/records_overflow"), storage.overflow_records);
            let percent = storage.memory_used * 100 / storage.capacity.max(1);
            line.field(&format!("channel/{id}/percent_memory"), percent);
        }
        line.finish()
    }
}

impl Actor for DmqStats {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(until_next_tick(self.interval), |stats, ctx| {
            write_line(stats, ctx);
            ctx.run_interval(stats.interval, write_line);
        });
    }
}

/// Asks the storage thread for its figures, then appends the line.
fn write_line(stats: &mut DmqStats, ctx: &mut Context<DmqStats>) {
    let store = stats.node.store.clone();
    ctx.spawn(async move { store.stats().await }.into_actor(stats).map(|figures, stats, _| {
        if let Ok((channels, storages)) = figures {
            let line = stats.line(&channels, &storages);
            append_line(&stats.path, &line);
            if stats.console {
                println!("{}", stats.console_line(&storages));
            }
        }
    }));
}
