//! The dhtnode configuration: every section and key the original dhtnode
//! (and the ocean application framework under it) accepts, typed, with the
//! original's defaults and the original's strictness.
//!
//! Which sections are strict follows the original: the sections that the
//! node and the framework *fill* (`Server`, `Performance`, `Options_Memory`,
//! `STATS`, `LOG` and every `LOG.<logger>`) refuse unknown keys; the sections
//! the framework only *looks into* (`PidLock`, `VERSION`, `UNIX_SOCKET`)
//! ignore keys they do not know; any other section is ignored entirely
//! (shoal records a warning for it, since a misspelt section name silently
//! falls back to defaults in the original too).
//!
//! Values follow ocean's conversions, not Rust's: booleans are exactly one
//! of `true`/`false`, `yes`/`no`, `on`/`off`, `enabled`/`disabled`, `1`/`0`
//! (lower case only); integers take an optional sign and an optional
//! `0x`/`0b`/`0o` radix prefix; the hash range bounds are 16 hex digits with
//! an optional lower-case `0x`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ini::{IniDocument, OceanIni, Override, Overrides};
use super::ConfigError;

/// The configuration `dhtnode` runs with when no `--config` is given: a
/// node on 127.0.0.1:10000 serving the whole hash range, with `data/`,
/// `log/root.log` and `log/stats.log` under the working directory and
/// without `mlockall`. Parsed by the same parser as any config file; the
/// same text ships as `deploy/embedded-default.config.ini`.
pub const EMBEDDED_DEFAULT_INI: &str = include_str!("../../../deploy/embedded-default.config.ini");

/// Largest legacy port: the neo protocol listens on port + 100, which must
/// still be a port.
pub const MAX_PORT: u16 = u16::MAX - 100;

/// Smallest `Options_Memory.batch_size` the original accepts.
pub const MIN_BATCH_SIZE: usize = 1024;

/// The whole configuration of a dhtnode.
#[derive(Debug, Clone, PartialEq)]
pub struct DhtNodeConfig {
    /// `[Server]`: where to listen and what to own.
    pub server: ServerConfig,
    /// `[Performance]`: flush period and redistribution memory cap.
    pub performance: PerformanceConfig,
    /// `[Options_Memory]`: storage limits and behaviour.
    pub memory: MemoryConfig,
    /// `[STATS]`: the stats.log writer.
    pub stats: StatsConfig,
    /// `[LOG]` and `[LOG.<logger>]`: where log lines go.
    pub log: LogConfig,
    /// `[VERSION]`: the version.log line written at start.
    pub version: VersionConfig,
    /// `[PidLock] path`: the lock file that keeps a second instance from
    /// starting in the same place; `None` when not configured.
    pub pid_lock: Option<PathBuf>,
    /// `[UNIX_SOCKET]`: the framework's control socket.
    pub unix_socket: UnixSocketConfig,
    /// `[Dump]` (shoal only): the node's own periodic dumps.
    pub dump: DumpConfig,
    /// `[Ring]` (shoal only): the optional replicated ring; `None` when the
    /// section is absent or `enabled = false`.
    pub ring: Option<RingConfig>,
    /// Things the original accepts silently but that look like mistakes
    /// (stray lines, unused sections, keys ignored under loose parsing), one
    /// line each, for the node to log once logging is up.
    pub warnings: Vec<String>,
}

/// `[Ring]`, a shoal-only section: membership of a replicated ring of
/// dhtnodes (issue 5). Peers talk on a port of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingConfig {
    /// `peer_port` (mandatory): where this node listens for its peers.
    pub peer_port: u16,
    /// `advertise` (default `<Server address>:<peer_port>`): the address
    /// peers reach this node at.
    pub advertise: String,
    /// `seed` (optional): a member to join at start.
    pub seed: Option<String>,
    /// `replicas` (default 3): copies of every key.
    pub replicas: u32,
    /// `virtual_nodes` (default 512): tokens per member.
    pub virtual_nodes: u32,
    /// `key_file` (mandatory): the cluster key every peer message is
    /// authenticated with.
    pub key_file: PathBuf,
    /// `gossip_ms` (default 1000): how often members check each other.
    pub gossip_ms: u64,
    /// `suspect_after_ms` (default 5000): silence before a member is suspect.
    pub suspect_after_ms: u64,
    /// `down_after_ms` (default 30000): silence before it is down.
    pub down_after_ms: u64,
    /// `write_acks` (default 0 = every live replica): copies a Put must
    /// have stored before it is acknowledged.
    pub write_acks: u32,
    /// `remove_down` (default false): remove a member once it is down, and
    /// re-replicate its keys, without waiting for an operator.
    pub remove_down: bool,
    /// `status_port` (default none): the read-only HTTP status page, on
    /// `[Server] address`.
    pub status_port: Option<u16>,
    /// `tombstone_ttl_s` (default 86400): how long a removal's stamp is
    /// kept. A member down for longer must not come back with its old
    /// data, or it may bring removed records back (remove it instead).
    pub tombstone_ttl_s: u64,
}

/// `[Dump]`, a shoal-only section: the original node dumps only at shutdown
/// and leaves periodic dumps to the dhtdump sidecar; shoal can do them
/// itself, without a network round trip per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpConfig {
    /// `period_s`: seconds between dumps of every channel; 0 (the default,
    /// as the original) dumps only at shutdown.
    pub period_s: u64,
}

/// `[Server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `address` (mandatory): the address both protocols bind to.
    pub address: String,
    /// `port` (mandatory, at most [`MAX_PORT`]): the legacy protocol port;
    /// the neo port is always `port + 100`.
    pub port: u16,
    /// `minval` (mandatory): lowest hash of the node's range.
    pub minval: u64,
    /// `maxval` (mandatory): highest hash of the node's range.
    pub maxval: u64,
    /// `data_dir` (default `data`): where the channel dumps live.
    pub data_dir: PathBuf,
    /// `connection_limit` (default 5000): per listener.
    pub connection_limit: usize,
    /// `backlog` (default 2048): listen backlog.
    pub backlog: u32,
    /// `unix_socket_path` (mandatory): the neo control socket.
    pub unix_socket_path: PathBuf,
}

impl ServerConfig {
    /// The neo protocol port, which the original fixes at `port + 100`.
    pub fn neo_port(&self) -> u16 {
        self.port + 100
    }

