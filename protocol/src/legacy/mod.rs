//! The legacy swarm protocol of the DHT, as the original dhtnode speaks it.
//!
//! Every message is a sequence of little-endian integers and length-prefixed
//! arrays ([`wire`]); a request starts with its u32 code ([`codes`]), its
//! fields follow ([`request`]); bulk replies carry LZO-compressed batches of
//! records ([`batch`]). docs/protocol-legacy.md describes every byte.

pub mod batch;
pub mod codes;
pub mod request;
pub mod wire;

pub use codes::{Command, Status, API_VERSION};
pub use request::{DecodeLimits, Decoded, Request};
pub use wire::{WireError, WireReader};
