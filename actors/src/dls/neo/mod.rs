//! The neo DLS requests, one file per request kind, at the versions the
//! original serves (Put v1, GetRange v2). Unlike the original, channel
//! names are checked as on the legacy port (the original let `..` write
//! outside its data directory).

mod get_range;
mod put;

use std::sync::Arc;

use shoal_protocol::dls::neo::{GetRangeArgs, PutArgs, DLS_COMMANDS, GET_RANGE_V2, PUT_V1};
use shoal_protocol::neo::{Command, RequestError, RequestStart};
use shoal_storage::channel_name::is_valid_channel_name;

use super::node::DlsNode;
use crate::neo::{NeoService, Replies, Task};

/// The dlsnode as a neo service.
pub struct DlsNeo {
    node: Arc<DlsNode>,
}

impl DlsNeo {
    /// Serves neo requests on `node`.
    pub fn new(node: Arc<DlsNode>) -> Self {
        DlsNeo { node }
    }
}

impl NeoService for DlsNeo {
    fn commands(&self) -> &[Command] {
        &DLS_COMMANDS
    }

    fn start(&self, start: RequestStart<'_>, replies: &mut Replies<'_>) -> Result<Option<Task>, RequestError> {
        let node = &self.node;
        match start.command {
            PUT_V1 => Ok(put::start(PutArgs::decode(start.args)?, node, replies)),
            GET_RANGE_V2 => Ok(get_range::start(GetRangeArgs::decode(start.args)?, node, replies)),
            Command { code, version } => Err(RequestError::NotARecordRequest { code, version }),
        }
    }
}

/// A channel name the storage can use as a directory name.
fn valid_channel(name: &[u8]) -> Option<&str> {
    std::str::from_utf8(name).ok().filter(|name| is_valid_channel_name(name.as_bytes()))
}
