//! The swarm neo protocol (the node's `neoport`), generic over the storage
//! node so the DHT, queue and log nodes can share it.
//!
//! - [`header`]: the 10-byte message header and its checks.
//! - [`auth`]: HMAC-SHA512 authentication codes and the node's checks.
//! - [`connect`]: the version + authentication handshake, both sides, as
//!   state machines over bytes.
//! - [`credentials`]: the node's `etc/credentials` file.
//! - [`request`]: request start, supported status, DHT Put/Get/Exists/Remove
//!   message codecs.
//!
//! See docs/protocol-neo.md for the wire description.

pub mod auth;
pub mod connect;
pub mod credentials;
pub mod dht;
pub mod header;
pub mod payload;
pub mod request;

pub use auth::{Key, Nonce, Rejection};
pub use connect::{
    ClientEvent, ClientHandshake, ConnectError, NodeEvent, NodeHandshake, PROTOCOL_VERSION,
};
pub use credentials::{Credentials, CredentialsError};
pub use header::{Header, HeaderDecoder, HeaderError, MessageType, HEADER_LEN};
pub use request::{
    Command, DhtRequest, ExistsStatus, GetStatus, PutStatus, RemoveChannelStatus, RemoveStatus, RequestCode,
    RequestError, RequestId, RequestStart, SupportedStatus,
};
