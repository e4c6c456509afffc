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
use std::sync::atomic::{AtomicU64, Ordering};

use crate::service::{Served, Service};

use crate::node::DhtNode;
use crate::request::{self, Outcome};

/// Initial size of a connection's buffers; they grow with what arrives.
const BUFFER_SIZE: usize = 16 * 1024;

/// A client connection: runs its listener's [`Service`] on the socket and
/// keeps its place under `connection_limit` until the client leaves.
pub struct Connection {
    socket: Option<TcpStream>,
    service: Arc<dyn Service>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// A connection for an accepted socket; `permit` holds its place under
    /// `connection_limit` until the actor stops.
    pub fn new(socket: TcpStream, service: Arc<dyn Service>, permit: OwnedSemaphorePermit) -> Self {
        Connection { socket: Some(socket), service, _permit: permit }
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(socket) = self.socket.take() else { return };
        self.service.open_connections().fetch_add(1, Ordering::Relaxed);
        let peer = socket.peer_addr().map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
        let served = self.service.serve(socket);
        ctx.spawn(
            async move {
                if let Err(error) = served.await {
                    tracing::warn!(target: "shoal.connection", "closing connection from {peer}: {error}");
                }
            }
            .into_actor(self)
            .map(|(), actor, ctx| {
                actor.service.open_connections().fetch_sub(1, Ordering::Relaxed);
                ctx.stop();
            }),
        );
    }
}

/// The DHT's legacy protocol (`[Server] port`).
pub struct DhtLegacy {
    node: Arc<DhtNode>,
}

impl DhtLegacy {
    /// Serves legacy requests on `node`.
    pub fn new(node: Arc<DhtNode>) -> Self {
        DhtLegacy { node }
    }
}

impl Service for DhtLegacy {
    fn serve(&self, socket: TcpStream) -> Served {
        let io = ClientIo::new(socket, Arc::clone(&self.node));
        Box::pin(async move { io.serve().await.map_err(|e| e.to_string()) })
    }

    fn open_connections(&self) -> &AtomicU64 {
        &self.node.counters.connections
    }

    fn connection_limit(&self) -> usize {
        self.node.limits.connection_limit
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

/// A node whose legacy connections count their traffic (stats.log's
/// `bytes_sent` and `bytes_received`).
pub trait Traffic: Send + Sync + 'static {
    /// Bytes received from clients.
    fn bytes_received(&self) -> &AtomicU64;
    /// Bytes sent to clients.
    fn bytes_sent(&self) -> &AtomicU64;
}

impl Traffic for DhtNode {
    fn bytes_received(&self) -> &AtomicU64 {
        &self.counters.bytes_received
    }

    fn bytes_sent(&self) -> &AtomicU64 {
        &self.counters.bytes_sent
    }
}

/// A legacy connection's socket, buffers and node: what request handlers
/// use to read, reply and stream. Generic over the node kind; the DHT's
/// request loop is `ClientIo::serve`, the queue's is in [`crate::dmq`].
pub struct ClientIo<N: Traffic = DhtNode> {
    socket: TcpStream,
    /// Bytes received and not yet consumed.
    pub input: BytesMut,
    /// Reply bytes not yet written.
    pub output: BytesMut,
    /// The node this connection serves.
    pub node: Arc<N>,
}

impl<N: Traffic> ClientIo<N> {
    /// A connection of `node` on `socket`.
    pub fn new(socket: TcpStream, node: Arc<N>) -> Self {
        ClientIo {
            socket,
            input: BytesMut::with_capacity(BUFFER_SIZE),
            output: BytesMut::with_capacity(BUFFER_SIZE),
            node,
        }
    }

    /// Drops the next `len` bytes of input without keeping them.
    pub async fn discard(&mut self, mut len: u64) -> Result<(), ConnectionError> {
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
        self.node.bytes_received().fetch_add(read as u64, Ordering::Relaxed);
        Ok(read > 0)
    }

