//! Batched links to other members for the coordinator's many small
//! messages: the messages queued for a member go out together as one
//! sealed frame ([`PeerMessage::Batch`]), a few batches may be on the wire
//! at once, and the answers come back in order. Under load a replicated
//! write then costs a share of a frame, a round trip and an HMAC instead of
//! one each.
//!
//! A link is a task on the thread (actix worker) of the requests that use
//! it, with a connection of its own, so a write never wakes another thread
//! on its way out. It owns its queue's receiving end and ends when the
//! [`Links`] holding the sending end is dropped (the ring goes), when its
//! member is forgotten, or with its thread's runtime.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use shoal_cluster::message::{open, NonceStream, Nonces, PeerMessage, BATCH_BYTES};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::peer::{nonce_stream, now_ms, read_frame, write_frame, ExchangeError, EXCHANGE_TIMEOUT};

/// Messages one batch carries at most.
const BATCH_MESSAGES: usize = 512;

type Answer = oneshot::Sender<Result<PeerMessage, ExchangeError>>;

/// Where a worker thread's messages for one member go.
type Queue = mpsc::UnboundedSender<(PeerMessage, Answer)>;

/// The batched links of a member to the others.
#[derive(Debug, Default)]
pub struct Links {
    queues: Mutex<HashMap<(ThreadId, String), Queue>>,
}

impl Links {
    /// Sends `message` to `member` in the next batch and returns its answer.
    pub async fn send(&self, key: &Arc<Vec<u8>>, member: &str, message: PeerMessage) -> Result<PeerMessage, ExchangeError> {
        let (answer, answered) = oneshot::channel();
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            let link = queues.entry((std::thread::current().id(), member.to_owned()));
            let queue = link.or_insert_with(|| start(key, member));
            // A link whose task ended (its runtime stopped) is replaced.
            if queue.is_closed() {
                *queue = start(key, member);
            }
            queue.clone()
        };
        queue.send((message, answer)).map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }

    /// Ends the links to a member that left the ring.
    pub fn forget(&self, member: &str) {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).retain(|(_, to), _| to != member);
    }
}

/// Starts a link to `member` on this thread; returns its queue.
fn start(key: &Arc<Vec<u8>>, member: &str) -> mpsc::UnboundedSender<(PeerMessage, Answer)> {
    let (queue, queued) = mpsc::unbounded_channel();
    // Actix workers are current-thread runtimes: the link runs here.
    tokio::spawn(run(Arc::clone(key), member.to_owned(), queued));
    queue
}

fn closed() -> ExchangeError {
    ExchangeError::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "peer link closed"))
}

/// One link: sends what is queued as one batch (up to [`BATCH_MESSAGES`]
/// messages and about [`BATCH_BYTES`] of records) without waiting for the
/// answers of the batches before it (up to [`IN_FLIGHT`]); a reader task
/// hands the answers out in order. Repeats until the queue's sender is
/// gone.
async fn run(key: Arc<Vec<u8>>, member: String, mut queued: mpsc::UnboundedReceiver<(PeerMessage, Answer)>) {
    let mut pending: VecDeque<(PeerMessage, Answer)> = VecDeque::new();
    let mut connection: Option<Connection> = None;
    loop {
        if pending.is_empty() {
            let mut arrived = Vec::new();
            if queued.recv_many(&mut arrived, BATCH_MESSAGES).await == 0 {
                return;
            }
            // Let the other requests ready on this thread queue theirs too:
            // one frame for all of them.
            tokio::task::yield_now().await;
            while arrived.len() < BATCH_MESSAGES {
                match queued.try_recv() {
                    Ok(message) => arrived.push(message),
                    Err(_) => break,
                }
            }
            pending.extend(arrived);
        }
        let (message, answers) = next_batch(&mut pending);
        if connection.as_ref().is_none_or(|c| c.in_flight.is_closed()) {
            connection = match Connection::open(&key, &member).await {
                Ok(connection) => Some(connection),
                Err(error) => {
                    fail(answers, &error.to_string());
                    continue;
                }
            };
        }
        let Some(open) = connection.as_mut() else { continue };
        // Room for one more batch in flight, then its answers are queued
        // for the reader before the batch is written: order is kept.
        let Ok(permit) = open.in_flight.reserve().await else {
            fail(answers, "peer link closed");
            connection = None;
            continue;
        };
        permit.send(answers);
        let written = tokio::time::timeout(EXCHANGE_TIMEOUT, write_frame(&mut open.writer, &key, &mut open.nonces, &message)).await;
        if !matches!(written, Ok(Ok(()))) {
            // Dropping the connection stops its reader: the requests in
            // flight on it fail, and the next batch opens a new one.
            connection = None;
        }
    }
}

