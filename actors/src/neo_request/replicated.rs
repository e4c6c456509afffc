//! Neo Put, Get, Exists and Remove on a ring member: coordinated across the
//! key's replicas ([`crate::ring::coordinator`]) in a task of the
//! connection, so other requests on it go on meanwhile. A ring member
//! answers for every key; a request too few replicas answered gets the
//! request's Error status.

use std::sync::Arc;

use shoal_protocol::neo::{DhtRequest, ExistsStatus, GetStatus, PutStatus, RemoveStatus};

use super::{channel_name, Task};
use crate::neo::RequestIo;
use crate::node::DhtNode;
use crate::ring::coordinator;

/// The task coordinating `request`, or `None` for requests that are not
/// about one record (they run locally).
pub(super) fn start(request: &DhtRequest<'_>, node: &Arc<DhtNode>) -> Option<Task> {
    let ring = Arc::clone(node.ring()?);
    let node = Arc::clone(node);
    let (name, key, value, kind) = match *request {
        DhtRequest::Put { channel, key, value } => (channel, key, Some(value.to_vec()), Kind::Put),
        DhtRequest::Get { channel, key } => (channel, key, None, Kind::Get),
        DhtRequest::Exists { channel, key } => (channel, key, None, Kind::Exists),
        DhtRequest::Remove { channel, key } => (channel, key, None, Kind::Remove),
        DhtRequest::RemoveChannel { .. } => return None,
    };
    let channel = channel_name(name).map(str::to_owned);
    Some(Task::new(move |io: RequestIo| async move {
        let Some(channel) = channel else { return io.send(&[kind.error()]).await };
        let reply = match kind {
            Kind::Put => match coordinator::write(&ring, &node, &channel, key, value).await {
                Ok(()) => PutStatus::Put.to_byte(),
                Err(_) => PutStatus::Error.to_byte(),
            },
            Kind::Remove => match coordinator::read(&ring, &node, &channel, key).await {
                Ok(None) => RemoveStatus::NoRecord.to_byte(),
                Ok(Some(_)) => match coordinator::write(&ring, &node, &channel, key, None).await {
                    Ok(()) => RemoveStatus::Removed.to_byte(),
                    Err(_) => RemoveStatus::Error.to_byte(),
                },
                Err(_) => RemoveStatus::Error.to_byte(),
            },
            Kind::Exists => match coordinator::read(&ring, &node, &channel, key).await {
                Ok(Some(_)) => ExistsStatus::RecordExists.to_byte(),
                Ok(None) => ExistsStatus::NoRecord.to_byte(),
                Err(_) => ExistsStatus::Error.to_byte(),
            },
            Kind::Get => match coordinator::read(&ring, &node, &channel, key).await {
                Ok(Some(value)) => {
                    io.send(&[GetStatus::Got.to_byte()]).await?;
                    return io.send(&[&(value.len() as u64).to_le_bytes()[..], &value].concat()).await;
                }
                Ok(None) => GetStatus::NoRecord.to_byte(),
                Err(_) => GetStatus::Error.to_byte(),
            },
        };
        io.send(&[reply]).await
    }))
}

/// Which record request.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Put,
    Get,
    Exists,
    Remove,
}

impl Kind {
    /// The request's Error status byte (an invalid channel name).
    fn error(self) -> u8 {
        match self {
            Kind::Put => PutStatus::Error.to_byte(),
            Kind::Get => GetStatus::Error.to_byte(),
            Kind::Exists => ExistsStatus::Error.to_byte(),
            Kind::Remove => RemoveStatus::Error.to_byte(),
        }
    }
}
