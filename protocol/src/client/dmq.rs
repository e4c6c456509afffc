//! Async clients for a dmqnode: [`DmqLegacyClient`] on the legacy port (one
//! request at a time per connection, as the protocol requires) and
//! [`DmqNeoClient`] on the neo port (many requests on one connection). Used
//! by the tests and the benchmarks; they send exactly what the original
//! DmqClient sends.

use bytes::BytesMut;

use super::legacy::{ClientError, LegacyClient};
use super::neo::{NeoClient, NeoClientError, RequestHandle};
use crate::dmq::legacy::DmqRequest;
use crate::dmq::neo::{ConsumeArgs, ConsumeControl, ConsumeMessage, PopReply, PushArgs, CONSUME_V4, POP_V1, PUSH_V3};
use crate::legacy::request::MAX_ARRAY;
use crate::legacy::wire::put_array;
use crate::neo::RequestError;

/// A legacy connection to a dmqnode.
pub struct DmqLegacyClient {
    conn: LegacyClient,
    output: BytesMut,
}

impl DmqLegacyClient {
    /// Connects to the node's legacy port.
    pub async fn connect(address: impl tokio::net::ToSocketAddrs) -> Result<Self, ClientError> {
        Ok(DmqLegacyClient { conn: LegacyClient::connect(address).await?, output: BytesMut::new() })
    }

    async fn send(&mut self, request: DmqRequest<'_>) -> Result<(), ClientError> {
        self.output.clear();
        request.encode(&mut self.output);
        let bytes = self.output.split();
        self.conn.send_raw(&bytes).await
    }

    /// Push; `Err(Status(..))` for a refusal.
    pub async fn push(&mut self, channel: &str, value: &[u8]) -> Result<(), ClientError> {
        self.send(DmqRequest::Push { channel: channel.as_bytes(), value }).await?;
        self.conn.status().await
    }

    /// PushMulti: one record into several channels.
    pub async fn push_multi(&mut self, channels: &[&str], value: &[u8]) -> Result<(), ClientError> {
        let channels = channels.iter().map(|c| c.as_bytes()).collect();
        self.send(DmqRequest::PushMulti { channels, value }).await?;
        self.conn.status().await
    }

    /// Pop: the oldest record, `None` when the channel is empty.
    pub async fn pop(&mut self, channel: &str) -> Result<Option<Vec<u8>>, ClientError> {
        self.send(DmqRequest::Pop { channel: channel.as_bytes() }).await?;
        self.conn.status().await?;
        let value = self.conn.array().await?;
        Ok((!value.is_empty()).then_some(value))
    }

    /// RemoveChannel.
    pub async fn remove_channel(&mut self, channel: &str) -> Result<(), ClientError> {
        self.send(DmqRequest::RemoveChannel { channel: channel.as_bytes() }).await?;
        self.conn.status().await
    }

    /// GetNumConnections (the dmqnode answers NotSupported).
    pub async fn get_num_connections(&mut self) -> Result<(), ClientError> {
        self.send(DmqRequest::GetNumConnections).await?;
        self.conn.status().await
    }

    /// Produce (or ProduceMulti for several channels): sends `records`, then
    /// the empty array that ends the stream.
    pub async fn produce(&mut self, channels: &[&str], records: &[&[u8]]) -> Result<(), ClientError> {
        let names: Vec<&[u8]> = channels.iter().map(|c| c.as_bytes()).collect();
        match names[..] {
            [channel] => self.send(DmqRequest::Produce { channel }).await?,
            _ => self.send(DmqRequest::ProduceMulti { channels: names }).await?,
        }
        self.conn.status().await?;
        let mut stream = BytesMut::new();
        records.iter().for_each(|record| put_array(&mut stream, record));
        put_array(&mut stream, b"");
        self.conn.send_raw(&stream).await
    }

    /// Consume: subscribes; then read records with [`Self::next_record`].
    pub async fn consume(&mut self, channel: &str) -> Result<(), ClientError> {
        self.send(DmqRequest::Consume { channel: channel.as_bytes() }).await?;
        self.conn.status().await
    }

