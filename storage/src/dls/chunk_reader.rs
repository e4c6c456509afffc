//! Reading a bucket in chunks, the next chunk read on another disk thread
//! while the records of the current one are taken apart.
//!
//! A scan that reads and parses on one thread leaves the disk idle while it
//! parses and the CPU idle while it waits for the disk: a cold 1 GB scan
//! ran at 0.7–0.8 of `cat` that way, 0.85–1.0 with the next chunk read
//! ahead (docs/dls.md, Performance). The read-ahead is a job on the node's
//! disk pool, so reads stay within `number_of_thread_workers`; a reader
//! that needs a chunk whose job has not started yet reads it itself, so a
//! pool busy with scans never leaves one waiting for a thread.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Runs read-ahead jobs off the scanning thread: the node's disk pool.
pub trait Spawner: Send + Sync {
    /// Queues `job`; false if it was refused (the pool is stopping).
    fn spawn(&self, job: Box<dyn FnOnce() + Send>) -> bool;
}

/// How a scan reads its buckets: `size` bytes of read buffer per bucket
/// (`[Performance] file_buffer_size`) and, if given, the threads that read
/// the next half of it ahead.
#[derive(Clone)]
pub struct ReadBuffers {
    /// Bytes of buffer per bucket being read.
    size: usize,
    /// Where the next chunk is read while the current one is parsed.
    read_ahead: Option<Arc<dyn Spawner>>,
}

impl ReadBuffers {
    /// One buffer of `size` bytes, refilled by the scanning thread.
    pub fn inline(size: usize) -> ReadBuffers {
        ReadBuffers { size, read_ahead: None }
    }

    /// Two chunks of half `size` each, one read on `spawner`'s threads
    /// while the other is parsed.
    pub fn ahead(size: usize, spawner: Arc<dyn Spawner>) -> ReadBuffers {
        ReadBuffers { size, read_ahead: Some(spawner) }
    }
}

/// The bytes `start..end` of a file, read a chunk at a time (`BufRead`).
/// `end` is fixed when it is created: bytes appended later are not read.
pub struct ChunkReader {
    file: Arc<File>,
    /// Where the next chunk not yet read or asked for starts.
    next: u64,
    end: u64,
    chunk: usize,
    current: Vec<u8>,
    pos: usize,
    /// The chunk before `next`, being read on another thread.
    ahead: Option<Arc<AheadChunk>>,
    spawner: Option<Arc<dyn Spawner>>,
}

/// A chunk handed to a read-ahead job; whoever comes first reads it.
struct AheadChunk {
    state: Mutex<AheadState>,
    read: Condvar,
}

enum AheadState {
    /// Not started: the buffer, and the offset and length to read.
    Queued(Vec<u8>, u64, usize),
    /// A disk thread is reading it.
    Reading,
    /// Read by the job.
    Done(io::Result<Vec<u8>>),
    /// The reader took it (or dropped it) before the job ran.
    Taken,
}

impl ChunkReader {
    /// Reads `start..end` of `file` through `buffers`.
    pub fn new(file: File, start: u64, end: u64, buffers: &ReadBuffers) -> ChunkReader {
        let one_chunk = end.saturating_sub(start) <= buffers.size as u64;
        // Reading ahead pays only for a file bigger than the buffer.
        let spawner = buffers.read_ahead.clone().filter(|_| !one_chunk);
        // Two chunks of half the buffer each: the memory of one buffer.
        let chunk = if spawner.is_some() { (buffers.size / 2).max(1) } else { buffers.size.max(1) };
        ChunkReader { file: Arc::new(file), next: start, end, chunk, current: Vec::new(), pos: 0, ahead: None, spawner }
    }

    /// The file (for hints to the kernel).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// The bytes read and not yet consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.current[self.pos..]
    }

    /// Replaces the consumed chunk with the next one, and asks for the one
    /// after it. After an error nothing more is read.
    fn refill(&mut self) -> io::Result<()> {
        let mut spare = std::mem::take(&mut self.current);
        self.pos = 0;
        let next = match self.ahead.take() {
            Some(ahead) => ahead.take(&self.file),
            None if self.next < self.end => {
                let (offset, len) = (self.next, self.next_len());
                self.next += len as u64;
                read_chunk(&self.file, std::mem::take(&mut spare), offset, len)
            }
            None => return Ok(()),
        };
        match next {
            Ok(chunk) => self.current = chunk,
            Err(error) => {
                self.next = self.end;
                return Err(error);
            }
        }
        if self.current.len() < self.chunk && self.next < self.end {
            // A short chunk: the file was cut since it was opened.
            self.next = self.end;
        }
        if let (Some(spawner), true) = (&self.spawner, self.next < self.end) {
            let len = self.next_len();
            let ahead = Arc::new(AheadChunk { state: Mutex::new(AheadState::Queued(spare, self.next, len)), read: Condvar::new() });
            self.next += len as u64;
            let (job_chunk, file) = (Arc::clone(&ahead), Arc::clone(&self.file));
            // Refused (the pool is stopping): the chunk is read when needed.
            let _ = spawner.spawn(Box::new(move || job_chunk.read_queued(&file)));
            self.ahead = Some(ahead);
        }
        Ok(())
    }

    fn next_len(&self) -> usize {
        (self.end - self.next).min(self.chunk as u64) as usize
    }
}

impl AheadChunk {
    fn lock(&self) -> MutexGuard<'_, AheadState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The job: reads the chunk unless the reader took it first.
    fn read_queued(&self, file: &File) {
        let mut state = self.lock();
        let (buffer, offset, len) = match std::mem::replace(&mut *state, AheadState::Reading) {
            AheadState::Queued(buffer, offset, len) => (buffer, offset, len),
            taken => {
                *state = taken;
                return;
            }
        };
        drop(state);
        let result = read_chunk(file, buffer, offset, len);
        *self.lock() = AheadState::Done(result);
        self.read.notify_one();
    }

