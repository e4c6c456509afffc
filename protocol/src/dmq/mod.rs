//! The DMQ (distributed message queue) protocols of dmqnode, both sides.
//!
//! - [`legacy`]: the legacy requests (Push, Pop, Consume, PushMulti,
//!   Produce, ProduceMulti, RemoveChannel, GetNumConnections), framed like
//!   the DHT's legacy protocol (`i32` code, arrays of `u64` length + bytes).
//! - [`neo`]: the neo requests Push v3, Pop v1 and Consume v4, carried by
//!   the generic neo layer of [`crate::neo`].

pub mod legacy;
pub mod neo;
