//! shoal: the ring's command line. Talks to ring members on their peer port
//! (sealed with the cluster key) and to dhtnodes on their legacy port.
//!
//! Exit codes, for scripts: 0 done; 1 the record does not exist (`get`);
//! 2 bad usage; 3 refused by the node (wrong key, unknown member, ...);
//! 4 the node cannot be reached or answered nonsense.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shoal_actors::ring::peer::exchange;
use shoal_cluster::message::PeerMessage;
use shoal_cluster::ring::{HashRing, DEFAULT_VIRTUAL_NODES};
use shoal_protocol::client::legacy::LegacyClient;

/// Command line of `shoal`.
#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    about = "Operate a shoal ring: membership, placement and records",
    after_help = "Exit codes: 0 done; 1 no such record; 2 bad usage; 3 refused by the node \
                  (unknown member, ...); 4 node unreachable, or the cluster key is wrong.\n\
                  See docs/ring.md."
)]
struct Args {
    /// A ring member's peer address (`host:port`, its `[Ring] peer_port`).
    #[arg(long, global = true, default_value = "127.0.0.1:20000")]
    peer: String,
    /// The cluster key file (`[Ring] key_file`).
    #[arg(long, global = true, default_value = "etc/cluster.key")]
    key_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
enum Command {
    /// Show the ring as the member sees it: epoch, n, and each member with
    /// its health (alive, suspect, down).
    Status,
    /// Remove a member (crashed or retired) from the ring; the others then
    /// re-replicate its keys. Waits until they are done.
    Remove {
        /// The member's peer address.
        member: String,
    },
    /// Have the member (`--peer`, started without a seed) join the ring of
    /// `seed` and pull its share of the records.
    Join {
        /// A member of the ring to join.
        seed: String,
    },
    /// Have every member compare its keys with their replicas (newest copy
    /// wins, both directions). Waits until all are done.
    Balance,
    /// Have the member drop the keys it does not hold in the view, once
    /// their owners hold them. Run it against each member.
    Purge,
    /// Change the copies of every key (n), then balance.
    SetReplicas {
        /// The new n.
        replicas: u32,
    },
    /// Print the version (stamp) of the member's copy of a key, 0 if none.
    Haskey {
        /// The channel.
        channel: String,
        /// The key (16 hex digits).
        key: String,
    },
    /// Show which members hold a key.
    Whereis {
        /// The key (16 hex digits, as swarm writes it).
        key: String,
        /// Copies of every key (default: the ring's n).
        #[arg(long)]
        replicas: Option<usize>,
        /// Tokens per member (`[Ring] virtual_nodes`).
        #[arg(long, default_value_t = DEFAULT_VIRTUAL_NODES)]
        virtual_nodes: u32,
    },
    /// Store a value (a string, or a file with -f) through a node's legacy
    /// port; a ring member writes it to the key's replicas.
    Put {
        /// The node's legacy address.
        #[arg(long, default_value = "127.0.0.1:10000")]
        node: String,
        /// The channel.
        channel: String,
        /// The key (16 hex digits).
        key: String,
        /// The value; omit it with -f.
        value: Option<String>,
        /// Read the value from this file.
        #[arg(short = 'f', long)]
        file: Option<PathBuf>,
    },
    /// Print a value (or write it to a file with -o).
    Get {
        /// The node's legacy address.
        #[arg(long, default_value = "127.0.0.1:10000")]
        node: String,
        /// The channel.
        channel: String,
        /// The key (16 hex digits).
        key: String,
        /// Write the value to this file.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Delete a record.
    Del {
        /// The node's legacy address.
        #[arg(long, default_value = "127.0.0.1:10000")]
        node: String,
        /// The channel.
        channel: String,
        /// The key (16 hex digits).
        key: String,
    },
}

/// A failure with its exit code.
struct Failure(u8, String);

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(Failure(4, error.to_string())),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

fn fail(Failure(code, message): Failure) -> ExitCode {
    eprintln!("shoal: {message}");
    ExitCode::from(code)
}

fn key_of(text: &str) -> Result<u64, Failure> {
    shoal_storage::dht::hash::parse_hex_key(text.as_bytes())
        .ok_or_else(|| Failure(2, format!("'{text}' is not a key (16 hex digits)")))
}

fn unreachable(error: impl std::fmt::Display) -> Failure {
    Failure(4, error.to_string())
}

async fn run(args: Args) -> Result<(), Failure> {
    let key = || -> Result<Vec<u8>, Failure> {
        let key = std::fs::read(&args.key_file)
            .map_err(|e| Failure(2, format!("cannot read the cluster key {}: {e}", args.key_file.display())))?;
        Ok(key.trim_ascii().to_vec())
    };
    match &args.command {
        Command::Status => {
            match answer(&args.peer, &key()?, PeerMessage::StatusRequest).await? {
                PeerMessage::Status { view, health } => {
                    println!("epoch {} replicas {}", view.epoch, view.replicas);
                    health.iter().for_each(|(member, health)| println!("{member} {health}"));
                }
                other => return Err(Failure(4, format!("unexpected answer {other:?}"))),
            }
        }
        Command::Remove { member } => {
            let message = PeerMessage::Remove { member: member.clone() };
            let view = with_progress(&format!("removing {member}, re-replicating"), view(&args.peer, &key()?, message)).await?;
            println!("removed {member}: epoch {}", view.epoch);
        }
        Command::SetReplicas { replicas } => {
            let message = PeerMessage::SetReplicas { replicas: *replicas };
            let view = with_progress("changing n, balancing", view(&args.peer, &key()?, message)).await?;
            println!("replicas {}: epoch {}", view.replicas, view.epoch);
        }
        Command::Join { seed } => {
            let message = PeerMessage::JoinThrough { seed: seed.clone() };
            let pulled = with_progress(&format!("joining through {seed}"), done(&args.peer, &key()?, message)).await?;
            println!("joined through {seed}: {pulled} records pulled");
        }
        Command::Balance => {
            // Balancing one member's keys with their replicas covers those
            // keys; every member's covers all.
            let status = view(&args.peer, &key()?, PeerMessage::Ping { from: "shoal".into() }).await?;
            let mut moved = 0;
            for member in &status.members {
                moved += with_progress(&format!("balancing {member}"), done(member, &key()?, PeerMessage::Balance)).await?;
            }
            println!("balanced: {moved} records moved");
        }
        Command::Purge => {
            let dropped = with_progress("purging", done(&args.peer, &key()?, PeerMessage::Purge)).await?;
            println!("purged: {dropped} records dropped");
        }
        Command::Haskey { channel, key: text } => {
            let record = key_of(text)?;
            let message = PeerMessage::Fetch { channel: channel.clone(), keys: vec![record] };
            match answer(&args.peer, &key()?, message).await? {
                PeerMessage::Records(records) if records.len() == 1 => {
                    let stamp = if records[0].value.is_some() { records[0].stamp.max(1) } else { 0 };
                    println!("{stamp}");
                    if stamp == 0 {
                        return Err(Failure(1, format!("{} has no record {text} in '{channel}'", args.peer)));
                    }
                }
                other => return Err(Failure(4, format!("unexpected answer {other:?}"))),
            }
        }
        Command::Whereis { key: text, replicas, virtual_nodes } => {
            let record = key_of(text)?;
            let view = view(&args.peer, &key()?, PeerMessage::Ping { from: "shoal".into() }).await?;
            let mut ring = HashRing::new((*virtual_nodes).max(1));
            view.members.iter().for_each(|member| ring.add(member));
            ring.replicas(record, replicas.unwrap_or(view.replicas as usize)).iter().for_each(|member| println!("{member}"));
        }
        Command::Put { node, channel, key: text, value, file } => {
            let record = key_of(text)?;
            let value = match (value, file) {
                (Some(value), None) => value.clone().into_bytes(),
                (None, Some(file)) => std::fs::read(file).map_err(|e| Failure(2, format!("{}: {e}", file.display())))?,
                _ => return Err(Failure(2, "give a value or -f FILE, not both".into())),
            };
            let mut client = LegacyClient::connect(node.as_str()).await.map_err(unreachable)?;
            client.put(channel, record, &value).await.map_err(|e| Failure(3, e.to_string()))?;
        }
        Command::Get { node, channel, key: text, output } => {
            let record = key_of(text)?;
            let mut client = LegacyClient::connect(node.as_str()).await.map_err(unreachable)?;
            let value = client.get(channel, record).await.map_err(|e| Failure(3, e.to_string()))?;
            let value = value.ok_or_else(|| Failure(1, format!("no record {text} in '{channel}'")))?;
            match output {
                Some(path) => std::fs::write(path, &value).map_err(|e| Failure(4, format!("{}: {e}", path.display())))?,
                None => println!("{}", String::from_utf8_lossy(&value)),
            }
        }
        Command::Del { node, channel, key: text } => {
            let record = key_of(text)?;
            let mut client = LegacyClient::connect(node.as_str()).await.map_err(unreachable)?;
            client.remove(channel, record).await.map_err(|e| Failure(3, e.to_string()))?;
        }
    }
    Ok(())
}

/// Runs `work` with a spinner on stderr saying `what` (hidden when stderr
/// is not a terminal).
async fn with_progress<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    let spinner = indicatif::ProgressBar::new_spinner().with_message(what.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = work.await;
    spinner.finish_and_clear();
    result
}

/// Sends a peer message and returns the answer, refusals as exit code 3.
async fn answer(peer: &str, key: &[u8], message: PeerMessage) -> Result<PeerMessage, Failure> {
    match exchange(peer, key, &message).await {
        Ok(PeerMessage::Refused { reason }) => Err(Failure(3, reason)),
        Ok(answer) => Ok(answer),
        // A frame the member cannot open closes the connection: usually a
        // wrong cluster key.
        Err(error) => Err(Failure(4, format!("{peer}: {error} (is the cluster key right?)"))),
    }
}

/// Sends a peer message and returns the member's view.
async fn view(peer: &str, key: &[u8], message: PeerMessage) -> Result<shoal_cluster::message::View, Failure> {
    match answer(peer, key, message).await? {
        PeerMessage::View(view) => Ok(view),
        other => Err(Failure(4, format!("unexpected answer {other:?}"))),
    }
}

/// Sends an admin message and returns the records its work moved.
async fn done(peer: &str, key: &[u8], message: PeerMessage) -> Result<u64, Failure> {
    match answer(peer, key, message).await? {
        PeerMessage::Done { records } => Ok(records),
        other => Err(Failure(4, format!("unexpected answer {other:?}"))),
    }
}
