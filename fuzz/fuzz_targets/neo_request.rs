//! Fuzzes every neo DHT request decoder (first-message arguments and the
//! later messages, both directions) with arbitrary bytes: none may panic,
//! whatever the length fields claim. Run: `cargo fuzz run neo_request`
//! (protocol/tests/neo_props.rs runs the same decoders as a proptest).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shoal_protocol::neo::dht::decode_every_form(data);
});
