//! LZO1X streams for swarm's compressed batches, as fast as the data allows.
//!
//! `lzokay` (MIT) is the only permissively licensed LZO1X compressor, and on
//! data that does not compress it spends most of its time looking for
//! matches that are not there (about 25 MB/s, against several hundred on
//! text), and records of incompressible values with small headers are
//! hardly faster. So the start of a block (`SAMPLE` bytes) is first tried
//! with LZ4 (`lz4_flex`, fast): unless that halves it, the block is sent as
//! one LZO1X literal run
//! (a valid stream every LZO1X decompressor reads: the original clients
//! use liblzo), otherwise `lzokay` compresses it. After a block that is not
//! worth compressing, the next few are sent as literal runs without being
//! tried (more after each further such block, see `MAX_UNTRIED`): a scan
//! of values that do not compress spent a seventh of its time on the trials.
//! Empty input gets liblzo's own encoding, which `lzokay` does not produce.

use bytes::BufMut;
use lzokay::compress::Dict;

/// The LZO1X stream of zero bytes, as liblzo writes it: only the end
/// marker, which also closes every other stream.
const END_OF_STREAM: [u8; 3] = [0x11, 0, 0];

/// Bytes at the start of a block that decide whether it is worth
/// compressing (records of one channel tend to be alike, and trying the
/// whole block cost a scan as much as reading it).
const SAMPLE: usize = 16 * 1024;

/// Longest literal run the first byte alone can announce.
const SHORT_RUN: usize = 238;

/// Most blocks in a row sent as literal runs without a trial (about 1.6 MB
/// of 100 kB batches): data that starts compressing again is compressed
/// again soon after.
const MAX_UNTRIED: u32 = 16;

/// Makes the LZO1X streams of one sender, block after block (see the module
/// doc). `lzokay`'s dictionary, large and zeroed when made, is made on the
/// first block worth compressing and kept for the next ones.
#[derive(Default)]
pub struct Compressor {
    dict: Option<Box<Dict>>,
    /// Blocks still to be sent as literal runs without a trial.
    untried: u32,
    /// How many were skipped after the last failed trial.
    last_untried: u32,
}

impl Compressor {
    /// Appends `data` as an LZO1X stream to `out`: compressed if it is
    /// worth it (`worth_compressing`), else as it is.
    pub fn compress_into(&mut self, data: &[u8], out: &mut impl BufMut) {
        if !data.is_empty() && self.worth_compressing(data) {
            self.put_compressed(data, out);
        } else {
            put_literal(data, out);
        }
    }

    /// Appends `data` compressed with `lzokay`, untried.
    fn put_compressed(&mut self, data: &[u8], out: &mut impl BufMut) {
        let dict = self.dict.get_or_insert_with(Dict::new);
        let compressed =
            lzokay::compress::compress_with_dict(data, dict).expect("compressing into a growable buffer cannot fail");
        out.put_slice(&compressed);
    }

    /// Whether the block `data` (not empty) is worth compressing; if not,
    /// its stream is a literal run (see [`put_literal_run_head`]).
    fn worth_compressing(&mut self, data: &[u8]) -> bool {
        if self.untried > 0 {
            self.untried -= 1;
            return false;
        }
        let sample = &data[..data.len().min(SAMPLE)];
        if lz4_flex::compress(sample).len() * 2 <= sample.len() {
            self.last_untried = 0;
            return true;
        }
        self.last_untried = (self.last_untried * 2).clamp(1, MAX_UNTRIED);
        self.untried = self.last_untried;
        false
    }
}

/// Data gathered after free room for a head (a batch's records), whose
/// LZO1X stream is made where the data lies when the data goes as a
/// literal run, as blocks that do not compress do: only the run's head is
/// written, in front of the data, and nothing is copied.
pub struct InPlaceBlock {
    buf: Vec<u8>,
    /// Where the data starts: after the head's room and the longest
    /// literal-run head the capacity asked for needs.
    data_start: usize,
    /// Bytes the caller's head needs in front of the stream.
    head: usize,
}

impl InPlaceBlock {
    /// An empty block for about `capacity` bytes of data (more are taken,
    /// but then the stream is copied once) with `head` free bytes in front
    /// of its stream.
    pub fn new(head: usize, capacity: usize) -> Self {
        let data_start = head + literal_run_head_len(capacity.max(1));
        let mut buf = Vec::with_capacity(data_start + capacity + END_OF_STREAM.len());
        buf.resize(data_start, 0);
        InPlaceBlock { buf, data_start, head }
    }

