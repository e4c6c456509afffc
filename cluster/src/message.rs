//! Peer messages and their sealed frames.
//!
//! Ring members talk on their own TCP port with request/answer exchanges of
//! [`PeerMessage`]s, encoded with bincode. Every frame is sealed with the
//! cluster key: `u32` length, then the bincode of an `Envelope` (sender's
//! clock, a nonce, the message), then the HMAC-SHA256 of those bytes. A
//! nonce is a random stream (one per connection) and a sequence counting
//! up ([`NonceStream`]). A frame with a wrong HMAC, a clock more than
//! [`MAX_SKEW_MS`] away, or a nonce not above the last of its stream (a
//! replay) is refused before its message is looked at.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Largest frame a peer may send; bigger ones close the connection. Room
/// for one record of the largest `batch_size` swarm allows.
pub const MAX_FRAME: u32 = 64 << 20;

/// Bytes of records a sender puts in one message, leaving room below
/// [`MAX_FRAME`] for the envelope (a record larger than this goes alone).
pub const BATCH_BYTES: usize = 256 << 10;

/// How far a sender's clock may be from ours.
pub const MAX_SKEW_MS: u64 = 30_000;

/// Bytes of the HMAC behind each frame.
const MAC_LEN: usize = 32;

/// One membership view: who is in the ring, at which epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Bumped by every membership change.
    pub epoch: u64,
    /// Members' peer addresses (`host:port`), sorted.
    pub members: Vec<String>,
    /// Copies of every key (n): part of the view so that a change made on
    /// one member reaches all of them with the next gossip.
    pub replicas: u32,
}

/// One copy of a record as a replica holds it: the version (`stamp`) decides
/// which copy is newest when replicas disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The swarm key hash.
    pub key: u64,
    /// The version: the coordinator's clock when it was written (0: never
    /// written through the ring, e.g. loaded from a dump).
    pub stamp: u64,
    /// The value; `None` for a removed record (a tombstone) or no record.
    pub value: Option<Vec<u8>>,
}

