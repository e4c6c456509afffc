//! An async client for the legacy DHT protocol, for one node.
//!
//! One request at a time per connection, as the protocol requires; open more
//! clients for concurrency. Used by tools, the end-to-end tests and the
//! benchmarks, so it speaks exactly the bytes an original DhtClient sends.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::legacy::batch::{self, BatchError, BatchWriter};
use crate::legacy::request::{
    ChannelArg, ChannelData, KeyArgs, PutArgs, RedistributeArgs, MAX_ARRAY,
};
use crate::legacy::{Request, Status, WireError, WireReader};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed or closed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The node answered with a status other than Ok.
    #[error("node answered {0:?}")]
    Status(Status),
    /// The node answered a status code that does not exist.
    #[error("node answered unknown status {0}")]
    UnknownStatus(u32),
    /// The reply did not parse.
    #[error("malformed reply: {0}")]
    Protocol(#[from] WireError),
    /// A batch in the reply did not decompress.
    #[error("bad batch in reply: {0}")]
    Batch(#[from] BatchError),
    /// The node closed the connection before the reply was complete.
    #[error("connection closed by the node")]
    Closed,
}

/// A key and its value, as returned by GetAll and Listen.
pub type Record = (u64, Vec<u8>);

/// Records and bytes one node reports (GetSize, GetChannelSize).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSize {
    /// The node's address as it reports it.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// Number of records.
    pub records: u64,
    /// Reported bytes.
    pub bytes: u64,
}

/// Free bytes the input buffer has before each read from the socket.
const READ_ROOM: usize = 64 * 1024;

/// A connection to one node.
pub struct LegacyClient {
    socket: TcpStream,
    input: BytesMut,
    output: BytesMut,
}

/// Formats a key as the wire wants it: 16 lower-case hex digits.
pub fn hex_key(key: u64) -> String {
    format!("{key:016x}")
}

fn parse_key(text: &[u8]) -> Result<u64, ClientError> {
    let mut key = [0u8; 8];
    hex::decode_to_slice(text, &mut key).map_err(|_| ClientError::Protocol(WireError::Malformed("key")))?;
    Ok(u64::from_be_bytes(key))
}

/// Hands each record of a batch array to `f`; false for the empty array
/// that ends a stream.
fn each_record<E: From<ClientError>>(batch: &[u8], arity: usize, f: &mut impl FnMut(u64, &[u8]) -> Result<(), E>) -> Result<bool, E> {
    if batch.is_empty() {
        return Ok(false);
    }
    let decompressed = batch::decompress(batch, MAX_ARRAY).map_err(ClientError::from)?;
    for [key, value] in batch::records(&decompressed, arity).map_err(ClientError::from)? {
        f(parse_key(key)?, value)?;
    }
    Ok(true)
}

impl LegacyClient {
    /// Connects to a node's legacy port.
    pub async fn connect(address: impl ToSocketAddrs) -> Result<Self, ClientError> {
        let socket = TcpStream::connect(address).await?;
        socket.set_nodelay(true)?;
        Ok(LegacyClient { socket, input: BytesMut::with_capacity(16 * 1024), output: BytesMut::new() })
    }

