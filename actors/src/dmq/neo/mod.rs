//! The neo DMQ requests, one file per request kind, at the versions the
//! original serves (Push v3, Pop v1, Consume v4). Unlike the original, neo
//! channel names are checked as on the legacy port: a name that could not be
//! loaded again at the next start is refused with the request's Error.

mod consume;
mod pop;
mod push;

use std::sync::Arc;

use shoal_protocol::dmq::neo::{ConsumeArgs, PushArgs, CONSUME_V4, DMQ_COMMANDS, POP_V1, PUSH_V3};
use shoal_protocol::dmq::neo::decode_pop_args;
use shoal_protocol::neo::{Command, RequestError, RequestStart};

use super::node::{DmqNode, NEO_REQUESTS};
use crate::counters::RequestCounters;
use crate::neo::{NeoService, Replies, Task};

/// The dmqnode as a neo service.
pub struct DmqNeo {
    node: Arc<DmqNode>,
}

impl DmqNeo {
    /// Serves neo requests on `node`.
    pub fn new(node: Arc<DmqNode>) -> Self {
        DmqNeo { node }
    }
}

impl NeoService for DmqNeo {
    fn commands(&self) -> &[Command] {
        &DMQ_COMMANDS
    }

    fn start(&self, start: RequestStart<'_>, replies: &mut Replies<'_>) -> Result<Option<Task>, RequestError> {
        let node = &self.node;
        let (task, kind) = match start.command {
            PUSH_V3 => (Some(push::start(PushArgs::decode(start.args)?, node)), "push"),
            POP_V1 => (Some(pop::start(decode_pop_args(start.args)?, node)), "pop"),
            CONSUME_V4 => (consume::start(ConsumeArgs::decode(start.args)?, node, replies), "consume"),
            Command { code, version } => return Err(RequestError::NotARecordRequest { code, version }),
        };
        let index = NEO_REQUESTS.iter().position(|name| *name == kind).expect("every neo request is counted");
        Ok(task.map(|task| task.timed(NeoCounter { node: Arc::clone(node), index })))
    }
}

/// The stats counters of one neo request kind, owned by its task.
struct NeoCounter {
    node: Arc<DmqNode>,
    index: usize,
}

impl std::ops::Deref for NeoCounter {
    type Target = RequestCounters;

    fn deref(&self) -> &RequestCounters {
        &self.node.counters.neo_requests[self.index]
    }
}

/// A channel (or subscriber) name that the storage can keep.
fn valid_name(name: &[u8], valid: fn(&str) -> bool) -> Option<String> {
    std::str::from_utf8(name).ok().filter(|name| valid(name)).map(str::to_owned)
}
