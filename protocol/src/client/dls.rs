//! Async clients for a dlsnode: [`DlsLegacyClient`] on the legacy port and
//! [`DlsNeoClient`] on the neo port. Used by the tests and the benchmarks;
//! they send exactly what the original DlsClient sends.

use bytes::BytesMut;

use super::legacy::{hex_key, ClientError, LegacyClient, Record};
use super::neo::{NeoClient, NeoClientError};
use crate::dls::legacy::{DlsRequest, KeyRange};
use crate::dls::neo::{decompress_records, records, GetRangeArgs, GetRangeControl, GetRangeMessage, PutArgs, GET_RANGE_V2, PUT_V1};
use crate::legacy::request::MAX_ARRAY;
use crate::legacy::wire::WireReader;
use crate::neo::RequestError;

/// A legacy connection to a dlsnode.
pub struct DlsLegacyClient {
    conn: LegacyClient,
    output: BytesMut,
}

impl DlsLegacyClient {
    /// Connects to the node's legacy port.
    pub async fn connect(address: impl tokio::net::ToSocketAddrs) -> Result<Self, ClientError> {
        Ok(DlsLegacyClient { conn: LegacyClient::connect(address).await?, output: BytesMut::new() })
    }

    async fn send(&mut self, request: DlsRequest<'_>) -> Result<(), ClientError> {
        self.output.clear();
        request.encode(&mut self.output);
        let bytes = self.output.split();
        self.conn.send_raw(&bytes).await
    }

    /// Put: appends a record.
    pub async fn put(&mut self, channel: &str, key: u64, value: &[u8]) -> Result<(), ClientError> {
        let key = hex_key(key);
        self.send(DlsRequest::Put { channel: channel.as_bytes(), key: key.as_bytes(), value }).await?;
        self.conn.status().await
    }

    /// PutBatch: `batch` is the content of the batch array (the uncompressed
    /// length and the LZO stream of hex-key and value records), as
    /// [`crate::legacy::batch::BatchWriter`] makes it.
    pub async fn put_batch(&mut self, channel: &str, batch: &[u8]) -> Result<(), ClientError> {
        self.send(DlsRequest::PutBatch { channel: channel.as_bytes(), batch }).await?;
        self.conn.status().await
    }

    /// Redistribute: moves about `fraction` of the node's buckets to `nodes`
    /// (address, legacy port); answered when done.
    pub async fn redistribute(&mut self, fraction: f32, nodes: &[(&str, u16)]) -> Result<(), ClientError> {
        let nodes = nodes.iter().map(|(address, port)| (address.as_bytes(), *port)).collect();
        self.send(DlsRequest::Redistribute { fraction, nodes }).await?;
        self.conn.status().await
    }

    /// GetAll: every record, in bucket order.
    pub async fn get_all(&mut self, channel: &str) -> Result<Vec<Record>, ClientError> {
        self.send(DlsRequest::GetAll { channel: channel.as_bytes() }).await?;
        self.conn.batches(2).await
    }

    /// GetAllFilter: records whose value contains `filter`.
    pub async fn get_all_filter(&mut self, channel: &str, filter: &[u8]) -> Result<Vec<Record>, ClientError> {
        self.send(DlsRequest::GetAllFilter { channel: channel.as_bytes(), filter }).await?;
        self.conn.batches(2).await
    }

    /// GetRange: records with keys in `low..=high`.
    pub async fn get_range(&mut self, channel: &str, low: u64, high: u64) -> Result<Vec<Record>, ClientError> {
        let (low, high) = (hex_key(low), hex_key(high));
        let range = KeyRange { low: low.as_bytes(), high: high.as_bytes() };
        self.send(DlsRequest::GetRange { channel: channel.as_bytes(), range }).await?;
        self.conn.batches(2).await
    }

    /// [`Self::get_range`] handing each record to `f` as it arrives instead
    /// of keeping them, so that a scan of any size runs in the memory of one
    /// batch. An error from `f` stops reading mid-reply (the connection is
    /// then unusable).
    pub async fn get_range_each<E: From<ClientError>>(
        &mut self,
        channel: &str,
        low: u64,
        high: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let (low, high) = (hex_key(low), hex_key(high));
        let range = KeyRange { low: low.as_bytes(), high: high.as_bytes() };
        self.send(DlsRequest::GetRange { channel: channel.as_bytes(), range }).await?;
        self.conn.status().await?;
        while self.conn.next_batch_each(2, &mut f).await? {}
        Ok(())
    }

    /// GetRangeFilter.
    pub async fn get_range_filter(&mut self, channel: &str, low: u64, high: u64, filter: &[u8]) -> Result<Vec<Record>, ClientError> {
        let (low, high) = (hex_key(low), hex_key(high));
        let range = KeyRange { low: low.as_bytes(), high: high.as_bytes() };
        self.send(DlsRequest::GetRangeFilter { channel: channel.as_bytes(), range, filter }).await?;
        self.conn.batches(2).await
    }