    /// True for the "no responsibility" range (min `0xffffffffffffffff`,
    /// max `0`) a new node may be started with.
    pub fn hash_range_is_empty(&self) -> bool {
        self.minval == u64::MAX && self.maxval == 0
    }
}

/// `[Performance]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceConfig {
    /// `write_flush_ms` (default 250): how often streaming requests flush.
    pub write_flush_ms: u64,
    /// `redist_memory_limit_mulitplier` (sic; default 1.1): PutBatch during a
    /// redistribution is refused above this multiple of the size limit.
    pub redist_memory_limit_mulitplier: f64,
}

/// `[Options_Memory] allow_out_of_range`: what loading a dump does with a
/// record outside the node's hash range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllowOutOfRange {
    /// `load` (default): keep it.
    #[default]
    Load,
    /// `fatal`: stop the node.
    Fatal,
    /// `ignore`: skip it.
    Ignore,
}

impl AllowOutOfRange {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowOutOfRange::Load => "load",
            AllowOutOfRange::Fatal => "fatal",
            AllowOutOfRange::Ignore => "ignore",
        }
    }
}

/// `[Options_Memory]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// `size_limit` (default 0 = none): node-wide byte limit.
    pub size_limit: u64,
    /// `lock_memory` (default true): `mlockall` at start.
    pub lock_memory: bool,
    /// `allow_out_of_range` (default `load`).
    pub allow_out_of_range: AllowOutOfRange,
    /// `abort_after_all_out_of_range` (default 10000, 0 = never): stop when
    /// this many records of a dump were loaded and all were out of range.
    pub abort_after_all_out_of_range: u32,
    /// `disable_direct_io` (default false): write dumps with buffered I/O
    /// (for tmpfs and other filesystems without O_DIRECT).
    pub disable_direct_io: bool,
    /// `bnum` (default 0 = engine default): buckets per channel.
    pub bnum: u64,
    /// `batch_size` (default 65536, at least [`MIN_BATCH_SIZE`]): legacy
    /// batch size, and so the largest record a batch request can return.
    pub batch_size: usize,
}

/// `[STATS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsConfig {
    /// `file_name` (default `log/stats.log`).
    pub file_name: PathBuf,
    /// `interval` (default 30): seconds between lines.
    pub interval: u64,
    /// `socket_path`: collectd socket (accepted; shoal does not feed
    /// collectd).
    pub socket_path: Option<String>,
    /// `hostname`: collectd identifier part.
    pub hostname: Option<String>,
    /// `app_name`: collectd identifier part.
    pub app_name: Option<String>,
    /// `app_instance`: collectd identifier part.
    pub app_instance: Option<String>,
    /// `default_type`: collectd identifier part.
    pub default_type: Option<String>,
}

/// `[VERSION]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionConfig {
    /// `default_version_log` (default true): write `log/version.log`.
    pub default_version_log: bool,
}

/// `[UNIX_SOCKET]`: the framework's command socket (`reopen_files`,
/// `show_version`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnixSocketConfig {
    /// `path`: no socket when `None`.
    pub path: Option<PathBuf>,
    /// `mode`: permissions, written in octal.
    pub mode: Option<u32>,
}

/// `[LOG]` and the `[LOG.<logger>]` sections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogConfig {
    /// `[LOG] buffer_size` (default 0): the original's formatting buffer;
    /// accepted, shoal does not truncate lines.
    pub buffer_size: usize,
    /// `[LOG.Root]` (the name is matched case-insensitively, as the
    /// original does). `None` when absent: then nothing is logged anywhere
    /// except through other configured loggers.
    pub root: Option<LoggerConfig>,
    /// Every other `[LOG.<name>]`, by logger name (`dhtnode.storage`, …).
    pub loggers: BTreeMap<String, LoggerConfig>,
}

/// One `[LOG.<name>]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerConfig {
    /// `level`: lowest level written; `None` inherits from the parent
    /// logger (the root's default is trace).
    pub level: Option<LogLevel>,
    /// `console`: also write to the console (warn and above to stderr, the
    /// rest to stdout). `None` when not set, which means true for the root
    /// and false for other loggers.
    pub console: Option<bool>,
    /// `syslog`: also write to syslog (accepted; not implemented by shoal).
    pub syslog: Option<bool>,
    /// `console_layout` (default `simple`).
    pub console_layout: LogLayout,
    /// `file`: append to this file (relative to the working directory).
    pub file: Option<PathBuf>,
    /// `file_layout` (default `date`).
    pub file_layout: LogLayout,
    /// `propagate`: settings also apply to child loggers.
    pub propagate: bool,
    /// `additive`: also write through the parents' outputs even when this
    /// logger has its own.
    pub additive: bool,
    /// `collect_stats` (default true): counted in the stats' `logged_*`.
    pub collect_stats: bool,
    /// `buffer_size` (default 0): accepted, see [`LogConfig::buffer_size`].
    pub buffer_size: usize,
}

impl Default for LoggerConfig {
    fn default() -> Self {
        LoggerConfig {
            level: None,
            console: None,
            syslog: None,
            console_layout: LogLayout::Simple,
            file: None,
            file_layout: LogLayout::Date,
            propagate: false,
            additive: false,
            collect_stats: true,
            buffer_size: 0,
        }
    }
}

impl LoggerConfig {
    /// Whether this logger keeps writing through its parents' outputs: the
    /// original makes a logger with its own console, file or syslog setting
    /// exclusive unless `additive` is set.
    pub fn is_additive(&self) -> bool {
        self.additive || (self.console.is_none() && self.file.is_none() && self.syslog.is_none())
    }
}

/// A log level as the original's `level` key spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `trace` or `debug`: everything.
    Trace,
    /// `info`.
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
    /// `fatal`: only fatal errors.
    Fatal,
    /// `none`, `off` or `disabled`: nothing.
    None,
}

impl LogLevel {
    /// Parses a `level` value (case-insensitive).
    pub fn parse(text: &str) -> Option<LogLevel> {
        Some(match text.to_ascii_lowercase().as_str() {
            "trace" | "debug" => LogLevel::Trace,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "fatal" => LogLevel::Fatal,
            "none" | "off" | "disabled" => LogLevel::None,
            _ => return None,
        })
    }
}

/// A log line layout, as `file_layout` / `console_layout` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLayout {
    /// `date`: `YYYY-MM-DD HH:MM:SS,mm Level [logger] - message`.
    Date,
    /// `simple`: `Level [logger] - message`.
    Simple,
    /// `messageonly`: the message alone.
    MessageOnly,
    /// `stats` / `statslog`: `YYYY-MM-DD HH:MM:SS,mmm message`.
    StatsLog,
}

