//! Neo Push: one record into up to 255 channels. No channels is a
//! successful no-op; an empty record or an invalid channel name is refused
//! with Error (the original stores empty records, which its consumers then
//! mistake for an empty queue).

use std::sync::Arc;

use shoal_protocol::dmq::neo::{PushArgs, PushStatus};
use shoal_storage::dmq::name::valid_channel;

use super::{valid_name, DmqNode, Task};
use crate::neo::RequestIo;

/// The task that stores the record and answers.
pub(super) fn start(args: PushArgs<'_>, node: &Arc<DmqNode>) -> Task {
    let channels: Option<Vec<String>> = args.channels.iter().map(|c| valid_name(c, valid_channel)).collect();
    let value = args.value.to_vec();
    let node = Arc::clone(node);
    Task::new(move |io: RequestIo| async move {
        let status = match channels {
            None => PushStatus::Error,
            Some(_) if value.is_empty() => PushStatus::Error,
            Some(channels) if channels.is_empty() => PushStatus::Pushed,
            Some(channels) => {
                let len = value.len();
                match node.store.push(channels, value).await {
                    Ok(()) => {
                        node.counters.pushed(len);
                        PushStatus::Pushed
                    }
                    Err(error) => {
                        tracing::error!(target: "dmqnode.request", "neo Push: storage failed: {error}");
                        PushStatus::Error
                    }
                }
            }
        };
        io.send(&[status as u8]).await
    })
}
