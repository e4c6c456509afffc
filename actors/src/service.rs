//! What a listener's connections run. Each node kind (DHT, queue, log) and
//! protocol (legacy, neo) is one [`Service`]; the [`crate::listener`] and
//! [`crate::connection`] actors are shared by all of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::neo::{session, CredentialsStore, NeoService};

/// A connection's work, run on its worker arbiter until the client leaves;
/// an error is why the node closed the connection (logged).
pub type Served = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// Serves the connections of one listener.
pub trait Service: Send + Sync + 'static {
    /// Serves one accepted connection until it ends.
    fn serve(&self, socket: TcpStream) -> Served;

    /// The gauge of open connections that stats.log reports.
    fn open_connections(&self) -> &AtomicU64;

    /// `[Server] connection_limit`: at most this many at once.
    fn connection_limit(&self) -> usize;
}

/// The neo protocol in front of a node's [`NeoService`]: the handshake
/// against the credentials, then the node's requests.
pub struct NeoPort<S: NeoService> {
    requests: Arc<S>,
    credentials: Arc<CredentialsStore>,
    open: Arc<AtomicU64>,
    limit: usize,
}

impl<S: NeoService> NeoPort<S> {
    /// Serves `requests` to the clients in `credentials`, at most `limit`
    /// at once, counting them in `open`.
    pub fn new(requests: Arc<S>, credentials: Arc<CredentialsStore>, open: Arc<AtomicU64>, limit: usize) -> Self {
        NeoPort { requests, credentials, open, limit }
    }
}

impl<S: NeoService> Service for NeoPort<S> {
    fn serve(&self, socket: TcpStream) -> Served {
        let (requests, credentials) = (Arc::clone(&self.requests), Arc::clone(&self.credentials));
        Box::pin(async move { session::serve(socket, &*requests, &credentials).await.map_err(|e| e.to_string()) })
    }

    fn open_connections(&self) -> &AtomicU64 {
        &self.open
    }

    fn connection_limit(&self) -> usize {
        self.limit
    }
}
