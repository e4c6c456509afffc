//! dhtnode: the shoal DHT node, a drop-in replacement for the original
//! dhtnode (same config.ini, same legacy protocol, same files).
//!
//! `dhtnode --config etc/config.ini` reads the original's configuration;
//! without `--config` it runs on an embedded default (loopback, ./data,
//! ./log) so that one command starts a working node.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use shoal_actors::config::DhtNodeConfig;
use shoal_actors::control::{Commands, ControlSocket};
use shoal_actors::dump_cycle::{DumpCycle, Dumper};
use shoal_actors::load::{load_channels, LoadRules};
use shoal_actors::process::handle_signals;
use shoal_actors::connection::Protocol;
use shoal_actors::listener::Listener;
use shoal_actors::node::{DhtNode, Limits};
use shoal_actors::stats::Stats;
use shoal_protocol::neo::Credentials;
use shoal_storage::dht::hash::HashRange;

/// Command line, as the original's (`-c`, `-O`), plus shoal's defaults.
#[derive(Debug, Parser)]
#[command(name = "dhtnode", version, about = "shoal DHT node (swarm dhtnode compatible)")]
struct Args {
    /// The node's config.ini; without it an embedded default is used.
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    /// Override a config value: `-O Section.key=value` (repeatable).
    #[arg(short = 'O', long = "override-config")]
    overrides: Vec<String>,
    /// Warn about unknown config keys instead of refusing to start.
    #[arg(long = "loose-config-parsing")]
    loose_config_parsing: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dhtnode: {error:#}");
            tracing::error!(target: "dhtnode.main", "{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => DhtNodeConfig::load_with(path, &args.overrides, args.loose_config_parsing)?,
        None => DhtNodeConfig::embedded_default(&args.overrides)?,
    };
    let log = shoal_actors::logging::init(&config.log, std::path::Path::new("."))
        .context("cannot set up logging")?;
    for warning in &config.warnings {
        tracing::warn!(target: "dhtnode.main", "config: {warning}");
    }
    std::fs::create_dir_all(&config.server.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.server.data_dir.display()))?;
    let _pid_lock = match &config.pid_lock {
        Some(path) => Some(shoal_actors::process::PidLock::acquire(path)?),
        None => None,
    };
    if config.memory.lock_memory {
        shoal_actors::process::lock_memory()?;
    }

    let limits = Limits {
        size_limit: config.memory.size_limit,
        batch_size: config.memory.batch_size,
        write_flush: Duration::from_millis(config.performance.write_flush_ms),
        connection_limit: config.server.connection_limit,
    };
    let range = HashRange { min: config.server.minval, max: config.server.maxval };
    let node = Arc::new(DhtNode::new(
        config.server.address.clone(),
        config.server.port,
        range,
        limits,
        config.memory.bnum,
    ));

    node.redistribution.set_memory_multiplier(config.performance.redist_memory_limit_mulitplier);
    let data_dir = config.server.data_dir.clone();
    let rules = LoadRules {
        range,
        out_of_range: config.memory.allow_out_of_range,
        abort_after_all_out_of_range: u64::from(config.memory.abort_after_all_out_of_range),
        max_value: config.memory.batch_size,
    };
    let channels = load_channels(&node, &data_dir, &rules)?;
    tracing::info!(target: "dhtnode.main", "Loaded {channels} channels from {}", data_dir.display());
    let dumper = Arc::new(Dumper::new(Arc::clone(&node), data_dir));
    let (removals, removed) = tokio::sync::mpsc::unbounded_channel();
    node.report_removals_to(removals);
    let dump_period = (config.dump.period_s > 0).then(|| Duration::from_secs(config.dump.period_s));

    let system = System::new();
    let workers: Vec<Arbiter> = (0..std::thread::available_parallelism().map_or(2, |n| n.get()))
        .map(|_| Arbiter::new())
        .collect();
    let handles: Vec<ArbiterHandle> = workers.iter().map(Arbiter::handle).collect();
    let address = format!("{}:{}", config.server.address, config.server.port);
    let neo_address = format!("{}:{}", config.server.address, config.server.neo_port());
    let credentials = Arc::new(load_credentials());
    let stats_path = config.stats.file_name.clone();
    let stats_interval = Duration::from_secs(config.stats.interval);
    let control_path = config.server.unix_socket_path.clone();
    let commands = Commands {
        reopen_logs: log.reopen_handle(),
        version: format!("dhtnode (shoal) {}", env!("CARGO_PKG_VERSION")),
    };
    system.block_on(async {
        // Signal handlers first: a signal right after start-up is handled.
        handle_signals(log.reopen_handle(), 0).context("cannot handle signals")?;
        let socket = bind(&address, config.server.backlog)
            .with_context(|| format!("cannot listen on {address}"))?;
        Listener::new(socket, Protocol::Legacy, handles.clone(), Arc::clone(&node)).start();
        let neo_socket = bind(&neo_address, config.server.backlog)
            .with_context(|| format!("cannot listen on {neo_address} (neo: port + 100)"))?;
        Listener::new(neo_socket, Protocol::Neo(credentials), handles, Arc::clone(&node)).start();
        ControlSocket::bind(control_path.clone(), commands)
            .with_context(|| format!("cannot create unix socket {}", control_path.display()))?
            .start();
        Stats::new(Arc::clone(&node), stats_path, stats_interval).start();
        DumpCycle::new(Arc::clone(&dumper), dump_period, removed).start();
        tracing::info!(target: "dhtnode.main", "Starting DHT node --------------------------------");
        println!("dhtnode: listening on {address}");
        anyhow::Ok(())
    })?;
    system.run().context("event loop failed")?;
    for worker in workers {
        worker.stop();
        let _ = worker.join();
    }
    // Every connection is gone: nothing can change the channels any more.
    tracing::info!(target: "dhtnode.main", "Closing memory channels: final dump");
    dumper.dump_all();
    tracing::info!(target: "dhtnode.main", "Event loop exited");
    Ok(())
}

/// The neo clients' keys, from `etc/credentials` (relative to the working
/// directory, as in the original). The original refuses to start without
/// the file; shoal starts and refuses every neo client instead, saying so.
fn load_credentials() -> Credentials {
    let path = std::path::Path::new(CREDENTIALS_FILE);
    match Credentials::load(path) {
        Ok(credentials) => {
            tracing::info!(target: "dhtnode.main", "{} neo clients in {CREDENTIALS_FILE}", credentials.len());
            credentials
        }
        Err(error) => {
            tracing::warn!(target: "dhtnode.main", "no neo clients can authenticate: {CREDENTIALS_FILE}: {error}");
            Credentials::default()
        }
    }
}

/// Where the original reads its neo credentials from.
const CREDENTIALS_FILE: &str = "etc/credentials";

/// Binds a port with the configured backlog.
fn bind(address: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let address: std::net::SocketAddr = address
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(backlog)
}