/// What ring members say to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// A node asks a seed to let it in; answered with the new [`View`].
    Join {
        /// The joining node's peer address.
        member: String,
    },
    /// The sender's view (gossip, and the answer to most messages).
    View(View),
    /// The CLI asks for the receiver's view and what it knows of each
    /// member's health; answered with [`PeerMessage::Status`].
    StatusRequest,
    /// The receiver's view and `(member, health)` for each member
    /// (`alive`, `suspect` or `down`).
    Status {
        /// The view.
        view: View,
        /// Each member's health as the receiver sees it.
        health: Vec<(String, String)>,
    },
    /// Liveness check; answered with the receiver's view.
    Ping {
        /// The sender's peer address.
        from: String,
    },
    /// An admin asks to remove a member (crashed or leaving).
    Remove {
        /// The member to remove.
        member: String,
    },
    /// The receiver refused the message.
    Refused {
        /// Why.
        reason: String,
    },
    /// Coordinator to replica: keep these records of a channel where they
    /// are newer than the replica's copies; answered with [`PeerMessage::Done`].
    Store {
        /// The channel.
        channel: String,
        /// The records (a removal is a record without value).
        records: Vec<Record>,
    },
    /// Coordinator to replica: the replica's copies of these keys; answered
    /// with [`PeerMessage::Records`] (stamp 0 and no value when absent).
    Fetch {
        /// The channel.
        channel: String,
        /// The keys.
        keys: Vec<u64>,
    },
    /// A ring-wide scan (GetAll through any member): the receiver's records
    /// of `channel` whose first live replica it is, after key `after` in
    /// its scan order, about [`BATCH_BYTES`] of them; answered with
    /// [`PeerMessage::Records`], empty at the end.
    ScanPrimary {
        /// The channel.
        channel: String,
        /// The last key of the previous page.
        after: Option<u64>,
    },
    /// Coordinator to the members that do not hold the key: a record of
    /// `channel` was written or removed, for their Listen and Mirror
    /// requests; answered with [`PeerMessage::Done`].
    Changed {
        /// The channel.
        channel: String,
        /// The key.
        key: u64,
        /// Whether it was removed.
        removed: bool,
    },
    /// The names of the receiver's channels; answered with
    /// [`PeerMessage::Channels`] (GetChannels through any member).
    ListChannels,
    /// Channel names.
    Channels(Vec<String>),
    /// Copies of records (the answer to [`PeerMessage::Fetch`]).
    Records(Vec<Record>),
    /// Balance: the sender's versions of some keys of a channel; answered
    /// with [`PeerMessage::Compared`].
    Offer {
        /// The channel.
        channel: String,
        /// `(key, stamp)` of the sender's copies.
        stamps: Vec<(u64, u64)>,
    },
    /// Which offered keys the receiver holds older (`wanted`, the sender
    /// then stores them) or newer (`newer`, the sender then fetches them).
    Compared {
        /// Keys whose copy the receiver lacks or holds older.
        wanted: Vec<u64>,
        /// Keys whose copy the receiver holds newer.
        newer: Vec<u64>,
    },
    /// A joining member asks for its share: the receiver pushes every
    /// record `member` holds in the current view to it, then answers
    /// [`PeerMessage::Done`].
    Pull {
        /// The member that wants its share.
        member: String,
    },
    /// Admin: the receiver joins the ring of `seed` (as a member started
    /// with that seed would), pulls its share, then answers
    /// [`PeerMessage::Done`].
    JoinThrough {
        /// A member of the ring to join.
        seed: String,
    },
    /// Admin: compare every key held by the receiver with its replicas,
    /// newest wins in both directions.
    Balance,
    /// Admin: drop the records the receiver does not hold in the view
    /// (after their owners confirmed they hold them as new).
    Purge,
    /// Admin: a new n, followed by a balance on every member.
    SetReplicas {
        /// The new number of copies.
        replicas: u32,
    },
    /// Several messages to one member in one frame (the coordinator's
    /// writes and reads under load); answered with a `Batch` of their
    /// answers in the same order.
    Batch(Vec<PeerMessage>),
    /// The work a message asked for is done.
    Done {
        /// Records moved, stored or dropped.
        records: u64,
    },
}

impl PeerMessage {
    /// About how many bytes the message takes in a frame: its records'
    /// values plus a little per record (to cut batches below a frame).
    pub fn approximate_size(&self) -> usize {
        let records = |records: &[Record]| records.iter().map(|r| r.value.as_ref().map_or(0, Vec::len) + 32).sum::<usize>();
        match self {
            PeerMessage::Store { records: r, .. } | PeerMessage::Records(r) => 64 + records(r),
            PeerMessage::Batch(messages) => messages.iter().map(PeerMessage::approximate_size).sum(),
            PeerMessage::Fetch { keys, .. } => 64 + 8 * keys.len(),
            PeerMessage::Offer { stamps, .. } => 64 + 16 * stamps.len(),
            _ => 64,
        }
    }
}

/// What is sealed in a frame.
#[derive(Debug, Deserialize)]
struct Envelope {
    sent_at_ms: u64,
    nonce: u64,
    message: PeerMessage,
}

/// [`Envelope`] as it is written: the same bincode, without copying the
/// message.
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    sent_at_ms: u64,
    nonce: u64,
    message: &'a PeerMessage,
}

/// Why a frame is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeerError {
    /// The frame is shorter than its HMAC or does not decode.
    #[error("malformed peer frame")]
    Malformed,
    /// The HMAC does not match: not sealed with our cluster key.
    #[error("peer frame not authenticated (wrong cluster key?)")]
    Unauthenticated,
    /// The sender's clock is too far from ours.
    #[error("peer frame from {skew_ms} ms away (clock skew or replay)")]
    Stale {
        /// How far.
        skew_ms: u64,
    },
    /// The nonce is not above the last of its stream: a replayed frame.
    #[error("replayed peer frame")]
    Replayed,
}

