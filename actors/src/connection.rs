//! Connection: one actor per client socket, serving legacy requests one at a
//! time and in order, as swarm's legacy protocol requires.
//!
//! The actor owns its socket and buffers. Input is only parsed once a whole
//! request has arrived (the decoder walks the fields and reports
//! `Incomplete` otherwise), so a lying length never makes the node allocate
//! more than what was really received, and a length over the protocol's
//! limits closes the connection. Replies of consecutive short requests are
//! collected and written together.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use bytes::{Buf, BytesMut};
use shoal_protocol::legacy::{DecodeLimits, Decoded, Request, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use std::sync::atomic::Ordering;

use shoal_protocol::neo::Credentials;

use crate::node::DhtNode;
use crate::request::{self, Outcome};

/// Initial size of a connection's buffers; they grow with what arrives.
const BUFFER_SIZE: usize = 16 * 1024;

/// Which protocol a listener's connections speak.
#[derive(Clone)]
pub enum Protocol {
    /// The legacy protocol (`[Server] port`).
    Legacy,
    /// The neo protocol (`port` + 100), with the clients allowed in.
    Neo(Arc<Credentials>),
}

/// A client connection.
pub struct Connection {
    socket: Option<TcpStream>,
    node: Arc<DhtNode>,
    protocol: Protocol,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// A connection for an accepted socket; `permit` holds its place under
    /// `connection_limit` until the actor stops.
    pub fn new(socket: TcpStream, node: Arc<DhtNode>, protocol: Protocol, permit: OwnedSemaphorePermit) -> Self {
        Connection { socket: Some(socket), node, protocol, _permit: permit }
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(socket) = self.socket.take() else { return };
        let node = Arc::clone(&self.node);
        let count = match self.protocol {
            Protocol::Legacy => &node.counters.connections,
            Protocol::Neo(_) => &node.counters.neo_connections,
        };
        count.fetch_add(1, Ordering::Relaxed);
        let peer = socket.peer_addr().map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
        let served: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>> = match &self.protocol {
            Protocol::Legacy => {
                let io = ClientIo::new(socket, Arc::clone(&node));
                Box::pin(async move { io.serve().await.map_err(|e| e.to_string()) })
            }
            Protocol::Neo(credentials) => {
                let serve = crate::neo_connection::serve(socket, Arc::clone(&node), Arc::clone(credentials));
                Box::pin(async move { serve.await.map_err(|e| e.to_string()) })
            }
        };
        let legacy = matches!(self.protocol, Protocol::Legacy);
        ctx.spawn(
            async move {
                if let Err(error) = served.await {
                    tracing::warn!(target: "shoal.connection", "closing connection from {peer}: {error}");
                }
            }
            .into_actor(self)
            .map(move |(), _, ctx| {
                let count = if legacy { &node.counters.connections } else { &node.counters.neo_connections };
                count.fetch_sub(1, Ordering::Relaxed);
                ctx.stop();
            }),
        );
    }
}

/// Why a connection was closed by the node.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The client sent something that is not a legacy request.
    #[error("bad request: {0}")]
    Protocol(#[from] WireError),
    /// A key that is not 16 hex digits: the original throws out of the request.
    #[error("invalid key '{0}'")]
    InvalidKey(String),
    /// A PutBatch whose batch cannot be read.
    #[error("bad batch: {0}")]
    Batch(#[from] shoal_protocol::legacy::batch::BatchError),
    /// The client closed the connection in the middle of a request.
    #[error("client closed the connection after {0} bytes of an unfinished request")]
    Truncated(usize),
}

/// A connection's socket, buffers and node: what request handlers use to
/// read, reply and stream.
pub struct ClientIo {
    socket: TcpStream,
    /// Bytes received and not yet consumed.
    input: BytesMut,
    /// Reply bytes not yet written.
    pub output: BytesMut,
    /// The node this connection serves.
    pub node: Arc<DhtNode>,
}

impl ClientIo {
    fn new(socket: TcpStream, node: Arc<DhtNode>) -> Self {
        ClientIo {
            socket,
            input: BytesMut::with_capacity(BUFFER_SIZE),
            output: BytesMut::with_capacity(BUFFER_SIZE),
            node,
        }
    }

    /// Serves requests until the client closes the connection or misbehaves.
    async fn serve(mut self) -> Result<(), ConnectionError> {
        loop {
            while let Some(consumed) = self.handle_one().await? {
                debug_assert!(consumed > 0, "a request consumes its bytes");
            }
            self.flush().await?;
            if !self.fill().await? {
                return match self.input.len() {
                    0 => Ok(()),
                    partial => Err(ConnectionError::Truncated(partial)),
                };
            }
        }
    }

    /// Handles the next request if all of it has arrived; returns the bytes
    /// it used, or `None` when more input is needed.
    async fn handle_one(&mut self) -> Result<Option<usize>, ConnectionError> {
        let started = Instant::now();
        let limits = DecodeLimits { max_put_value: self.node.limits.max_put_value() as u64 };
        let Decoded { request, consumed, skip } = match Request::decode(&self.input, &limits) {
            Ok(decoded) => decoded,
            Err(WireError::Incomplete) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let command = request.command();
        let node = Arc::clone(&self.node);
        let counters = node.counters.request(command);
        counters.inspect(|c| c.started());
        let outcome = request::handle(request, &self.node, &mut self.output);
        self.input.advance(consumed);
        if skip > 0 {
            // An oversized Put value (already answered, after the channel and
            // range checks, like the original): drop its bytes as they arrive.
            self.discard(skip).await?;
        }
        let result = match outcome {
            Ok(Outcome::Done) => Ok(()),
            Ok(Outcome::Stream(stream)) => match self.flush().await {
                Ok(()) => stream.run(self).await,
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        if let Some(c) = counters {
            c.finished(started.elapsed());
        }
        result.map(|()| Some(consumed))
    }

    /// Drops the next `len` bytes of input without keeping them.
    async fn discard(&mut self, mut len: u64) -> Result<(), ConnectionError> {
        loop {
            let available = (self.input.len() as u64).min(len);
            self.input.advance(available as usize);
            len -= available;
            if len == 0 {
                return Ok(());
            }
            self.input.clear();
            if !self.fill().await? {
                return Err(ConnectionError::Truncated(0));
            }
        }
    }

    /// Reads more input; false when the client closed the connection.
    pub async fn fill(&mut self) -> Result<bool, ConnectionError> {
        let read = self.socket.read_buf(&mut self.input).await?;
        self.node.counters.bytes_received.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read > 0)
    }

    /// Writes all pending reply bytes.
    pub async fn flush(&mut self) -> Result<(), ConnectionError> {
        if self.output.is_empty() {
            return Ok(());
        }
        self.socket.write_all(&self.output).await?;
        self.node.counters.bytes_sent.fetch_add(self.output.len() as u64, Ordering::Relaxed);
        self.output.clear();
        Ok(())
    }

    /// Resolves when the client has closed its side (`None`) or the socket
    /// broke. Input the client sends meanwhile is kept for later.
    pub async fn closed(&mut self) -> Option<ConnectionError> {
        loop {
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(error) => return Some(error),
            }
        }
    }
}
