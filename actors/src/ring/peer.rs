//! The peer port: one sealed message in, one sealed answer out, per
//! exchange; and the client side of an exchange.
//!
//! A frame is a `u32` little-endian length (at most
//! [`shoal_cluster::message::MAX_FRAME`], checked before anything
//! is read into memory) and the sealed body. A frame that does not open
//! (wrong key, replay, garbage) is logged and closes the connection; nothing
//! changes.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shoal_cluster::message::{open, seal, NonceStream, Nonces, PeerError, PeerMessage, MAX_FRAME};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::answer::answer;
use super::Ring;
use crate::node::DhtNode;
use crate::service::{Served, Service};

/// Most peer connections at once (a ring has a handful of members).
const PEER_CONNECTIONS: usize = 1024;

/// How long an exchange may take before the peer counts as silent.
pub(super) const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pull, balance or purge may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A frame longer than the limit.
    #[error("peer frame of {0} bytes is over the limit")]
    TooLong(u32),
    /// The frame did not open.
    #[error("{0}")]
    Refused(#[from] PeerError),
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The nonces of a new connection's frames, from a random stream.
pub(super) fn nonce_stream() -> NonceStream {
    NonceStream::new(getrandom::u64().unwrap_or_else(|_| now_ms().rotate_left(17) ^ u64::from(std::process::id())))
}

/// Writes `message` as one sealed frame, with the connection's next nonce.
pub(super) async fn write_frame(
    socket: &mut (impl AsyncWrite + Unpin),
    key: &[u8],
    nonces: &mut NonceStream,
    message: &PeerMessage,
) -> std::io::Result<()> {
    let body = seal(key, message, now_ms(), nonces.next_nonce());
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&body);
    socket.write_all(&frame).await
}

pub(super) async fn read_frame(socket: &mut (impl AsyncRead + Unpin)) -> Result<Option<Vec<u8>>, ExchangeError> {
    let mut len = [0u8; 4];
    match socket.read_exact(&mut len).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME {
        return Err(ExchangeError::TooLong(len));
    }
    // Grows as the bytes arrive: a lying length costs nothing up front.
    let mut body = Vec::new();
    (&mut *socket).take(u64::from(len)).read_to_end(&mut body).await?;
    if body.len() < len as usize {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(body))
}

/// How long an exchange may take: data messages are short; a pull, a
/// balance or a purge moves a member's share of the data first.
fn time_limit(message: &PeerMessage) -> Duration {
    match message {
        PeerMessage::Pull { .. }
        | PeerMessage::Balance
        | PeerMessage::Purge
        | PeerMessage::SetReplicas { .. }
        | PeerMessage::Remove { .. }
        | PeerMessage::JoinThrough { .. } => {
            ADMIN_TIMEOUT
        }
        _ => EXCHANGE_TIMEOUT,
    }
}

/// An open connection to a member, with the nonces of its frames.
#[derive(Debug)]
struct Connection {
    socket: TcpStream,
    nonces: NonceStream,
}

impl Connection {
    async fn open(address: &str) -> Result<Connection, ExchangeError> {
        let socket = TcpStream::connect(address).await?;
        socket.set_nodelay(true)?;
        Ok(Connection { socket, nonces: nonce_stream() })
    }

    /// One exchange.
    async fn talk(&mut self, key: &[u8], message: &PeerMessage) -> Result<PeerMessage, ExchangeError> {
        write_frame(&mut self.socket, key, &mut self.nonces, message).await?;
        let body = read_frame(&mut self.socket).await?.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        Ok(open(key, &body, now_ms(), &mut Nonces::default())?)
    }
}

/// Sends `message` to the peer at `address` on a new connection and returns
/// its answer (the CLI's one-off exchanges).
pub async fn exchange(address: &str, key: &[u8], message: &PeerMessage) -> Result<PeerMessage, ExchangeError> {
    let work = async { Connection::open(address).await?.talk(key, message).await };
    tokio::time::timeout(time_limit(message), work).await.map_err(|_| ExchangeError::Timeout)?
}

