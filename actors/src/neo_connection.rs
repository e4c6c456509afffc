//! A client connection on the neo port (`[Server] port` + 100): the connect
//! handshake and the authentication against `etc/credentials`.
//!
//! A client with an unknown name or a wrong key is refused (verdict 0), the
//! refusal is logged with the reason, and the connection is closed before a
//! single request byte is read; no storage is touched. After a successful
//! authentication the node reads request messages; serving them (request
//! multiplexing and the neo DHT requests) is the rest of issue 4, so for now
//! the first request closes the connection with a logged reason.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use shoal_protocol::neo::auth::fresh_nonce;
use shoal_protocol::neo::connect::Step;
use shoal_protocol::neo::{
    ConnectError, Credentials, HeaderDecoder, HeaderError, MessageType, NodeEvent, NodeHandshake, RequestError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::node::DhtNode;

/// Why a neo connection was closed by the node.
#[derive(Debug, thiserror::Error)]
pub enum NeoError {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake was not the neo protocol.
    #[error("handshake failed: {0}")]
    Handshake(#[from] ConnectError),
    /// A message header was invalid (parity, type, length).
    #[error("bad message: {0}")]
    Header(#[from] HeaderError),
    /// The client was refused.
    #[error("client '{client}' refused: {reason}")]
    Refused {
        /// The name the client gave.
        client: String,
        /// Why.
        reason: String,
    },
    /// A request message that does not parse.
    #[error("bad request: {0}")]
    Request(#[from] RequestError),
    /// A message of a type that has no place after the handshake.
    #[error("unexpected {0:?} message after authentication")]
    UnexpectedMessage(MessageType),
}

/// Serves one neo connection until it closes.
pub async fn serve(mut socket: TcpStream, node: Arc<DhtNode>, credentials: Arc<Credentials>) -> Result<(), NeoError> {
    let mut handshake = NodeHandshake::new(fresh_nonce()?);
    let mut input = Vec::with_capacity(1024);
    let mut output = Vec::with_capacity(1024);
    let client = loop {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let Step { consumed, event } = handshake.advance(&input, now, &credentials, &mut output)?;
        input.drain(..consumed);
        if !output.is_empty() {
            socket.write_all(&output).await?;
            output.clear();
        }
        match event {
            NodeEvent::NeedMore => {
                if socket.read_buf(&mut input).await? == 0 {
                    return Ok(());
                }
            }
            NodeEvent::Accepted { client_name } => break String::from_utf8_lossy(&client_name).into_owned(),
            NodeEvent::Rejected { client_name, reason } => {
                let error = NeoError::Refused {
                    client: String::from_utf8_lossy(&client_name).into_owned(),
                    reason: reason.to_string(),
                };
                tracing::warn!(target: "swarm.neo.node.ConnectionHandler", "{error}");
                return Err(error);
            }
        }
    };
    tracing::info!(target: "swarm.neo.node.ConnectionHandler", "neo client '{client}' authenticated");
    let decoder = HeaderDecoder::default();
    loop {
        let mut used = 0;
        while let Some(message) = decoder.split_message(&input[used..])? {
            used += message.wire_len;
            if message.header.msg_type != MessageType::Request {
                return Err(NeoError::UnexpectedMessage(message.header.msg_type));
            }
            crate::neo_request::handle(message.body, &client, &node, &mut output)?;
        }
        input.drain(..used);
        if !output.is_empty() {
            socket.write_all(&output).await?;
            output.clear();
        }
        if socket.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
    }
}
