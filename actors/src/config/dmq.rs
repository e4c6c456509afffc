//! The dmqnode configuration: the sections and keys the original dmqnode
//! reads (its doc/etc/config.ini), typed, with its defaults and its
//! strictness, so that an operator's existing config.ini works unchanged.
//!
//! Strict sections (an unknown key is an error): `[Server]`,
//! `[Performance]`, `[Overflow]`, `[Stats]`, `[STATS]`, `[LOG]` and every
//! `[LOG.<name>]`. `[ChannelSizeById]` takes any key (a channel-name
//! prefix). `[PidLock]`, `[VERSION]` and `[UNIX_SOCKET]` are read loosely;
//! any other section is ignored with a warning.
//!
//! Where shoal differs on purpose: `cpu` defaults to -1 (no pinning), as
//! the original documents (its code defaults to 0); `[Overflow]
//! write_index_ms` really is the period of the overflow index commit.

use std::path::PathBuf;

use super::dht::{Reader, STATS_KEYS};
use super::ini::IniDocument;
use shoal_storage::dmq::size::ChannelSizes;

use super::{ConfigError, FromIni, LogConfig, StatsConfig, UnixSocketConfig};

/// The whole configuration of a dmqnode.
#[derive(Debug, Clone, PartialEq)]
pub struct DmqNodeConfig {
    /// `[Server]`.
    pub server: DmqServerConfig,
    /// `channel_size_limit` with the `[ChannelSizeById]` prefixes: the ring
    /// size of each channel.
    pub channel_sizes: ChannelSizes,
    /// `[Performance] write_flush_ms`: the longest a Consume holds records
    /// before sending them.
    pub write_flush_ms: u64,
    /// `[Performance] no_delay`: accepted; TCP_NODELAY is always on.
    pub no_delay: bool,
    /// `[Overflow] write_index_ms`: how often the overflow index is
    /// committed to disk.
    pub write_index_ms: u64,
    /// `[STATS]`: the stats.log writer.
    pub stats: StatsConfig,
    /// `[Stats] console_stats_enabled`: also print a short status line on
    /// the console every stats interval.
    pub console_stats: bool,
    /// `[LOG]` and `[LOG.<logger>]`.
    pub log: LogConfig,
    /// `[PidLock] path`.
    pub pid_lock: Option<PathBuf>,
    /// `[UNIX_SOCKET]`: the framework's control socket (besides
    /// `Server.unix_socket_path`).
    pub unix_socket: UnixSocketConfig,
    /// Accepted things that look like mistakes, one line each.
    pub warnings: Vec<String>,
}

/// `[Server]` of a dmqnode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmqServerConfig {
    /// `address` (mandatory): both protocols bind to it.
    pub address: String,
    /// `port` (mandatory): the legacy protocol.
    pub port: u16,
    /// `neoport` (mandatory): the neo protocol.
    pub neoport: u16,
    /// `data_dir` (default `data`): queue dumps and the disk overflow.
    pub data_dir: PathBuf,
    /// `channel_size_limit` (mandatory, at least 1): bytes of each queue's
    /// in-memory ring.
    pub channel_size_limit: u64,
    /// `cpu` (default -1): the CPU to pin the process to; -1 for none.
    pub cpu: i64,
    /// `unix_socket_path` (mandatory): the control socket (credentials
    /// commands).
    pub unix_socket_path: PathBuf,
    /// `connection_limit` (default 5000), per listener.
    pub connection_limit: usize,
    /// `backlog` (default 2048).
    pub backlog: u32,
    /// `size_limit` (default 0): accepted, unused (as in the original).
    pub size_limit: u64,
}

const SERVER_KEYS: &[&str] = &[
    "address",
    "port",
    "neoport",
    "data_dir",
    "channel_size_limit",
    "cpu",
    "unix_socket_path",
    "connection_limit",
    "backlog",
    "size_limit",
];
const PERFORMANCE_KEYS: &[&str] = &["write_flush_ms", "no_delay"];
const OVERFLOW_KEYS: &[&str] = &["write_index_ms"];
/// The original's `[Stats]`: the stats-log keys plus one of its own;
/// checked strictly and otherwise unused.
const DMQ_STATS_KEYS: &[&str] = &["console_stats_enabled"];