/// Sends `message` to `address` on `kept` (or a new connection) and
/// returns the answer with the connection to keep. A kept connection the
/// peer closed meanwhile (it restarted) is retried once on a new one;
/// every message is idempotent.
async fn exchange_reusing(
    kept: Option<Connection>,
    address: &str,
    key: &[u8],
    message: &PeerMessage,
) -> (Result<PeerMessage, ExchangeError>, Option<Connection>) {
    let limit = time_limit(message);
    if let Some(mut connection) = kept {
        if let Ok(Ok(answer)) = tokio::time::timeout(limit, connection.talk(key, message)).await {
            return (Ok(answer), Some(connection));
        }
    }
    let work = async {
        let mut connection = Connection::open(address).await?;
        let answer = connection.talk(key, message).await?;
        Ok::<_, ExchangeError>((connection, answer))
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok((connection, answer))) => (Ok(answer), Some(connection)),
        Ok(Err(error)) => (Err(error), None),
        Err(_) => (Err(ExchangeError::Timeout), None),
    }
}

/// Open connections to other members, reused across exchanges so that a
/// replicated write costs one round trip, not a TCP handshake.
#[derive(Debug, Default)]
pub struct PeerPool {
    idle: Mutex<HashMap<String, Vec<Connection>>>,
}

/// Idle connections kept per member.
const IDLE_PER_PEER: usize = 64;

impl PeerPool {
    /// Sends `message` to `address` and returns its answer, on a kept
    /// connection if there is one.
    pub async fn exchange(&self, address: &str, key: &[u8], message: &PeerMessage) -> Result<PeerMessage, ExchangeError> {
        let (answer, connection) = exchange_reusing(self.take(address), address, key, message).await;
        if let Some(connection) = connection {
            self.keep(address, connection);
        }
        answer
    }

    fn take(&self, address: &str) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).get_mut(address)?.pop()
    }

    fn keep(&self, address: &str, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let kept = idle.entry(address.to_owned()).or_default();
        if kept.len() < IDLE_PER_PEER {
            kept.push(connection);
        }
    }

    /// Closes every kept connection (their runtime is gone).
    pub fn forget_all(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Closes the kept connections to a member that left the ring.
    pub fn forget(&self, address: &str) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).remove(address);
    }
}

/// The peer port's service.
pub struct PeerPort {
    ring: Arc<Ring>,
    node: Arc<DhtNode>,
    nonces: Arc<Mutex<Nonces>>,
    open: AtomicU64,
}

impl PeerPort {
    /// Serves the peers of `ring`, whose records `node` holds.
    pub fn new(ring: Arc<Ring>, node: Arc<DhtNode>) -> Self {
        PeerPort { ring, node, nonces: Arc::default(), open: AtomicU64::new(0) }
    }
}

impl Service for PeerPort {
    fn serve(&self, mut socket: TcpStream) -> Served {
        let (ring, node, nonces) = (Arc::clone(&self.ring), Arc::clone(&self.node), Arc::clone(&self.nonces));
        Box::pin(async move {
            let peer = socket.peer_addr().map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
            let mut answers = nonce_stream();
            while let Some(body) = read_frame(&mut socket).await.map_err(|e| e.to_string())? {
                let opened = open(&ring.key, &body, now_ms(), &mut nonces.lock().unwrap_or_else(|p| p.into_inner()));
                let message = match opened {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(target: "shoal.ring", "refused a peer message from {peer}: {error}");
                        return Err(format!("refused peer message: {error}"));
                    }
                };
                let answer = answer(&ring, &node, message).await;
                write_frame(&mut socket, &ring.key, &mut answers, &answer).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }

    fn open_connections(&self) -> &AtomicU64 {
        &self.open
    }

    fn connection_limit(&self) -> usize {
        PEER_CONNECTIONS
    }
}

