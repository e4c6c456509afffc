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

use crate::connection::{Connection, Protocol};
use crate::node::DhtNode;

/// The acceptor of one TCP port.
pub struct Listener {
    accept: Option<Acceptor>,
}

/// What the accept loop owns.
struct Acceptor {
    socket: TcpListener,
    protocol: Protocol,
    workers: Vec<ArbiterHandle>,
    node: Arc<DhtNode>,
    permits: Arc<Semaphore>,
}

impl Listener {
    /// A listener on a bound socket, handing connections that speak
    /// `protocol` to `workers`. Each listener has its own `connection_limit`,
    /// as in the original.
    pub fn new(socket: TcpListener, protocol: Protocol, workers: Vec<ArbiterHandle>, node: Arc<DhtNode>) -> Self {
        assert!(!workers.is_empty(), "a listener needs at least one worker arbiter");
        let permits = Arc::new(Semaphore::new(node.limits.connection_limit));
        Listener { accept: Some(Acceptor { socket, protocol, workers, node, permits }) }
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
            if let Err(error) = hand_over(socket, worker, &self.node, self.protocol.clone(), permit) {
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
    node: &Arc<DhtNode>,
    protocol: Protocol,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let socket = socket.into_std()?;
    let node = Arc::clone(node);
    worker.spawn_fn(move || match TcpStream::from_std(socket) {
        Ok(socket) => {
            Connection::new(socket, node, protocol, permit).start();
        }
        Err(error) => {
            tracing::warn!(target: "shoal.listener", "cannot adopt connection: {error}");
        }
    });
    Ok(())
}
