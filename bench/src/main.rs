//! shoal-load: drives a dhtnode (legacy or neo protocol), a dmqnode (legacy)
//! or a dlsnode (legacy or neo) for bench/run.
//!
//! Like redis-benchmark, it runs on one thread with many connections and
//! prints the achieved rate, so the two figures compare like with like:
//! legacy connections carry one request at a time (as the protocol
//! requires); neo connections carry `--pipeline` requests at once, as
//! redis-benchmark's `-P`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use shoal_protocol::client::dls::{DlsLegacyClient, DlsNeoClient};
use shoal_protocol::client::dmq::DmqLegacyClient;
use shoal_protocol::client::legacy::{ClientError, LegacyClient};
use shoal_protocol::legacy::batch::{Added, BatchWriter};
use shoal_protocol::client::neo::NeoClient;
use shoal_protocol::neo::Key;
use shoal_storage::dht::hash::format_hex_key;

mod ceilings;

/// Which request to send.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Op {
    /// Put random keys.
    Put,
    /// Get random keys.
    Get,
    /// Put keys 0..requests once each, in order (for memory figures).
    Fill,
    /// dmqnode: push records to one channel.
    DmqPush,
    /// dmqnode: pop records from one channel.
    DmqPop,
    /// dmqnode: consume `requests` records over one connection.
    DmqConsume,
    /// dlsnode: put records with increasing keys (one second per 1,000
    /// records, so buckets fill as with real logs).
    DlsPut,
    /// dlsnode, legacy: the same records as dls-put, sent in PutBatch
    /// requests of up to 64 KiB (uncompressed), as the original client's
    /// batcher sends them; prints records/s.
    DlsPutBatch,
    /// dlsnode: read every record of the channel with one GetRange (neo
    /// or legacy); prints MB/s of values instead of requests/s.
    DlsScan,
    /// No node: `requests` messages of `value-size` bytes over a loopback
    /// connection between two threads, each acknowledged with one byte
    /// before the next is sent: the flow control of a neo GetRange alone,
    /// the most any node can scan at over that protocol; prints MB/s.
    StopAndWait,
    /// No node: `requests` neo-Put-sized messages of `value-size` bytes of
    /// value over `connections` loopback connections, `pipeline` in
    /// flight on each, every one answered by a server thread that reads
    /// them and answers without looking: the most any node can take
    /// single-record requests at here; prints MB/s of values.
    PutCeiling,
}

/// Which protocol to speak.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Protocol {
    /// The legacy port, one request at a time per connection.
    Legacy,
    /// The neo port (`addr` is the neo address), as the client `admin`
    /// with the all-zero key, `--pipeline` requests in flight.
    Neo,
}

/// Command line of shoal-load.
#[derive(Debug, Parser)]
#[command(about = "Load generator for shoal benchmarks (legacy DHT protocol)")]
struct Args {
    /// Node address (legacy port); legacy only: a comma-separated list
    /// spreads the connections over several nodes (the members of a ring).
    #[arg(long, default_value = "127.0.0.1:10000")]
    addr: String,
    /// Request kind.
    #[arg(long, value_enum)]
    op: Op,
    /// Concurrent connections.
    #[arg(long, default_value_t = 50)]
    connections: u64,
    /// Total requests.
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Keys are drawn from 0..keyspace.
    #[arg(long, default_value_t = 1_000_000)]
    keyspace: u64,
    /// Channel name.
    #[arg(long, default_value = "bench")]
    channel: String,
    /// Fill with incompressible values derived from each key (the same bytes
    /// bench/run gives redis), instead of one repeated byte.
    #[arg(long)]
    random_values: bool,
    /// Protocol.
    #[arg(long, value_enum, default_value = "legacy")]
    protocol: Protocol,
    /// Neo only: requests in flight per connection.
    #[arg(long, default_value_t = 16)]
    pipeline: u64,
}

