//! A scan of a channel across the whole ring (GetAll through any member):
//! every record once, from its first live replica, in the order of one
//! node's key-order scan ([`ChannelCursor::order_of`]), so a client can
//! continue after the last key it received exactly as on a lone node.
//!
//! Each member serves pages of the records it is the first live replica
//! of ([`PeerMessage::ScanPrimary`]); the scan merges the members' pages.
//! A member that cannot be reached is logged and its share left out.

use std::collections::VecDeque;
use std::sync::Arc;

use shoal_cluster::message::{PeerMessage, Record};
use shoal_protocol::legacy::batch::Added;
use shoal_storage::dht::ChannelCursor;

use super::{replica, Ring};
use crate::batch_fill::Filled;
use crate::node::DhtNode;

/// A merged scan over the members' pages.
pub struct RingScan {
    ring: Arc<Ring>,
    node: Arc<DhtNode>,
    channel: String,
    sources: Vec<Source>,
    /// The record that did not fit the last batch: the next one starts with it.
    carried: Option<(u64, Vec<u8>)>,
}

/// One member's pages.
struct Source {
    member: String,
    after: Option<u64>,
    page: VecDeque<Record>,
    done: bool,
}

impl RingScan {
    /// A scan of `channel` over the members of the current view, after key
    /// `after` if given.
    pub fn new(ring: Arc<Ring>, node: Arc<DhtNode>, channel: &str, after: Option<u64>) -> Self {
        let members = ring.membership().view().members;
        let sources = members.into_iter().map(|member| Source { member, after, page: VecDeque::new(), done: false }).collect();
        RingScan { ring, node, channel: channel.to_owned(), sources, carried: None }
    }

    /// Feeds the next records to `add` until the batch is full or the scan
    /// ends, as [`fill_batch`](crate::batch_fill::fill_batch) does for one
    /// node's channel: `add` returns `None` for a record it leaves out, and
    /// a record too large for an empty batch is skipped after `too_big`
    /// was told of it.
    pub async fn fill_batch(
        &mut self,
        mut add: impl FnMut(u64, &[u8]) -> Option<Added>,
        mut too_big: impl FnMut(u64, usize),
    ) -> Filled {
        let mut filled = Filled::default();
        loop {
            let next = match self.carried.take() {
                Some(record) => Some(record),
                None => self.next().await,
            };
            let Some((key, value)) = next else { return filled };
            match add(key, &value) {
                None => {}
                Some(Added::Yes) => {
                    filled.records += 1;
                    filled.bytes += value.len() as u64;
                }
                Some(Added::BatchFull) => {
                    self.carried = Some((key, value));
                    filled.more = true;
                    return filled;
                }
                Some(Added::TooBig) => too_big(key, value.len()),
            }
        }
    }

    /// The next record (key and value) in scan order; `None` at the end.
    async fn next(&mut self) -> Option<(u64, Vec<u8>)> {
        for index in 0..self.sources.len() {
            if self.sources[index].page.is_empty() && !self.sources[index].done {
                self.refill(index).await;
            }
        }
        let next = self
            .sources
            .iter_mut()
            .filter(|source| !source.page.is_empty())
            .min_by_key(|source| source.page.front().map(|record| ChannelCursor::order_of(record.key)))?;
        let record = next.page.pop_front()?;
        // Pages hold stored records only, never removals.
        Some((record.key, record.value.unwrap_or_default()))
    }

    /// Fetches the next page of source `index`; an empty page ends it.
    async fn refill(&mut self, index: usize) {
        let source = &self.sources[index];
        let page = if source.member == self.ring.me() {
            replica::primary_page(&self.ring, &self.node, &self.channel, source.after)
        } else {
            let message = PeerMessage::ScanPrimary { channel: self.channel.clone(), after: source.after };
            match self.ring.send(&source.member, &message).await {
                Ok(PeerMessage::Records(records)) => records,
                other => {
                    tracing::warn!(target: "shoal.ring", "scan of '{}' left out {}: {other:?}", self.channel, source.member);
                    Vec::new()
                }
            }
        };
        let source = &mut self.sources[index];
        source.after = page.last().map(|record| record.key).or(source.after);
        source.done = page.is_empty();
        source.page = page.into();
    }
}
