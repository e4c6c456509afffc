//! The swarm wire protocols and async clients, without any node policy.
//!
//! - [`legacy`]: the legacy swarm protocol of the DHT: framing, request codes,
//!   status codes and every request's payload, for both sides.
//! - [`neo`]: the neo protocol: framing, authentication, request
//!   multiplexing and the DHT's neo requests.
//! - [`dmq`]: the message queue's legacy and neo requests.
//! - [`dls`]: the log store's legacy and neo requests.
//! - [`lzo`]: the LZO1X streams of compressed batches.
//! - [`client`]: async clients built on those codecs, used by tools, tests and
//!   benchmarks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod dls;
pub mod dmq;
pub mod legacy;
pub mod lzo;
pub mod neo;