/// The value bench/run stores under `key` with --random-values: xorshift64
/// output seeded from the key, so the peer can be given identical records.
fn keyed_value(key: u64, len: usize) -> Vec<u8> {
    let mut x = key.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
    let mut value = Vec::with_capacity(len + 8);
    while value.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        value.extend_from_slice(&x.to_le_bytes());
    }
    value.truncate(len);
    value
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if matches!(args.op, Op::StopAndWait) {
        println!("{:.0}", ceilings::stop_and_wait(args.requests, args.value_size)?);
        return Ok(());
    }
    if matches!(args.op, Op::PutCeiling) {
        println!("{:.0}", ceilings::put_ceiling(args.requests, args.value_size, args.connections, args.pipeline)?);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rate = runtime.block_on(run(args))?;
    println!("{rate:.0}");
    Ok(())
}

/// Runs the load and returns requests per second.
async fn run(args: Args) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let args = Arc::new(args);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    if matches!(args.op, Op::DmqConsume) {
        let mut client = DmqLegacyClient::connect(args.addr.as_str()).await?;
        client.consume(&args.channel).await?;
        for _ in 0..args.requests {
            client.next_record().await?.context("the channel was removed")?;
        }
        return Ok(args.requests as f64 / started.elapsed().as_secs_f64());
    }
    if matches!(args.op, Op::DlsScan) {
        let bytes: usize = match args.protocol {
            Protocol::Legacy => {
                let mut client = DlsLegacyClient::connect(args.addr.as_str()).await?;
                let mut bytes = 0;
                let count = |_, value: &[u8]| {
                    bytes += value.len();
                    Ok::<_, ClientError>(())
                };
                client.get_range_each(&args.channel, 0, u64::MAX, count).await?;
                bytes
            }
            Protocol::Neo => {
                let client = DlsNeoClient::connect(args.addr.as_str(), "admin", Key([0; 128])).await?;
                let range = shoal_protocol::dls::neo::GetRangeArgs {
                    channel: args.channel.as_bytes(),
                    low: 0,
                    high: i64::MAX,
                    filter: b"",
                    mode: 0,
                };
                let mut bytes = 0;
                let accepted = client.get_range_each(range, None, |_, value| bytes += value.len()).await?;
                anyhow::ensure!(accepted, "GetRange refused");
                bytes
            }
        };
        return Ok(bytes as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    for id in 0..args.connections {
        if matches!(args.op, Op::DlsPutBatch) {
            let mut client = DlsLegacyClient::connect(args.addr.as_str()).await?;
            let (next, args) = (Arc::clone(&next), Arc::clone(&args));
            tasks.spawn(async move {
                let mut keys = Keys::new(id);
                let mut batch = BatchWriter::new(64 * 1024);
                let mut encoded = bytes::BytesMut::new();
                while let Some((n, value)) = keys.next_numbered(&next, &args) {
                    let key = format_hex_key(1_500_000_000 + n / 1_000);
                    if batch.add(&[&key, &value]) == Added::BatchFull {
                        send_batch(&mut client, &args.channel, &mut batch, &mut encoded).await?;
                        anyhow::ensure!(batch.add(&[&key, &value]) == Added::Yes, "a record larger than a batch");
                    }
                }
                if !batch.is_empty() {
                    send_batch(&mut client, &args.channel, &mut batch, &mut encoded).await?;
                }
                Ok::<(), anyhow::Error>(())
            });
            continue;
        }
        if matches!(args.op, Op::DlsPut) {
            match args.protocol {
                Protocol::Legacy => {
                    let mut client = DlsLegacyClient::connect(args.addr.as_str()).await?;
                    let (next, args) = (Arc::clone(&next), Arc::clone(&args));
                    tasks.spawn(async move {
                        let mut keys = Keys::new(id);
                        while let Some((n, value)) = keys.next_numbered(&next, &args) {
                            client.put(&args.channel, 1_500_000_000 + n / 1_000, &value).await?;
                        }
                        Ok::<(), anyhow::Error>(())
                    });
                }
                Protocol::Neo => {
                    let client = Arc::new(DlsNeoClient::connect(args.addr.as_str(), "admin", Key([0; 128])).await?);
                    for lane in 0..args.pipeline {
                        let (next, args, client) = (Arc::clone(&next), Arc::clone(&args), Arc::clone(&client));
                        tasks.spawn(async move {
                            let mut keys = Keys::new(id * 1_000 + lane);
                            while let Some((n, value)) = keys.next_numbered(&next, &args) {
                                anyhow::ensure!(client.put(&args.channel, 1_500_000_000 + n / 1_000, &value).await?, "put refused");
                            }
                            Ok::<(), anyhow::Error>(())
                        });
                    }
                }
            }
            continue;
        }
        if matches!(args.op, Op::DmqPush | Op::DmqPop) {
            let mut client = DmqLegacyClient::connect(args.addr.as_str()).await?;
            let (next, args) = (Arc::clone(&next), Arc::clone(&args));
            tasks.spawn(async move {
                let mut keys = Keys::new(id);
                while let Some((_, value)) = keys.next(&next, &args) {
                    match args.op {
                        Op::DmqPop => drop(client.pop(&args.channel).await?),
                        _ => client.push(&args.channel, &value).await?,
                    }
                }
                Ok::<(), anyhow::Error>(())
            });
            continue;
        }
        match args.protocol {
            Protocol::Legacy => {
                // A list of nodes (a ring) gets the connections in turn.
                let nodes: Vec<&str> = args.addr.split(',').collect();
                let addr = nodes[id as usize % nodes.len()];
                let mut client = LegacyClient::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
                let (next, args) = (Arc::clone(&next), Arc::clone(&args));
                tasks.spawn(async move {
                    let mut keys = Keys::new(id);
                    while let Some((key, value)) = keys.next(&next, &args) {
                        match args.op {
                            Op::Get => drop(client.get(&args.channel, key).await?),
                            _ => client.put(&args.channel, key, &value).await?,
                        }
                    }
                    Ok::<(), anyhow::Error>(())
                });
            }
            Protocol::Neo => {
                let client = NeoClient::connect(args.addr.as_str(), "admin", Key([0; 128]))
                    .await
                    .with_context(|| format!("connecting to {} (neo)", args.addr))?;
                let client = Arc::new(client);
                for lane in 0..args.pipeline {
                    let (next, args, client) = (Arc::clone(&next), Arc::clone(&args), Arc::clone(&client));
                    tasks.spawn(async move {
                        let mut keys = Keys::new(id * 1_000 + lane);
                        while let Some((key, value)) = keys.next(&next, &args) {
                            match args.op {
                                Op::Get => drop(client.get(&args.channel, key).await?),
                                _ => drop(client.put(&args.channel, key, &value).await?),
                            }
                        }
                        Ok::<(), anyhow::Error>(())
                    });
                }
            }
        }
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(args.requests as f64 / started.elapsed().as_secs_f64())
}

/// Sends the records of `batch` in one PutBatch and empties it.
async fn send_batch(client: &mut DlsLegacyClient, channel: &str, batch: &mut BatchWriter, encoded: &mut bytes::BytesMut) -> anyhow::Result<()> {
    encoded.clear();
    batch.finish(encoded);
    // The batch array's content, after its length.
    client.put_batch(channel, &encoded[8..]).await?;
    Ok(())
}

/// The keys (and values) one request stream sends.
struct Keys {
    rng: u64,
}

impl Keys {
    fn new(stream: u64) -> Self {
        Keys { rng: 0x9e37_79b9_7f4a_7c15u64 ^ (stream + 1) }
    }

    /// The next request's sequence number and value (incompressible), until
    /// all requests are taken.
    fn next_numbered(&mut self, next: &AtomicU64, args: &Args) -> Option<(u64, Vec<u8>)> {
        let n = next.fetch_add(1, Ordering::Relaxed);
        (n < args.requests).then(|| (n, keyed_value(n, args.value_size)))
    }

    /// The next request's key and value, until all requests are taken.
    fn next(&mut self, next: &AtomicU64, args: &Args) -> Option<(u64, Vec<u8>)> {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= args.requests {
            return None;
        }
        // xorshift: cheap, deterministic per stream.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let key = match args.op {
            Op::Fill => n,
            _ => self.rng % args.keyspace,
        };
        let value = match args.op {
            Op::Fill if args.random_values => keyed_value(key, args.value_size),
            Op::DmqPush if args.random_values => keyed_value(n, args.value_size),
            Op::Get | Op::DmqPop | Op::DmqConsume | Op::DlsScan | Op::StopAndWait | Op::PutCeiling => Vec::new(),
            _ => vec![b'x'; args.value_size],
        };
        Some((key, value))
    }
}
