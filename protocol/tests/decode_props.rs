//! Property tests of the legacy decoder (the fuzz target's checks, run as part
//! of the test suite): arbitrary input never panics or over-reads, and every
//! well-formed request survives encode -> decode unchanged, at every split.

use bytes::BytesMut;
use proptest::prelude::*;
use shoal_protocol::legacy::batch;
use shoal_protocol::legacy::request::{ChannelArg, ChannelData, KeyArgs, PutArgs};
use shoal_protocol::legacy::{DecodeLimits, Request, WireError};

const LIMITS: DecodeLimits = DecodeLimits { max_put_value: 65_503 };

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        // Start with a real request code, so the fields get exercised.
        (prop::sample::select(vec![1u8, 7, 11, 12, 17, 18, 19, 20, 22, 23, 24, 25, 29, 30, 31, 33, 34]),
            proptest::collection::vec(any::<u8>(), 0..256))
            .prop_map(|(code, rest)| {
                let mut bytes = vec![code, 0, 0, 0];
                bytes.extend(rest);
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn arbitrary_input_never_panics_or_over_reads(data in arbitrary_bytes()) {
        if let Ok(decoded) = Request::decode(&data, &LIMITS) {
            prop_assert!(decoded.consumed <= data.len());
            if decoded.skip == 0 {
                let mut out = BytesMut::new();
                decoded.request.encode(&mut out);
                prop_assert_eq!(&out[..], &data[..decoded.consumed]);
            }
        }
        if let Ok(records) = batch::decompress(&data, 1 << 20) {
            let _ = batch::records(&records, 2);
        }
    }

    #[test]
    fn requests_decode_only_once_complete(
        channel in "[a-z_-]{0,20}",
        key in "[0-9a-f]{16}",
        value in proptest::collection::vec(any::<u8>(), 0..300),
        kind in 0..5u8,
    ) {
        let request = match kind {
            0 => Request::Put(PutArgs {
                target: KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() },
                value: Some(&value),
            }),
            1 => Request::Get(KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() }),
            2 => Request::GetAll(ChannelArg { channel: channel.as_bytes() }),
            3 => Request::GetAllFilter(ChannelData { channel: channel.as_bytes(), data: &value }),
            _ => Request::GetChannels,
        };
        let mut out = BytesMut::new();
        request.encode(&mut out);
        for cut in 0..out.len() {
            prop_assert_eq!(Request::decode(&out[..cut], &LIMITS), Err(WireError::Incomplete));
        }
        let decoded = Request::decode(&out, &LIMITS).expect("complete request decodes");
        prop_assert_eq!(decoded.consumed, out.len());
        prop_assert_eq!(decoded.request, request);
    }
}
