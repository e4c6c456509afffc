//! The connect handshake and authentication of one neo socket, driving the
//! protocol crate's [`NodeHandshake`] state machine.
//!
//! A client with an unknown name or a wrong key is refused (verdict 0), the
//! refusal is logged with the reason, and the connection is closed before a
//! single request byte is read; no storage is touched.

use std::time::{SystemTime, UNIX_EPOCH};

use shoal_protocol::neo::auth::fresh_nonce;
use shoal_protocol::neo::connect::Step;
use shoal_protocol::neo::{Credentials, NodeEvent, NodeHandshake};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::session::NeoError;

/// An authenticated client.
pub struct Authenticated {
    /// The name it authenticated with.
    pub client: String,
    /// Bytes it sent after the handshake, already read (the start of its
    /// first request, if it did not wait for the verdict).
    pub leftover: Vec<u8>,
}

/// Runs the node side of the handshake. `Ok(None)`: the client left before
/// finishing it.
pub async fn authenticate(
    read: &mut (impl AsyncRead + Unpin),
    write: &mut (impl AsyncWrite + Unpin),
    credentials: &Credentials,
) -> Result<Option<Authenticated>, NeoError> {
    let mut handshake = NodeHandshake::new(fresh_nonce()?);
    let mut input = Vec::with_capacity(1024);
    let mut output = Vec::with_capacity(1024);
    loop {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let Step { consumed, event } = handshake.advance(&input, now, credentials, &mut output)?;
        input.drain(..consumed);
        if !output.is_empty() {
            write.write_all(&output).await?;
            output.clear();
        }
        match event {
            NodeEvent::NeedMore => {
                if read.read_buf(&mut input).await? == 0 {
                    return Ok(None);
                }
            }
            NodeEvent::Accepted { client_name } => {
                let client = String::from_utf8_lossy(&client_name).into_owned();
                tracing::info!(target: "swarm.neo.node.ConnectionHandler", "neo client '{client}' authenticated");
                return Ok(Some(Authenticated { client, leftover: input }));
            }
            NodeEvent::Rejected { client_name, reason } => {
                let error = NeoError::Refused {
                    client: String::from_utf8_lossy(&client_name).into_owned(),
                    reason: reason.to_string(),
                };
                tracing::warn!(target: "swarm.neo.node.ConnectionHandler", "{error}");
                return Err(error);
            }
        }
    }
}
