//! Neo Put: appends a record; Put (1) once it is in the bucket's write
//! buffer, Error (2) for an invalid channel name or a disk failure.

use std::sync::Arc;

use super::{valid_channel, DlsNode, Task};
use crate::neo::RequestIo;

/// The status bytes of a neo Put.
const PUT: u8 = 1;
const ERROR: u8 = 2;

/// The task that stores the record and answers.
pub(super) fn start(args: shoal_protocol::dls::neo::PutArgs<'_>, node: &Arc<DlsNode>) -> Task {
    let channel = valid_channel(args.channel);
    let (key, value) = (args.key, args.value.to_vec());
    let node = Arc::clone(node);
    Task::new(move |io: RequestIo| async move {
        let Some(channel) = channel else { return io.send(&[ERROR]).await };
        let shared = node.channel(&channel);
        let started = std::time::Instant::now();
        node.counters.neo_put.started();
        let stored = shared.append(&node.pool, key, value).await;
        node.counters.neo_put.finished(started.elapsed());
        let status = match stored {
            Ok(Ok(())) => PUT,
            Ok(Err(error)) => {
                tracing::error!(target: "dlsnode.request", "neo Put into '{channel}': {error}");
                ERROR
            }
            Err(_) => ERROR,
        };
        io.send(&[status]).await
    })
}
