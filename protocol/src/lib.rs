//! The swarm wire protocols and async clients, without any node policy.
//!
//! - [`legacy`]: the legacy swarm protocol of the DHT: framing, request codes,
//!   status codes and every request's payload, for both sides.
//! - [`client`]: async clients built on those codecs, used by tools, tests and
//!   benchmarks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod legacy;
pub mod neo;