    /// Writes all pending reply bytes.
    pub async fn flush(&mut self) -> Result<(), ConnectionError> {
        if self.output.is_empty() {
            return Ok(());
        }
        self.socket.write_all(&self.output).await?;
        self.node.bytes_sent().fetch_add(self.output.len() as u64, Ordering::Relaxed);
        self.output.clear();
        Ok(())
    }

    /// Writes the pending reply bytes, then `bytes` as they are, without
    /// copying them into the output buffer (large replies built elsewhere).
    pub async fn write_direct(&mut self, bytes: &[u8]) -> Result<(), ConnectionError> {
        self.flush().await?;
        self.socket.write_all(bytes).await?;
        self.node.bytes_sent().fetch_add(bytes.len() as u64, Ordering::Relaxed);
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

    /// Why the input ended: cleanly between requests, or in the middle of
    /// one.
    pub fn end_of_input(&self) -> Result<(), ConnectionError> {
        match self.input.len() {
            0 => Ok(()),
            partial => Err(ConnectionError::Truncated(partial)),
        }
    }
}

/// A node kind's legacy requests, for [`serve_requests`].
pub trait LegacyRequests: Traffic + Sized {
    /// A decoded request, owning its fields (handlers await while the
    /// input buffer takes more bytes).
    type Request: Send;

    /// Decodes the next request once all of it has arrived (`Incomplete`
    /// before); returns it with the bytes it used.
    fn decode(input: &[u8]) -> Result<(Self::Request, usize), WireError>;

    /// Runs one request on the connection.
    fn handle(request: Self::Request, io: &mut ClientIo<Self>) -> impl std::future::Future<Output = Result<(), ConnectionError>>;

    /// The gauge of open legacy connections.
    fn open_connections(&self) -> &AtomicU64;

    /// `[Server] connection_limit`.
    fn connection_limit(&self) -> usize;
}

/// The legacy port of a queue or log node: [`serve_requests`] for each
/// connection.
pub struct LegacyPort<N> {
    node: Arc<N>,
}

impl<N: LegacyRequests> LegacyPort<N> {
    /// Serves `node`'s legacy requests.
    pub fn new(node: Arc<N>) -> Self {
        LegacyPort { node }
    }
}

impl<N: LegacyRequests> Service for LegacyPort<N> {
    fn serve(&self, socket: TcpStream) -> Served {
        let io = ClientIo::new(socket, Arc::clone(&self.node));
        Box::pin(async move { serve_requests(io).await.map_err(|e| e.to_string()) })
    }

    fn open_connections(&self) -> &AtomicU64 {
        LegacyRequests::open_connections(&*self.node)
    }

    fn connection_limit(&self) -> usize {
        LegacyRequests::connection_limit(&*self.node)
    }
}

/// Serves legacy requests one at a time until the client closes the
/// connection or misbehaves; replies of requests that arrived together are
/// written together. Used by the queue and log nodes.
pub async fn serve_requests<N: LegacyRequests>(mut io: ClientIo<N>) -> Result<(), ConnectionError> {
    loop {
        loop {
            let (request, consumed) = match N::decode(&io.input) {
                Ok(decoded) => decoded,
                Err(WireError::Incomplete) => break,
                Err(error) => return Err(error.into()),
            };
            io.input.advance(consumed);
            N::handle(request, &mut io).await?;
        }
        io.flush().await?;
        if !io.fill().await? {
            return io.end_of_input();
        }
    }
}

impl ClientIo<DhtNode> {
    /// Serves requests until the client closes the connection or misbehaves.
    async fn serve(mut self) -> Result<(), ConnectionError> {
        loop {
            while let Some(consumed) = self.handle_one().await? {
                debug_assert!(consumed > 0, "a request consumes its bytes");
            }
            self.flush().await?;
            if !self.fill().await? {
                return self.end_of_input();
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
}
