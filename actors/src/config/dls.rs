//! The dlsnode configuration: the sections and keys the original dlsnode
//! reads, typed, with its defaults and its strictness, so that an
//! operator's existing config.ini works unchanged.
//!
//! Strict sections (an unknown key is an error): `[Server]`,
//! `[Performance]`, `[Options_Dls]`, `[STATS]`, `[LOG]` and every
//! `[LOG.<name>]`. `[Options_LogFiles]` is the documented spelling the
//! original never reads: shoal takes its `write_buffer_size` when
//! `[Options_Dls]` has none, and ignores its other keys. `[PidLock]`,
//! `[VERSION]` and `[UNIX_SOCKET]` are read loosely.
//!
//! Where shoal differs on purpose: `cpu` defaults to -1 (no pinning), as
//! documented; `write_flush_ms` really flushes the write buffers.

use std::path::PathBuf;

use super::dht::Reader;
use super::ini::IniDocument;
use super::{ConfigError, FromIni, LogConfig, StatsConfig, UnixSocketConfig};

/// The whole configuration of a dlsnode.
#[derive(Debug, Clone, PartialEq)]
pub struct DlsNodeConfig {
    /// `[Server]`.
    pub server: DlsServerConfig,
    /// `[Performance]`.
    pub performance: DlsPerformanceConfig,
    /// `[Options_Dls] write_buffer_size`: bytes buffered per open bucket.
    pub write_buffer_size: u64,
    /// `[STATS]`.
    pub stats: StatsConfig,
    /// `[LOG]` and `[LOG.<logger>]`.
    pub log: LogConfig,
    /// `[PidLock] path`.
    pub pid_lock: Option<PathBuf>,
    /// `[UNIX_SOCKET]`.
    pub unix_socket: UnixSocketConfig,
    /// Accepted things that look like mistakes, one line each.
    pub warnings: Vec<String>,
}

/// `[Server]` of a dlsnode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlsServerConfig {
    /// `address` (mandatory); GetNumConnections reports it too.
    pub address: String,
    /// `port` (mandatory): legacy protocol.
    pub port: u16,
    /// `neoport` (mandatory): neo protocol.
    pub neoport: u16,
    /// `cpu` (default -1): the CPU to pin the process to; -1 for none.
    pub cpu: i64,
    /// `data_dir` (default `data`): one directory per channel.
    pub data_dir: PathBuf,
    /// `connection_limit` (default 5000), per listener.
    pub connection_limit: usize,
    /// `backlog` (default 2048).
    pub backlog: u32,
    /// `unix_socket_path` (mandatory): control socket.
    pub unix_socket_path: PathBuf,
    /// `credentials_path` (default `etc/credentials`): the neo clients' keys.
    pub credentials_path: PathBuf,
}

/// `[Performance]` of a dlsnode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlsPerformanceConfig {
    /// `write_flush_ms` (default 250): how often write buffers are flushed.
    pub write_flush_ms: u64,
    /// `file_buffer_size` (default 10 MiB): read buffer of a range scan.
    pub file_buffer_size: u64,
    /// `checkpoint_commit_seconds` (default 300): how often open buckets are
    /// fsynced and their lengths recorded in `data/checkpoint.dat`.
    pub checkpoint_commit_seconds: u64,
    /// `number_of_thread_workers` (default 20): blocking threads for disk I/O.
    pub number_of_thread_workers: usize,
}

const SERVER_KEYS: &[&str] = &[
    "address",
    "port",
    "neoport",
    "cpu",
    "data_dir",
    "connection_limit",
    "backlog",
    "unix_socket_path",
    "credentials_path",
];
const PERFORMANCE_KEYS: &[&str] =
    &["write_flush_ms", "file_buffer_size", "checkpoint_commit_seconds", "number_of_thread_workers"];
const OPTIONS_DLS_KEYS: &[&str] = &["write_buffer_size"];

