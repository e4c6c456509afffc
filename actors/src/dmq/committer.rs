//! IndexCommitter: commits the disk overflow index every `[Overflow]
//! write_index_ms`, so that a crash loses at most that much of the
//! overflow's bookkeeping (the original only wrote it at shutdown).

use std::time::Duration;

use actix::prelude::*;

use super::store::StoreHandle;

/// The actor that owns the commit timer; stopping it stops the commits.
pub struct IndexCommitter {
    store: StoreHandle,
    period: Duration,
}

impl IndexCommitter {
    /// Commits through `store` every `period`.
    pub fn new(store: StoreHandle, period: Duration) -> Self {
        IndexCommitter { store, period }
    }
}

impl Actor for IndexCommitter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.period, |actor, ctx| {
            let store = actor.store.clone();
            // The storage thread does the fsync; this only queues the command.
            ctx.spawn(async move { drop(store.commit_index().await) }.into_actor(actor));
        });
    }
}
