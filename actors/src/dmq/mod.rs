//! The dmqnode: the message queue on the shared actor framework.
//!
//! - [`store`]: the queue storage ([`shoal_storage::dmq`]) on a thread of
//!   its own, and the consumers' wake-ups.
//! - [`node::DmqNode`]: what every connection shares.
//! - [`legacy`]: the legacy protocol's [`crate::service::Service`] and
//!   request loop; [`request`]: one module per legacy request.
//! - [`neo`]: the neo requests Push, Pop and Consume.
//!
//! See docs/dmq.md for the protocol, the files and the configuration.

pub mod committer;
pub mod legacy;
pub mod neo;
pub mod node;
pub mod request;
pub mod stats;
pub mod store;