impl LogLayout {
    /// Parses a layout name the way the original does: case-insensitive,
    /// with an optional `layout` prefix or suffix (`LayoutDate`).
    pub fn parse(text: &str) -> Option<LogLayout> {
        let lower = text.to_ascii_lowercase();
        let name = lower.strip_prefix("layout").unwrap_or(&lower);
        let name = name.strip_suffix("layout").unwrap_or(name);
        Some(match name {
            "date" => LogLayout::Date,
            "simple" => LogLayout::Simple,
            "messageonly" => LogLayout::MessageOnly,
            "stats" | "statslog" => LogLayout::StatsLog,
            _ => return None,
        })
    }
}

/// Keys of each strict section.
const SERVER_KEYS: &[&str] = &[
    "address",
    "port",
    "minval",
    "maxval",
    "data_dir",
    "connection_limit",
    "backlog",
    "unix_socket_path",
];
const PERFORMANCE_KEYS: &[&str] = &["write_flush_ms", "redist_memory_limit_mulitplier"];
const MEMORY_KEYS: &[&str] = &[
    "size_limit",
    "lock_memory",
    "allow_out_of_range",
    "abort_after_all_out_of_range",
    "disable_direct_io",
    "bnum",
    "batch_size",
];
pub(crate) const STATS_KEYS: &[&str] =
    &["file_name", "socket_path", "hostname", "app_name", "app_instance", "default_type", "interval"];
const LOG_META_KEYS: &[&str] = &["buffer_size"];
const LOGGER_KEYS: &[&str] = &[
    "level",
    "console",
    "syslog",
    "console_layout",
    "file",
    "file_layout",
    "propagate",
    "additive",
    "collect_stats",
    "buffer_size",
];
/// Sections read without key checking.
const LOOSE_SECTIONS: &[&str] = &["PidLock", "VERSION", "UNIX_SOCKET"];

impl DhtNodeConfig {
    /// Reads a config text (strictly, without overrides); for tests and
    /// for callers that already hold the file.
    pub fn from_ini_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_ini_str_with(text, &[], false)
    }

    /// Reads a config text with `-O` overrides; `loose` is the original's
    /// `--loose-config-parsing` (unknown keys become warnings).
    pub fn from_ini_str_with(text: &str, overrides: &[String], loose: bool) -> Result<Self, ConfigError> {
        let document = assemble(text, overrides)?;
        Self::from_document(&document, loose)
    }

    /// Reads the config file at `path`, then applies the `-O` overrides
    /// (`Section.key=value`; an empty value removes the key), strictly.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::load_with(path, overrides, false)
    }

    /// [`load`](Self::load) with the choice of loose parsing.
    pub fn load_with(path: &Path, overrides: &[String], loose: bool) -> Result<Self, ConfigError> {
        let text = super::read_config_text(path)?;
        let document = assemble(&text, overrides)?;
        Self::from_document(&document, loose)
    }

    /// The built-in configuration ([`EMBEDDED_DEFAULT_INI`]) with the `-O`
    /// overrides applied, for running without `--config`.
    pub fn embedded_default(overrides: &[String]) -> Result<Self, ConfigError> {
        Self::from_ini_str_with(EMBEDDED_DEFAULT_INI, overrides, false)
    }

    /// Types and checks an already assembled document.
    pub fn from_document(document: &IniDocument, loose: bool) -> Result<Self, ConfigError> {
        let mut warnings: Vec<String> = document.warnings.iter().map(|w| w.to_string()).collect();
        let mut reader = Reader { document, loose, warnings: &mut warnings };

        let server = reader.server()?;
        let performance = reader.performance()?;
        let memory = reader.memory()?;
        let stats = reader.stats()?;
        let log = reader.log()?;
        let version = VersionConfig {
            default_version_log: reader.section("VERSION").boolean("default_version_log", true)?,
        };
        let pid_lock = reader.section("PidLock").string("path").map(PathBuf::from);
        let unix_socket = reader.unix_socket()?;
        let ring = reader.ring(&server.address)?;
        reader.check_keys("Dump", &["period_s"])?;
        let dump = DumpConfig { period_s: reader.section("Dump").integer("period_s", 0, u64::from(u32::MAX))? };

        reader.warn_unused_sections("dhtnode", &["Server", "Performance", "Options_Memory", "STATS", "LOG", "Dump", "Ring"]);
        Ok(DhtNodeConfig {
            server,
            performance,
            memory,
            stats,
            log,
            version,
            pid_lock,
            unix_socket,
            dump,
            ring,
            warnings,
        })
    }
}