impl FromIni for DlsNodeConfig {
    /// Types and checks an assembled document.
    fn from_document(document: &IniDocument, loose: bool) -> Result<Self, ConfigError> {
        let mut warnings: Vec<String> = document.warnings.iter().map(|w| w.to_string()).collect();
        let mut reader = Reader { document, loose, warnings: &mut warnings };
        let u32_max = u64::from(u32::MAX);

        reader.check_keys("Server", SERVER_KEYS)?;
        let s = reader.section("Server");
        let cpu = s.cpu()?;
        let server = DlsServerConfig {
            address: s.required("address")?.to_string(),
            port: s.required_integer("port", 0, u64::from(u16::MAX))? as u16,
            neoport: s.required_integer("neoport", 0, u64::from(u16::MAX))? as u16,
            cpu,
            data_dir: PathBuf::from(s.string("data_dir").unwrap_or("data")),
            connection_limit: s.integer("connection_limit", 5000, u32_max)? as usize,
            backlog: s.integer("backlog", 2048, u32_max)? as u32,
            unix_socket_path: PathBuf::from(s.required("unix_socket_path")?),
            credentials_path: PathBuf::from(s.string("credentials_path").unwrap_or(crate::neo::CREDENTIALS_FILE)),
        };

        reader.check_keys("Performance", PERFORMANCE_KEYS)?;
        let s = reader.section("Performance");
        let performance = DlsPerformanceConfig {
            write_flush_ms: s.integer("write_flush_ms", 250, u32_max)?,
            file_buffer_size: s.integer("file_buffer_size", 10 * 1024 * 1024, u64::MAX)?,
            checkpoint_commit_seconds: s.integer("checkpoint_commit_seconds", 300, u32_max)?,
            number_of_thread_workers: s.integer("number_of_thread_workers", 20, 1024)? as usize,
        };
        if performance.checkpoint_commit_seconds == 0 {
            return Err(s.bad("checkpoint_commit_seconds", "must be at least 1"));
        }
        if performance.number_of_thread_workers == 0 {
            return Err(s.bad("number_of_thread_workers", "must be at least 1"));
        }

        reader.check_keys("Options_Dls", OPTIONS_DLS_KEYS)?;
        let documented = reader.section("Options_LogFiles").integer("write_buffer_size", 65_536, u32_max)?;
        let write_buffer_size = reader.section("Options_Dls").integer("write_buffer_size", documented, u32_max)?;

        let stats = reader.stats()?;
        let log = reader.log()?;
        let pid_lock = reader.section("PidLock").string("path").map(PathBuf::from);
        let unix_socket = reader.unix_socket()?;

        reader.warn_unused_sections("dlsnode", &["Server", "Performance", "Options_Dls", "Options_LogFiles", "STATS", "LOG"]);
        Ok(DlsNodeConfig { server, performance, write_buffer_size, stats, log, pid_lock, unix_socket, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The original's test suite config (dlstest), with the documented but
    /// ignored `[Options_LogFiles]` spelling.
    const ORIGINAL_TEST_CONFIG: &str = "\
[Server]
address = 127.0.0.1
port = 10000
neoport = 10001
data_dir = data
unix_socket_path = dlsnode.socket

[Performance]
write_flush_ms = 250
file_buffer_size = 20
checkpoint_commit_seconds = 2
number_of_thread_workers = 4

[Options_LogFiles]
write_buffer_size = 4096
";

    #[test]
    fn the_original_test_config_parses() {
        let config = DlsNodeConfig::from_ini_str(ORIGINAL_TEST_CONFIG).unwrap();
        assert_eq!((config.server.port, config.server.neoport, config.server.cpu), (10000, 10001, -1));
        assert_eq!(config.performance.file_buffer_size, 20);
        assert_eq!(config.performance.checkpoint_commit_seconds, 2);
        assert_eq!(config.write_buffer_size, 4096);
        assert_eq!(config.server.credentials_path, PathBuf::from("etc/credentials"));
    }

    #[test]
    fn the_example_deploy_config_parses() {
        let config = DlsNodeConfig::from_ini_str(include_str!("../../../deploy/dls.config.ini")).unwrap();
        assert_eq!((config.server.port, config.server.neoport), (10000, 11001));
        assert_eq!(config.performance.checkpoint_commit_seconds, 300);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn options_dls_wins_and_unknown_keys_are_refused() {
        let both = format!("{ORIGINAL_TEST_CONFIG}\n[Options_Dls]\nwrite_buffer_size = 8192\n");
        assert_eq!(DlsNodeConfig::from_ini_str(&both).unwrap().write_buffer_size, 8192);
        let bogus = format!("{ORIGINAL_TEST_CONFIG}\n[Performance]\nbogus = 1\n");
        assert!(DlsNodeConfig::from_ini_str(&bogus).unwrap_err().to_string().contains("bogus"));
        let zero = ORIGINAL_TEST_CONFIG.replace("checkpoint_commit_seconds = 2", "checkpoint_commit_seconds = 0");
        assert!(DlsNodeConfig::from_ini_str(&zero).unwrap_err().to_string().contains("checkpoint_commit_seconds"));
    }

    #[test]
    fn sections_the_node_does_not_read_are_named_in_one_warning_each() {
        let extra = format!("{ORIGINAL_TEST_CONFIG}\n[Bogus]\nx = 1\n[Ring]\nenabled = true\n[LOG.dlsnode]\nlevel = info\n[PidLock]\npath = pid\n");
        let config = DlsNodeConfig::from_ini_str(&extra).unwrap();
        assert_eq!(config.warnings, [
            "section [Bogus] is not used by dlsnode and is ignored",
            "section [Ring] is not used by dlsnode and is ignored",
        ]);
        assert_eq!(config.pid_lock, Some(PathBuf::from("pid")));
    }
}