impl FromIni for DmqNodeConfig {
    /// Types and checks an assembled document.
    fn from_document(document: &IniDocument, loose: bool) -> Result<Self, ConfigError> {
        let mut warnings: Vec<String> = document.warnings.iter().map(|w| w.to_string()).collect();
        let mut reader = Reader { document, loose, warnings: &mut warnings };

        reader.check_keys("Server", SERVER_KEYS)?;
        let s = reader.section("Server");
        let port_max = u64::from(u16::MAX);
        let channel_size_limit = s.required_integer("channel_size_limit", 0, u64::MAX)?;
        if channel_size_limit == 0 {
            return Err(s.bad("channel_size_limit", "must be at least 1"));
        }
        let cpu = s.cpu()?;
        let server = DmqServerConfig {
            address: s.required("address")?.to_string(),
            port: s.required_integer("port", 0, port_max)? as u16,
            neoport: s.required_integer("neoport", 0, port_max)? as u16,
            data_dir: PathBuf::from(s.string("data_dir").unwrap_or("data")),
            channel_size_limit,
            cpu,
            unix_socket_path: PathBuf::from(s.required("unix_socket_path")?),
            connection_limit: s.integer("connection_limit", 5000, u64::from(u32::MAX))? as usize,
            backlog: s.integer("backlog", 2048, u64::from(u32::MAX))? as u32,
            size_limit: s.integer("size_limit", 0, u64::MAX)?,
        };

        let channel_sizes = channel_sizes(&reader, server.channel_size_limit)?;

        reader.check_keys("Performance", PERFORMANCE_KEYS)?;
        let s = reader.section("Performance");
        let write_flush_ms = s.integer("write_flush_ms", 250, u64::from(u32::MAX))?;
        let no_delay = s.boolean("no_delay", false)?;

        reader.check_keys("Overflow", OVERFLOW_KEYS)?;
        let s = reader.section("Overflow");
        let write_index_ms = s.integer("write_index_ms", 60_000, u64::from(u32::MAX))?;
        if write_index_ms == 0 {
            return Err(s.bad("write_index_ms", "must be at least 1"));
        }

        let stats_keys: Vec<&str> = STATS_KEYS.iter().chain(DMQ_STATS_KEYS).copied().collect();
        reader.check_keys("Stats", &stats_keys)?;
        let console_stats = reader.section("Stats").boolean("console_stats_enabled", false)?;
        let stats = reader.stats()?;
        let log = reader.log()?;
        let pid_lock = reader.section("PidLock").string("path").map(PathBuf::from);
        let unix_socket = reader.unix_socket()?;

        reader.warn_unused_sections("dmqnode", &["Server", "ChannelSizeById", "Performance", "Overflow", "Stats", "STATS", "LOG"]);
        Ok(DmqNodeConfig {
            server,
            channel_sizes,
            write_flush_ms,
            no_delay,
            write_index_ms,
            stats,
            console_stats,
            log,
            pid_lock,
            unix_socket,
            warnings,
        })
    }
}

/// `[ChannelSizeById]`: every key a channel-name prefix, every value a
/// ring size; the storage refuses zero sizes and overlapping prefixes, as the
/// original refuses them.
fn channel_sizes(reader: &Reader<'_>, default: u64) -> Result<ChannelSizes, ConfigError> {
    let s = reader.section("ChannelSizeById");
    let mut sizes = ChannelSizes::new(default).map_err(|e| reader.section("Server").bad("channel_size_limit", e.to_string()))?;
    for key in reader.document.sections.get("ChannelSizeById").into_iter().flat_map(|keys| keys.keys()) {
        let size = s.integer(key, 0, u64::MAX)?;
        sizes.add(key, size).map_err(|e| s.bad(key, e.to_string()))?;
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys and values of the original's doc/etc/config.ini.
    const ORIGINAL_DOC_CONFIG: &str = "\
[Server]
address                 = 0.0.0.0
port                    = 10000
neoport                 = 10001
data_dir                = data
channel_size_limit      = 2000000000
cpu                     = -1
unix_socket_path        = dmqnode.socket

[ChannelSizeById]
admedia = 400000000

[Performance]
write_flush_ms          = 250
no_delay                = false

[Overflow]
write_index_ms = 60000

[PidLock]
path                    = dmqnode.pid

[LOG.Root]
level = trace
propagate = true
console = false
file = log/root.log
";

    /// The original's integration-test config (dmqtest).
    const ORIGINAL_TEST_CONFIG: &str = "\
[Server]
address = 127.0.0.1
port = 10000
neoport = 10001
data_dir = data
channel_size_limit = 10000000
unix_socket_path = dmqnode.socket

[Performance]
write_flush_ms = 1
no_delay = true
";

    fn error_of(text: &str) -> String {
        DmqNodeConfig::from_ini_str(text).expect_err("refused").to_string()
    }

    #[test]
    fn the_example_deploy_config_parses() {
        let config = DmqNodeConfig::from_ini_str(include_str!("../../../deploy/dmq.config.ini")).unwrap();
        assert_eq!((config.server.port, config.server.neoport), (10000, 10001));
        assert_eq!(config.stats.interval, 30);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn the_original_configs_parse() {
        let config = DmqNodeConfig::from_ini_str(ORIGINAL_DOC_CONFIG).unwrap();
        assert_eq!(config.server.neoport, 10001);
        assert_eq!(config.server.channel_size_limit, 2_000_000_000);
        assert_eq!(config.channel_sizes.size_for("admedia_x"), 400_000_000);
        assert_eq!(config.channel_sizes.size_for("other"), 2_000_000_000);
        assert_eq!(config.write_index_ms, 60_000);
        assert_eq!(config.pid_lock, Some(PathBuf::from("dmqnode.pid")));
        let test = DmqNodeConfig::from_ini_str(ORIGINAL_TEST_CONFIG).unwrap();
        assert_eq!((test.write_flush_ms, test.server.cpu, test.server.connection_limit), (1, -1, 5000));
    }

    #[test]
    fn mandatory_unknown_and_overlapping_keys_are_refused() {
        let without = |key: &str| {
            ORIGINAL_TEST_CONFIG.lines().filter(|l| !l.starts_with(key)).collect::<Vec<_>>().join("\n")
        };
        assert!(error_of(&without("neoport")).contains("neoport"));
        assert!(error_of(&without("channel_size_limit")).contains("channel_size_limit"));
        assert!(error_of(&format!("{ORIGINAL_TEST_CONFIG}\n[Overflow]\nbogus = 1\n")).contains("bogus"));
        let overlapping = format!("{ORIGINAL_TEST_CONFIG}\n[ChannelSizeById]\nad = 5\nadmedia = 6\n");
        assert!(error_of(&overlapping).contains("admedia"), "{}", error_of(&overlapping));
        assert!(error_of(&ORIGINAL_TEST_CONFIG.replace("10000000", "0")).contains("at least 1"));
    }
}
