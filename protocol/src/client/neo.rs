//! An async client for the neo DHT protocol, for one node: every request the
//! original node serves, any number of them in flight on one connection.
//!
//! [`NeoClient::connect`] runs the handshake and starts two tasks owned by
//! the client (dropping the client stops them): a writer that sends what the
//! requests queue, and a reader that routes each reply to its request by id.
//! Each request's replies wait in a small bounded queue; a request whose
//! replies are not read holds back the reader, so a node streaming to a slow
//! consumer meets TCP back-pressure instead of filling the client's memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::legacy::batch::{self, BatchError};
use crate::neo::connect::Step;
use crate::neo::dht::get_all::{GetAllArgs, GetAllMessage, GET_ALL_V0};
use crate::neo::dht::get_channels::{GetChannelsMessage, GET_CHANNELS_V0};
use crate::neo::dht::get_hash_range::{decode_current, HashRangeUpdate, GET_HASH_RANGE_V0};
use crate::neo::dht::mirror::{MirrorArgs, MirrorMessage, MIRROR_V0};
use crate::neo::dht::update::{value_hash, UpdateArgs, UpdateReply, UpdateStep, UPDATE_V0};
use crate::neo::dht::Control;
use crate::neo::header::encode_message;
use crate::neo::payload::PayloadReader;
use crate::neo::request::{encode_request_start, split_request_id};
use crate::neo::{
    ClientEvent, ClientHandshake, Command, ConnectError, DhtRequest, ExistsStatus, GetStatus, HeaderDecoder,
    HeaderError, Key, MessageType, PutStatus, RemoveChannelStatus, RemoveStatus, RequestError, RequestId,
    SupportedStatus,
};

/// Largest uncompressed batch the client accepts (the node sends 64 KiB).
const MAX_BATCH: u64 = 64 * 1024 * 1024;

