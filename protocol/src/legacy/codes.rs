//! Request and status codes of the legacy DHT protocol (dhtproto's DhtConst
//! and swarm's status codes). Both travel as u32 little-endian.

/// The legacy DHT request codes the original node answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Command {
    /// Store one record.
    Put = 1,
    /// Read one record.
    Get = 7,
    /// Ask whether a record exists.
    Exists = 11,
    /// Remove one record.
    Remove = 12,
    /// List the node's channels.
    GetChannels = 17,
    /// Record count and size of one channel.
    GetChannelSize = 18,
    /// Record count and size of all channels.
    GetSize = 19,
    /// The node's hash range.
    GetResponsibleRange = 20,
    /// Drop a channel and its records.
    RemoveChannel = 22,
    /// Number of open connections.
    GetNumConnections = 23,
    /// The protocol version string.
    GetVersion = 24,
    /// Stream every later change of a channel.
    Listen = 25,
    /// Stream every record of a channel.
    GetAll = 29,
    /// Stream every key of a channel.
    GetAllKeys = 30,
    /// Stream the records whose value contains a string.
    GetAllFilter = 31,
    /// Take a new hash range and move records elsewhere.
    Redistribute = 33,
    /// Store a compressed batch of records.
    PutBatch = 34,
}

impl Command {
    /// Every code, for iteration in stats and tests.
    pub const ALL: [Command; 17] = [
        Command::Put,
        Command::Get,
        Command::Exists,
        Command::Remove,
        Command::GetChannels,
        Command::GetChannelSize,
        Command::GetSize,
        Command::GetResponsibleRange,
        Command::RemoveChannel,
        Command::GetNumConnections,
        Command::GetVersion,
        Command::Listen,
        Command::GetAll,
        Command::GetAllKeys,
        Command::GetAllFilter,
        Command::Redistribute,
        Command::PutBatch,
    ];

    /// The command for a code read from the wire, if it is one.
    pub fn from_code(code: u32) -> Option<Command> {
        Command::ALL.into_iter().find(|command| *command as u32 == code)
    }

    /// The name the original uses in stats and logs.
    pub fn name(self) -> &'static str {
        match self {
            Command::Put => "Put",
            Command::Get => "Get",
            Command::Exists => "Exists",
            Command::Remove => "Remove",
            Command::GetChannels => "GetChannels",
            Command::GetChannelSize => "GetChannelSize",
            Command::GetSize => "GetSize",
            Command::GetResponsibleRange => "GetResponsibleRange",
            Command::RemoveChannel => "RemoveChannel",
            Command::GetNumConnections => "GetNumConnections",
            Command::GetVersion => "GetVersion",
            Command::Listen => "Listen",
            Command::GetAll => "GetAll",
            Command::GetAllKeys => "GetAllKeys",
            Command::GetAllFilter => "GetAllFilter",
            Command::Redistribute => "Redistribute",
            Command::PutBatch => "PutBatch",
        }
    }
}

/// Status codes a node replies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Done.
    Ok = 200,
    /// The request was not understood.
    InvalidRequest = 400,
    /// The key is outside this node's hash range.
    WrongNode = 404,
    /// The node does not support this.
    NotSupported = 406,
    /// The node's size limit would be exceeded.
    OutOfMemory = 407,
    /// Empty values cannot be stored.
    EmptyValue = 408,
    /// The channel name is invalid.
    BadChannelName = 409,
    /// The value is larger than the node accepts.
    ValueTooBig = 410,
    /// Internal node error.
    Error = 500,
}

impl Status {
    /// The status for a code read from the wire, if it is one.
    pub fn from_code(code: u32) -> Option<Status> {
        [
            Status::Ok,
            Status::InvalidRequest,
            Status::WrongNode,
            Status::NotSupported,
            Status::OutOfMemory,
            Status::EmptyValue,
            Status::BadChannelName,
            Status::ValueTooBig,
            Status::Error,
        ]
        .into_iter()
        .find(|status| *status as u32 == code)
    }
}

/// The API version string the original DHT node reports (GetVersion).
pub const API_VERSION: &str = "20110401";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for command in Command::ALL {
            assert_eq!(Command::from_code(command as u32), Some(command));
        }
        assert_eq!(Command::from_code(2), None);
        assert_eq!(Status::from_code(404), Some(Status::WrongNode));
    }
}
