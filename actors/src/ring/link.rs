//! Batched links to other members for the coordinator's many small
//! messages: every message queued for a member while the previous batch is
//! on the wire goes out in the next one, as one sealed frame
//! ([`PeerMessage::Batch`]), and the answers come back in order. Under load
//! a replicated write then costs a share of a round trip, a frame and an
//! HMAC instead of one each.
//!
//! A link is a task on the thread (actix worker) of the requests that use
//! it, with a connection of its own, so a write never wakes another thread
//! on its way out. It owns its queue's receiving end and ends when the
//! [`Links`] holding the sending end is dropped (the ring goes), when its
//! member is forgotten, or with its thread's runtime.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use shoal_cluster::message::{PeerMessage, BATCH_BYTES};
use tokio::sync::{mpsc, oneshot};

use super::peer::{exchange_reusing, ExchangeError};

/// Messages one batch carries at most.
const BATCH_MESSAGES: usize = 512;

/// Links open per member and thread, so a slow batch does not hold up
/// all writes.
const LINKS_PER_MEMBER: usize = 2;

type Answer = oneshot::Sender<Result<PeerMessage, ExchangeError>>;

/// The batched links of a member to the others.
#[derive(Debug, Default)]
pub struct Links {
    queues: Mutex<HashMap<(ThreadId, String), Vec<mpsc::UnboundedSender<(PeerMessage, Answer)>>>>,
    turn: std::sync::atomic::AtomicUsize,
}

impl Links {
    /// Sends `message` to `member` in the next batch and returns its answer.
    pub async fn send(&self, key: &Arc<Vec<u8>>, member: &str, message: PeerMessage) -> Result<PeerMessage, ExchangeError> {
        let (answer, answered) = oneshot::channel();
        let turn = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % LINKS_PER_MEMBER;
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            let links = queues.entry((std::thread::current().id(), member.to_owned())).or_default();
            // A link whose task ended (its runtime stopped) is replaced.
            links.retain(|link| !link.is_closed());
            while links.len() < LINKS_PER_MEMBER {
                let (queue, queued) = mpsc::unbounded_channel();
                // Actix workers are current-thread runtimes: the link runs here.
                tokio::spawn(run(Arc::clone(key), member.to_owned(), queued));
                links.push(queue);
            }
            links[turn % links.len()].clone()
        };
        queue.send((message, answer)).map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }

    /// Ends the links to a member that left the ring.
    pub fn forget(&self, member: &str) {
        self.queues.lock().unwrap_or_else(|p| p.into_inner()).retain(|(_, to), _| to != member);
    }
}

fn closed() -> ExchangeError {
    ExchangeError::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "peer link closed"))
}

/// One link: sends what is queued as one batch (up to [`BATCH_MESSAGES`]
/// messages and about [`BATCH_BYTES`] of records), hands out the answers
/// in order, repeats until the queue's sender is gone.
async fn run(key: Arc<Vec<u8>>, member: String, mut queued: mpsc::UnboundedReceiver<(PeerMessage, Answer)>) {
    let mut pending: VecDeque<(PeerMessage, Answer)> = VecDeque::new();
    let mut socket = None;
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
        let (outcome, kept) = exchange_reusing(socket.take(), &member, &key, &message).await;
        socket = kept;
        match (outcome, answers.len()) {
            (Ok(PeerMessage::Batch(replies)), count) if count > 1 && replies.len() == count => {
                for (answer, reply) in answers.into_iter().zip(replies) {
                    let _ = answer.send(Ok(reply));
                }
            }
            (Ok(reply), 1) => {
                let _ = answers.pop().map(|answer| answer.send(Ok(reply)));
            }
            (outcome, _) => {
                let reason = match outcome {
                    Ok(other) => format!("{member} answered a batch with {other:?}"),
                    Err(error) => error.to_string(),
                };
                for answer in answers {
                    let _ = answer.send(Err(ExchangeError::Io(std::io::Error::other(reason.clone()))));
                }
            }
        }
    }
}
