//! The optional ring that turns independent dhtnodes into one replicated,
//! self-organising cluster in the style of mydht.
//!
//! - [`ring`]: where a key lives: MD5 consistent hashing of members and
//!   their virtual nodes on the 64-bit space of swarm's key hashes, and a
//!   key's replicas as the first distinct members clockwise.
//!
//! - [`message`]: peer messages (bincode) in frames sealed with the
//!   cluster key (HMAC-SHA256, clock and nonce against replays).
//! - [`membership`]: a member's view, epochs, convergence by gossip, and
//!   failure detection (alive, suspect, down).
//!
//! Replication, rebalancing and the status page are in
//! `shoal_actors::ring`; the CLI is `bin/shoal.rs`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod membership;
pub mod message;
pub mod ring;
