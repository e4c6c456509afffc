//! Async clients for the swarm protocols.

pub mod legacy;
