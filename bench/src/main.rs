//! shoal-load: drives a dhtnode with the real legacy protocol for bench/run.
//!
//! Like redis-benchmark, it runs on one thread with many connections, each
//! with one request in flight, and prints the achieved rate, so the two
//! figures compare like with like.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use shoal_protocol::client::legacy::LegacyClient;

/// Which request to send.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Op {
    /// Put random keys.
    Put,
    /// Get random keys.
    Get,
    /// Put keys 0..requests once each, in order (for memory figures).
    Fill,
}

/// Command line of shoal-load.
#[derive(Debug, Parser)]
#[command(about = "Load generator for shoal benchmarks (legacy DHT protocol)")]
struct Args {
    /// Node address (legacy port).
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
    for id in 0..args.connections {
        let (next, args) = (Arc::clone(&next), Arc::clone(&args));
        let mut client = LegacyClient::connect(args.addr.as_str())
            .await
            .with_context(|| format!("connecting to {}", args.addr))?;
        tasks.spawn(async move {
            let value = vec![b'x'; args.value_size];
            let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (id + 1);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= args.requests {
                    return Ok::<(), anyhow::Error>(());
                }
                // xorshift: cheap, deterministic per connection.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let key = match args.op {
                    Op::Fill => n,
                    Op::Put | Op::Get => rng % args.keyspace,
                };
                match args.op {
                    Op::Fill if args.random_values => {
                        client.put(&args.channel, key, &keyed_value(key, args.value_size)).await?
                    }
                    Op::Put | Op::Fill => client.put(&args.channel, key, &value).await?,
                    Op::Get => {
                        client.get(&args.channel, key).await?;
                    }
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(args.requests as f64 / started.elapsed().as_secs_f64())
}
