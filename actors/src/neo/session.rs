//! An authenticated neo connection: request multiplexing.
//!
//! Every Request message starts with the client's request id. A message
//! whose id is not active starts a request: the node answers whether it
//! serves the command, then hands the request to the [`NeoService`]. A
//! one-step request (Put, Get, …) replies at once; a longer one (GetAll,
//! Mirror, …) becomes a [`Task`] that receives the later messages with its
//! id and sends its own, until it ends. Replies of all requests go through
//! one writer, so a slow client holds back its requests (each waits for room
//! in the writer's bounded queue) instead of the node buffering without
//! limit.
//!
//! Protocol errors close the connection, as in the original: an unparsable
//! message, a message type other than Request, a 5,001st active request, a
//! message a request does not expect, or a client that sends a request
//! messages faster than it takes them. Closing the connection drops the
//! [`tokio::task::JoinSet`] that owns the tasks, which stops them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use shoal_protocol::neo::header::encode_message;
use shoal_protocol::neo::request::{decode_request_start, split_request_id, REQUEST_ID_SIZE};
use shoal_protocol::neo::{
    Command, ConnectError, Header, HeaderDecoder, HeaderError, MessageType, HEADER_LEN, RequestError, RequestId, RequestStart,
    SupportedStatus,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::credentials::CredentialsStore;
use super::handshake::authenticate;

/// Most requests active at once on one connection (the original's limit).
pub const MAX_ACTIVE_REQUESTS: usize = 5_000;

/// Reply chunks waiting for the socket before requests have to wait.
const WRITER_QUEUE: usize = 32;

/// Client messages waiting for one request task; a well-behaved client
/// sends one control message and waits for its Ack.
const REQUEST_QUEUE: usize = 16;

/// Free room kept in the read buffer before each read.
const READ_CHUNK: usize = 64 * 1024;

/// How many bytes of queued replies the writer gathers into one write.
const WRITE_GATHER: usize = 256 * 1024;

/// Replies this large are written as they are, not gathered (copied).
const WRITE_DIRECT: usize = 16 * 1024;

/// Bytes in front of a message's payload: the header and the request id
/// (see [`RequestIo::send_in_place`]).
pub const MESSAGE_ROOM: usize = HEADER_LEN + REQUEST_ID_SIZE;

/// Why a neo connection was closed by the node.
#[derive(Debug, thiserror::Error)]
pub enum NeoError {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake was not the neo protocol.
    #[error("handshake failed: {0}")]
    Handshake(#[from] ConnectError),
    /// A message header was invalid (parity, type, length).
    #[error("bad message: {0}")]
    Header(#[from] HeaderError),
    /// The client was refused.
    #[error("client '{client}' refused: {reason}")]
    Refused {
        /// The name the client gave.
        client: String,
        /// Why.
        reason: String,
    },
    /// A request message that does not parse.
    #[error("bad request: {0}")]
    Request(#[from] RequestError),
    /// A message of a type that has no place after the handshake.
    #[error("unexpected {0:?} message after authentication")]
    UnexpectedMessage(MessageType),
    /// A message starting one request too many.
    #[error("more than {MAX_ACTIVE_REQUESTS} requests active at once")]
    TooManyRequests,
    /// A client sending a request messages it does not read.
    #[error("request {0}: too many messages waiting")]
    Flooded(RequestId),
    /// A request task failed.
    #[error("request {id}: {error}")]
    Task {
        /// The request.
        id: RequestId,
        /// What went wrong.
        error: TaskError,
    },
    /// The writer stopped (the socket failed).
    #[error("connection closed")]
    Closed,
}

/// Why a request task ended early.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The client sent something the request does not expect.
    #[error("{0}")]
    Protocol(#[from] RequestError),
    /// The connection is going away.
    #[error("connection closed")]
    Closed,
    /// The task panicked: a bug, reported and contained to this connection.
    #[error("request task failed: {0}")]
    Panicked(String),
}

/// A node's neo requests. Implemented once per node kind (DHT, queue, log).
pub trait NeoService: Send + Sync + 'static {
    /// Every command served (code and version), for the supported reply.
    fn commands(&self) -> &[Command];

    /// Runs a request the node serves, from its first message. One-step
    /// requests reply through `replies` and return `None`; longer ones may
    /// reply first (those replies go out before anything the task sends)
    /// and return the [`Task`] that carries on.
    fn start(&self, start: RequestStart<'_>, replies: &mut Replies<'_>) -> Result<Option<Task>, RequestError>;
}

/// The rest of a request, run as a task of the connection.
pub struct Task(Box<dyn FnOnce(RequestIo) -> TaskFuture + Send>);

type TaskFuture = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

impl Task {
    /// A task from an async function of the request's [`RequestIo`].
    pub fn new<F, Fut>(run: F) -> Self
    where
        F: FnOnce(RequestIo) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        Task(Box::new(move |io| Box::pin(run(io))))
    }

    /// This task, timed in `counters` (stats.log's request figures).
    pub fn timed(self, counters: impl std::ops::Deref<Target = crate::counters::RequestCounters> + Send + 'static) -> Task {
        Task::new(move |io| {
            let run = (self.0)(io);
            async move {
                counters.started();
                let started = std::time::Instant::now();
                let result = run.await;
                counters.finished(started.elapsed());
                result
            }
        })
    }
}

/// Where a request's immediate replies go (in order, before anything later).
pub struct Replies<'a> {
    id: RequestId,
    client: &'a str,
    out: &'a mut Vec<u8>,
}

impl Replies<'_> {
    /// The request's id.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The authenticated client's name.
    pub fn client(&self) -> &str {
        self.client
    }

    /// Queues one reply message with this payload (after the request id).
    pub fn send(&mut self, payload: &[u8]) {
        self.send_parts(&[payload]);
    }

    /// Queues one reply message whose payload is these parts in a row.
    pub fn send_parts(&mut self, parts: &[&[u8]]) {
        let body_len = REQUEST_ID_SIZE + parts.iter().map(|part| part.len()).sum::<usize>();
        self.out.reserve(HEADER_LEN + body_len);
        self.out.extend_from_slice(&Header::new(MessageType::Request, body_len as u64).encode());
        self.out.extend_from_slice(&self.id.to_le_bytes());
        parts.iter().for_each(|part| self.out.extend_from_slice(part));
    }
}