/// Parses `text` and applies `overrides`, assembling both through
/// `config::Config::builder()`.
pub fn assemble(text: &str, overrides: &[String]) -> Result<IniDocument, ConfigError> {
    let parsed = overrides
        .iter()
        .map(|argument| {
            Override::parse(argument)
                .map_err(|reason| ConfigError::Override { argument: argument.clone(), reason })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let file = config::File::from_str(text, OceanIni);
    let built = config::Config::builder().add_source(file).add_source(Overrides(parsed)).build()?;
    IniDocument::from_config(&built).map_err(|e| ConfigError::Assemble(config::ConfigError::Message(e.to_string())))
}

/// Applies one `-O Section.key=value` argument to a parsed document (an
/// empty value removes the key), for callers that hold an [`IniDocument`].
///
/// Unlike the original, which asserts that the key already exists, a new key
/// is simply added; the strict checks then judge it like any other key.
pub fn apply_override(document: &mut IniDocument, argument: &str) -> Result<(), ConfigError> {
    let o = Override::parse(argument)
        .map_err(|reason| ConfigError::Override { argument: argument.to_string(), reason })?;
    document.set(&o.section, &o.key, &o.value);
    Ok(())
}

/// Reads typed values out of a document, collecting warnings.
pub(crate) struct Reader<'a> {
    pub(crate) document: &'a IniDocument,
    pub(crate) loose: bool,
    pub(crate) warnings: &'a mut Vec<String>,
}

impl<'a> Reader<'a> {
    pub(crate) fn section(&self, name: &'a str) -> Section<'a> {
        Section { document: self.document, name }
    }

    /// Warns about each section `program` does not read: neither in `used`,
    /// nor one of [`LOOSE_SECTIONS`], nor a `LOG.<logger>` section.
    pub(crate) fn warn_unused_sections(&mut self, program: &str, used: &[&str]) {
        for section in self.document.sections.keys() {
            let name = section.as_str();
            if !(used.contains(&name) || LOOSE_SECTIONS.contains(&name) || name.starts_with("LOG.")) {
                self.warnings.push(format!("section [{section}] is not used by {program} and is ignored"));
            }
        }
    }

    /// Refuses (or, loose, warns about) keys of `section` not in `allowed`.
    pub(crate) fn check_keys(&mut self, section: &str, allowed: &[&str]) -> Result<(), ConfigError> {
        let Some(keys) = self.document.sections.get(section) else { return Ok(()) };
        for (key, value) in keys {
            if !allowed.contains(&key.as_str()) {
                let error = ConfigError::UnknownKey {
                    section: section.to_string(),
                    key: key.clone(),
                    line: value.line,
                };
                if !self.loose {
                    return Err(error);
                }
                self.warnings.push(format!("{error} (ignored: loose config parsing)"));
            }
        }
        Ok(())
    }

    fn server(&mut self) -> Result<ServerConfig, ConfigError> {
        self.check_keys("Server", SERVER_KEYS)?;
        let s = self.section("Server");
        let address = s.required("address")?.to_string();
        let port = s.required_integer("port", 0, u64::from(u16::MAX))? as u16;
        if port > MAX_PORT {
            return Err(s.bad(
                "port",
                format!("must be at most {MAX_PORT} (the neo protocol uses port + 100)"),
            ));
        }
        let minval = s.hash("minval")?;
        let maxval = s.hash("maxval")?;
        let empty = minval == u64::MAX && maxval == 0;
        if minval > maxval && !empty {
            return Err(ConfigError::HashRange { min: minval, max: maxval });
        }
        Ok(ServerConfig {
            address,
            port,
            minval,
            maxval,
            data_dir: PathBuf::from(s.string("data_dir").unwrap_or("data")),
            connection_limit: s.integer("connection_limit", 5000, u64::from(u32::MAX))? as usize,
            backlog: s.integer("backlog", 2048, u64::from(u32::MAX))? as u32,
            unix_socket_path: PathBuf::from(s.required("unix_socket_path")?),
        })
    }

    fn performance(&mut self) -> Result<PerformanceConfig, ConfigError> {
        self.check_keys("Performance", PERFORMANCE_KEYS)?;
        let s = self.section("Performance");
        Ok(PerformanceConfig {
            write_flush_ms: s.integer("write_flush_ms", 250, u64::from(u32::MAX))?,
            redist_memory_limit_mulitplier: s.float("redist_memory_limit_mulitplier", 1.1)?,
        })
    }

    fn memory(&mut self) -> Result<MemoryConfig, ConfigError> {
        self.check_keys("Options_Memory", MEMORY_KEYS)?;
        let s = self.section("Options_Memory");
        let allow_out_of_range = match s.string("allow_out_of_range") {
            None | Some("load") => AllowOutOfRange::Load,
            Some("fatal") => AllowOutOfRange::Fatal,
            Some("ignore") => AllowOutOfRange::Ignore,
            Some(_) => return Err(s.bad("allow_out_of_range", "must be one of load, fatal, ignore")),
        };
        let batch_size = s.integer("batch_size", 65536, u64::MAX)?;
        if batch_size < MIN_BATCH_SIZE as u64 {
            return Err(s.bad("batch_size", format!("must be at least {MIN_BATCH_SIZE}")));
        }
        Ok(MemoryConfig {
            size_limit: s.integer("size_limit", 0, u64::MAX)?,
            lock_memory: s.boolean("lock_memory", true)?,
            allow_out_of_range,
            abort_after_all_out_of_range: s.integer("abort_after_all_out_of_range", 10_000, u64::from(u32::MAX))?
                as u32,
            disable_direct_io: s.boolean("disable_direct_io", false)?,
            bnum: s.integer("bnum", 0, u64::from(u32::MAX))?,
            batch_size: usize::try_from(batch_size).unwrap_or(usize::MAX),
        })
    }

    pub(crate) fn stats(&mut self) -> Result<StatsConfig, ConfigError> {
        self.check_keys("STATS", STATS_KEYS)?;
        let s = self.section("STATS");
        let interval = s.integer("interval", 30, u64::MAX)?;
        if interval == 0 {
            return Err(s.bad("interval", "must be at least 1 second"));
        }
        let text = |key: &str| s.string(key).map(str::to_string);
        Ok(StatsConfig {
            file_name: PathBuf::from(s.string("file_name").unwrap_or("log/stats.log")),
            interval,
            socket_path: text("socket_path"),
            hostname: text("hostname"),
            app_name: text("app_name"),
            app_instance: text("app_instance"),
            default_type: text("default_type"),
        })
    }

    pub(crate) fn log(&mut self) -> Result<LogConfig, ConfigError> {
        self.check_keys("LOG", LOG_META_KEYS)?;
        let mut log = LogConfig {
            buffer_size: self.section("LOG").integer("buffer_size", 0, u64::MAX)? as usize,
            ..LogConfig::default()
        };
        let names: Vec<&String> =
            self.document.sections.keys().filter(|name| name.starts_with("LOG.")).collect();
        for section in names {
            self.check_keys(section, LOGGER_KEYS)?;
            let s = Section { document: self.document, name: section };
            let level = match s.string("level") {
                None => None,
                Some(text) => Some(LogLevel::parse(text).ok_or_else(|| {
                    s.bad("level", "must be one of trace, debug, info, warn, error, fatal, none, off, disabled")
                })?),
            };
            let layout = |key: &str, default: LogLayout| match s.string(key) {
                None => Ok(default),
                Some(text) => LogLayout::parse(text)
                    .ok_or_else(|| s.bad(key, "must be one of date, simple, messageonly, stats, statslog")),
            };
            let logger = LoggerConfig {
                level,
                console: s.optional_boolean("console")?,
                syslog: s.optional_boolean("syslog")?,
                console_layout: layout("console_layout", LogLayout::Simple)?,
                file: s.string("file").map(PathBuf::from),
                file_layout: layout("file_layout", LogLayout::Date)?,
                propagate: s.boolean("propagate", false)?,
                additive: s.boolean("additive", false)?,
                collect_stats: s.boolean("collect_stats", true)?,
                buffer_size: s.integer("buffer_size", 0, u64::MAX)? as usize,
            };
            if logger.syslog == Some(true) {
                self.warnings.push(format!("{section}.syslog: syslog output is not supported by shoal; ignored"));
            }
            let name = &section["LOG.".len()..];
            if name.eq_ignore_ascii_case("root") {
                // The original keeps one of several spellings; we keep the
                // last in name order and warn about the others.
                if log.root.replace(logger).is_some() {
                    self.warnings.push(format!("more than one [LOG.Root] section; [{section}] is used"));
                }
            } else {
                log.loggers.insert(name.to_string(), logger);
            }
        }
        Ok(log)
    }

    fn ring(&mut self, address: &str) -> Result<Option<RingConfig>, ConfigError> {
        const KEYS: &[&str] = &[
            "enabled",
            "peer_port",
            "advertise",
            "seed",
            "replicas",
            "virtual_nodes",
            "key_file",
            "gossip_ms",
            "suspect_after_ms",
            "down_after_ms",
            "write_acks",
            "remove_down",
            "status_port",
            "tombstone_ttl_s",
        ];
        self.check_keys("Ring", KEYS)?;
        let s = self.section("Ring");
        if !s.boolean("enabled", false)? {
            return Ok(None);
        }
        let peer_port = s.required_integer("peer_port", 0, u64::from(u16::MAX))? as u16;
        let replicas = s.integer("replicas", 3, 255)? as u32;
        let virtual_nodes = s.integer("virtual_nodes", 512, 65_536)? as u32;
        if replicas == 0 || virtual_nodes == 0 {
            return Err(s.bad(if replicas == 0 { "replicas" } else { "virtual_nodes" }, "must be at least 1"));
        }
        Ok(Some(RingConfig {
            peer_port,
            advertise: s.string("advertise").map_or_else(|| format!("{address}:{peer_port}"), str::to_owned),
            seed: s.string("seed").map(str::to_owned),
            replicas,
            virtual_nodes,
            key_file: PathBuf::from(s.required("key_file")?),
            gossip_ms: s.integer("gossip_ms", 1000, u64::from(u32::MAX))?.max(1),
            suspect_after_ms: s.integer("suspect_after_ms", 5000, u64::from(u32::MAX))?,
            down_after_ms: s.integer("down_after_ms", 30_000, u64::from(u32::MAX))?,
            write_acks: s.integer("write_acks", 0, 255)? as u32,
            remove_down: s.boolean("remove_down", false)?,
            status_port: match s.integer("status_port", 0, u64::from(u16::MAX))? as u16 {
                0 => None,
                port => Some(port),
            },
            tombstone_ttl_s: s.integer("tombstone_ttl_s", 86_400, u64::from(u32::MAX))?.max(1),
        }))
    }

    pub(crate) fn unix_socket(&mut self) -> Result<UnixSocketConfig, ConfigError> {
        let s = self.section("UNIX_SOCKET");
        let mode = match s.string("mode") {
            None => None,
            Some(text) => Some(
                u32::from_str_radix(text, 8)
                    .ok()
                    .filter(|_| text.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                    .ok_or_else(|| s.bad("mode", "must be an octal permission mode such as 0600"))?,
            ),
        };
        Ok(UnixSocketConfig { path: s.string("path").map(PathBuf::from), mode })
    }
}

/// One section of a document, with ocean's value conversions.
pub(crate) struct Section<'a> {
    pub(crate) document: &'a IniDocument,
    pub(crate) name: &'a str,
}

impl Section<'_> {
    /// `cpu` of the queue and log nodes: -1 (no pinning, the documented
    /// default) or a CPU number.
    pub(crate) fn cpu(&self) -> Result<i64, ConfigError> {
        match self.string("cpu") {
            None => Ok(-1),
            Some(text) => match parse_integer(text) {
                Some(cpu) if (-1..=i128::from(u16::MAX)).contains(&cpu) => Ok(cpu as i64),
                _ => Err(self.bad("cpu", "must be -1 (no pinning) or a CPU number")),
            },
        }
    }

    pub(crate) fn string(&self, key: &str) -> Option<&str> {
        self.document.get(self.name, key)
    }

    pub(crate) fn required(&self, key: &str) -> Result<&str, ConfigError> {
        self.string(key).ok_or_else(|| ConfigError::Missing { section: self.name.to_string(), key: key.to_string() })
    }

    pub(crate) fn bad(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            section: self.name.to_string(),
            key: key.to_string(),
            value: self.string(key).unwrap_or_default().to_string(),
            reason: reason.into(),
            line: self.document.line_of(self.name, key),
        }
    }

    pub(crate) fn optional_boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.string(key) {
            None => Ok(None),
            Some(text) => parse_bool(text)
                .map(Some)
                .ok_or_else(|| self.bad(key, "must be true/false, yes/no, on/off, enabled/disabled or 1/0")),
        }
    }

    pub(crate) fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        Ok(self.optional_boolean(key)?.unwrap_or(default))
    }

    pub(crate) fn integer(&self, key: &str, default: u64, max: u64) -> Result<u64, ConfigError> {
        match self.string(key) {
            None => Ok(default),
            Some(text) => match parse_integer(text) {
                None => Err(self.bad(key, "not an integer")),
                Some(value) if value < 0 => Err(self.bad(key, "must not be negative")),
                Some(value) if value > i128::from(max) => Err(self.bad(key, format!("must be at most {max}"))),
                Some(value) => Ok(value as u64),
            },
        }
    }

    pub(crate) fn required_integer(&self, key: &str, default: u64, max: u64) -> Result<u64, ConfigError> {
        self.required(key)?;
        self.integer(key, default, max)
    }

    fn float(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        match self.string(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| self.bad(key, "not a number")),
        }
    }

    fn hash(&self, key: &str) -> Result<u64, ConfigError> {
        let text = self.required(key)?;
        parse_hash(text)
            .ok_or_else(|| self.bad(key, "a full-length hash is expected: 16 hex digits, optionally prefixed by 0x"))
    }
}

