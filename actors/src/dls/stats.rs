//! DlsStats: the dlsnode's stats.log line every `[STATS] interval`, with the
//! original's keys: process figures, traffic and connections, per request
//! kind (legacy and neo) its counts and times, the records handled, the log
//! events, and the process's file descriptors. (The original's storage
//! reports no sizes, so there are no per-channel keys.)

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::node::{DlsNode, COUNTED_REQUESTS};
use crate::stats::{append_line, until_next_tick, CpuSample, StatsLine};

/// The stats writer of a dlsnode.
pub struct DlsStats {
    node: Arc<DlsNode>,
    path: PathBuf,
    interval: Duration,
    cpu: CpuSample,
}

impl DlsStats {
    /// A writer of `path` every `interval`.
    pub fn new(node: Arc<DlsNode>, path: PathBuf, interval: Duration) -> Self {
        DlsStats { node, path, interval, cpu: CpuSample::now() }
    }

    /// The next line (resets the per-interval counters).
    pub fn line(&mut self) -> String {
        let mut line = StatsLine::start();
        line.process(&mut self.cpu);
        let counters = &self.node.counters;
        let connections = [&*counters.connections, &*counters.neo_connections];
        line.traffic([&counters.bytes_sent, &counters.bytes_received], connections, self.node.connection_limit);
        line.field("old_request_versions_in_use", 0);
        for (command, counters) in COUNTED_REQUESTS.iter().zip(&counters.requests) {
            line.request(&format!("request/{command:?}"), &counters.take());
        }
        line.request("neo_request/Put", &counters.neo_put.take());
        line.request("neo_request/GetRange", &counters.neo_get_range.take());
        let take = |n: &std::sync::atomic::AtomicU64| n.swap(0, Ordering::Relaxed);
        line.action("handled", take(&counters.handled_records), take(&counters.handled_bytes));
        line.action("redistributed", take(&counters.redistributed_records), take(&counters.redistributed_bytes));
        let mut line = line.finish();
        let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
        let open = std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count());
        line.push_str(&format!(" open_fds_limit:{limit} open_fds_currently:{open}"));
        line
    }
}

impl Actor for DlsStats {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_later(until_next_tick(self.interval), |stats, ctx| {
            let line = stats.line();
            append_line(&stats.path, &line);
            ctx.run_interval(stats.interval, |stats, _| {
                let line = stats.line();
                append_line(&stats.path, &line);
            });
        });
    }
}