    /// The next record of a Consume; `None` when the channel was removed
    /// (the stream's end).
    pub async fn next_record(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        let record = self.conn.read(|r| r.array("record", MAX_ARRAY).map(<[u8]>::to_vec)).await?;
        Ok((!record.is_empty()).then_some(record))
    }

    /// Sends raw bytes (tests of malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.conn.send_raw(bytes).await
    }
}

/// A neo connection to a dmqnode.
pub struct DmqNeoClient {
    neo: NeoClient,
}

impl DmqNeoClient {
    /// Connects and authenticates to the node's neo port.
    pub async fn connect(
        address: impl tokio::net::ToSocketAddrs,
        name: &str,
        key: crate::neo::Key,
    ) -> Result<Self, NeoClientError> {
        Ok(DmqNeoClient { neo: NeoClient::connect(address, name, key).await? })
    }

    async fn status(&self, command: crate::neo::Command, args: &[u8]) -> Result<(RequestHandle, Vec<u8>), NeoClientError> {
        let mut handle = self.neo.start(command, args).await?;
        let reply = handle.recv().await?;
        Ok((handle, reply))
    }

    /// Push to up to 255 channels; true when Pushed.
    pub async fn push(&self, channels: &[&str], value: &[u8]) -> Result<bool, NeoClientError> {
        let args = PushArgs { channels: channels.iter().map(|c| c.as_bytes()).collect(), value };
        let encoded = args.encode().ok_or(NeoClientError::Protocol(RequestError::TrailingBytes(channels.len())))?;
        let (_, reply) = self.status(PUSH_V3, &encoded).await?;
        Ok(reply == [1])
    }

    /// Pop: the oldest record (`Ok(Some)`), or why there is none.
    pub async fn pop(&self, channel: &str) -> Result<Result<Vec<u8>, PopReply<'static>>, NeoClientError> {
        let mut args = Vec::new();
        crate::neo::payload::put_array(&mut args, channel.as_bytes());
        let (_, reply) = self.status(POP_V1, &args).await?;
        Ok(match PopReply::decode(&reply)? {
            PopReply::Popped(value) => Ok(value.to_vec()),
            PopReply::Empty => Err(PopReply::Empty),
            PopReply::Subscribed => Err(PopReply::Subscribed),
            PopReply::Error => Err(PopReply::Error),
        })
    }

    /// Consume as `subscriber` (empty: the unnamed one).
    pub async fn consume(&self, channel: &str, subscriber: &str) -> Result<NeoConsumer, NeoClientError> {
        let args = ConsumeArgs { channel: channel.as_bytes(), subscriber: subscriber.as_bytes() };
        let (handle, reply) = self.status(CONSUME_V4, &args.encode()).await?;
        match reply[..] {
            [1] => Ok(NeoConsumer { handle, ended: false }),
            _ => Err(NeoClientError::Protocol(RequestError::UnknownStatus { kind: "Consume start", byte: reply.first().copied().unwrap_or(0) })),
        }
    }
}

/// A running neo Consume.
pub struct NeoConsumer {
    handle: RequestHandle,
    ended: bool,
}

impl NeoConsumer {
    /// The next batch of records; the node waits for [`Self::more`] or
    /// [`Self::stop`] before sending another. `None` once the stream ended
    /// (Stopped or ChannelRemoved).
    pub async fn batch(&mut self) -> Result<Option<Vec<Vec<u8>>>, NeoClientError> {
        if self.ended {
            return Ok(None);
        }
        let message = self.handle.recv().await?;
        match ConsumeMessage::decode(&message)? {
            ConsumeMessage::Records(batch) => {
                Ok(Some(ConsumeMessage::records(batch)?.into_iter().map(<[u8]>::to_vec).collect()))
            }
            ConsumeMessage::Stopped | ConsumeMessage::ChannelRemoved => {
                self.ended = true;
                Ok(None)
            }
        }
    }

    /// Asks for the next batch.
    pub async fn more(&self) -> Result<(), NeoClientError> {
        self.handle.send(&[ConsumeControl::Continue as u8]).await
    }

    /// Ends the stream; [`Self::batch`] then returns `None` after any batch
    /// already on its way.
    pub async fn stop(&self) -> Result<(), NeoClientError> {
        self.handle.send(&[ConsumeControl::Stop as u8]).await
    }
}