    /// GetRangeRegex with the legacy mode byte (0 substring, 1 regex, 2
    /// regex ignoring case).
    pub async fn get_range_regex(&mut self, channel: &str, low: u64, high: u64, mode: u8, pattern: &[u8]) -> Result<Vec<Record>, ClientError> {
        let (low, high) = (hex_key(low), hex_key(high));
        let range = KeyRange { low: low.as_bytes(), high: high.as_bytes() };
        self.send(DlsRequest::GetRangeRegex { channel: channel.as_bytes(), range, mode, pattern }).await?;
        self.conn.batches(2).await
    }

    /// GetChannels.
    pub async fn get_channels(&mut self) -> Result<Vec<String>, ClientError> {
        self.send(DlsRequest::GetChannels).await?;
        self.conn.status().await?;
        let mut names = Vec::new();
        loop {
            let name = self.conn.array().await?;
            if name.is_empty() {
                return Ok(names);
            }
            names.push(String::from_utf8_lossy(&name).into_owned());
        }
    }

    /// RemoveChannel.
    pub async fn remove_channel(&mut self, channel: &str) -> Result<(), ClientError> {
        self.send(DlsRequest::RemoveChannel { channel: channel.as_bytes() }).await?;
        self.conn.status().await
    }

    /// GetVersion: the API version string.
    pub async fn get_version(&mut self) -> Result<String, ClientError> {
        self.send(DlsRequest::GetVersion).await?;
        self.conn.status().await?;
        Ok(String::from_utf8_lossy(&self.conn.array().await?).into_owned())
    }

    /// GetNumConnections: (address, port, open legacy connections).
    pub async fn get_num_connections(&mut self) -> Result<(String, u16, u64), ClientError> {
        self.send(DlsRequest::GetNumConnections).await?;
        self.conn.status().await?;
        self.conn
            .read(|r: &mut WireReader<'_>| {
                let address = String::from_utf8_lossy(r.array("address", MAX_ARRAY)?).into_owned();
                Ok((address, r.u16()?, r.u64()?))
            })
            .await
    }

    /// Sends raw bytes (tests of malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.conn.send_raw(bytes).await
    }
}

/// Largest uncompressed Records batch the neo client accepts.
const MAX_NEO_BATCH: u64 = 64 * 1024 * 1024;

/// A neo connection to a dlsnode.
pub struct DlsNeoClient {
    neo: NeoClient,
}

impl DlsNeoClient {
    /// Connects and authenticates to the node's neo port.
    pub async fn connect(address: impl tokio::net::ToSocketAddrs, name: &str, key: crate::neo::Key) -> Result<Self, NeoClientError> {
        Ok(DlsNeoClient { neo: NeoClient::connect(address, name, key).await? })
    }

    /// Put; true when the node stored it.
    pub async fn put(&self, channel: &str, key: u64, value: &[u8]) -> Result<bool, NeoClientError> {
        let args = PutArgs { channel: channel.as_bytes(), key, value };
        let (status, _) = self.neo.one_step(PUT_V1, &args.encode(), false).await?;
        Ok(status == 1)
    }

    /// GetRange: every record in range passing the filter (`mode`: 0 none,
    /// 1 substring, 2 regex, 3 regex ignoring case), acknowledging each
    /// batch; `Ok(None)` when the node refused the request (Error). With
    /// `stop_after` batches, stops early instead.
    pub async fn get_range(&self, args: GetRangeArgs<'_>, stop_after: Option<usize>) -> Result<Option<Vec<(u64, Vec<u8>)>>, NeoClientError> {
        let mut out = Vec::new();
        let accepted = self.get_range_each(args, stop_after, |key, value| out.push((key, value.to_vec()))).await?;
        Ok(accepted.then_some(out))
    }

    /// [`Self::get_range`] handing each record to `each` as it arrives
    /// instead of keeping them; false when the node refused the request.
    /// Each batch is acknowledged before its records are handed over, so
    /// the node reads the next one meanwhile.
    pub async fn get_range_each(&self, args: GetRangeArgs<'_>, stop_after: Option<usize>, mut each: impl FnMut(u64, &[u8])) -> Result<bool, NeoClientError> {
        let mut handle = self.neo.start(GET_RANGE_V2, &args.encode()).await?;
        match handle.recv().await?[..] {
            [1] => {}
            [3] => return Ok(false),
            ref other => {
                return Err(RequestError::UnknownStatus { kind: "GetRange start", byte: other.first().copied().unwrap_or(0) }.into())
            }
        }
        let (mut batches, mut decompressed) = (0, Vec::new());
        loop {
            let message = handle.recv().await?;
            match GetRangeMessage::decode(&message)? {
                GetRangeMessage::Records { uncompressed, lzo } => {
                    batches += 1;
                    let control = if stop_after == Some(batches) { GetRangeControl::Stop } else { GetRangeControl::Continue };
                    handle.send(&[control as u8]).await?;
                    let batch = decompress_records(uncompressed, lzo, MAX_NEO_BATCH, &mut decompressed)?;
                    records(batch)?.into_iter().for_each(|(key, value)| each(key, value));
                }
                GetRangeMessage::Stopped => return Ok(true),
                GetRangeMessage::Finished => {
                    handle.send(&[GetRangeControl::Ack as u8]).await?;
                    return Ok(true);
                }
            }
        }
    }
}
