//! The node side of the swarm neo protocol, shared by every node kind.
//!
//! - [`credentials::CredentialsStore`]: the clients' keys from
//!   `etc/credentials`, reloadable while the node runs.
//! - [`handshake`]: the connect handshake and authentication of one socket.
//! - [`session`]: an authenticated connection: many requests multiplexed
//!   by request id, each long request a task of its own, one writer.
//!
//! A node plugs its requests in by implementing [`session::NeoService`].

pub mod credentials;
pub mod handshake;
pub mod session;

pub use credentials::{CredentialsStore, CREDENTIALS_FILE};
pub use session::{NeoError, NeoService, Replies, RequestIo, Task, TaskError, MESSAGE_ROOM};
