//! Async clients for the swarm protocols.

pub mod dls;
pub mod dmq;
pub mod legacy;
pub mod neo;
