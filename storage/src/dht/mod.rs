//! The dhtnode's in-memory storage: named channels of records keyed by a
//! 64-bit hash.
//!
//! - [`Channel`]: one channel, sharded so that writers on different cores and
//!   long scans do not wait on each other.
//! - [`ChannelCursor`]: a resumable scan over a channel that never holds a
//!   lock for longer than one batch.
//! - [`size`]: the byte accounting the original reports to clients.

mod channel;
mod cursor;
pub mod hash;
mod shard;
pub mod size;

pub use channel::{Channel, ChannelStats};
pub use cursor::ChannelCursor;
