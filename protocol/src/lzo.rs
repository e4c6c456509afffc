//! LZO1X streams for swarm's compressed batches, as fast as the data allows.
//!
//! `lzokay` (MIT) is the only permissively licensed LZO1X compressor, and on
//! data that does not compress it spends most of its time looking for
//! matches that are not there (about 25 MB/s, against several hundred on
//! text), and records of incompressible values with small headers are
//! hardly faster. So a block is first tried with LZ4 (`lz4_flex`, fast):
//! unless that halves it, the block is sent as one LZO1X literal run
//! (a valid stream every LZO1X decompressor reads: the original clients
//! use liblzo), otherwise `lzokay` compresses it. Empty input gets liblzo's
//! own encoding, which `lzokay` does not produce.

use lzokay::compress::Dict;

/// The LZO1X stream of zero bytes, as liblzo writes it: only the end marker.
const END_OF_STREAM: [u8; 3] = [0x11, 0, 0];

/// Longest literal run the first byte alone can announce.
const SHORT_RUN: usize = 238;

/// Compresses `data` into an LZO1X stream (see the module doc); `dict` is
/// `lzokay`'s reusable state.
pub fn compress(data: &[u8], dict: &mut Dict) -> Vec<u8> {
    if data.is_empty() {
        return END_OF_STREAM.to_vec();
    }
    if lz4_flex::compress(data).len() * 2 > data.len() {
        return literal_run(data);
    }
    lzokay::compress::compress_with_dict(data, dict).expect("compressing into a growable buffer cannot fail")
}

/// `data` as one literal run: the run's length, the bytes, the end marker.
fn literal_run(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 255 + 8);
    if data.len() <= SHORT_RUN {
        // A first byte of 18..=255 announces a run of (byte - 17) literals.
        out.push(data.len() as u8 + 17);
    } else {
        // Instruction 0 starts a long run: 18 + 255 per zero byte + the
        // closing non-zero byte.
        out.push(0);
        let mut rest = data.len() - 18;
        while rest > 255 {
            out.push(0);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.extend_from_slice(data);
    out.extend_from_slice(&END_OF_STREAM);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress(stream: &[u8], len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        let written = lzokay::decompress::decompress(stream, &mut out).expect("a valid LZO1X stream");
        assert_eq!(written, len);
        out
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
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
    fn literal_runs_of_every_length_decompress() {
        for len in (1..=600).chain([273, 274, 528, 529, 65_536, 100_000]) {
            let data = noise(len, len as u64);
            assert_eq!(decompress(&literal_run(&data), len), data, "length {len}");
        }
    }

    #[test]
    fn incompressible_data_goes_literal_and_text_is_compressed() {
        let mut dict = Dict::new();
        let random = noise(65_536, 7);
        let stream = compress(&random, &mut dict);
        assert!(stream.len() <= random.len() + random.len() / 255 + 8);
        assert_eq!(decompress(&stream, random.len()), random);
        let text = br#"{"user":1234,"event":"click","page":"/home"}"#.repeat(1_000);
        let stream = compress(&text, &mut dict);
        assert!(stream.len() < text.len() / 10);
        assert_eq!(decompress(&stream, text.len()), text);
        assert_eq!(compress(b"", &mut dict), END_OF_STREAM);
    }
}
