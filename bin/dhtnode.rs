//! dhtnode: the shoal DHT node, a drop-in replacement for the original
//! dhtnode (same config.ini, same legacy protocol, same files).
//!
//! `dhtnode --config etc/config.ini` reads the original's configuration;
//! without `--config` it runs on an embedded default (loopback, ./data,
//! ./log) so that one command starts a working node.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use shoal_actors::config::{DhtNodeConfig, RingConfig};
use shoal_actors::control::Commands;
use shoal_actors::dump_cycle::{DumpCycle, Dumper};
use shoal_actors::load::{load_channels, LoadRules};
use shoal_actors::process::{exit_status, handle_signals, start_workers, stop_workers, ConfigArgs};
use shoal_actors::connection::DhtLegacy;
use shoal_actors::neo_request::DhtNeo;
use shoal_actors::service::NeoPort;
use shoal_actors::listener::{bind, Listener, Ports};
use shoal_actors::ring::peer::PeerPort;
use shoal_actors::ring::status_page::StatusPage;
use shoal_actors::ring::{Ring, RingNode};
use shoal_cluster::membership::Membership;
use shoal_actors::node::{DhtNode, Limits};
use shoal_actors::stats::Stats;
use shoal_actors::neo::{CredentialsStore, CREDENTIALS_FILE};
use shoal_storage::dht::hash::HashRange;

/// Command line, as the original's (`-c`, `-O`), plus shoal's defaults.
#[derive(Debug, Parser)]
#[command(name = "dhtnode", version, about = "shoal DHT node (swarm dhtnode compatible)")]
struct Args {
    /// `-c`, `-O`, `--loose-config-parsing`.
    #[command(flatten)]
    config: ConfigArgs,
}

fn main() -> ExitCode {
    exit_status("dhtnode", run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = match &args.config.config {
        Some(path) => DhtNodeConfig::load_with(path, &args.config.overrides, args.config.loose_config_parsing)?,
        None => DhtNodeConfig::embedded_default(&args.config.overrides)?,
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
    // A ring member reports this range to clients but coordinates every key
    // with the key's replicas, whatever the range (docs/ring.md).
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
    let (workers, handles) = start_workers();
    let address = format!("{}:{}", config.server.address, config.server.port);
    let neo_address = format!("{}:{}", config.server.address, config.server.neo_port());
    let credentials = Arc::new(CredentialsStore::load(CREDENTIALS_FILE.into()));
    let ring = match &config.ring {
        Some(ring) => Some(Arc::new(join_ring(ring)?)),
        None => None,
    };
    if let Some(ring) = &ring {
        node.join_ring(Arc::clone(ring));
    }
    let stats_path = config.stats.file_name.clone();
    let stats_interval = Duration::from_secs(config.stats.interval);
    let control_path = config.server.unix_socket_path.clone();
    let commands = Commands {
        reopen_logs: log.reopen_handle(),
        version: format!("dhtnode (shoal) {}", env!("CARGO_PKG_VERSION")),
        credentials: Some(Arc::clone(&credentials)),
        ring: ring.clone(),
    };
    system.block_on(async {
        // Signal handlers first: a signal right after start-up is handled.
        handle_signals(log.reopen_handle(), 0).context("cannot handle signals")?;
        let ports = Ports {
            legacy: (address.clone(), Arc::new(DhtLegacy::new(Arc::clone(&node)))),
            neo: (neo_address.clone(), Arc::new(NeoPort::new(
                Arc::new(DhtNeo::new(Arc::clone(&node))),
                credentials,
                Arc::clone(&node.counters.neo_connections),
                node.limits.connection_limit,
            ))),
            backlog: config.server.backlog,
            control: (control_path, commands),
        };
        if let (Some(ring), Some(settings)) = (&ring, &config.ring) {
            let peers = format!("{}:{}", config.server.address, settings.peer_port);
            let socket = bind(&peers, config.server.backlog).with_context(|| format!("cannot listen for peers on {peers}"))?;
            Listener::new(socket, Arc::new(PeerPort::new(Arc::clone(ring), Arc::clone(&node))), handles.clone()).start();
            if let Some(status_port) = settings.status_port {
                let page = format!("{}:{status_port}", config.server.address);
                let socket = bind(&page, config.server.backlog).with_context(|| format!("cannot serve the status page on {page}"))?;
                let offset = i32::from(status_port) - i32::from(settings.peer_port);
                Listener::new(socket, Arc::new(StatusPage::new(Arc::clone(ring), Arc::clone(&node), offset)), handles.clone()).start();
            }
            let gossip = Duration::from_millis(settings.gossip_ms);
            let tombstone_ttl = Duration::from_secs(settings.tombstone_ttl_s);
            RingNode::new(Arc::clone(ring), Arc::clone(&node), settings.seed.clone(), gossip, settings.remove_down, tombstone_ttl)
                .start();
        }
        ports.open(handles)?;
        Stats::new(Arc::clone(&node), stats_path, stats_interval).start();
        DumpCycle::new(Arc::clone(&dumper), dump_period, removed).start();
        tracing::info!(target: "dhtnode.main", "Starting DHT node --------------------------------");
        println!("dhtnode: listening on {address}");
        anyhow::Ok(())
    })?;
    system.run().context("event loop failed")?;
    stop_workers(workers);
    if let Some(ring) = &ring {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("leaving the ring")?;
        runtime.block_on(shoal_actors::ring::leave(ring, &node));
    }
    // Every connection is gone: nothing can change the channels any more.
    tracing::info!(target: "dhtnode.main", "Closing memory channels: final dump");
    dumper.dump_all();
    tracing::info!(target: "dhtnode.main", "Event loop exited");
    Ok(())
}

/// This node's ring state from `[Ring]`: the cluster key and a membership of
/// one, which the RingNode actor then grows through the seed.
fn join_ring(settings: &RingConfig) -> anyhow::Result<Ring> {
    let key = std::fs::read(&settings.key_file)
        .with_context(|| format!("cannot read the cluster key {}", settings.key_file.display()))?;
    let key = key.trim_ascii().to_vec();
    anyhow::ensure!(key.len() >= 16, "the cluster key {} must hold at least 16 bytes", settings.key_file.display());
    let membership = Membership::new(
        &settings.advertise,
        settings.replicas,
        Duration::from_millis(settings.suspect_after_ms),
        Duration::from_millis(settings.down_after_ms),
    );
    Ok(Ring::new(membership, key, settings.virtual_nodes, settings.write_acks))
}