    /// The chunk: read by the job, waited for while the job reads it, or
    /// read here if the job has not started.
    fn take(&self, file: &File) -> io::Result<Vec<u8>> {
        let reading = |state: &mut AheadState| matches!(state, AheadState::Reading);
        let mut state = self.read.wait_while(self.lock(), reading).unwrap_or_else(|poisoned| poisoned.into_inner());
        match std::mem::replace(&mut *state, AheadState::Taken) {
            AheadState::Queued(buffer, offset, len) => {
                drop(state);
                read_chunk(file, buffer, offset, len)
            }
            AheadState::Done(result) => result,
            AheadState::Reading | AheadState::Taken => unreachable!("a chunk is taken once, after its read"),
        }
    }
}

impl Drop for ChunkReader {
    /// A chunk whose job has not started is not read at all.
    fn drop(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            let mut state = ahead.lock();
            if matches!(*state, AheadState::Queued(..)) {
                *state = AheadState::Taken;
            }
        }
    }
}

/// Reads up to `len` bytes at `offset` into `buffer` (reused), fewer only
/// at the end of the file.
fn read_chunk(file: &File, mut buffer: Vec<u8>, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    buffer.resize(len, 0);
    let filled = read_at_most(file, &mut buffer, offset)?;
    buffer.truncate(filled);
    Ok(buffer)
}

/// Fills `buf` from `offset` of `file`, short only where the file ends;
/// returns how many bytes were read.
pub(super) fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.current.len() {
            self.refill()?;
        }
        Ok(self.buffer())
    }

    fn consume(&mut self, amount: usize) {
        debug_assert!(self.pos + amount <= self.current.len(), "consumed only what was read");
        self.pos = (self.pos + amount).min(self.current.len());
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Job = Box<dyn FnOnce() + Send>;

    /// Keeps the read-ahead jobs until the test runs them (or never does).
    #[derive(Default)]
    struct Deferred(Mutex<Vec<Job>>);

    impl Spawner for Deferred {
        fn spawn(&self, job: Job) -> bool {
            self.0.lock().unwrap().push(job);
            true
        }
    }

    impl Deferred {
        fn run_all(&self) -> usize {
            let jobs = std::mem::take(&mut *self.0.lock().unwrap());
            let ran = jobs.len();
            jobs.into_iter().for_each(|job| job());
            ran
        }
    }

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("275");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    /// Reads everything a buffer at a time, calling `between` after each.
    fn read_all(reader: &mut ChunkReader, mut between: impl FnMut()) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let chunk = reader.fill_buf().unwrap();
            if chunk.is_empty() {
                return out;
            }
            out.extend_from_slice(chunk);
            let n = chunk.len();
            reader.consume(n);
            between();
        }
    }

    #[test]
    fn every_byte_comes_back_in_order_whoever_reads_the_chunks() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (_dir, path) = file_of(&bytes);
        for size in [2, 7, 64, 1000, 9_999, 20_000] {
            let expected = &bytes[16..];
            let open = |buffers: &ReadBuffers| ChunkReader::new(File::open(&path).unwrap(), 16, bytes.len() as u64, buffers);
            assert_eq!(read_all(&mut open(&ReadBuffers::inline(size)), || {}), expected, "inline, {size}");
            // The job reads each chunk before the reader needs it.
            let jobs = Arc::new(Deferred::default());
            let mut ran = 0;
            let read = read_all(&mut open(&ReadBuffers::ahead(size, jobs.clone())), || ran += jobs.run_all());
            assert_eq!(read, expected, "read ahead, {size}");
            assert_eq!(ran > 0, size < expected.len(), "jobs ran only for a file bigger than the buffer");
            // No job ever runs: the reader reads every chunk itself, and a
            // job run afterwards finds its chunk taken.
            let jobs = Arc::new(Deferred::default());
            assert_eq!(read_all(&mut open(&ReadBuffers::ahead(size, jobs.clone())), || {}), expected, "never ahead, {size}");
            jobs.run_all();
        }
    }

    #[test]
    fn a_dropped_reader_leaves_its_queued_chunk_unread() {
        let (_dir, path) = file_of(&[1; 1000]);
        let jobs = Arc::new(Deferred::default());
        let mut reader = ChunkReader::new(File::open(&path).unwrap(), 0, 1000, &ReadBuffers::ahead(100, jobs.clone()));
        assert_eq!(reader.fill_buf().unwrap().len(), 50);
        let ahead = Arc::clone(reader.ahead.as_ref().unwrap());
        drop(reader);
        assert_eq!(jobs.run_all(), 1);
        assert!(matches!(*ahead.lock(), AheadState::Taken));
    }

    #[test]
    fn bytes_past_the_end_given_are_not_read_and_a_cut_file_ends_early() {
        let bytes = vec![9u8; 5000];
        let (_dir, path) = file_of(&bytes);
        let mut reader = ChunkReader::new(File::open(&path).unwrap(), 0, 3000, &ReadBuffers::ahead(512, Arc::new(Deferred::default())));
        assert_eq!(read_all(&mut reader, || {}).len(), 3000);
        // Cut to 1200 bytes after opening: the chunks stop there.
        let jobs = Arc::new(Deferred::default());
        let mut reader = ChunkReader::new(File::open(&path).unwrap(), 0, 5000, &ReadBuffers::ahead(1000, jobs.clone()));
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1200).unwrap();
        assert_eq!(read_all(&mut reader, || { jobs.run_all(); }).len(), 1200);
    }
}