/// A request task's end of the connection: the client's later messages for
/// this request, and a way to send its own.
pub struct RequestIo {
    id: RequestId,
    incoming: mpsc::Receiver<Vec<u8>>,
    outgoing: mpsc::Sender<Bytes>,
}

impl RequestIo {
    /// The request's id.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Sends one message with this payload, waiting while the writer's queue
    /// is full (the client is slow).
    pub async fn send(&self, payload: &[u8]) -> Result<(), TaskError> {
        let mut message = Vec::with_capacity(MESSAGE_ROOM + payload.len());
        encode_message(MessageType::Request, &[&self.id.to_le_bytes(), payload], &mut message);
        self.outgoing.send(Bytes::from(message)).await.map_err(|_| TaskError::Closed)
    }

    /// Sends one message whose payload is `buffer[payload_start..]`, with at
    /// least [`MESSAGE_ROOM`] bytes before it: the message's header goes
    /// there, and the buffer to the socket without being copied (large
    /// payloads built on a disk thread).
    pub async fn send_in_place(&self, mut buffer: Vec<u8>, payload_start: usize) -> Result<(), TaskError> {
        assert!(MESSAGE_ROOM <= payload_start && payload_start <= buffer.len(), "no room for the message header");
        let start = payload_start - MESSAGE_ROOM;
        let body_len = (buffer.len() - payload_start + REQUEST_ID_SIZE) as u64;
        buffer[start..start + HEADER_LEN].copy_from_slice(&Header::new(MessageType::Request, body_len).encode());
        buffer[start + HEADER_LEN..payload_start].copy_from_slice(&self.id.to_le_bytes());
        let message = Bytes::from(buffer).slice(start..);
        self.outgoing.send(message).await.map_err(|_| TaskError::Closed)
    }

    /// The payload of the client's next message for this request.
    pub async fn recv(&mut self) -> Result<Vec<u8>, TaskError> {
        self.incoming.recv().await.ok_or(TaskError::Closed)
    }

    /// The payload of a message already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        self.incoming.try_recv().ok()
    }
}

/// Serves one neo connection until it closes: handshake, then requests.
pub async fn serve(socket: TcpStream, service: &impl NeoService, credentials: &CredentialsStore) -> Result<(), NeoError> {
    let (mut read, mut write) = socket.into_split();
    let Some(authenticated) = authenticate(&mut read, &mut write, &credentials.current()).await? else {
        return Ok(());
    };
    let (outgoing, queued) = mpsc::channel(WRITER_QUEUE);
    let writer = write_replies(write, queued);
    tokio::pin!(writer);
    let reader = read_requests(read, authenticated.leftover, &authenticated.client, service, outgoing);
    let read_result = tokio::select! {
        result = reader => result,
        result = &mut writer => return result,
    };
    // The reader is done and its tasks are dropped: send what is queued.
    let write_result = writer.await;
    read_result.and(write_result)
}

/// Writes queued reply chunks in order, gathering the small ones waiting
/// into one write.
async fn write_replies(mut socket: impl AsyncWrite + Unpin, mut queued: mpsc::Receiver<Bytes>) -> Result<(), NeoError> {
    let mut gathered = Vec::new();
    while let Some(first) = queued.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            if message.len() >= WRITE_DIRECT {
                // Large enough for a write of its own: not copied.
                if !gathered.is_empty() {
                    socket.write_all(&gathered).await?;
                    gathered.clear();
                }
                socket.write_all(&message).await?;
            } else {
                gathered.extend_from_slice(&message);
                if gathered.len() >= WRITE_GATHER {
                    socket.write_all(&gathered).await?;
                    gathered.clear();
                }
            }
            next = queued.try_recv().ok();
        }
        if !gathered.is_empty() {
            socket.write_all(&gathered).await?;
            gathered.clear();
        }
    }
    Ok(())
}

