//! Early write-back of appended bytes: every [`CHUNK`] written to a bucket,
//! the kernel is asked to start writing those pages to disk (Linux
//! `sync_file_range` with `SYNC_FILE_RANGE_WRITE`, which does not wait for
//! them), as RocksDB's `bytes_per_sync` does. Without it the page cache
//! holds a whole checkpoint period of appends, and the checkpoint's fsync
//! (or the shutdown's) stalls on all of it at once; with it the disk works
//! while the node does, and the fsync finds little left. Durability is
//! unchanged: only the checkpoint's fsync promises anything.

use std::fs::File;

/// Bytes appended to a bucket between two write-back requests.
pub const CHUNK: u64 = 8 << 20;

/// Asks the kernel to start writing `len` bytes of `file` from `offset`.
/// A hint: a failure changes nothing, and the next fsync reports any error.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn start(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
    // SAFETY: a plain system call on a descriptor `file` keeps open for the
    // duration of the call; no memory is handed to the kernel.
    let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

/// Elsewhere there is no such call: the checkpoint's fsync does it all.
#[cfg(not(target_os = "linux"))]
pub fn start(_file: &File, _offset: u64, _len: u64) {}