type HmacSha256 = Hmac<Sha256>;

/// Seals `message`: the frame body (without its `u32` length prefix).
pub fn seal(key: &[u8], message: &PeerMessage, now_ms: u64, nonce: u64) -> Vec<u8> {
    let envelope = EnvelopeRef { sent_at_ms: now_ms, nonce, message };
    let mut body = bincode::serialize(&envelope).expect("peer messages always serialize");
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    body
}

/// Bits of a nonce that count the frames of one stream; the bits above
/// them name the stream.
const SEQUENCE_BITS: u32 = 24;

/// The nonces a sender gives the frames of one connection: a stream picked
/// at random and a sequence counting up, so that the receiver remembers one
/// number per stream, not one per frame.
#[derive(Debug)]
pub struct NonceStream {
    stream: u64,
    sequence: u64,
}

impl NonceStream {
    /// A stream named by the top bits of `random`.
    pub fn new(random: u64) -> Self {
        NonceStream { stream: random >> SEQUENCE_BITS, sequence: 0 }
    }

    /// The next frame's nonce. A stream whose sequence runs out moves on to
    /// the next stream.
    pub fn next_nonce(&mut self) -> u64 {
        self.sequence += 1;
        if self.sequence >> SEQUENCE_BITS != 0 {
            self.stream = (self.stream + 1) & (u64::MAX >> SEQUENCE_BITS);
            self.sequence = 1;
        }
        (self.stream << SEQUENCE_BITS) | self.sequence
    }
}

/// What a receiver remembers to refuse replays: per stream, the highest
/// sequence seen and the newest send time. A stream silent for longer than
/// the allowed skew is forgotten: its frames are refused as stale anyway.
#[derive(Debug, Default)]
pub struct Nonces {
    streams: HashMap<u64, (u64, u64)>,
    swept_at_ms: u64,
}

impl Nonces {
    /// Records `nonce` sent at `sent_at_ms`; false if its stream already
    /// had this sequence or a later one (a replay, or a reordered frame).
    fn fresh(&mut self, nonce: u64, sent_at_ms: u64, now_ms: u64) -> bool {
        if now_ms.saturating_sub(self.swept_at_ms) > 1_000 {
            self.streams.retain(|_, (_, at)| now_ms.saturating_sub(*at) <= MAX_SKEW_MS);
            self.swept_at_ms = now_ms;
        }
        let (stream, sequence) = (nonce >> SEQUENCE_BITS, nonce & ((1 << SEQUENCE_BITS) - 1));
        match self.streams.get_mut(&stream) {
            Some((last, _)) if sequence <= *last => false,
            Some((last, at)) => {
                *last = sequence;
                *at = (*at).max(sent_at_ms);
                true
            }
            None => {
                self.streams.insert(stream, (sequence, sent_at_ms));
                true
            }
        }
    }

