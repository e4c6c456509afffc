//! The peer port: one sealed message in, one sealed answer out, per
//! exchange; and the client side of an exchange.
//!
//! A frame is a `u32` little-endian length (at most
//! [`MAX_FRAME`](shoal_cluster::message::MAX_FRAME), checked before anything
//! is read into memory) and the sealed body. A frame that does not open
//! (wrong key, replay, garbage) is logged and closes the connection; nothing
//! changes.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shoal_cluster::message::{open, seal, Nonces, PeerError, PeerMessage, MAX_FRAME};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Ring;
use crate::service::{Served, Service};

/// Most peer connections at once (a ring has a handful of members).
const PEER_CONNECTIONS: usize = 1024;

/// How long an exchange may take before the peer counts as silent.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(2);

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
    #[error("no answer within {EXCHANGE_TIMEOUT:?}")]
    Timeout,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn nonce() -> u64 {
    getrandom::u64().unwrap_or_else(|_| now_ms().rotate_left(17) ^ u64::from(std::process::id()))
}

async fn write_frame(socket: &mut (impl AsyncWrite + Unpin), key: &[u8], message: &PeerMessage) -> std::io::Result<()> {
    let body = seal(key, message, now_ms(), nonce());
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&body);
    socket.write_all(&frame).await
}

async fn read_frame(socket: &mut (impl AsyncRead + Unpin)) -> Result<Option<Vec<u8>>, ExchangeError> {
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
    let mut body = vec![0u8; len as usize];
    socket.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Sends `message` to the peer at `address` and returns its answer.
pub async fn exchange(address: &str, key: &[u8], message: &PeerMessage) -> Result<PeerMessage, ExchangeError> {
    let work = async {
        let mut socket = TcpStream::connect(address).await?;
        write_frame(&mut socket, key, message).await?;
        let body = read_frame(&mut socket).await?.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        Ok(open(key, &body, now_ms(), &mut Nonces::default())?)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, work).await.map_err(|_| ExchangeError::Timeout)?
}

/// The peer port's service.
pub struct PeerPort {
    ring: Arc<Ring>,
    nonces: Arc<Mutex<Nonces>>,
    open: AtomicU64,
}

impl PeerPort {
    /// Serves the peers of `ring`.
    pub fn new(ring: Arc<Ring>) -> Self {
        PeerPort { ring, nonces: Arc::default(), open: AtomicU64::new(0) }
    }
}

impl Service for PeerPort {
    fn serve(&self, mut socket: TcpStream) -> Served {
        let (ring, nonces) = (Arc::clone(&self.ring), Arc::clone(&self.nonces));
        Box::pin(async move {
            let peer = socket.peer_addr().map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
            while let Some(body) = read_frame(&mut socket).await.map_err(|e| e.to_string())? {
                let opened = open(&ring.key, &body, now_ms(), &mut nonces.lock().unwrap_or_else(|p| p.into_inner()));
                let message = match opened {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(target: "shoal.ring", "refused a peer message from {peer}: {error}");
                        return Err(format!("refused peer message: {error}"));
                    }
                };
                let answer = answer(&ring, message);
                write_frame(&mut socket, &ring.key, &answer).await.map_err(|e| e.to_string())?;
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

/// What a member answers to a peer message.
fn answer(ring: &Ring, message: PeerMessage) -> PeerMessage {
    let mut membership = ring.membership();
    match message {
        PeerMessage::Join { member } => {
            if membership.add(&member) {
                tracing::info!(target: "shoal.ring", "{member} joined: epoch {}", membership.view().epoch);
            }
            membership.heard_from(&member);
        }
        PeerMessage::Ping { from } => membership.heard_from(&from),
        PeerMessage::View(view) => {
            membership.merge(&view);
        }
        PeerMessage::Remove { member } => {
            if !membership.remove(&member) {
                return PeerMessage::Refused { reason: format!("{member} is not a member (or is this node)") };
            }
            tracing::info!(target: "shoal.ring", "{member} removed: epoch {}", membership.view().epoch);
        }
        PeerMessage::Refused { reason } => return PeerMessage::Refused { reason: format!("unexpected refusal: {reason}") },
    }
    PeerMessage::View(membership.view())
}
