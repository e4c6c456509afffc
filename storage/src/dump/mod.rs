//! The dhtnode's channel dump files (`<channel>.tcm`), byte-compatible with
//! the original's.
//!
//! - [`mod@format`]: the file layout: a u64 format version (0), then per record
//!   the key and the value as u64-length-prefixed arrays, then an empty key as
//!   the end marker, padded with zeros to a 512-byte boundary.
//! - [`files`]: writing a dump safely (temporary file, fsync, keep the old
//!   dump as `.tcm.backup`, rename into place, fsync the directory) and
//!   finding the dumps of a data directory.
//!
//! docs/dump-format.md describes the format and the rules in prose.

pub mod files;
pub mod format;