    /// Streams remembered (for tests and the status output).
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream is remembered.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

/// Opens a frame body sealed with `key`.
pub fn open(key: &[u8], body: &[u8], now_ms: u64, nonces: &mut Nonces) -> Result<PeerMessage, PeerError> {
    let split = body.len().checked_sub(MAC_LEN).ok_or(PeerError::Malformed)?;
    let (sealed, tag) = body.split_at(split);
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(sealed);
    mac.verify_slice(tag).map_err(|_| PeerError::Unauthenticated)?;
    let envelope: Envelope = bincode::deserialize(sealed).map_err(|_| PeerError::Malformed)?;
    let skew_ms = now_ms.abs_diff(envelope.sent_at_ms);
    if skew_ms > MAX_SKEW_MS {
        return Err(PeerError::Stale { skew_ms });
    }
    if !nonces.fresh(envelope.nonce, envelope.sent_at_ms, now_ms) {
        return Err(PeerError::Replayed);
    }
    Ok(envelope.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"cluster key";

    #[test]
    fn sealed_frames_open_once_with_the_right_key_only() {
        let message = PeerMessage::Join { member: "127.0.0.1:20000".into() };
        let body = seal(KEY, &message, 1_000_000, 7);
        let mut nonces = Nonces::default();
        assert_eq!(open(KEY, &body, 1_000_500, &mut nonces), Ok(message));
        assert_eq!(open(KEY, &body, 1_000_600, &mut nonces), Err(PeerError::Replayed));
        assert_eq!(open(b"other key", &body, 1_000_600, &mut Nonces::default()), Err(PeerError::Unauthenticated));
        assert!(matches!(open(KEY, &body, 2_000_000, &mut Nonces::default()), Err(PeerError::Stale { .. })));
        let mut forged = body.clone();
        forged[3] ^= 1;
        assert_eq!(open(KEY, &forged, 1_000_500, &mut Nonces::default()), Err(PeerError::Unauthenticated));
        assert_eq!(open(KEY, &[1, 2, 3], 0, &mut Nonces::default()), Err(PeerError::Malformed));
    }

    /// Seals arbitrary bytes as a peer with the key would.
    fn authenticated(bytes: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(KEY).unwrap();
        mac.update(bytes);
        [bytes, &mac.finalize().into_bytes()[..]].concat()
    }

    #[test]
    fn a_lying_length_inside_an_authenticated_frame_is_refused_without_allocating_it() {
        let mut body = seal(KEY, &PeerMessage::Batch(Vec::new()), 1_000, 1);
        body.truncate(body.len() - MAC_LEN);
        // sent_at (8) + nonce (8) + variant (4), then the batch's length.
        body[20..28].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert_eq!(open(KEY, &authenticated(&body), 1_000, &mut Nonces::default()), Err(PeerError::Malformed));
    }

    #[test]
    fn each_stream_is_remembered_by_one_number_until_it_is_stale() {
        let mut nonces = Nonces::default();
        let mut sender = NonceStream::new(0xabcd_ef01_2345_6789);
        let first = sender.next_nonce();
        let second = sender.next_nonce();
        assert!(nonces.fresh(first, 1_000, 1_000));
        assert!(nonces.fresh(second, 1_000, 1_000));
        assert!(!nonces.fresh(second, 1_000, 1_000), "a replay");
        assert!(!nonces.fresh(first, 1_000, 1_000), "an older frame of the stream");
        assert!(nonces.fresh(NonceStream::new(7 << 40).next_nonce(), 1_000, 1_000), "another stream");
        for _ in 0..1_000 {
            assert!(nonces.fresh(sender.next_nonce(), 1_000, 1_000));
        }
        assert_eq!(nonces.len(), 2, "one entry per stream, whatever its frames");
        nonces.fresh(NonceStream::new(9 << 40).next_nonce(), 40_000, 40_000);
        assert_eq!(nonces.len(), 1, "streams silent for longer than the skew are forgotten");
    }

    #[test]
    fn a_stream_that_runs_out_of_sequence_moves_on() {
        let mut sender = NonceStream::new(u64::MAX);
        sender.sequence = (1 << SEQUENCE_BITS) - 2;
        let last = sender.next_nonce();
        let next = sender.next_nonce();
        assert_ne!(last >> SEQUENCE_BITS, next >> SEQUENCE_BITS);
        assert_eq!(next & ((1 << SEQUENCE_BITS) - 1), 1);
        let mut nonces = Nonces::default();
        assert!(nonces.fresh(last, 0, 0) && nonces.fresh(next, 0, 0));
    }

    proptest::proptest! {
        #[test]
        fn any_authenticated_bytes_open_or_are_refused_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = open(KEY, &authenticated(&bytes), 0, &mut Nonces::default());
        }

        #[test]
        fn bytes_not_sealed_with_the_key_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            proptest::prop_assert!(open(KEY, &bytes, 0, &mut Nonces::default()).is_err());
        }
    }
}