/// Replies waiting for one request before the reader waits for it.
const REPLY_QUEUE: usize = 16;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum NeoClientError {
    /// The connection failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] ConnectError),
    /// The node refused our name or key.
    #[error("the node refused the credentials")]
    Rejected,
    /// A message from the node was malformed.
    #[error("bad message from the node: {0}")]
    Header(#[from] HeaderError),
    /// A reply did not parse.
    #[error("bad reply: {0}")]
    Protocol(#[from] RequestError),
    /// A batch in a reply did not decompress.
    #[error("bad batch: {0}")]
    Batch(#[from] BatchError),
    /// The node does not serve the request at this version.
    #[error("request not served: {0:?}")]
    NotSupported(SupportedStatus),
    /// The connection closed before the request ended.
    #[error("connection closed")]
    Closed,
}

type Result<T> = std::result::Result<T, NeoClientError>;

/// Where the reader routes replies, by request id.
type Routes = Arc<Mutex<HashMap<RequestId, Route>>>;

/// How the reader delivers one request's replies.
enum Route {
    /// A streaming or two-step request: every reply goes to its queue.
    Stream(mpsc::Sender<Vec<u8>>),
    /// A one-step record request: the reader gathers its two or three
    /// replies and completes it, without a queue or a task switch per reply.
    Record(RecordReplies),
}

/// The replies of a one-step record request, gathered by the reader.
struct RecordReplies {
    /// A Get: the Got status is followed by the value.
    get: bool,
    replies: Vec<Vec<u8>>,
    done: Option<oneshot::Sender<Vec<Vec<u8>>>>,
}

impl RecordReplies {
    /// Adds a reply; true when the request is complete (then `done` fired).
    fn add(&mut self, payload: &[u8]) -> bool {
        self.replies.push(payload.to_vec());
        let complete = match self.replies.len() {
            1 => payload != [SupportedStatus::Supported.to_byte()],
            2 => !(self.get && payload == [GetStatus::Got.to_byte()]),
            _ => true,
        };
        if complete {
            if let Some(done) = self.done.take() {
                let _ = done.send(std::mem::take(&mut self.replies));
            }
        }
        complete
    }
}

/// A connection to one node's neo port.
pub struct NeoClient {
    outgoing: mpsc::Sender<Vec<u8>>,
    routes: Routes,
    next_id: AtomicU64,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for NeoClient {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl NeoClient {
    /// Connects and authenticates as `name` with `key`.
    pub async fn connect(addr: impl ToSocketAddrs, name: &str, key: Key) -> Result<Self> {
        Self::over(TcpStream::connect(addr).await?, name, key).await
    }

    /// Authenticates on a socket the caller connected (and configured, e.g.
    /// its buffer sizes).
    pub async fn over(mut socket: TcpStream, name: &str, key: Key) -> Result<Self> {
        socket.set_nodelay(true)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut output = Vec::new();
        let mut handshake = ClientHandshake::new(name.as_bytes(), key, now, &mut output);
        let mut input = Vec::new();
        loop {
            let Step { consumed, event } = handshake.advance(&input, &mut output)?;
            input.drain(..consumed);
            socket.write_all(&output).await?;
            output.clear();
            match event {
                ClientEvent::NeedMore => {
                    if socket.read_buf(&mut input).await? == 0 {
                        return Err(NeoClientError::Closed);
                    }
                }
                ClientEvent::Accepted => break,
                ClientEvent::Rejected => return Err(NeoClientError::Rejected),
            }
        }
        let (read, write) = socket.into_split();
        let (outgoing, queued) = mpsc::channel(256);
        let routes = Routes::default();
        let tasks = [
            tokio::spawn(write_requests(write, queued)),
            tokio::spawn(route_replies(read, input, Arc::clone(&routes))),
        ];
        Ok(NeoClient { outgoing, routes, next_id: AtomicU64::new(1), tasks })
    }

    /// Starts a request: sends its first message and waits for the node's
    /// supported reply.
    pub(crate) async fn start(&self, command: Command, args: &[u8]) -> Result<RequestHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, replies) = mpsc::channel(REPLY_QUEUE);
        self.routes.lock().unwrap_or_else(|p| p.into_inner()).insert(id, Route::Stream(queue));
        let mut handle = RequestHandle { id, replies, outgoing: self.outgoing.clone(), routes: Arc::clone(&self.routes) };
        handle.send_body(&encode_request_start(id, command, args)).await?;
        let supported = handle.recv().await?;
        match supported[..] {
            [byte] => match SupportedStatus::from_byte(byte) {
                Some(SupportedStatus::Supported) => Ok(handle),
                Some(status) => Err(NeoClientError::NotSupported(status)),
                None => Err(unknown("supported", byte)),
            },
            _ => Err(unknown("supported reply length", supported.len().min(255) as u8)),
        }
    }

    /// Runs a one-step DHT record request; returns its status byte and,
    /// for a Get that found the record, the value message.
    async fn record_request(&self, request: DhtRequest<'_>) -> Result<(u8, Option<Vec<u8>>)> {
        let get = matches!(request, DhtRequest::Get { .. });
        self.one_step(request.command(), &request.encode_args(), get).await
    }

    /// Runs a one-step request (supported, then one status, then for a
    /// `get` whose status is Got the value); returns the status byte and
    /// the value message, if any.
    pub(crate) async fn one_step(&self, command: Command, args: &[u8], get: bool) -> Result<(u8, Option<Vec<u8>>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, completed) = oneshot::channel();
        let route = Route::Record(RecordReplies { get, replies: Vec::with_capacity(3), done: Some(done) });
        self.routes.lock().unwrap_or_else(|p| p.into_inner()).insert(id, route);
        let mut message = Vec::new();
        encode_message(MessageType::Request, &[&id.to_le_bytes(), &[command.code, command.version], args], &mut message);
        self.outgoing.send(message).await.map_err(|_| NeoClientError::Closed)?;
        let mut replies = completed.await.map_err(|_| NeoClientError::Closed)?.into_iter();
        let supported = replies.next().unwrap_or_default();
        match supported[..] {
            [byte] if byte == SupportedStatus::Supported.to_byte() => {}
            [byte] => return Err(SupportedStatus::from_byte(byte).map_or(unknown("supported", byte), NeoClientError::NotSupported)),
            _ => return Err(unknown("supported reply length", supported.len().min(255) as u8)),
        }
        let status = replies.next().unwrap_or_default();
        match status[..] {
            [byte] => Ok((byte, replies.next())),
            _ => Err(unknown("status length", status.len().min(255) as u8)),
        }
    }

    /// Put: stores a record.
    pub async fn put(&self, channel: &str, key: u64, value: &[u8]) -> Result<PutStatus> {
        let (byte, _) = self.record_request(DhtRequest::Put { channel: channel.as_bytes(), key, value }).await?;
        PutStatus::from_byte(byte).ok_or(unknown("Put", byte))
    }

    /// Get: the value, or `None` with the status when there is none.
    pub async fn get(&self, channel: &str, key: u64) -> Result<(GetStatus, Option<Vec<u8>>)> {
        let (byte, message) = self.record_request(DhtRequest::Get { channel: channel.as_bytes(), key }).await?;
        let status = GetStatus::from_byte(byte).ok_or(unknown("Get", byte))?;
        let Some(message) = message else { return Ok((status, None)) };
        let mut r = PayloadReader::new(&message);
        let value = r.array("value")?.to_vec();
        r.finish()?;
        Ok((status, Some(value)))
    }

    /// Exists: whether the record is stored.
    pub async fn exists(&self, channel: &str, key: u64) -> Result<ExistsStatus> {
        let (byte, _) = self.record_request(DhtRequest::Exists { channel: channel.as_bytes(), key }).await?;
        ExistsStatus::from_byte(byte).ok_or(unknown("Exists", byte))
    }

    /// Remove: drops a record.
    pub async fn remove(&self, channel: &str, key: u64) -> Result<RemoveStatus> {
        let (byte, _) = self.record_request(DhtRequest::Remove { channel: channel.as_bytes(), key }).await?;
        RemoveStatus::from_byte(byte).ok_or(unknown("Remove", byte))
    }

    /// RemoveChannel: drops a channel (only the client `admin` may).
    pub async fn remove_channel(&self, channel: &str) -> Result<RemoveChannelStatus> {
        let (byte, _) = self.record_request(DhtRequest::RemoveChannel { channel: channel.as_bytes() }).await?;
        RemoveChannelStatus::from_byte(byte).ok_or(unknown("RemoveChannel", byte))
    }

    /// GetChannels: every channel's name.
    pub async fn get_channels(&self) -> Result<Vec<String>> {
        let mut handle = self.start(GET_CHANNELS_V0, &[]).await?;
        let mut names = Vec::new();
        loop {
            match GetChannelsMessage::decode(&handle.recv().await?)? {
                GetChannelsMessage::ChannelName(name) => names.push(String::from_utf8_lossy(name).into_owned()),
                GetChannelsMessage::Finished => return Ok(names),
                GetChannelsMessage::Error => return Err(unknown("GetChannels", 1)),
            }
        }
    }

    /// GetHashRange: the node's range now, and its later changes.
    pub async fn get_hash_range(&self) -> Result<HashRangeWatch> {
        let mut handle = self.start(GET_HASH_RANGE_V0, &[]).await?;
        let current = decode_current(&handle.recv().await?)?;
        Ok(HashRangeWatch { handle, current })
    }

    /// Update, first step: the record's value (`None` if there is none, and
    /// the request is over), with the handle to decide what to do with it.
    pub async fn update(&self, channel: &str, key: u64) -> Result<std::result::Result<PendingUpdate, UpdateReply<'static>>> {
        let args = UpdateArgs { channel: channel.as_bytes(), key, step: UpdateStep::GetRecord };
        let mut handle = self.start(UPDATE_V0, &args.encode()).await?;
        let message = handle.recv().await?;
        Ok(match UpdateReply::decode(&message)? {
            UpdateReply::RecordValue(value) => Ok(PendingUpdate { value: value.to_vec(), handle }),
            other => Err(owned_outcome(other)),
        })
    }

    /// Update in one step: writes `value` if the stored value (if any)
    /// still hashes to `old_hash`.
    pub async fn update_now(&self, channel: &str, key: u64, old_hash: u64, value: &[u8]) -> Result<UpdateReply<'static>> {
        let args = UpdateArgs { channel: channel.as_bytes(), key, step: UpdateStep::UpdateRecord { old_hash, value } };
        let mut handle = self.start(UPDATE_V0, &args.encode()).await?;
        Ok(owned_outcome(UpdateReply::decode(&handle.recv().await?)?))
    }

    /// GetAll: a stream of the channel's records.
    pub async fn get_all(&self, args: GetAllArgs<'_>) -> Result<GetAllStream> {
        let mut handle = self.start(GET_ALL_V0, &args.encode()).await?;
        match GetAllMessage::decode(&handle.recv().await?)? {
            GetAllMessage::Started => Ok(GetAllStream { handle, keys_only: args.keys_only, finished: false }),
            _ => Err(unknown("GetAll start", 6)),
        }
    }

    /// Mirror: a stream of the channel's changes (and refreshes).
    pub async fn mirror(&self, args: MirrorArgs<'_>) -> Result<MirrorStream> {
        let mut handle = self.start(MIRROR_V0, &args.encode()).await?;
        match MirrorMessage::decode(&handle.recv().await?)? {
            MirrorMessage::Started => Ok(MirrorStream { handle, ended: false }),
            _ => Err(unknown("Mirror start", 6)),
        }
    }
}

