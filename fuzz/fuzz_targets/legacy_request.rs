//! Fuzzes the node's legacy request decoder and the batch reader with
//! arbitrary client bytes: nothing may panic, nothing may claim more input
//! than it was given, and whatever decodes must encode back to the same bytes.
//! Run: `cargo fuzz run legacy_request` (the test suite runs the same checks
//! as a proptest in protocol/tests/decode_props.rs).

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shoal_protocol::legacy::batch;
use shoal_protocol::legacy::{DecodeLimits, Request};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits { max_put_value: 65_503 };
    if let Ok(decoded) = Request::decode(data, &limits) {
        assert!(decoded.consumed <= data.len());
        if decoded.skip == 0 {
            let mut out = BytesMut::new();
            decoded.request.encode(&mut out);
            assert_eq!(&out[..], &data[..decoded.consumed]);
        }
    }
    if let Ok(records) = batch::decompress(data, 1 << 20) {
        let _ = batch::records(&records, 2);
    }
});
