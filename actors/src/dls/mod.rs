//! The dlsnode: the log store on the shared actor framework.
//!
//! - [`node::DlsNode`]: what every connection shares; [`pool::DiskPool`]:
//!   the threads that do all bucket I/O; [`shared_channel`]: a channel and
//!   the group commit of its Puts.
//! - [`legacy`]: the legacy protocol's service; [`request`]: one module per
//!   legacy request kind.
//! - [`neo`]: the neo requests Put and GetRange.
//! - [`checkpoint`]: the periodic fsync and `data/checkpoint.dat`, and the
//!   periodic flush of write buffers.
//!
//! See docs/dls.md for the layout, the record format and the checkpoint.

pub mod checkpoint;
pub mod filter;
pub mod legacy;
pub mod neo;
pub mod node;
pub mod pool;
pub mod read_ahead;
pub mod request;
pub mod shared_channel;
pub mod stats;
