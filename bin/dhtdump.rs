//! dhtdump: the sidecar that periodically writes a running DHT node's
//! channels to `.tcm` files, a drop-in replacement for the original dhtdump
//! (same command line, same config.ini, same files and log lines).
//!
//! `dhtdump -c etc/config.ini` runs forever, dumping every `[Dump]
//! period_s`; `dhtdump -c etc/config.ini --oneshot` dumps once, at once, and
//! exits 0 when every channel was written (the original never exits). The
//! work is done by [`shoal_actors::dhtdump::DumpCycle`].
//!
//! Exit status: 0 after a one-shot dump or when stopped by SIGINT/SIGTERM in
//! cyclic mode; 1 for a config or start-up error, and when a one-shot run
//! is interrupted by a signal before its dump completed.

use std::process::ExitCode;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use shoal_actors::config::DhtDumpConfig;
use shoal_actors::dhtdump::DumpCycle;
use shoal_actors::process::{handle_signals, ConfigArgs};

/// Command line, as the original's.
#[derive(Debug, Parser)]
#[command(
    name = "dhtdump",
    version,
    about = "Iterates over all channels of a DHT node, dumping the data to disk (swarm dhtdump compatible)"
)]
struct Args {
    /// `-c`, `-O`, `--loose-config-parsing`.
    #[command(flatten)]
    config: ConfigArgs,
    /// One-shot mode: dump every channel once, immediately, then exit.
    #[arg(short = 'o', long = "oneshot")]
    oneshot: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("dhtdump: {error:#}");
            tracing::error!(target: "dhtnode.dhtdump.main", "{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<i32> {
    let path = args.config.config.as_deref().context("the config file is missing: give it with -c/--config")?;
    let config = DhtDumpConfig::load_with(path, &args.config.overrides, args.config.loose_config_parsing)?;
    let log = shoal_actors::logging::init(&config.log, std::path::Path::new("."))
        .context("cannot set up logging")?;
    for warning in &config.warnings {
        tracing::warn!(target: "dhtnode.dhtdump.main", "config: {warning}");
    }
    // The original requires the directory (normally the node's own data
    // directory) to exist rather than writing dumps where no node looks.
    let data_dir = &config.dump.data_dir;
    if !data_dir.is_dir() {
        anyhow::bail!(
            "data directory {} (Dump.data_dir) does not exist; create it or point Dump.data_dir at the node's data directory",
            data_dir.display()
        );
    }
    let _pid_lock = match &config.pid_lock {
        Some(path) => Some(shoal_actors::process::PidLock::acquire(path)?),
        None => None,
    };

    let system = System::new();
    let oneshot = args.oneshot;
    system.block_on(async {
        // A one-shot run stopped by a signal has not done its job.
        handle_signals(log.reopen_handle(), i32::from(oneshot)).context("cannot handle signals")?;
        DumpCycle::new(&config, oneshot).start();
        anyhow::Ok(())
    })?;
    tracing::info!(
        target: "dhtnode.dhtdump.main",
        "Starting dhtdump{}: node {}:{}, data directory {}",
        if oneshot { " (one-shot)" } else { "" },
        config.dht.address,
        config.dht.port,
        data_dir.display()
    );
    println!("dhtdump: dumping {}:{} into {}", config.dht.address, config.dht.port, data_dir.display());
    // Dropping the system (inside run_with_code) ends a dump in progress:
    // its writer sees the records stop and removes the temporary file.
    let code = system.run_with_code().context("event loop failed")?;
    tracing::info!(target: "dhtnode.dhtdump.main", "Exiting with return code {code}");
    Ok(code)
}

