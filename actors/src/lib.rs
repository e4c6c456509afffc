//! The actix actors that put the storage engines on the network.
//!
//! - [`listener::Listener`] accepts sockets and spreads them over the worker
//!   arbiters; [`connection::Connection`] serves one client with its
//!   listener's [`service::Service`] (one per node kind and protocol).
//! - [`neo`]: the neo protocol's node side, shared by every node kind;
//!   [`neo_request`]: the DHT's neo requests.
//! - [`request`]: one module per legacy request kind.
//! - [`node::DhtNode`]: the state every connection shares: the
//!   [`channels::ChannelRegistry`], limits and [`counters`].
//! - [`stats::Stats`] writes stats.log lines from the counters.
//! - [`config`] reads the original's config.ini; [`logging`] writes root.log.
//! - [`dhtdump::DumpCycle`] is the dhtdump sidecar's actor: periodic dumps
//!   of a running node into `.tcm` files over the legacy protocol.

#![warn(missing_docs)]

pub mod batch_fill;
pub mod channels;
pub mod connection;
pub mod control;
pub mod dhtdump;
pub mod dls;
pub mod dmq;
pub mod dump_cycle;
pub mod counters;
pub mod listener;
pub mod listeners;
pub mod neo;
pub mod neo_request;
pub mod load;
pub mod node;
pub mod process;
pub mod redistribution;
pub mod request;
pub mod ring;
pub mod service;
pub mod stats;
pub mod config;
pub mod logging;
