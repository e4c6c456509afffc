//! dmqnode: the shoal message queue node, a drop-in replacement for the
//! original dmqnode (same config.ini, same legacy and neo protocols, same
//! queue and overflow files).
//!
//! `dmqnode -c etc/config.ini`; the neo clients' keys are read from
//! `etc/credentials`. SIGTERM or SIGINT saves every queue and exits.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use shoal_actors::config::{DmqNodeConfig, FromIni};
use shoal_actors::control::Commands;
use shoal_actors::dmq::committer::IndexCommitter;
use shoal_actors::connection::LegacyPort;
use shoal_actors::dmq::neo::DmqNeo;
use shoal_actors::dmq::node::{DmqCounters, DmqNode};
use shoal_actors::dmq::stats::DmqStats;
use shoal_actors::dmq::store::{StoreThread, Wakers};
use shoal_actors::listener::Ports;
use shoal_actors::neo::{CredentialsStore, CREDENTIALS_FILE};
use shoal_actors::process::{exit_status, handle_signals, start_process, start_workers, stop_workers, ConfigArgs};
use shoal_actors::service::NeoPort;
use shoal_storage::dmq::store::DmqStore;

/// Command line, as the original's.
#[derive(Debug, Parser)]
#[command(name = "dmqnode", version, about = "shoal message queue node (swarm dmqnode compatible)")]
struct Args {
    /// `-c`, `-O`, `--loose-config-parsing`.
    #[command(flatten)]
    config: ConfigArgs,
}


fn main() -> ExitCode {
    exit_status("dmqnode", run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let path = args.config.config.as_deref().context("the config file is missing: give it with -c/--config")?;
    let config = DmqNodeConfig::load_with(path, &args.config.overrides, args.config.loose_config_parsing)?;
    let started = start_process("dmqnode", &config.log, &config.warnings, config.pid_lock.as_deref(), config.server.cpu)?;
    let log = &started.log;
    let data_dir = config.server.data_dir.clone();
    let (store, problems) = DmqStore::open(&data_dir, config.channel_sizes.clone())
        .with_context(|| format!("cannot load the queues in {}", data_dir.display()))?;
    for problem in problems {
        tracing::warn!(target: "dmqnode.main", "{problem}");
    }
    let wakers = Arc::new(Wakers::default());
    let (storage, store) = StoreThread::start(store, Arc::clone(&wakers)).context("cannot start the storage thread")?;
    let node = Arc::new(DmqNode {
        store: store.clone(),
        wakers,
        counters: DmqCounters::default(),
        write_flush: Duration::from_millis(config.write_flush_ms),
        connection_limit: config.server.connection_limit,
    });

    let system = System::new();
    let (workers, handles) = start_workers();
    let address = format!("{}:{}", config.server.address, config.server.port);
    let neo_address = format!("{}:{}", config.server.address, config.server.neoport);
    let credentials = Arc::new(CredentialsStore::load(CREDENTIALS_FILE.into()));
    let control_path = config.server.unix_socket_path.clone();
    let commands = Commands {
        reopen_logs: log.reopen_handle(),
        version: format!("dmqnode (shoal) {}", env!("CARGO_PKG_VERSION")),
        credentials: Some(Arc::clone(&credentials)),
        ring: None,
    };
    let commit_period = Duration::from_millis(config.write_index_ms);
    let stats_path = config.stats.file_name.clone();
    let stats_interval = Duration::from_secs(config.stats.interval);
    let console_stats = config.console_stats;
    system.block_on(async {
        handle_signals(log.reopen_handle(), 0).context("cannot handle signals")?;
        let ports = Ports {
            legacy: (address.clone(), Arc::new(LegacyPort::new(Arc::clone(&node)))),
            neo: (neo_address.clone(), Arc::new(NeoPort::new(
                Arc::new(DmqNeo::new(Arc::clone(&node))),
                credentials,
                Arc::clone(&node.counters.neo_connections),
                config.server.connection_limit,
            ))),
            backlog: config.server.backlog,
            control: (control_path, commands),
        };
        ports.open(handles)?;
        IndexCommitter::new(store, commit_period).start();
        DmqStats::new(Arc::clone(&node), stats_path, stats_interval, console_stats).start();
        tracing::info!(target: "dmqnode.main", "Starting DMQ node --------------------------------");
        println!("dmqnode: listening on {address} (neo {neo_address})");
        anyhow::Ok(())
    })?;
    system.run().context("event loop failed")?;
    stop_workers(workers);
    tracing::info!(target: "dmqnode.main", "Saving the queues");
    storage.shutdown().context("cannot save the queues")?;
    tracing::info!(target: "dmqnode.main", "Event loop exited");
    Ok(())
}
