//! Property tests of the dlsnode's and dmqnode's decoders, legacy and neo
//! (what decode_props.rs and neo_props.rs check for the dhtnode): arbitrary
//! client bytes never panic a decoder or make it claim more input than it
//! was given, whatever decodes encodes back to the same bytes, and GetRange
//! record batches decode to their records however they were built.

use bytes::BytesMut;
use proptest::prelude::*;
use shoal_protocol::dls::legacy::DlsRequest;
use shoal_protocol::dls::neo::{self as dls_neo, GetRangeArgs, GetRangeControl, GetRangeMessage, RecordsBatch};
use shoal_protocol::dmq::legacy::{decode_stream_record, DmqRequest};
use shoal_protocol::dmq::neo::{self as dmq_neo, ConsumeArgs, ConsumeControl, ConsumeMessage, PopReply};
use shoal_protocol::lzo::Compressor;

/// One field of a made-up request: an array with a plausible length, a
/// `u64`, a byte, or raw bytes (which may be a lying length).
fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|content| {
            let mut out = (content.len() as u64).to_le_bytes().to_vec();
            out.extend(content);
            out
        }),
        any::<u64>().prop_map(|n| n.to_le_bytes().to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

/// Bytes that are made of fields about as often as not: legacy requests
/// start with one of `codes` as a u32; neo arguments have no code, and neo
/// messages start with a byte from `codes`.
fn request_bytes(codes: &'static [u32], legacy: bool) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..96),
        (prop::sample::select(codes), any::<bool>(), proptest::collection::vec(field(), 0..6)).prop_map(
            move |(code, neo_args, fields)| {
                let mut bytes = match (legacy, neo_args) {
                    (true, _) => code.to_le_bytes().to_vec(),
                    (false, true) => Vec::new(),
                    (false, false) => vec![code as u8],
                };
                fields.into_iter().for_each(|f| bytes.extend(f));
                bytes
            }
        ),
    ]
}