/// Takes the next batch off `pending`: the message to send (the message
/// itself when alone) and the answers' senders in order.
fn next_batch(pending: &mut VecDeque<(PeerMessage, Answer)>) -> (PeerMessage, Vec<Answer>) {
    let mut bytes = 0;
    let mut messages = Vec::new();
    let mut answers = Vec::new();
    while let Some((message, answer)) = pending.pop_front() {
        bytes += message.approximate_size();
        messages.push(message);
        answers.push(answer);
        if bytes >= BATCH_BYTES || messages.len() == BATCH_MESSAGES {
            break;
        }
    }
    let message = match messages.len() {
        1 => messages.pop().unwrap_or(PeerMessage::Batch(Vec::new())),
        _ => PeerMessage::Batch(messages),
    };
    (message, answers)
}

/// Answers every sender of a batch with the same failure.
fn fail(answers: Vec<Answer>, reason: &str) {
    for answer in answers {
        let _ = answer.send(Err(ExchangeError::Io(std::io::Error::other(reason.to_owned()))));
    }
}

/// Batches whose answers a link awaits at once.
const IN_FLIGHT: usize = 4;

/// A link's connection: its writing half, and the queue of answer senders
/// of the batches in flight, read by the task that owns the reading half
/// (aborted when the connection is dropped).
struct Connection {
    writer: OwnedWriteHalf,
    nonces: NonceStream,
    in_flight: mpsc::Sender<Vec<Answer>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Connection {
    async fn open(key: &Arc<Vec<u8>>, member: &str) -> Result<Connection, ExchangeError> {
        let socket = tokio::time::timeout(EXCHANGE_TIMEOUT, TcpStream::connect(member)).await.map_err(|_| ExchangeError::Timeout)??;
        socket.set_nodelay(true)?;
        let (reader, writer) = socket.into_split();
        let (in_flight, awaited) = mpsc::channel(IN_FLIGHT);
        let reader = tokio::spawn(read_answers(reader, Arc::clone(key), member.to_owned(), awaited));
        Ok(Connection { writer, nonces: nonce_stream(), in_flight, reader })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Reads one answer per batch in flight and hands it out; on a failure
/// fails that batch and every one still awaited, and ends (the link then
/// opens a new connection).
async fn read_answers(mut reader: OwnedReadHalf, key: Arc<Vec<u8>>, member: String, mut awaited: mpsc::Receiver<Vec<Answer>>) {
    while let Some(answers) = awaited.recv().await {
        let frame = tokio::time::timeout(EXCHANGE_TIMEOUT, read_frame(&mut reader)).await;
        let answer = match frame {
            Ok(Ok(Some(body))) => open(&key, &body, now_ms(), &mut Nonces::default()).map_err(|e| e.to_string()),
            Ok(Ok(None)) => Err(format!("{member} closed the link")),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("{member} did not answer in time")),
        };
        let count = answers.len();
        match answer {
            Ok(PeerMessage::Batch(replies)) if count > 1 && replies.len() == count => {
                answers.into_iter().zip(replies).for_each(|(answer, reply)| drop(answer.send(Ok(reply))));
            }
            Ok(reply) if count == 1 => {
                if let Some(answer) = answers.into_iter().next() {
                    let _ = answer.send(Ok(reply));
                }
            }
            failure => {
                let reason = match failure {
                    Ok(other) => format!("{member} answered a batch of {count} with {other:?}"),
                    Err(reason) => reason,
                };
                fail(answers, &reason);
                awaited.close();
                while let Ok(answers) = awaited.try_recv() {
                    fail(answers, &reason);
                }
                return;
            }
        }
    }
}