/// ocean's boolean spellings: exact, lower case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "enabled" | "on" | "yes" | "1" => Some(true),
        "false" | "disabled" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// ocean's integer syntax: an optional sign, an optional `0x`, `0b` or `0o`
/// prefix (either case), then at least one digit of that radix and nothing
/// else. `None` when malformed or beyond 128 bits.
pub fn parse_integer(text: &str) -> Option<i128> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match rest.get(..2) {
        Some("0x" | "0X") => (16, &rest[2..]),
        Some("0b" | "0B") => (2, &rest[2..]),
        Some("0o" | "0O") => (8, &rest[2..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// The original's hash syntax for `minval`/`maxval`: an optional `0x`
/// (lower case only: the original does not strip `0X`), then exactly 16 hex
/// digits in either case.
pub fn parse_hash(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our example config: the original's doc/etc/dht.config.ini sections,
    /// keys and values, with our own comments.
    const EXAMPLE: &str = include_str!("../../../deploy/dht.config.ini");

    /// The config of the original's integration test, verbatim in keys and
    /// values (including its commented-out `neoport`).
    const ORIGINAL_TEST_CONFIG: &str = "\
; Test node configuration

[Server]

address                 = 127.0.0.1
port                    = 10000
;neoport                 = 10100
data_dir                = data
minval                  = 0x0000000000000000
maxval                  = 0xffffffffffffffff
connection_limit        = 5000
unix_socket_path        = dhtnode.socket

[Performance]

; a short flush period speeds up streaming tests
write_flush_ms = 1

[Options_Memory]

size_limit          = 0
disable_direct_io   = true
lock_memory         = false
allow_out_of_range  = load
bnum                = 0
batch_size          = 65535
";

    fn minimal(extra_server: &str, extra: &str) -> String {
        format!(
            "[Server]\naddress = 127.0.0.1\nport = 10000\nminval = 0x0000000000000000\n\
             maxval = 0xffffffffffffffff\nunix_socket_path = dhtnode.socket\n{extra_server}\n{extra}"
        )
    }

    fn error_of(text: &str) -> String {
        DhtNodeConfig::from_ini_str(text).unwrap_err().to_string()
    }

    #[test]
    fn the_example_config_parses_with_its_values() {
        let c = DhtNodeConfig::from_ini_str(EXAMPLE).unwrap();
        assert_eq!(c.server.address, "0.0.0.0");
        assert_eq!(c.server.port, 10000);
        assert_eq!(c.server.neo_port(), 10100);
        assert_eq!(c.server.data_dir, PathBuf::from("data"));
        assert_eq!((c.server.minval, c.server.maxval), (0, u64::MAX));
        assert_eq!(c.server.connection_limit, 5000);
        assert_eq!(c.server.backlog, 2048);
        assert_eq!(c.server.unix_socket_path, PathBuf::from("dhtnode.socket"));
        assert_eq!(c.performance.write_flush_ms, 250);
        assert_eq!(c.performance.redist_memory_limit_mulitplier, 1.1);
        assert_eq!(c.pid_lock, Some(PathBuf::from("etc/pid.lock")));
        assert_eq!(c.memory.size_limit, 0);
        assert!(!c.memory.disable_direct_io);
        assert!(!c.memory.lock_memory);
        assert_eq!(c.memory.allow_out_of_range, AllowOutOfRange::Load);
        assert_eq!(c.memory.bnum, 0);
        assert_eq!(c.memory.batch_size, 65535);
        assert_eq!(c.memory.abort_after_all_out_of_range, 10_000);
        assert_eq!(c.stats.file_name, PathBuf::from("log/stats.log"));
        assert_eq!(c.stats.interval, 30);
        assert!(c.version.default_version_log);
        let root = c.log.root.expect("LOG.Root");
        assert_eq!(root.console, Some(false));
        assert_eq!(root.file, Some(PathBuf::from("log/root.log")));
        assert_eq!(root.level, Some(LogLevel::Trace));
        assert!(root.propagate);
        assert_eq!(root.file_layout, LogLayout::Date);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn the_original_integration_test_config_parses() {
        let c = DhtNodeConfig::from_ini_str(ORIGINAL_TEST_CONFIG).unwrap();
        assert_eq!(c.server.address, "127.0.0.1");
        assert_eq!(c.performance.write_flush_ms, 1);
        assert!(c.memory.disable_direct_io);
        assert_eq!(c.log.root, None, "no LOG.Root: no root.log");
        assert_eq!(c.stats.file_name, PathBuf::from("log/stats.log"));
        assert_eq!(c.pid_lock, None);
    }

    #[test]
    fn the_embedded_default_is_a_loopback_node_serving_everything() {
        let c = DhtNodeConfig::embedded_default(&[]).unwrap();
        assert_eq!(c.server.address, "127.0.0.1");
        assert_eq!(c.server.port, 10000);
        assert_eq!((c.server.minval, c.server.maxval), (0, u64::MAX));
        assert_eq!(c.server.data_dir, PathBuf::from("data"));
        assert!(!c.memory.lock_memory);
        assert_eq!(c.stats.file_name, PathBuf::from("log/stats.log"));
        assert_eq!(c.log.root.as_ref().unwrap().file, Some(PathBuf::from("log/root.log")));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = DhtNodeConfig::embedded_default(&["Server.port = 4242".into()]).unwrap();
        assert_eq!(c.server.port, 4242);
    }

    #[test]
    fn defaults_of_optional_keys() {
        let c = DhtNodeConfig::from_ini_str(&minimal("", "")).unwrap();
        assert_eq!(c.server.data_dir, PathBuf::from("data"));
        assert_eq!(c.server.connection_limit, 5000);
        assert_eq!(c.server.backlog, 2048);
        assert_eq!(c.performance.write_flush_ms, 250);
        assert!(c.memory.lock_memory);
        assert_eq!(c.memory.batch_size, 65536);
        assert_eq!(c.memory.abort_after_all_out_of_range, 10_000);
        assert_eq!(c.unix_socket, UnixSocketConfig::default());
    }

    #[test]
    fn an_unknown_key_is_refused_and_named() {
        let error = error_of(&minimal("neoport = 10100", ""));
        assert_eq!(error, "invalid configuration key Server.neoport (line 7)");
        let error = error_of(&minimal("", "[LOG.Root]\nlevel = info\nfile_count = 10\n"));
        assert!(error.contains("LOG.Root.file_count"), "{error}");
        let error = error_of(&minimal("", "[LOG]\nmax_file_size = 10\n"));
        assert!(error.contains("LOG.max_file_size"), "{error}");
        let error = error_of(&minimal("", "[Options_Memory]\nsize_limt = 1\n"));
        assert!(error.contains("Options_Memory.size_limt"), "{error}");
        let error = error_of(&minimal("", "[STATS]\nfile = x\n"));
        assert!(error.contains("STATS.file"), "{error}");
    }

    #[test]
    fn keys_are_case_sensitive() {
        let error = error_of(&minimal("Port = 1", ""));
        assert!(error.contains("Server.Port"), "{error}");
    }

    #[test]
    fn loose_parsing_turns_unknown_keys_into_warnings() {
        let c = DhtNodeConfig::from_ini_str_with(&minimal("neoport = 10100", ""), &[], true).unwrap();
        assert!(c.warnings.iter().any(|w| w.contains("Server.neoport")), "{:?}", c.warnings);
    }

    #[test]
    fn loosely_read_and_unknown_sections_accept_anything() {
        let c = DhtNodeConfig::from_ini_str(&minimal(
            "",
            "[PidLock]\npath = etc/pid.lock\nwhatever = 1\n[VERSION]\nfoo = bar\n\
             [UNIX_SOCKET]\npath = app.socket\nmode = 0600\n[Elsewhere]\nperiod_s = 1\n",
        ))
        .unwrap();
        assert_eq!(c.pid_lock, Some(PathBuf::from("etc/pid.lock")));
        assert_eq!(c.unix_socket.path, Some(PathBuf::from("app.socket")));
        assert_eq!(c.unix_socket.mode, Some(0o600));
        assert!(c.warnings.iter().any(|w| w.contains("[Elsewhere]")), "{:?}", c.warnings);
    }

    #[test]
    fn the_example_ring_configs_parse() {
        for text in [
            include_str!("../../../deploy/ring/node1.config.ini"),
            include_str!("../../../deploy/ring/node2.config.ini"),
            include_str!("../../../deploy/ring/node3.config.ini"),
        ] {
            let ring = DhtNodeConfig::from_ini_str(text).unwrap().ring.expect("the ring is on");
            assert_eq!((ring.replicas, ring.virtual_nodes), (3, 512));
        }
        let seeded = DhtNodeConfig::from_ini_str(include_str!("../../../deploy/ring/node2.config.ini")).unwrap();
        assert_eq!(seeded.ring.unwrap().seed.as_deref(), Some("127.0.0.1:20000"));
        assert!(DhtNodeConfig::from_ini_str(EMBEDDED_DEFAULT_INI).unwrap().ring.is_none(), "off by default");
    }

    #[test]
    fn the_dump_section_sets_the_period_and_refuses_unknown_keys() {
        let c = DhtNodeConfig::from_ini_str(&minimal("", "[Dump]\nperiod_s = 300\n")).unwrap();
        assert_eq!(c.dump.period_s, 300);
        assert_eq!(DhtNodeConfig::from_ini_str(&minimal("", "")).unwrap().dump.period_s, 0);
        let error = DhtNodeConfig::from_ini_str(&minimal("", "[Dump]\nperiod = 1\n")).unwrap_err().to_string();
        assert!(error.contains("Dump.period"), "{error}");
    }

    #[test]
    fn a_missing_mandatory_key_is_named() {
        let text = minimal("", "").replace("address = 127.0.0.1\n", "");
        assert_eq!(error_of(&text), "mandatory configuration key Server.address is not set");
        let text = minimal("", "").replace("unix_socket_path = dhtnode.socket\n", "");
        assert!(error_of(&text).contains("Server.unix_socket_path"));
        assert!(error_of("").contains("Server.address"));
    }

    #[test]
    fn bad_minval_and_maxval_are_refused() {
        for bad in ["0x000000000000000", "0x00000000000000000", "0X0000000000000000", "000000000000000g", "0x", ""] {
            let text = minimal("", "").replace("minval = 0x0000000000000000", &format!("minval = {bad}"));
            let error = error_of(&text);
            if bad.is_empty() {
                assert!(error.contains("Server.minval is not set"), "{error}");
            } else {
                assert!(error.contains("Server.minval") && error.contains(bad), "{error}");
            }
        }
        let text = minimal("", "").replace("0xffffffffffffffff", "0xfffffffffffffff");
        let error = error_of(&text);
        assert!(error.contains("Server.maxval (line 5) has invalid value '0xfffffffffffffff'"), "{error}");
    }

    #[test]
    fn hash_bounds_accept_both_cases_and_no_prefix() {
        let text = minimal("", "")
            .replace("minval = 0x0000000000000000", "minval = 00000000000000Ab")
            .replace("maxval = 0xffffffffffffffff", "maxval = 0xFFFFFFFFFFFFFFFF");
        let c = DhtNodeConfig::from_ini_str(&text).unwrap();
        assert_eq!((c.server.minval, c.server.maxval), (0xab, u64::MAX));
    }

    #[test]
    fn hash_range_must_be_ordered_unless_empty() {
        let swap = |min: &str, max: &str| {
            minimal("", "")
                .replace("minval = 0x0000000000000000", &format!("minval = {min}"))
                .replace("maxval = 0xffffffffffffffff", &format!("maxval = {max}"))
        };
        let error = error_of(&swap("0x0000000000000002", "0x0000000000000001"));
        assert!(error.starts_with("invalid hash range"), "{error}");
        let c = DhtNodeConfig::from_ini_str(&swap("0xffffffffffffffff", "0x0000000000000000")).unwrap();
        assert!(c.server.hash_range_is_empty());
    }

    #[test]
    fn port_must_leave_room_for_the_neo_port() {
        let c = DhtNodeConfig::from_ini_str(&minimal("", "").replace("port = 10000", "port = 65435")).unwrap();
        assert_eq!(c.server.neo_port(), 65535);
        let error = error_of(&minimal("", "").replace("port = 10000", "port = 65436"));
        assert!(error.contains("Server.port") && error.contains("65436") && error.contains("65435"), "{error}");
        let error = error_of(&minimal("", "").replace("port = 10000", "port = 70000"));
        assert!(error.contains("Server.port"), "{error}");
        let error = error_of(&minimal("", "").replace("port = 10000", "port = ten"));
        assert!(error.contains("'ten'"), "{error}");
    }

    #[test]
    fn values_follow_ocean_conversions() {
        let c = DhtNodeConfig::from_ini_str(&minimal(
            "connection_limit = 0x10\nbacklog = +7",
            "[Options_Memory]\nlock_memory = off\ndisable_direct_io = enabled\nsize_limit = 0b101\n",
        ))
        .unwrap();
        assert_eq!(c.server.connection_limit, 16);
        assert_eq!(c.server.backlog, 7);
        assert!(!c.memory.lock_memory);
        assert!(c.memory.disable_direct_io);
        assert_eq!(c.memory.size_limit, 5);
        for (key, value) in [
            ("lock_memory", "True"),
            ("lock_memory", "y"),
            ("size_limit", "-1"),
            ("size_limit", "1k"),
            ("batch_size", "1023"),
            ("allow_out_of_range", "Load"),
            ("bnum", "4294967296"),
        ] {
            let error = error_of(&minimal("", &format!("[Options_Memory]\n{key} = {value}\n")));
            assert!(error.contains(&format!("Options_Memory.{key}")) && error.contains(value), "{error}");
        }
    }

    #[test]
    fn allow_out_of_range_is_an_enum() {
        for (text, expected) in
            [("load", AllowOutOfRange::Load), ("fatal", AllowOutOfRange::Fatal), ("ignore", AllowOutOfRange::Ignore)]
        {
            let c = DhtNodeConfig::from_ini_str(&minimal("", &format!("[Options_Memory]\nallow_out_of_range = {text}\n")))
                .unwrap();
            assert_eq!(c.memory.allow_out_of_range, expected);
            assert_eq!(expected.as_str(), text);
        }
    }

    #[test]
    fn log_sections() {
        let c = DhtNodeConfig::from_ini_str(&minimal(
            "",
            "[LOG]\nbuffer_size = 4096\n[LOG.root]\nlevel = DEBUG\n\
             [LOG.dhtnode.storage]\nlevel = warn\nfile = log/storage.log\nfile_layout = LayoutSimple\n\
             console = no\nadditive = yes\n",
        ))
        .unwrap();
        assert_eq!(c.log.buffer_size, 4096);
        let root = c.log.root.as_ref().unwrap();
        assert_eq!(root.level, Some(LogLevel::Trace));
        assert_eq!(root.console, None);
        let storage = &c.log.loggers["dhtnode.storage"];
        assert_eq!(storage.level, Some(LogLevel::Warn));
        assert_eq!(storage.file_layout, LogLayout::Simple);
        assert_eq!(storage.console, Some(false));
        assert!(storage.is_additive());
        let error = error_of(&minimal("", "[LOG.Root]\nlevel = verbose\n"));
        assert!(error.contains("LOG.Root.level") && error.contains("verbose"), "{error}");
        let error = error_of(&minimal("", "[LOG.Root]\nfile_layout = fancy\n"));
        assert!(error.contains("LOG.Root.file_layout"), "{error}");
    }

    #[test]
    fn continuation_lines_and_comments_in_a_node_config() {
        let text = minimal(
            "",
            "; comment\n# comment\n// comment\n[STATS]\nfile_name =\n    log/\n[Performance]\nwrite_flush_ms = 5 ; inline\n",
        );
        // A continuation line makes a multi-line value; in a number that is
        // an error, in a path it is the path split over lines.
        let error = error_of(&text);
        assert!(error.contains("Performance.write_flush_ms") && error.contains("5 ; inline"), "{error}");
        let c = DhtNodeConfig::from_ini_str(&text.replace(" ; inline", "")).unwrap();
        assert_eq!(c.stats.file_name, PathBuf::from("log/"));
        assert_eq!(c.performance.write_flush_ms, 5);
        let error = error_of(&minimal("", "[Performance]\nwrite_flush_ms = 5\n  6\n"));
        assert!(error.contains("'5\\n6'"), "{error}");
    }

    #[test]
    fn overrides_set_add_and_remove() {
        let text = minimal("", "");
        let c = DhtNodeConfig::from_ini_str_with(
            &text,
            &["Server.port=12345".into(), "LOG.Root.level = warn".into(), "Server.data_dir=".into()],
            false,
        )
        .unwrap();
        assert_eq!(c.server.port, 12345);
        assert_eq!(c.log.root.unwrap().level, Some(LogLevel::Warn));
        assert_eq!(c.server.data_dir, PathBuf::from("data"));
        let error = DhtNodeConfig::from_ini_str_with(&text, &["Server.address=".into()], false).unwrap_err();
        assert!(error.to_string().contains("Server.address is not set"));
        let error = DhtNodeConfig::from_ini_str_with(&text, &["Server.neoport=1".into()], false).unwrap_err();
        assert_eq!(error.to_string(), "invalid configuration key Server.neoport");
        let error = DhtNodeConfig::from_ini_str_with(&text, &["port=1".into()], false).unwrap_err();
        assert!(matches!(error, ConfigError::Override { .. }), "{error}");
    }

    #[test]
    fn apply_override_edits_a_document() {
        let mut document = super::super::ini::parse(&minimal("", ""));
        apply_override(&mut document, "Server.port = 1").unwrap();
        assert_eq!(document.get("Server", "port"), Some("1"));
        assert!(apply_override(&mut document, "nonsense").is_err());
    }

    #[test]
    fn load_reports_the_file_and_errors_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.ini");
        let error = DhtNodeConfig::load(&missing, &[]).unwrap_err().to_string();
        assert!(error.contains("none.ini") && !error.contains('\n'), "{error}");
        let bad = dir.path().join("bad.ini");
        std::fs::write(&bad, b"[Server]\naddress = \xff\n").unwrap();
        let error = DhtNodeConfig::load(&bad, &[]).unwrap_err().to_string();
        assert!(error.contains("bad.ini") && error.contains("line 2"), "{error}");
        let good = dir.path().join("config.ini");
        std::fs::write(&good, EXAMPLE).unwrap();
        let c = DhtNodeConfig::load(&good, &["Server.port=1".into()]).unwrap();
        assert_eq!(c.server.port, 1);
    }

    #[test]
    fn integer_syntax() {
        assert_eq!(parse_integer("42"), Some(42));
        assert_eq!(parse_integer("-42"), Some(-42));
        assert_eq!(parse_integer("0x1F"), Some(31));
        assert_eq!(parse_integer("0o17"), Some(15));
        assert_eq!(parse_integer("0B11"), Some(3));
        assert_eq!(parse_integer("0"), Some(0));
        for bad in ["", "-", "0x", "1 2", "++1", "1.5", "0x1g", " 1"] {
            assert_eq!(parse_integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn boolean_spellings() {
        for t in ["true", "enabled", "on", "yes", "1"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["false", "disabled", "off", "no", "0"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        for bad in ["TRUE", "Yes", "2", ""] {
            assert_eq!(parse_bool(bad), None);
        }
    }
}