    /// Sends raw bytes (for tests of malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.socket.write_all(bytes).await?;
        Ok(())
    }

    async fn send(&mut self, request: &Request<'_>) -> Result<(), ClientError> {
        self.output.clear();
        request.encode(&mut self.output);
        self.socket.write_all(&self.output).await?;
        Ok(())
    }

    /// Reads one reply item with `parse`, waiting for more bytes as needed.
    pub(crate) async fn read<T>(
        &mut self,
        mut parse: impl FnMut(&mut WireReader<'_>) -> Result<T, WireError>,
    ) -> Result<T, ClientError> {
        loop {
            let mut reader = WireReader::new(&self.input);
            match parse(&mut reader) {
                Ok(value) => {
                    let used = reader.position();
                    self.input.advance(used);
                    return Ok(value);
                }
                Err(WireError::Incomplete) => {
                    // Room for a good read: a full BytesMut grows (and is
                    // read into) 64 bytes at a time.
                    self.input.reserve(READ_ROOM);
                    if self.socket.read_buf(&mut self.input).await? == 0 {
                        return Err(ClientError::Closed);
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Reads the status; anything but Ok is an error.
    pub(crate) async fn status(&mut self) -> Result<(), ClientError> {
        let code = self.read(|r| r.u32()).await?;
        match Status::from_code(code) {
            Some(Status::Ok) => Ok(()),
            Some(status) => Err(ClientError::Status(status)),
            None => Err(ClientError::UnknownStatus(code)),
        }
    }

    pub(crate) async fn array(&mut self) -> Result<Vec<u8>, ClientError> {
        self.read(|r| r.array("reply array", MAX_ARRAY).map(<[u8]>::to_vec)).await
    }

    async fn node_size(&mut self) -> Result<NodeSize, ClientError> {
        self.read(|r| {
            let address = String::from_utf8_lossy(r.array("address", 1024)?).into_owned();
            Ok(NodeSize { address, port: r.u16()?, records: r.u64()?, bytes: r.u64()? })
        })
        .await
    }

    /// Stores `value` under `key` in `channel`.
    pub async fn put(&mut self, channel: &str, key: u64, value: &[u8]) -> Result<(), ClientError> {
        let key = hex_key(key);
        let target = KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() };
        self.send(&Request::Put(PutArgs { target, value: Some(value) })).await?;
        self.status().await
    }

    /// The value of `key`, or `None` when it is not stored.
    pub async fn get(&mut self, channel: &str, key: u64) -> Result<Option<Vec<u8>>, ClientError> {
        let key = hex_key(key);
        self.send(&Request::Get(KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() })).await?;
        self.status().await?;
        let value = self.array().await?;
        Ok((!value.is_empty()).then_some(value))
    }

    /// Whether `key` is stored.
    pub async fn exists(&mut self, channel: &str, key: u64) -> Result<bool, ClientError> {
        let key = hex_key(key);
        self.send(&Request::Exists(KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() }))
            .await?;
        self.status().await?;
        Ok(self.read(|r| r.u8()).await? != 0)
    }

    /// Removes `key`.
    pub async fn remove(&mut self, channel: &str, key: u64) -> Result<(), ClientError> {
        let key = hex_key(key);
        self.send(&Request::Remove(KeyArgs { channel: channel.as_bytes(), key: key.as_bytes() }))
            .await?;
        self.status().await
    }

    /// The node's channel names.
    pub async fn get_channels(&mut self) -> Result<Vec<String>, ClientError> {
        self.send(&Request::GetChannels).await?;
        self.status().await?;
        let mut names = Vec::new();
        loop {
            let name = self.array().await?;
            if name.is_empty() {
                return Ok(names);
            }
            names.push(String::from_utf8_lossy(&name).into_owned());
        }
    }

    /// Records and bytes of one channel.
    pub async fn get_channel_size(&mut self, channel: &str) -> Result<NodeSize, ClientError> {
        self.send(&Request::GetChannelSize(ChannelArg { channel: channel.as_bytes() })).await?;
        self.status().await?;
        self.node_size().await
    }

    /// Records and bytes of all channels.
    pub async fn get_size(&mut self) -> Result<NodeSize, ClientError> {
        self.send(&Request::GetSize).await?;
        self.status().await?;
        self.node_size().await
    }

    /// The node's hash range (min, max).
    pub async fn get_responsible_range(&mut self) -> Result<(u64, u64), ClientError> {
        self.send(&Request::GetResponsibleRange).await?;
        self.status().await?;
        self.read(|r| Ok((r.u64()?, r.u64()?))).await
    }

    /// Removes a channel.
    pub async fn remove_channel(&mut self, channel: &str) -> Result<(), ClientError> {
        self.send(&Request::RemoveChannel(ChannelArg { channel: channel.as_bytes() })).await?;
        self.status().await
    }

    /// Connections open at the node (address, port, count).
    pub async fn get_num_connections(&mut self) -> Result<(String, u16, u64), ClientError> {
        self.send(&Request::GetNumConnections).await?;
        self.status().await?;
        self.read(|r| {
            let address = String::from_utf8_lossy(r.array("address", 1024)?).into_owned();
            Ok((address, r.u16()?, r.u64()?))
        })
        .await
    }

    /// The node's API version string.
    pub async fn get_version(&mut self) -> Result<String, ClientError> {
        self.send(&Request::GetVersion).await?;
        self.status().await?;
        Ok(String::from_utf8_lossy(&self.array().await?).into_owned())
    }

    /// Every record of a channel.
    pub async fn get_all(&mut self, channel: &str) -> Result<Vec<Record>, ClientError> {
        let mut out = Vec::new();
        self.get_all_with(channel, |key, value| {
            out.push((key, value.to_vec()));
            Ok::<(), ClientError>(())
        })
        .await?;
        Ok(out)
    }

    /// Every record of a channel, handed to `f` as it arrives instead of
    /// collected, so that a whole channel (dhtdump's case) never has to fit
    /// in memory. An error from `f` stops reading; the connection is then in
    /// the middle of the reply and must be dropped.
    pub async fn get_all_with<E: From<ClientError>>(
        &mut self,
        channel: &str,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.send(&Request::GetAll(ChannelArg { channel: channel.as_bytes() })).await?;
        self.status().await?;
        while self.next_batch_each(2, &mut f).await? {}
        Ok(())
    }

    /// Starts a GetAll whose records are read one reply batch at a time,
    /// for callers that must await between batches (to hand them to a
    /// writer thread, say).
    pub async fn get_all_batches(&mut self, channel: &str) -> Result<RecordBatches<'_>, ClientError> {
        self.send(&Request::GetAll(ChannelArg { channel: channel.as_bytes() })).await?;
        self.status().await?;
        Ok(RecordBatches { client: self, done: false })
    }

    /// Every key of a channel.
    pub async fn get_all_keys(&mut self, channel: &str) -> Result<Vec<u64>, ClientError> {
        self.send(&Request::GetAllKeys(ChannelArg { channel: channel.as_bytes() })).await?;
        Ok(self.batches(1).await?.into_iter().map(|(key, _)| key).collect())
    }

    /// The records of a channel whose value contains `filter`.
    pub async fn get_all_filter(&mut self, channel: &str, filter: &[u8]) -> Result<Vec<Record>, ClientError> {
        let args = ChannelData { channel: channel.as_bytes(), data: filter };
        self.send(&Request::GetAllFilter(args)).await?;
        self.batches(2).await
    }

    /// Reads a stream of batches until its empty end array.
    pub(crate) async fn batches(&mut self, arity: usize) -> Result<Vec<Record>, ClientError> {
        self.status().await?;
        let mut out = Vec::new();
        let mut keep = |key, value: &[u8]| {
            out.push((key, value.to_vec()));
            Ok::<_, ClientError>(())
        };
        while self.next_batch_each(arity, &mut keep).await? {}
        Ok(out)
    }

    /// Reads the next batch of a stream and hands each of its records (key,
    /// and value unless `arity` is 1) to `f`, from the input buffer once the
    /// batch is whole there (decompressed first unless it is one literal
    /// run): nothing is allocated per record. False at the stream's empty
    /// end array. An error from `f` stops reading mid-reply (the connection
    /// is then unusable).
    pub(crate) async fn next_batch_each<E: From<ClientError>>(
        &mut self,
        arity: usize,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<bool, E> {
        // The records are handled inside the parse, where the batch lies;
        // the parse runs to them only once the array is whole.
        self.read(|r| Ok(each_record(r.array("batch", MAX_ARRAY)?, arity, &mut f))).await?
    }

    /// Stores `records` in one compressed batch of at most `batch_size` bytes.
    pub async fn put_batch(
        &mut self,
        channel: &str,
        records: &[(u64, &[u8])],
        batch_size: usize,
    ) -> Result<(), ClientError> {
        let mut writer = BatchWriter::new(batch_size);
        for (key, value) in records {
            let added = writer.add(&[hex_key(*key).as_bytes(), value]);
            if added != batch::Added::Yes {
                return Err(ClientError::Protocol(WireError::Malformed("records exceed one batch")));
            }
        }
        let mut compressed = BytesMut::new();
        writer.finish(&mut compressed);
        // finish() wrote the batch as an array; PutBatch wants its content.
        let data = compressed.get(8..).unwrap_or_default();
        self.send(&Request::PutBatch(ChannelData { channel: channel.as_bytes(), data })).await?;
        self.status().await
    }

    /// Sends a Redistribute and waits for its status.
    pub async fn redistribute(&mut self, args: RedistributeArgs) -> Result<(), ClientError> {
        self.send(&Request::Redistribute(args)).await?;
        self.status().await
    }

    /// Starts a Listen; the connection then only streams changes.
    pub async fn listen(mut self, channel: &str) -> Result<ListenStream, ClientError> {
        self.send(&Request::Listen(ChannelArg { channel: channel.as_bytes() })).await?;
        self.status().await?;
        Ok(ListenStream { client: self })
    }
}

/// The reply of a GetAll, read a batch at a time (see
/// [`LegacyClient::get_all_batches`]).
pub struct RecordBatches<'a> {
    client: &'a mut LegacyClient,
    done: bool,
}

impl RecordBatches<'_> {
    /// The records of the next batch the node sent, or `None` once the
    /// node ended the reply. Empty batches are skipped.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Record>>, ClientError> {
        let mut records = Vec::new();
        while !self.done && records.is_empty() {
            let keep = |key, value: &[u8]| {
                records.push((key, value.to_vec()));
                Ok::<_, ClientError>(())
            };
            self.done = !self.client.next_batch_each(2, keep).await?;
        }
        Ok((!records.is_empty()).then_some(records))
    }
}

/// The records a Listen request streams.
pub struct ListenStream {
    client: LegacyClient,
}

impl ListenStream {
    /// The next changed record, or `None` when the node ended the stream
    /// (the channel was removed).
    pub async fn next(&mut self) -> Result<Option<Record>, ClientError> {
        let key = self.client.array().await?;
        let value = self.client.array().await?;
        if key.is_empty() && value.is_empty() {
            return Ok(None);
        }
        Ok(Some((parse_key(&key)?, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_keys_are_exactly_16_hex_digits() {
        assert_eq!(parse_key(b"00000000000000ff").unwrap(), 0xff);
        assert_eq!(parse_key(b"FEDCBA9876543210").unwrap(), 0xfedc_ba98_7654_3210);
        assert_eq!(parse_key(hex_key(u64::MAX).as_bytes()).unwrap(), u64::MAX);
        for bad in [&b"ff"[..], b"000000000000000g", b"+00000000000000f", b"00000000000000ff0", b""] {
            assert!(matches!(parse_key(bad), Err(ClientError::Protocol(WireError::Malformed("key")))), "{bad:?}");
        }
    }
}
