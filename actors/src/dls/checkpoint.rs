//! Checkpointer: every `[Performance] write_flush_ms` the channels' write
//! buffers are flushed, and every `checkpoint_commit_seconds` every bucket
//! written since the last commit is fsynced and its synced length recorded
//! in `data/checkpoint.dat` (the original's file and format), so that
//! recovery after a crash cuts each bucket back to what was on disk. All of
//! it runs on the disk pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use shoal_storage::dls::checkpoint;

use super::node::DlsNode;

/// The actor owning both timers.
pub struct Checkpointer {
    node: Arc<DlsNode>,
    file: PathBuf,
    flush_every: Duration,
    commit_every: Duration,
}

impl Checkpointer {
    /// Flushes every `flush_every` and commits to `file` every
    /// `commit_every`.
    pub fn new(node: Arc<DlsNode>, file: PathBuf, flush_every: Duration, commit_every: Duration) -> Self {
        Checkpointer { node, file, flush_every, commit_every }
    }
}

impl Actor for Checkpointer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.flush_every.is_zero() {
            ctx.run_interval(self.flush_every, |actor, ctx| {
                let node = Arc::clone(&actor.node);
                ctx.spawn(async move { drop(flush_all(&node).await) }.into_actor(actor));
            });
        }
        ctx.run_interval(self.commit_every, |actor, ctx| {
            let (node, file) = (Arc::clone(&actor.node), actor.file.clone());
            ctx.spawn(async move { commit(&node, file).await }.into_actor(actor));
        });
    }
}

/// Flushes every channel's write buffers.
pub async fn flush_all(node: &Arc<DlsNode>) -> Result<(), super::pool::PoolStopped> {
    let channels: Vec<_> = node.channels.iter().map(|c| Arc::clone(c.value())).collect();
    node.pool
        .run(move || {
            for channel in channels {
                let mut channel = channel.lock();
                if let Err(error) = channel.flush() {
                    tracing::error!(target: "dlsnode.storage", "flushing '{}': {error}", channel.name());
                }
            }
        })
        .await
}

/// One commit: fsync and record every bucket written since the last one.
pub async fn commit(node: &Arc<DlsNode>, file: PathBuf) {
    let channels: Vec<_> = node.channels.iter().map(|c| Arc::clone(c.value())).collect();
    let done = node
        .pool
        .run(move || {
            let mut lines = Vec::new();
            for channel in channels {
                let mut channel = channel.lock();
                match channel.checkpoint() {
                    Ok(more) => lines.extend(more),
                    Err(error) => tracing::error!(target: "dlsnode.storage.checkpoint", "syncing '{}': {error}", channel.name()),
                }
            }
            checkpoint::write(&file, &lines)
        })
        .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(target: "dlsnode.storage.checkpoint", "writing the checkpoint: {error}"),
        Err(_) => {}
    }
}
