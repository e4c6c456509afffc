//! dlsnode: the shoal log store node, a drop-in replacement for the original
//! dlsnode (same config.ini, same legacy and neo protocols, same bucket
//! files and checkpoint).
//!
//! `dlsnode [-c etc/config.ini]`. At start, if `data/checkpoint.dat` exists
//! the last run did not end cleanly: every bucket it lists is cut back to
//! its checkpointed length, and torn tails of buckets written since are cut
//! off. SIGTERM or SIGINT flushes and syncs every bucket and deletes the
//! checkpoint.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use shoal_actors::config::{DlsNodeConfig, FromIni};
use shoal_actors::control::Commands;
use shoal_actors::dls::checkpoint::Checkpointer;
use shoal_actors::connection::LegacyPort;
use shoal_actors::dls::neo::DlsNeo;
use shoal_actors::dls::node::{DlsCounters, DlsNode};
use shoal_actors::dls::shared_channel::SharedChannel;
use shoal_actors::dls::pool::DiskPool;
use shoal_actors::dls::stats::DlsStats;
use shoal_actors::listener::Ports;
use shoal_actors::neo::CredentialsStore;
use shoal_actors::process::{exit_status, handle_signals, start_process, start_workers, stop_workers, ConfigArgs};
use shoal_actors::service::NeoPort;
use shoal_storage::dls::channel::{channel_names, DlsChannel};
use shoal_storage::dls::checkpoint;

/// Command line, as the original's (the config defaults to etc/config.ini).
#[derive(Debug, Parser)]
#[command(name = "dlsnode", version, about = "shoal log store node (swarm dlsnode compatible)")]
struct Args {
    /// `-c`, `-O`, `--loose-config-parsing`.
    #[command(flatten)]
    config: ConfigArgs,
}

/// Where the original keeps its checkpoint (whatever `data_dir` says).
const CHECKPOINT_DIR: &str = "data";

