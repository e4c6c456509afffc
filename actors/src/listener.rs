//! Listener: accepts client connections and spreads them over the worker
//! arbiters, one per core, round robin.
//!
//! A connection first takes a permit of the `connection_limit` semaphore;
//! while none is free, new clients wait in the listen backlog instead of
//! being accepted and starved.

use std::sync::Arc;

use actix::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::connection::Connection;
use crate::service::Service;

/// The acceptor of one TCP port.
pub struct Listener {
    accept: Option<Acceptor>,
}

/// What the accept loop owns.
struct Acceptor {
    socket: TcpListener,
    service: Arc<dyn Service>,
    workers: Vec<ArbiterHandle>,
    permits: Arc<Semaphore>,
}

impl Listener {
    /// A listener on a bound socket, handing its connections to `workers`
    /// to be served by `service`. Each listener has its own
    /// `connection_limit`, as in the original.
    pub fn new(socket: TcpListener, service: Arc<dyn Service>, workers: Vec<ArbiterHandle>) -> Self {
        assert!(!workers.is_empty(), "a listener needs at least one worker arbiter");
        let permits = Arc::new(Semaphore::new(service.connection_limit()));
        Listener { accept: Some(Acceptor { socket, service, workers, permits }) }
    }
}

impl Actor for Listener {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(acceptor) = self.accept.take() else { return };
        ctx.spawn(acceptor.run().into_actor(self).map(|(), _, ctx| ctx.stop()));
    }
}

impl Acceptor {
    async fn run(self) {
        let mut next_worker = 0;
        loop {
            let permit = match Arc::clone(&self.permits).acquire_owned().await {
                Ok(permit) => permit,
                Err(_) => return,
            };
            let (socket, peer) = match self.socket.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: log and go on.
                    tracing::error!(target: "shoal.listener", "accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let worker = &self.workers[next_worker];
            if let Err(error) = hand_over(socket, worker, &self.service, permit) {
                tracing::warn!(target: "shoal.listener", "dropping connection from {peer}: {error}");
            }
            next_worker = (next_worker + 1) % self.workers.len();
        }
    }
}

/// Moves an accepted socket to a worker arbiter and starts its Connection
/// there (a tokio socket belongs to the runtime that registered it).
fn hand_over(
    socket: TcpStream,
    worker: &ArbiterHandle,
    service: &Arc<dyn Service>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let socket = socket.into_std()?;
    let service = Arc::clone(service);
    worker.spawn_fn(move || match TcpStream::from_std(socket) {
        Ok(socket) => {
            Connection::new(socket, service, permit).start();
        }
        Err(error) => {
            tracing::warn!(target: "shoal.listener", "cannot adopt connection: {error}");
        }
    });
    Ok(())
}

/// Binds `address` (`ip:port`) with the configured listen backlog, for a
/// [`Listener`].
pub fn bind(address: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let address: std::net::SocketAddr = address
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(backlog)
}

/// Why a node could not open its ports.
#[derive(Debug, thiserror::Error)]
pub enum PortsError {
    /// A TCP port could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// `ip:port`.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The control socket could not be created.
    #[error("cannot create unix socket {path}: {source}")]
    Control {
        /// The socket path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The ports of a node: its legacy and neo listeners and its control
/// socket. Each node kind fills in its services.
pub struct Ports {
    /// `ip:port` of the legacy protocol, and what serves it.
    pub legacy: (String, Arc<dyn Service>),
    /// `ip:port` of the neo protocol, and what serves it.
    pub neo: (String, Arc<dyn Service>),
    /// `[Server] backlog`.
    pub backlog: u32,
    /// The control socket's path and commands.
    pub control: (std::path::PathBuf, crate::control::Commands),
}

impl Ports {
    /// Binds and starts every listener (connections go to `workers`) and
    /// the control socket; call inside the actor system.
    pub fn open(self, workers: Vec<ArbiterHandle>) -> Result<(), PortsError> {
        for (address, service) in [self.legacy, self.neo] {
            let socket = bind(&address, self.backlog).map_err(|source| PortsError::Bind { address, source })?;
            Listener::new(socket, service, workers.clone()).start();
        }
        let (path, commands) = self.control;
        crate::control::ControlSocket::bind(path.clone(), commands)
            .map_err(|source| PortsError::Control { path: path.display().to_string(), source })?
            .start();
        Ok(())
    }
}