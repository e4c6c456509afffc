//! The DLS (distributed log store) protocols of dlsnode, both sides.
//!
//! - [`legacy`]: the legacy requests, framed like the DHT's legacy protocol
//!   (`i32` code, arrays of `u64` length + bytes, keys as 16 hex digits,
//!   bulk replies in LZO batches).
//! - [`neo`]: the neo requests Put v1 and GetRange v2.

pub mod legacy;
pub mod neo;
