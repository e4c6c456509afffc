//! Fuzzes the ring's peer frames: arbitrary bytes, and arbitrary bytes
//! authenticated with the cluster key (a peer that has the key but sends
//! garbage), must be refused or decoded, never panic or allocate what a
//! length inside claims. Run: `cargo fuzz run peer_frame` (the same checks
//! run as proptests in cluster/src/message.rs).

#![no_main]

use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use shoal_cluster::message::{open, Nonces};

const KEY: &[u8] = b"the cluster key of the fuzzer";

fuzz_target!(|data: &[u8]| {
    let _ = open(KEY, data, 0, &mut Nonces::default());
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("any key length");
    mac.update(data);
    let sealed = [data, &mac.finalize().into_bytes()[..]].concat();
    let _ = open(KEY, &sealed, 0, &mut Nonces::default());
});
