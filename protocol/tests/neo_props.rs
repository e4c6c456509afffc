//! Property tests of the neo decoders: arbitrary bytes never panic the
//! header decoder or any DHT request decoder, and whatever the header
//! decoder accepts is a header it could have encoded.

use proptest::prelude::*;
use shoal_protocol::neo::header::{encode_message, Header, HeaderDecoder, MessageType, HEADER_LEN};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn request_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        // At most every form accepts; none panics or reads past the end.
        prop_assert!(shoal_protocol::neo::dht::decode_every_form(&bytes) <= 21);
    }

    #[test]
    fn request_decoders_refuse_lying_lengths(len in 64u64..u64::MAX, tail in proptest::collection::vec(any::<u8>(), 0..63)) {
        use shoal_protocol::neo::dht::{get_all, get_channels, mirror, update};
        use shoal_protocol::neo::RequestError;
        // Each of these forms has an array right after its first byte.
        let lying = |first: u8| {
            let mut bytes = vec![first];
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&tail);
            bytes
        };
        let truncated = |r: Result<(), RequestError>| matches!(r, Err(RequestError::Truncated { .. }));
        prop_assert!(truncated(get_all::GetAllArgs::decode(&lying(0)).map(drop)));
        prop_assert!(truncated(mirror::MirrorArgs::decode(&lying(1)).map(drop)));
        prop_assert!(truncated(update::UpdateArgs::decode(&lying(1)).map(drop)));
        prop_assert!(truncated(get_all::GetAllMessage::decode(&lying(7)).map(drop)));
        prop_assert!(truncated(mirror::MirrorMessage::decode(&lying(9)).map(drop)));
        prop_assert!(truncated(get_channels::GetChannelsMessage::decode(&lying(2)).map(drop)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                   max in any::<u64>()) {
        let d = HeaderDecoder::new(max);
        if let Ok(Some(h)) = d.decode(&bytes) {
            prop_assert!(bytes.len() >= HEADER_LEN);
            prop_assert_eq!(h.encode(), <[u8; HEADER_LEN]>::try_from(&bytes[..HEADER_LEN]).unwrap());
            prop_assert!(h.body_len <= max);
        }
        if let Ok(Some(m)) = d.split_message(&bytes) {
            prop_assert_eq!(m.wire_len, HEADER_LEN + m.body.len());
            prop_assert!(m.wire_len <= bytes.len());
        }
    }

    #[test]
    fn headers_with_valid_parity_and_any_length(t in 0u8..4, len in any::<u64>(), max in any::<u64>()) {
        let mut b = [0u8; HEADER_LEN];
        b[0] = t;
        b[1..9].copy_from_slice(&len.to_le_bytes());
        b[9] = b[..9].iter().fold(0, |a, x| a ^ x);
        let _ = HeaderDecoder::new(max).split_message(&b);
    }

    #[test]
    fn encoded_messages_round_trip(body in proptest::collection::vec(any::<u8>(), 8..200), cut in 0usize..220) {
        let mut buf = Vec::new();
        encode_message(MessageType::Request, &[&body], &mut buf);
        let d = HeaderDecoder::default();
        let m = d.split_message(&buf).unwrap().unwrap();
        prop_assert_eq!(m.header, Header::new(MessageType::Request, body.len() as u64));
        prop_assert_eq!(m.body, &body[..]);
        let cut = cut.min(buf.len() - 1);
        prop_assert_eq!(d.split_message(&buf[..cut]), Ok(None));
    }
}