/// Reads messages and routes them to new or active requests.
async fn read_requests(
    mut socket: impl AsyncRead + Unpin,
    mut input: Vec<u8>,
    client: &str,
    service: &impl NeoService,
    outgoing: mpsc::Sender<Bytes>,
) -> Result<(), NeoError> {
    let decoder = HeaderDecoder::default();
    let mut table = RequestTable::new(outgoing);
    let mut replies = Vec::new();
    loop {
        let mut used = 0;
        while let Some(message) = decoder.split_message(&input[used..])? {
            used += message.wire_len;
            if message.header.msg_type != MessageType::Request {
                return Err(NeoError::UnexpectedMessage(message.header.msg_type));
            }
            table.route(message.body, client, service, &mut replies).await?;
        }
        input.drain(..used);
        table.flush(&mut replies).await?;
        // Room for many messages per read (a Vec grows only when full).
        input.reserve(READ_CHUNK);
        tokio::select! {
            read = socket.read_buf(&mut input) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            Some(ended) = table.tasks.join_next() => table.ended(ended)?,
        }
    }
}

/// The active multi-message requests of one connection.
struct RequestTable {
    /// Request id → (generation, the task's queue of client messages).
    active: HashMap<RequestId, (u64, mpsc::Sender<Vec<u8>>)>,
    /// Owns the tasks: dropping the table stops them.
    tasks: JoinSet<(RequestId, u64, Result<(), TaskError>)>,
    /// Tells a finished task from a newer request that reused its id.
    generation: u64,
    outgoing: mpsc::Sender<Bytes>,
}

impl RequestTable {
    fn new(outgoing: mpsc::Sender<Bytes>) -> Self {
        RequestTable { active: HashMap::new(), tasks: JoinSet::new(), generation: 0, outgoing }
    }

    /// Hands one message to its request, or starts a new request.
    async fn route(
        &mut self,
        body: &[u8],
        client: &str,
        service: &impl NeoService,
        replies: &mut Vec<u8>,
    ) -> Result<(), NeoError> {
        let (id, payload) = split_request_id(body)?;
        if let Some((_, queue)) = self.active.get(&id) {
            match queue.try_send(payload.to_vec()) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => return Err(NeoError::Flooded(id)),
                // The task has just ended: this message starts a new request.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.active.remove(&id);
                }
            }
        }
        if self.active.len() >= MAX_ACTIVE_REQUESTS {
            return Err(NeoError::TooManyRequests);
        }
        let start = decode_request_start(payload)?;
        let supported = SupportedStatus::for_command(start.command, service.commands());
        encode_message(MessageType::Request, &[&id.to_le_bytes(), &[supported.to_byte()]], replies);
        if supported != SupportedStatus::Supported {
            tracing::warn!(
                target: "swarm.neo.node.ConnectionHandler",
                "client '{client}': request code {} version {} not supported ({supported:?})",
                start.command.code,
                start.command.version
            );
            return Ok(());
        }
        let task = service.start(start, &mut Replies { id, client, out: replies })?;
        if let Some(Task(run)) = task {
            // What the request replied so far goes out before the task's messages.
            self.flush(replies).await?;
            let (queue, incoming) = mpsc::channel(REQUEST_QUEUE);
            self.generation += 1;
            let generation = self.generation;
            self.active.insert(id, (generation, queue));
            let running = run(RequestIo { id, incoming, outgoing: self.outgoing.clone() });
            self.tasks.spawn(async move { (id, generation, running.await) });
        }
        Ok(())
    }

    /// Passes the replies gathered so far to the writer.
    async fn flush(&self, replies: &mut Vec<u8>) -> Result<(), NeoError> {
        if replies.is_empty() {
            return Ok(());
        }
        self.outgoing.send(Bytes::from(std::mem::take(replies))).await.map_err(|_| NeoError::Closed)
    }

    /// Forgets a task that ended; its failure closes the connection.
    fn ended(
        &mut self,
        ended: Result<(RequestId, u64, Result<(), TaskError>), tokio::task::JoinError>,
    ) -> Result<(), NeoError> {
        let (id, generation, result) = ended.map_err(|join| NeoError::Task {
            id: 0,
            error: TaskError::Panicked(join.to_string()),
        })?;
        if self.active.get(&id).is_some_and(|(current, _)| *current == generation) {
            self.active.remove(&id);
        }
        result.map_err(|error| NeoError::Task { id, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_go_out_in_order_whether_gathered_or_written_directly() {
        let messages: Vec<Vec<u8>> =
            [10, WRITE_DIRECT, 3, WRITE_GATHER, 7, 9, WRITE_DIRECT * 2].iter().enumerate().map(|(i, &len)| vec![i as u8; len]).collect();
        let (queue, queued) = mpsc::channel(messages.len());
        for message in &messages {
            queue.send(Bytes::from(message.clone())).await.unwrap();
        }
        drop(queue);
        let mut socket = Vec::new();
        write_replies(&mut socket, queued).await.unwrap();
        assert_eq!(socket, messages.concat());
    }
}