    /// Appends data.
    pub fn put_slice(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The data gathered so far.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.data_start..]
    }

    /// Drops the data, keeping the buffer (after the caller made the stream
    /// elsewhere).
    pub fn clear(&mut self) {
        self.buf.truncate(self.data_start);
    }

    /// Makes the block's stream (compressed by `compressor` if worth it);
    /// returns the buffer holding it, from the returned offset to the end,
    /// with at least `head` free bytes before that offset.
    pub fn finish(mut self, compressor: &mut Compressor) -> (Vec<u8>, usize) {
        let data = &self.buf[self.data_start..];
        let (len, worth) = (data.len(), !data.is_empty() && compressor.worth_compressing(data));
        let run_head = if len == 0 { 0 } else { literal_run_head_len(len) };
        if !worth && self.head + run_head <= self.data_start {
            let start = self.data_start - run_head;
            if len > 0 {
                put_literal_run_head(len, &mut &mut self.buf[start..self.data_start]);
            }
            self.buf.extend_from_slice(&END_OF_STREAM);
            return (self.buf, start);
        }
        // Compressed, or longer than the room allows: a new buffer.
        let mut out = Vec::with_capacity(self.head + run_head + len + END_OF_STREAM.len());
        out.resize(self.head, 0);
        if worth {
            compressor.put_compressed(data, &mut out);
        } else {
            put_literal(data, &mut out);
        }
        (out, self.head)
    }
}

/// Appends `data` as an LZO1X stream without compressing it: one literal
/// run, or the empty stream.
fn put_literal(data: &[u8], out: &mut impl BufMut) {
    if !data.is_empty() {
        put_literal_run_head(data.len(), out);
        out.put_slice(data);
    }
    out.put_slice(&END_OF_STREAM);
}

/// The bytes of `stream` if it is one literal run of `len` bytes, as
/// `put_literal` writes it and liblzo's compressor writes data in which it
/// finds no match: a reader takes the records where they lie instead of
/// decompressing a copy. `None` for any other stream (which the decompressor
/// then reads).
pub fn literal_run(stream: &[u8], len: usize) -> Option<&[u8]> {
    let (head, rest) = stream.split_at_checked(literal_run_head_len(len))?;
    let (literals, end) = rest.split_at_checked(len)?;
    let head_announces_len = if len <= SHORT_RUN {
        head == [len as u8 + 17]
    } else {
        // 0, a 0 per 255 bytes past the first 18 + 255, then the rest.
        let (last, zeros) = head.split_last()?;
        zeros.iter().all(|&b| b == 0) && *last as usize == (len - 18 - 1) % 255 + 1
    };
    (len > 0 && head_announces_len && end == END_OF_STREAM).then_some(literals)
}

/// Bytes [`put_literal_run_head`] writes for a run of `len` bytes.
fn literal_run_head_len(len: usize) -> usize {
    if len <= SHORT_RUN {
        1
    } else {
        2 + (len - 18 - 1) / 255
    }
}

