//! Counters every connection and request updates, and the Stats actor reads
//! and resets once per interval.
//!
//! Plain atomics: a counter update is one relaxed add on the request's own
//! thread, never a message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_protocol::legacy::Command;

/// The requests whose counts and timings the original writes to stats.log,
/// in its order.
pub const TIMED_REQUESTS: [Command; 10] = [
    Command::Put,
    Command::Get,
    Command::Exists,
    Command::Remove,
    Command::Listen,
    Command::GetAll,
    Command::GetAllKeys,
    Command::GetAllFilter,
    Command::PutBatch,
    Command::Redistribute,
];

/// Upper bounds (µs) of the original's timing buckets; a last bucket takes the rest.
pub const TIME_BUCKETS_MICROS: [u64; 5] = [10, 100, 1_000, 10_000, 100_000];

/// What was done to records, as the original's `action/<name>/...` stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Records stored by a write.
    Written = 0,
    /// Records read by Get.
    Read = 1,
    /// Records sent to a listener.
    Forwarded = 2,
    /// Records sent by a scan.
    Iterated = 3,
    /// Records removed.
    Deleted = 4,
}

impl Action {
    /// Every action with its stats name, in the original's order.
    pub const ALL: [(Action, &'static str); 5] = [
        (Action::Written, "written"),
        (Action::Read, "read"),
        (Action::Forwarded, "forwarded"),
        (Action::Iterated, "iterated"),
        (Action::Deleted, "deleted"),
    ];
}

/// Counts and timings of one request kind.
#[derive(Default)]
pub struct RequestCounters {
    active: AtomicU64,
    max_active: AtomicU64,
    handled: AtomicU64,
    total_micros: AtomicU64,
    buckets: [AtomicU64; 6],
}

/// One interval's figures of a request kind, taken by [`RequestCounters::take`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RequestFigures {
    /// Most requests of this kind in progress at once.
    pub max_active: u64,
    /// Requests finished.
    pub handled: u64,
    /// Mean duration (NaN when none were handled, as the original prints).
    pub mean_micros: f64,
    /// Requests per timing bucket.
    pub buckets: [u64; 6],
}

impl RequestCounters {
    /// A request started.
    pub fn started(&self) {
        let now = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_active.fetch_max(now, Ordering::Relaxed);
    }

    /// A request that started finished after `elapsed`.
    pub fn finished(&self, elapsed: Duration) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        self.handled.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.total_micros.fetch_add(micros, Ordering::Relaxed);
        let bucket = TIME_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(TIME_BUCKETS_MICROS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Reads and resets this interval's figures; `max_active` restarts from
    /// the requests still active.
    pub fn take(&self) -> RequestFigures {
        let active = self.active.load(Ordering::Relaxed);
        let handled = self.handled.swap(0, Ordering::Relaxed);
        let total = self.total_micros.swap(0, Ordering::Relaxed);
        RequestFigures {
            max_active: self.max_active.swap(active, Ordering::Relaxed),
            handled,
            mean_micros: total as f64 / handled as f64,
            buckets: std::array::from_fn(|i| self.buckets[i].swap(0, Ordering::Relaxed)),
        }
    }
}

/// All counters of a node.
#[derive(Default)]
pub struct NodeCounters {
    /// Bytes written to clients since the last stats line.
    pub bytes_sent: AtomicU64,
    /// Bytes read from clients since the last stats line.
    pub bytes_received: AtomicU64,
    /// Open legacy client connections now.
    pub connections: Arc<AtomicU64>,
    /// Open neo client connections now.
    pub neo_connections: Arc<AtomicU64>,
    requests: [RequestCounters; TIMED_REQUESTS.len()],
    actions: [[AtomicU64; 2]; 5],
}

impl NodeCounters {
    /// The counters of `command`, if the original tracks it.
    pub fn request(&self, command: Command) -> Option<&RequestCounters> {
        TIMED_REQUESTS
            .iter()
            .position(|&c| c == command)
            .map(|i| &self.requests[i])
    }

    /// Counts `records` records of `bytes` value bytes for `action`.
    pub fn action(&self, action: Action, records: u64, bytes: u64) {
        let [r, b] = &self.actions[action as usize];
        r.fetch_add(records, Ordering::Relaxed);
        b.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Reads and resets an action's (records, bytes).
    pub fn take_action(&self, action: Action) -> (u64, u64) {
        let [r, b] = &self.actions[action as usize];
        (r.swap(0, Ordering::Relaxed), b.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_fall_into_the_original_buckets_and_reset() {
        let counters = NodeCounters::default();
        let put = counters.request(Command::Put).expect("Put is timed");
        put.started();
        put.started();
        put.finished(Duration::from_micros(5));
        put.finished(Duration::from_millis(50));
        let figures = put.take();
        assert_eq!(figures.max_active, 2);
        assert_eq!(figures.handled, 2);
        assert_eq!(figures.buckets, [1, 0, 0, 0, 1, 0]);
        assert!(put.take().mean_micros.is_nan());
        assert!(counters.request(Command::GetVersion).is_none());
    }
}
