//! The dmqnode's storage: per channel and subscriber a fixed-size memory
//! ring, with a disk overflow shared by all of them, and the files that keep
//! both across restarts, byte-compatible with the original dmqnode's.
//!
//! # Queues
//!
//! Every channel has one queue ([`channel`]): a plain one named like the
//! channel until someone subscribes, then one per subscriber, named
//! `subscriber@channel` (`@channel` for the empty subscriber that legacy
//! Consume uses). A push to the channel is copied to every queue.
//!
//! A queue ([`queue`]) is a [`ring::Ring`] of the configured size
//! ([`size`]: `[Server] channel_size_limit`, or the `[ChannelSizeById]`
//! prefix the channel name starts with) plus its own channel in the disk
//! overflow. Records go to the ring while it has room and the queue has
//! nothing on disk, otherwise to disk; pops take the ring first. Unlike the
//! original, order is strictly first in, first out across both.
//!
//! # Ring
//!
//! Records are packed on their way into a ring ([`packed`]): compressed
//! with LZ4 when that saves at least an eighth, so compressible queues hold
//! several times more in the same memory; the files keep plain records.
//!
//! One pre-allocated buffer holding `u64 length + bytes` records packed;
//! a record never wraps, and the free space at the tail and at the front is
//! never combined, so a record fits or spills exactly when it does in the
//! original.
//!
//! # Disk overflow
//!
//! [`overflow`]: `overflow.dat` holds the records of all queues appended in
//! push order, each behind a 32-byte header with its channel id, a parity
//! byte and the distance to the channel's next record; `ofchannels.csv`
//! names each channel with its record and byte counts and the offsets of its
//! oldest and newest record. The index is committed periodically and
//! whenever a channel starts spilling, and popped records are marked in
//! place, so a restart after a crash neither loses pushed records nor
//! returns popped ones.
//!
//! # Files at start and shutdown
//!
//! [`store`]: at start the overflow is opened, every `<storage name>.rq`
//! ([`rq`]: `u32 count, u64 length, records`) refills its ring and is then
//! deleted, and queues are created for overflow channels without a file. At
//! clean shutdown the overflow index is written (both files deleted when
//! empty) and every non-empty ring is saved to its `.rq` file.
//!
//! Damaged files never stop the start unless the original's layout rules
//! make the data ambiguous (a plain queue and subscribers of one channel, a
//! data file without the magic): everything readable is kept, and the rest
//! is reported as a problem next to the loaded store.

pub mod channel;
pub mod name;
pub mod overflow;
pub mod packed;
pub mod queue;
pub mod ring;
pub mod rq;
pub mod size;
pub mod store;