/// Writes the start of an LZO1X stream that is one literal run of `len`
/// bytes (not 0): the stream is this, the bytes, then [`END_OF_STREAM`].
fn put_literal_run_head(len: usize, out: &mut impl BufMut) {
    debug_assert!(len > 0, "an empty stream is END_OF_STREAM alone");
    if len <= SHORT_RUN {
        // A first byte of 18..=255 announces a run of (byte - 17) literals.
        out.put_u8(len as u8 + 17);
    } else {
        // Instruction 0 starts a long run: 18 + 255 per zero byte + the
        // closing non-zero byte.
        out.put_u8(0);
        let mut rest = len - 18;
        while rest > 255 {
            out.put_u8(0);
            rest -= 255;
        }
        out.put_u8(rest as u8);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn compress(data: &[u8], compressor: &mut Compressor) -> Vec<u8> {
        let mut out = Vec::new();
        compressor.compress_into(data, &mut out);
        out
    }

    fn literal(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_literal(data, &mut out);
        assert_eq!(out.len(), literal_run_head_len(data.len()) + data.len() + END_OF_STREAM.len());
        out
    }

    fn decompress(stream: &[u8], len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        let written = lzokay::decompress::decompress(stream, &mut out).expect("a valid LZO1X stream");
        assert_eq!(written, len);
        out
    }

    /// `len` bytes that do not compress, different for every `seed`.
    pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn literal_runs_of_every_length_decompress_and_are_read_in_place() {
        for len in (1..=600).chain([273, 274, 528, 529, 65_536, 100_000]) {
            let data = noise(len, len as u64);
            let stream = literal(&data);
            assert_eq!(decompress(&stream, len), data, "length {len}");
            assert_eq!(literal_run(&stream, len), Some(&data[..]), "length {len}");
            // Any other length, or a stream cut or extended, is not a run.
            assert_eq!(literal_run(&stream, len - 1), None);
            assert_eq!(literal_run(&stream, len + 1), None);
            assert_eq!(literal_run(&stream[..stream.len() - 1], len), None);
            assert_eq!(literal_run(&[&stream[..], &[0]].concat(), len), None);
        }
        assert_eq!(literal_run(&END_OF_STREAM, 0), None, "the empty stream is decompressed");
        // A compressed stream is not taken for a run, whatever its length.
        let text = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(100);
        let compressed = compress(&text, &mut Compressor::default());
        assert!(compressed.len() < text.len() / 2);
        assert_eq!(literal_run(&compressed, text.len()), None);
    }

    #[test]
    fn incompressible_data_goes_literal_and_text_is_compressed() {
        let mut dict = Compressor::default();
        let random = noise(65_536, 7);
        let stream = compress(&random, &mut dict);
        assert!(stream.len() <= random.len() + random.len() / 255 + 8);
        assert_eq!(decompress(&stream, random.len()), random);
        let text = br#"{"user":1234,"event":"click","page":"/home"}"#.repeat(1_000);
        let stream = compress(&text, &mut Compressor::default());
        assert!(stream.len() < text.len() / 10);
        assert_eq!(decompress(&stream, text.len()), text);
        assert_eq!(compress(b"", &mut dict), END_OF_STREAM);
    }

    #[test]
    fn the_start_of_a_block_decides_and_either_way_it_round_trips() {
        let text = br#"{"user":1234,"event":"click"}"#.repeat(4_000);
        let noisy_start = [noise(SAMPLE, 3), text.clone()].concat();
        let stream = compress(&noisy_start, &mut Compressor::default());
        assert_eq!(stream.len(), literal(&noisy_start).len(), "sent literally");
        assert_eq!(decompress(&stream, noisy_start.len()), noisy_start);
        let text_start = [text.clone(), noise(SAMPLE, 5)].concat();
        let stream = compress(&text_start, &mut Compressor::default());
        assert!(stream.len() < text_start.len() / 2, "compressed");
        assert_eq!(decompress(&stream, text_start.len()), text_start);
    }

    #[test]
    fn blocks_after_ones_not_worth_compressing_go_untried_and_fewer_are_tried_in_a_row() {
        let (noise, text) = (noise(SAMPLE, 9), br#"{"user":1234,"event":"click"}"#.repeat(1_000));
        let mut compressor = Compressor::default();
        assert!(compressor.worth_compressing(&text));
        // A failed trial skips the next block, the next failure two.
        assert!(!compressor.worth_compressing(&noise));
        assert!(!compressor.worth_compressing(&text), "untried");
        assert!(!compressor.worth_compressing(&noise));
        assert!(!compressor.worth_compressing(&text), "untried");
        assert!(!compressor.worth_compressing(&text), "untried");
        // A successful trial starts over.
        assert!(compressor.worth_compressing(&text));
        assert!(!compressor.worth_compressing(&noise));
        assert!(!compressor.worth_compressing(&text), "untried");
        assert!(compressor.worth_compressing(&text));
        // However long the noise, compressible blocks are found again soon.
        for _ in 0..1_000 {
            compressor.worth_compressing(&noise);
        }
        let literal_then = (0..=MAX_UNTRIED).take_while(|_| !compressor.worth_compressing(&text)).count();
        assert!(literal_then as u32 <= MAX_UNTRIED, "{literal_then}");
        // Untried blocks still make valid streams.
        compressor.worth_compressing(&noise);
        let stream = compress(&text, &mut compressor);
        assert_eq!(stream, literal(&text));
        assert_eq!(decompress(&stream, text.len()), text);
    }
}
