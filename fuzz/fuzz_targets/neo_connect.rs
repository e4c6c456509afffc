//! Fuzzes the node side of the neo protocol with arbitrary client bytes: the
//! message header decoder and the connect/authentication state machine must
//! never panic and never claim more input than given. Run: `cargo fuzz run neo_connect`
//! (protocol/tests/neo_props.rs runs the header checks as a proptest).

#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_protocol::neo::{Credentials, HeaderDecoder, Key, NodeHandshake};

fuzz_target!(|data: &[u8]| {
    let decoder = HeaderDecoder::default();
    if let Ok(Some(message)) = decoder.split_message(data) {
        assert!(message.wire_len <= data.len());
    }
    let credentials = Credentials::single("admin", Key([0; 128]));
    let mut handshake = NodeHandshake::new([1, 2, 3, 4]);
    let mut out = Vec::new();
    if let Ok(step) = handshake.advance(data, 1_700_000_000, &credentials, &mut out) {
        assert!(step.consumed <= data.len());
    }
});
