//! Storage engines of the swarm nodes, synchronous and free of sockets and
//! actors so that they can be tested, benchmarked and fuzzed on their own.
//!
//! - [`dht`]: the dhtnode's in-memory channels (64-bit key -> value).
//! - [`dump`]: the `.tcm` dump files of those channels.
//! - [`dls`]: the dlsnode's bucket files and checkpoint.
//! - [`dmq`]: the dmqnode's queues: memory rings, the disk overflow and
//!   their files.

// Denied, not forbidden: dls::writeback makes the one system call the
// standard library and nix lack (sync_file_range).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod channel_name;
pub mod dht;
pub mod dls;
pub mod dmq;
pub mod dump;