fn unknown(kind: &'static str, byte: u8) -> NeoClientError {
    NeoClientError::Protocol(RequestError::UnknownStatus { kind, byte })
}

/// An outcome of an Update, detached from the message it came in.
fn owned_outcome(reply: UpdateReply<'_>) -> UpdateReply<'static> {
    match reply {
        UpdateReply::RecordValue(_) | UpdateReply::Error => UpdateReply::Error,
        UpdateReply::Ok => UpdateReply::Ok,
        UpdateReply::NoRecord => UpdateReply::NoRecord,
        UpdateReply::UpdateConflict => UpdateReply::UpdateConflict,
        UpdateReply::WrongNode => UpdateReply::WrongNode,
    }
}

/// One request's end of the connection; unregisters itself when dropped.
pub(crate) struct RequestHandle {
    id: RequestId,
    replies: mpsc::Receiver<Vec<u8>>,
    outgoing: mpsc::Sender<Vec<u8>>,
    routes: Routes,
}

impl Drop for RequestHandle {
    fn drop(&mut self) {
        self.routes.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl RequestHandle {
    async fn send_body(&self, body: &[u8]) -> Result<()> {
        let mut message = Vec::with_capacity(body.len() + 10);
        encode_message(MessageType::Request, &[body], &mut message);
        self.outgoing.send(message).await.map_err(|_| NeoClientError::Closed)
    }

    /// Sends a later message of this request: mostly flow control
    /// (Continue, Stop, Ack) that the node waits for. The writer task gets to
    /// send it before this returns, not at the caller's next wait, which may
    /// come only after a whole batch of records was handled.
    pub(crate) async fn send(&self, payload: &[u8]) -> Result<()> {
        self.send_body(&[&self.id.to_le_bytes()[..], payload].concat()).await?;
        tokio::task::yield_now().await;
        Ok(())
    }

    /// The next reply's payload (after the id).
    pub(crate) async fn recv(&mut self) -> Result<Vec<u8>> {
        self.replies.recv().await.ok_or(NeoClientError::Closed)
    }
}

/// A running GetHashRange.
pub struct HashRangeWatch {
    handle: RequestHandle,
    /// The range when the request started: (min, max).
    pub current: (u64, u64),
}

impl HashRangeWatch {
    /// The next change of the node's range or news of another node.
    pub async fn next(&mut self) -> Result<HashRangeUpdate> {
        Ok(HashRangeUpdate::decode(&self.handle.recv().await?)?)
    }
}

/// An Update after the node sent the value.
pub struct PendingUpdate {
    /// The value read.
    pub value: Vec<u8>,
    handle: RequestHandle,
}

impl PendingUpdate {
    async fn decide(mut self, step: UpdateStep<'_>) -> Result<UpdateReply<'static>> {
        self.handle.send(&step.encode()).await?;
        Ok(owned_outcome(UpdateReply::decode(&self.handle.recv().await?)?))
    }

    /// Writes `value` unless the record changed since it was read.
    pub async fn write(self, value: &[u8]) -> Result<UpdateReply<'static>> {
        let old_hash = value_hash(&self.value);
        self.decide(UpdateStep::UpdateRecord { old_hash, value }).await
    }

    /// Removes the record.
    pub async fn remove(self) -> Result<UpdateReply<'static>> {
        self.decide(UpdateStep::RemoveRecord).await
    }

    /// Leaves the record as it is.
    pub async fn leave(self) -> Result<UpdateReply<'static>> {
        self.decide(UpdateStep::LeaveRecord).await
    }
}

/// What a GetAll delivers next.
#[derive(Debug, PartialEq, Eq)]
pub enum GetAllEvent {
    /// A batch of records (values empty for a keys-only GetAll).
    Records(Vec<(u64, Vec<u8>)>),
    /// The node acknowledged a suspend, resume or stop.
    Ack,
}

/// A running GetAll.
pub struct GetAllStream {
    handle: RequestHandle,
    keys_only: bool,
    finished: bool,
}

impl GetAllStream {
    /// The next batch or Ack; `None` once every record was sent (the client
    /// has then acknowledged the end).
    pub async fn next(&mut self) -> Result<Option<GetAllEvent>> {
        if self.finished {
            return Ok(None);
        }
        let message = self.handle.recv().await?;
        match GetAllMessage::decode(&message)? {
            GetAllMessage::RecordBatch(batch) => {
                let records = batch::decompress(batch, MAX_BATCH)?;
                let arity = if self.keys_only { 1 } else { 2 };
                let records = batch::records(&records, arity)?
                    .into_iter()
                    .map(|fields| {
                        let key = <[u8; 8]>::try_from(fields[0]).map_err(|_| unknown("GetAll key length", 0))?;
                        Ok((u64::from_le_bytes(key), fields.get(1).map_or_else(Vec::new, |v| v.to_vec())))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(GetAllEvent::Records(records)))
            }
            GetAllMessage::Ack => Ok(Some(GetAllEvent::Ack)),
            GetAllMessage::Finished => {
                self.finished = true;
                self.handle.send(&Control::Ack.encode()).await?;
                Ok(None)
            }
            GetAllMessage::Started | GetAllMessage::Error => Err(unknown("GetAll message", message[0])),
        }
    }

    /// Sends a control message (its Ack comes through [`Self::next`]).
    pub async fn control(&self, control: Control) -> Result<()> {
        self.handle.send(&control.encode()).await
    }
}

/// What a Mirror delivers next.
#[derive(Debug, PartialEq, Eq)]
pub enum MirrorEvent {
    /// A record was written; its value.
    Changed(u64, Vec<u8>),
    /// A record was removed.
    Deleted(u64),
    /// Records of a refresh.
    Refreshed(Vec<(u64, Vec<u8>)>),
    /// Changes were lost because the client fell behind.
    Overflow,
    /// The node acknowledged a suspend, resume or stop.
    Ack,
}

/// A running Mirror.
pub struct MirrorStream {
    handle: RequestHandle,
    ended: bool,
}

impl MirrorStream {
    /// The next change; `None` once the channel was removed (the client has
    /// then acknowledged the end).
    pub async fn next(&mut self) -> Result<Option<MirrorEvent>> {
        if self.ended {
            return Ok(None);
        }
        let message = self.handle.recv().await?;
        Ok(Some(match MirrorMessage::decode(&message)? {
            MirrorMessage::RecordChanged { key, value } => MirrorEvent::Changed(key, value.to_vec()),
            MirrorMessage::RecordDeleted { key } => MirrorEvent::Deleted(key),
            MirrorMessage::RecordRefreshBatch(batch) => {
                let records = batch::decompress(batch, MAX_BATCH)?;
                let records = batch::keyed_records(&records)?;
                MirrorEvent::Refreshed(records.into_iter().map(|(k, v)| (k, v.to_vec())).collect())
            }
            MirrorMessage::UpdateOverflow => MirrorEvent::Overflow,
            MirrorMessage::Ack => MirrorEvent::Ack,
            MirrorMessage::ChannelRemoved => {
                self.ended = true;
                self.handle.send(&Control::Ack.encode()).await?;
                return Ok(None);
            }
            MirrorMessage::Started | MirrorMessage::Error => return Err(unknown("Mirror message", message[0])),
        }))
    }

    /// Sends a control message (its Ack comes through [`Self::next`]).
    pub async fn control(&self, control: Control) -> Result<()> {
        self.handle.send(&control.encode()).await
    }
}

/// The writer task: sends queued messages, gathering what is waiting.
async fn write_requests(mut socket: tokio::net::tcp::OwnedWriteHalf, mut queued: mpsc::Receiver<Vec<u8>>) {
    let mut gathered = Vec::new();
    while let Some(first) = queued.recv().await {
        gathered.clear();
        gathered.extend_from_slice(&first);
        while gathered.len() < 256 * 1024 {
            match queued.try_recv() {
                Ok(more) => gathered.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if socket.write_all(&gathered).await.is_err() {
            return;
        }
    }
}

/// The reader task: routes each reply to its request; ends (closing every
/// request's queue) when the connection fails or a message is malformed.
async fn route_replies(mut socket: tokio::net::tcp::OwnedReadHalf, mut input: Vec<u8>, routes: Routes) {
    let decoder = HeaderDecoder::default();
    loop {
        let mut used = 0;
        loop {
            let message = match decoder.split_message(&input[used..]) {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(_) => return routes.lock().unwrap_or_else(|p| p.into_inner()).clear(),
            };
            used += message.wire_len;
            let Ok((id, payload)) = split_request_id(message.body) else {
                return routes.lock().unwrap_or_else(|p| p.into_inner()).clear();
            };
            let queue = {
                let mut routes = routes.lock().unwrap_or_else(|p| p.into_inner());
                match routes.get_mut(&id) {
                    Some(Route::Stream(queue)) => Some(queue.clone()),
                    Some(Route::Record(record)) => {
                        if record.add(payload) {
                            routes.remove(&id);
                        }
                        None
                    }
                    // A reply for a request the client gave up is dropped.
                    None => None,
                }
            };
            if let Some(queue) = queue {
                let _ = queue.send(payload.to_vec()).await;
            }
        }
        input.drain(..used);
        // Room for many messages per read (a Vec grows only when full).
        input.reserve(64 * 1024);
        if !matches!(socket.read_buf(&mut input).await, Ok(n) if n > 0) {
            return routes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::*;

    /// The node waits for a request's later messages (Continue, Stop, Ack)
    /// before it sends more, so they must not sit in the writer's queue
    /// while the caller handles a batch without awaiting anything.
    #[tokio::test]
    async fn a_later_message_is_on_the_wire_when_send_returns() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut node, _) = listener.accept().unwrap();
        let (_read, write) = socket.into_split();
        let (outgoing, queued) = mpsc::channel(256);
        let writer = tokio::spawn(write_requests(write, queued));
        let (_queue, replies) = mpsc::channel(REPLY_QUEUE);
        let handle = RequestHandle { id: 7, replies, outgoing, routes: Routes::default() };
        handle.send(b"\x01").await.unwrap();
        // Blocks this (only) runtime thread: the writer task cannot run now.
        // The timeout only keeps a failure from hanging the test.
        node.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut message = Vec::new();
        encode_message(MessageType::Request, &[&7u64.to_le_bytes(), b"\x01"], &mut message);
        let mut received = vec![0; message.len()];
        node.read_exact(&mut received).expect("the message was written before send returned");
        assert_eq!(received, message);
        drop(handle);
        writer.await.unwrap();
    }
}
