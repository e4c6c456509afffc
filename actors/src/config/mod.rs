//! Reading the original dhtnode's `config.ini`, unchanged.
//!
//! Operators keep the config files they already have, so this module
//! accepts exactly what the original accepts and refuses what it refuses:
//!
//! - [`ini`] parses ocean's ini dialect and plugs it into the `config` crate
//!   (the crate assembles the file and the `-O` overrides);
//! - [`dht`] turns the sections into a typed [`DhtNodeConfig`], strictly:
//!   an unknown key in a section the node reads, a missing mandatory key or
//!   a malformed value is a [`ConfigError`] naming `Section.key`;
//! - [`dhtdump`] does the same for the dhtdump sidecar's config
//!   ([`DhtDumpConfig`]).
//!
//! Every error displays as one line, so `dhtnode` can print it and exit, as
//! the original does.

pub mod dht;
pub mod dhtdump;
pub mod dls;
pub mod dmq;
pub mod ini;

use std::path::PathBuf;

pub use dht::{
    AllowOutOfRange, DhtNodeConfig, DumpConfig, LogConfig, LogLayout, LogLevel, LoggerConfig, MemoryConfig,
    PerformanceConfig, RingConfig, ServerConfig, StatsConfig, UnixSocketConfig, VersionConfig,
    EMBEDDED_DEFAULT_INI,
};
pub use dhtdump::{DhtDumpConfig, DhtTarget, DumpCycleConfig};
pub use dls::{DlsNodeConfig, DlsPerformanceConfig, DlsServerConfig};
pub use dmq::{DmqNodeConfig, DmqServerConfig};
pub use ini::{IniDocument, IniError, OceanIni, Override, Overrides};

/// A node's configuration read from the original's config.ini: the
/// reading and the `-O` overrides are the same for every node kind; each
/// types and checks its own sections in [`FromIni::from_document`].
pub trait FromIni: Sized {
    /// Types and checks an assembled document; `loose` turns unknown keys
    /// into warnings (`--loose-config-parsing`).
    fn from_document(document: &IniDocument, loose: bool) -> Result<Self, ConfigError>;

    /// Reads a config text strictly, without overrides (tests).
    fn from_ini_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_document(&dht::assemble(text, &[])?, false)
    }

    /// Reads the config file at `path`, then applies the `-O` overrides.
    fn load_with(path: &std::path::Path, overrides: &[String], loose: bool) -> Result<Self, ConfigError> {
        let text = read_config_text(path)?;
        Self::from_document(&dht::assemble(&text, overrides)?, loose)
    }
}

/// Why a configuration cannot be used; the node refuses to start with it.
///
/// The `Display` form is a single line that names the file, the
/// `Section.key` and the offending value where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file as given.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The config file is not text.
    #[error("config file {}: {source}", path.display())]
    Syntax {
        /// The file as given.
        path: PathBuf,
        /// Where and what.
        source: IniError,
    },
    /// A `-O Section.key=value` argument is malformed.
    #[error("invalid config override '{argument}': {reason}")]
    Override {
        /// The argument as given.
        argument: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key the node does not know, in a section the node reads (the
    /// original's "Invalid configuration key" error; `neoport` is the usual
    /// culprit).
    #[error("invalid configuration key {section}.{key}{}", at_line(*line))]
    UnknownKey {
        /// Section name.
        section: String,
        /// Key name.
        key: String,
        /// Line in the file, unless the key came from an override.
        line: Option<usize>,
    },
    /// A mandatory key is missing.
    #[error("mandatory configuration key {section}.{key} is not set")]
    Missing {
        /// Section name.
        section: String,
        /// Key name.
        key: String,
    },
    /// A value that cannot be used for its key.
    #[error(
        "configuration key {section}.{key}{} has invalid value '{}': {reason}",
        at_line(*line),
        value.escape_debug()
    )]
    BadValue {
        /// Section name.
        section: String,
        /// Key name.
        key: String,
        /// The value as written.
        value: String,
        /// What is expected instead.
        reason: String,
        /// Line in the file, unless the value came from an override.
        line: Option<usize>,
    },
    /// `[Server] minval`/`maxval` do not form a range.
    #[error(
        "invalid hash range Server.minval 0x{min:016x} .. Server.maxval 0x{max:016x}: \
         minval must not be above maxval (except for the empty range \
         0xffffffffffffffff .. 0x0000000000000000)"
    )]
    HashRange {
        /// The configured minval.
        min: u64,
        /// The configured maxval.
        max: u64,
    },
    /// The `config` crate could not assemble the sources.
    #[error("cannot assemble configuration: {0}")]
    Assemble(#[from] config::ConfigError),
}

/// Reads a config file as text; errors name the file.
pub(crate) fn read_config_text(path: &std::path::Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        source: ini::parse_bytes(e.as_bytes()).expect_err("not UTF-8"),
    })
}

/// ` (line N)` when the line is known.
fn at_line(line: Option<usize>) -> String {
    match line {
        Some(line) => format!(" (line {line})"),
        None => String::new(),
    }
}
