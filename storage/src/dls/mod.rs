//! The dlsnode's storage: records appended to bucket files by channel and
//! key, byte-compatible with the original dlsnode's files.
//!
//! # Layout ([`layout`])
//!
//! `<data_dir>/<channel>/<slot>/<bucket>`: a key's slot is `key >> 24` as
//! 10 lowercase hex digits, its bucket file `(key >> 12) & 0xfff` as 3; one
//! bucket holds 4,096 consecutive keys (about 68 minutes of Unix-time keys),
//! one slot 4,096 buckets.
//!
//! # Buckets ([`record`], [`bucket`])
//!
//! A bucket written today starts with a 16-byte header (`u64` version 1,
//! `DLSBUCKT`) followed by records `u64 key, u64 length, u8 parity, value`,
//! the parity making the XOR of the 17 header bytes zero. Older buckets have
//! no header and records `u64 key, u64 length, value`; appends keep a
//! bucket's version. Records come back in bucket order and, within a
//! bucket, in the order they were written. Reading a bucket stops at a
//! header whose parity fails, at a record that runs past the end of the
//! file (torn), and at a trailing fragment; files shorter than 16 bytes are
//! skipped. A scan reads a bucket in chunks ([`chunk_reader`]), the next
//! one read ahead on another disk thread while the current one is parsed.
//!
//! # Checkpoint ([`checkpoint`])
//!
//! `data/checkpoint.dat` lists, for every bucket written since the last
//! commit, how many of its bytes are known to be on disk (`<channel>
//! <first key of the bucket> <length>` per line). After a crash each listed
//! bucket is cut back to that length, so a torn record is never served.
//! Unlike the original, shoal records the length it has just fsynced.

pub mod bucket;
pub mod channel;
pub mod checkpoint;
pub mod layout;
pub mod chunk_reader;
pub mod record;
pub mod writeback;