fn main() -> ExitCode {
    exit_status("dlsnode", run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let path = args.config.config.clone().unwrap_or_else(|| PathBuf::from("etc/config.ini"));
    let config = DlsNodeConfig::load_with(&path, &args.config.overrides, args.config.loose_config_parsing)?;
    let started = start_process("dlsnode", &config.log, &config.warnings, config.pid_lock.as_deref(), config.server.cpu)?;
    let log = &started.log;
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    std::fs::create_dir_all(CHECKPOINT_DIR).context("cannot create data/ for the checkpoint")?;
    let checkpoint_file = checkpoint::checkpoint_path(Path::new(CHECKPOINT_DIR));
    let commit_every = Duration::from_secs(config.performance.checkpoint_commit_seconds);
    recover(&checkpoint_file, &data_dir, commit_every)?;
    // Present while the node runs: a crash before the first commit is then
    // recognised at the next start too.
    checkpoint::write(&checkpoint_file, &[]).context("cannot write data/checkpoint.dat")?;

    let pool = DiskPool::start(config.performance.number_of_thread_workers).context("cannot start the disk threads")?;
    let node = Arc::new(DlsNode {
        channels: Default::default(),
        data_dir: data_dir.clone(),
        pool: Arc::clone(&pool),
        counters: DlsCounters::default(),
        write_buffer_size: config.write_buffer_size as usize,
        read_buffer: config.performance.file_buffer_size.clamp(64, 64 << 20) as usize,
        address: config.server.address.clone(),
        port: config.server.port,
        connection_limit: config.server.connection_limit,
        redistributing: Default::default(),
    });
    let (channels, ignored) = channel_names(&data_dir).with_context(|| format!("cannot list {}", data_dir.display()))?;
    for name in ignored {
        tracing::warn!(target: "dlsnode.storage.StorageChannels", "Ignoring '{name}' in the data directory");
    }
    for name in &channels {
        tracing::info!(target: "dlsnode.storage.StorageChannels", "Opening DLS directory '{name}'");
        let channel = DlsChannel::new(&data_dir, name, node.write_buffer_size);
        node.channels.insert(name.clone(), SharedChannel::new(channel));
    }

    let system = System::new();
    let (workers, handles) = start_workers();
    let address = format!("{}:{}", config.server.address, config.server.port);
    let neo_address = format!("{}:{}", config.server.address, config.server.neoport);
    let credentials = Arc::new(CredentialsStore::load(config.server.credentials_path.clone()));
    let control_path = config.server.unix_socket_path.clone();
    let commands = Commands {
        reopen_logs: log.reopen_handle(),
        version: format!("dlsnode (shoal) {}", env!("CARGO_PKG_VERSION")),
        credentials: Some(Arc::clone(&credentials)),
        ring: None,
    };
    let flush_every = Duration::from_millis(config.performance.write_flush_ms);
    let stats_path = config.stats.file_name.clone();
    let stats_interval = Duration::from_secs(config.stats.interval);
    system.block_on(async {
        handle_signals(log.reopen_handle(), 0).context("cannot handle signals")?;
        let ports = Ports {
            legacy: (address.clone(), Arc::new(LegacyPort::new(Arc::clone(&node)))),
            neo: (neo_address.clone(), Arc::new(NeoPort::new(
                Arc::new(DlsNeo::new(Arc::clone(&node))),
                credentials,
                Arc::clone(&node.counters.neo_connections),
                config.server.connection_limit,
            ))),
            backlog: config.server.backlog,
            control: (control_path, commands),
        };
        ports.open(handles)?;
        Checkpointer::new(Arc::clone(&node), checkpoint_file.clone(), flush_every, commit_every).start();
        DlsStats::new(Arc::clone(&node), stats_path, stats_interval).start();
        tracing::info!(target: "dlsnode.main", "Starting DLS node --------------------------------");
        println!("dlsnode: listening on {address} (neo {neo_address})");
        anyhow::Ok(())
    })?;
    system.run().context("event loop failed")?;
    stop_workers(workers);
    pool.stop();
    // Every connection is gone: flush and sync every bucket, then the
    // checkpoint is not needed any more.
    let mut clean = true;
    for entry in node.channels.iter() {
        let mut channel = entry.value().lock();
        tracing::info!(target: "dlsnode.main", "Closing DLS channel '{}'", channel.name());
        if let Err(error) = channel.checkpoint().and_then(|_| channel.close()) {
            tracing::error!(target: "dlsnode.main", "closing '{}': {error}", channel.name());
            clean = false;
        }
    }
    if clean {
        let _ = std::fs::remove_file(&checkpoint_file);
    }
    tracing::info!(target: "dlsnode.main", "Event loop exited");
    Ok(())
}

/// After an unclean stop (the checkpoint file is still there): cuts every
/// listed bucket back to its synced length, and torn tails of buckets
/// written since the last commit.
fn recover(file: &Path, data_dir: &Path, commit_every: Duration) -> anyhow::Result<()> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // Starting without the recovery could serve torn records.
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", file.display())),
    };
    // Damaged lines (even bytes that are not text) are reported one by one
    // below; the others are still applied.
    let text = String::from_utf8_lossy(&bytes);
    let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok();
    tracing::warn!(target: "dlsnode.storage.checkpoint.CheckpointFile", "{} found: the last run did not end cleanly", file.display());
    let (lines, errors) = checkpoint::parse(&text);
    for error in errors {
        tracing::error!(target: "dlsnode.storage.checkpoint.CheckpointFile", "{error}");
    }
    let mut cut = checkpoint::truncate_to(data_dir, &lines).context("cannot cut buckets back to the checkpoint")?;
    // Buckets first written after the last commit are not listed; look at
    // everything written since a period before it.
    let since = modified.and_then(|m| m.checked_sub(commit_every)).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    let (channels, _) = channel_names(data_dir)?;
    for channel in channels {
        cut.extend(checkpoint::cut_torn_tails(&data_dir.join(&channel), since)?);
    }
    for truncated in cut {
        tracing::info!(
            target: "dlsnode.storage.checkpoint.CheckpointFile",
            "Truncatting bucket {}. {} -> {}",
            truncated.path.display(),
            truncated.from,
            truncated.to
        );
    }
    Ok(())
}