const DLS_CODES: &[u32] = &[3, 17, 18, 19, 22, 23, 24, 28, 29, 31, 32, 34, 35, 36];
const DMQ_CODES: &[u32] = &[1, 2, 6, 8, 9, 10, 11, 12];
const NEO_FIRST_BYTES: &[u32] = &[0, 1, 2, 3, 4, 5, 6];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn legacy_dls_requests_never_panic_and_round_trip(data in request_bytes(DLS_CODES, true)) {
        if let Ok((request, used)) = DlsRequest::decode(&data) {
            prop_assert!(used <= data.len());
            let mut out = BytesMut::new();
            request.encode(&mut out);
            prop_assert_eq!(&out[..], &data[..used]);
        }
    }

    #[test]
    fn legacy_dmq_requests_and_stream_records_never_panic_and_round_trip(data in request_bytes(DMQ_CODES, true)) {
        if let Ok(decoded) = DmqRequest::decode(&data) {
            prop_assert!(decoded.consumed <= data.len());
            let mut out = BytesMut::new();
            decoded.request.encode(&mut out);
            prop_assert_eq!(&out[..], &data[..decoded.consumed]);
        }
        if let Ok((_, used)) = decode_stream_record(&data) {
            prop_assert!(used <= data.len());
        }
    }

    #[test]
    fn neo_dls_messages_never_panic_and_round_trip(data in request_bytes(NEO_FIRST_BYTES, false)) {
        if let Ok(put) = dls_neo::PutArgs::decode(&data) {
            prop_assert_eq!(put.encode(), data.clone());
        }
        if let Ok(range) = GetRangeArgs::decode(&data) {
            prop_assert_eq!(range.encode(), data.clone());
        }
        if let Ok(message) = GetRangeMessage::decode(&data) {
            prop_assert_eq!(message.encode(), data.clone());
        }
        let _ = dls_neo::records(&data);
        if let Ok(control) = GetRangeControl::decode(&data) {
            prop_assert_eq!(vec![control as u8], data.clone());
        }
    }

    #[test]
    fn neo_dmq_messages_never_panic_and_round_trip(data in request_bytes(NEO_FIRST_BYTES, false)) {
        if let Ok(push) = dmq_neo::PushArgs::decode(&data) {
            prop_assert_eq!(push.encode(), Some(data.clone()));
        }
        let _ = dmq_neo::decode_pop_args(&data);
        if let Ok(reply) = PopReply::decode(&data) {
            prop_assert_eq!(reply.encode(), data.clone());
        }
        if let Ok(consume) = ConsumeArgs::decode(&data) {
            prop_assert_eq!(consume.encode(), data.clone());
        }
        if let Ok(message) = ConsumeMessage::decode(&data) {
            prop_assert_eq!(message.encode(), data.clone());
            if let ConsumeMessage::Records(batch) = message {
                let _ = ConsumeMessage::records(batch);
            }
        }
        if let Ok(control) = ConsumeControl::decode(&data) {
            prop_assert_eq!(vec![control as u8], data.clone());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn well_formed_get_ranges_round_trip_and_damaged_ones_never_panic(
        channel in proptest::collection::vec(any::<u8>(), 0..20),
        (low, high, mode) in (any::<i64>(), any::<i64>(), any::<u8>()),
        filter in proptest::collection::vec(any::<u8>(), 0..20),
        values in proptest::collection::vec(value(), 1..20),
        (cut, flip, mask) in (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..),
        claimed in 0u64..10_000,
    ) {
        let args = GetRangeArgs { channel: &channel, low, high, filter: &filter, mode };
        let bytes = args.encode();
        prop_assert_eq!(GetRangeArgs::decode(&bytes), Ok(args));
        let cut = cut.index(bytes.len());
        prop_assert!(GetRangeArgs::decode(&bytes[..cut]).is_err());
        // A Records message with one byte changed, and any claimed length.
        let mut batch = RecordsBatch::new(0, 1_000);
        values.iter().enumerate().for_each(|(key, value)| batch.push(key as u64, value));
        let (message, start) = batch.finish(&mut Compressor::default());
        let mut damaged = message[start..].to_vec();
        let at = flip.index(damaged.len());
        damaged[at] ^= mask;
        if let Ok(GetRangeMessage::Records { uncompressed, lzo }) = GetRangeMessage::decode(&damaged) {
            for claim in [uncompressed, claimed] {
                let mut out = Vec::new();
                if let Ok(records) = dls_neo::decompress_records(claim, lzo, 4096, &mut out) {
                    prop_assert!(records.len() <= 4096);
                    let _ = dls_neo::records(records);
                }
            }
        }
    }
}

/// A record value: noise, or one byte repeated (which compresses).
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (any::<u8>(), 0usize..600).prop_map(|(byte, len)| vec![byte; len]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn records_batches_decode_to_their_records_however_built(
        batches in proptest::collection::vec(
            proptest::collection::vec(
                (any::<u64>(), value()),
                0..40,
            ),
            1..6,
        ),
        room in 0usize..40,
        capacity in 0usize..6_000,
    ) {
        // One compressor across the batches, as one scan uses it.
        let mut compressor = Compressor::default();
        for records in batches {
            let mut batch = RecordsBatch::new(room, capacity);
            let mut expected = Vec::new();
            for (key, value) in &records {
                batch.push(*key, value);
                expected.extend_from_slice(&key.to_le_bytes());
                expected.extend_from_slice(&(value.len() as u64).to_le_bytes());
                expected.extend_from_slice(value);
            }
            prop_assert_eq!(batch.len(), expected.len());
            let (message, start) = batch.finish(&mut compressor);
            prop_assert!(start >= room);
            let decoded = GetRangeMessage::decode(&message[start..]);
            let Ok(GetRangeMessage::Records { uncompressed, lzo }) = decoded else {
                return Err(TestCaseError::fail(format!("not a Records message: {decoded:?}")));
            };
            let mut out = Vec::new();
            let decompressed = dls_neo::decompress_records(uncompressed, lzo, 1 << 20, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decompressed, &expected[..]);
            let keys: Vec<u64> = dls_neo::records(decompressed).map_err(|e| TestCaseError::fail(e.to_string()))?.iter().map(|(key, _)| *key).collect();
            prop_assert_eq!(keys, records.iter().map(|(key, _)| *key).collect::<Vec<_>>());
        }
    }
}
