//! The dhtdump configuration: the sections and keys the original dhtdump
//! reads, typed, with its defaults and its strictness, so that an operator's
//! existing `dump/etc/config.ini` works unchanged.
//!
//! Strict sections (an unknown key is an error, as in the original):
//! `[Dht]`, `[Dump]`, `[Stats]`, `[STATS]`, `[LOG]` and every `[LOG.<name>]`.
//! `[Stats]` is a leftover of the original: it is filled with the stats-log
//! keys and then never used (the stats writer really reads `[STATS]`); it is
//! checked the same way and otherwise ignored here too. `[PidLock]`,
//! `[VERSION]` and `[UNIX_SOCKET]` are read loosely, any other section is
//! ignored with a warning. The value syntax is the one of
//! [`dht`](super::dht): ocean's booleans and integers.

use std::path::{Path, PathBuf};

use super::dht::{assemble, Reader, STATS_KEYS};
use super::ini::IniDocument;
use super::{ConfigError, LogConfig, StatsConfig};

/// The whole configuration of a dhtdump process.
#[derive(Debug, Clone, PartialEq)]
pub struct DhtDumpConfig {
    /// `[Dht]`: the node whose channels are dumped.
    pub dht: DhtTarget,
    /// `[Dump]`: where the files go and how often.
    pub dump: DumpCycleConfig,
    /// `[STATS]`: the stats.log writer (cyclic mode only, like the original).
    pub stats: StatsConfig,
    /// `[LOG]` and `[LOG.<logger>]`: where log lines go.
    pub log: LogConfig,
    /// `[PidLock] path`: refuse to run twice in one place; `None` when not
    /// configured.
    pub pid_lock: Option<PathBuf>,
    /// Things that are accepted but look like mistakes, one line each, for
    /// logging once logging is up.
    pub warnings: Vec<String>,
}

/// `[Dht]`: the node to dump, reached over the legacy protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtTarget {
    /// `address` (mandatory): the node's address.
    pub address: String,
    /// `port` (mandatory): the node's **legacy** port (not the neo port).
    pub port: u16,
}

/// `[Dump]`: the dump cycle's settings, with the original's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpCycleConfig {
    /// `data_dir` (default `data`): where `<channel>.tcm` files are written;
    /// it must exist.
    pub data_dir: PathBuf,
    /// `period_s` (default 14400, at least 1): seconds between the starts of
    /// two cycles; also the bound of the randomized initial wait.
    pub period_s: u64,
    /// `min_wait_s` (default 60): the shortest pause after a cycle, however
    /// long it took.
    pub min_wait_s: u64,
    /// `retry_wait_s` (default 30): the pause after a cycle with an error.
    pub retry_wait_s: u64,
    /// `disable_direct_io` (default false): accepted for compatibility;
    /// shoal always writes dumps through the page cache and fsyncs them.
    pub disable_direct_io: bool,
}

impl Default for DumpCycleConfig {
    fn default() -> Self {
        DumpCycleConfig {
            data_dir: PathBuf::from("data"),
            period_s: 4 * 60 * 60,
            min_wait_s: 60,
            retry_wait_s: 30,
            disable_direct_io: false,
        }
    }
}

const DHT_KEYS: &[&str] = &["address", "port"];
const DUMP_KEYS: &[&str] = &["data_dir", "period_s", "min_wait_s", "retry_wait_s", "disable_direct_io"];

impl DhtDumpConfig {
    /// Reads a config text (strictly, without overrides); for tests.
    pub fn from_ini_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_ini_str_with(text, &[], false)
    }

    /// Reads a config text with `-O` overrides; `loose` is
    /// `--loose-config-parsing` (unknown keys become warnings).
    pub fn from_ini_str_with(text: &str, overrides: &[String], loose: bool) -> Result<Self, ConfigError> {
        Self::from_document(&assemble(text, overrides)?, loose)
    }

    /// Reads the config file at `path`, then applies the `-O` overrides
    /// (`Section.key=value`; an empty value removes the key), strictly.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::load_with(path, overrides, false)
    }

    /// [`load`](Self::load) with the choice of loose parsing.
    pub fn load_with(path: &Path, overrides: &[String], loose: bool) -> Result<Self, ConfigError> {
        let text = super::read_config_text(path)?;
        Self::from_ini_str_with(&text, overrides, loose)
    }

    /// Types and checks an already assembled document.
    pub fn from_document(document: &IniDocument, loose: bool) -> Result<Self, ConfigError> {
        let mut warnings: Vec<String> = document.warnings.iter().map(|w| w.to_string()).collect();
        let mut reader = Reader { document, loose, warnings: &mut warnings };

        reader.check_keys("Dht", DHT_KEYS)?;
        let s = reader.section("Dht");
        let dht = DhtTarget {
            address: s.required("address")?.to_string(),
            port: s.required_integer("port", 0, u64::from(u16::MAX))? as u16,
        };

        reader.check_keys("Dump", DUMP_KEYS)?;
        let s = reader.section("Dump");
        let defaults = DumpCycleConfig::default();
        let max = u64::from(u32::MAX); // the original's fields are uint
        let dump = DumpCycleConfig {
            data_dir: s.string("data_dir").map_or(defaults.data_dir, PathBuf::from),
            period_s: s.integer("period_s", defaults.period_s, max)?,
            min_wait_s: s.integer("min_wait_s", defaults.min_wait_s, max)?,
            retry_wait_s: s.integer("retry_wait_s", defaults.retry_wait_s, max)?,
            disable_direct_io: s.boolean("disable_direct_io", defaults.disable_direct_io)?,
        };
        if dump.period_s == 0 {
            // The original divides by it for the initial wait.
            return Err(s.bad("period_s", "must be at least 1 second"));
        }
        if dump.data_dir.as_os_str().is_empty() {
            return Err(s.bad("data_dir", "must not be empty"));
        }

        // [Stats]: checked like the original (same keys as [STATS]), unused.
        reader.check_keys("Stats", STATS_KEYS)?;
        reader.section("Stats").integer("interval", 30, u64::MAX)?;

        let stats = reader.stats()?;
        let log = reader.log()?;
        let pid_lock = reader.section("PidLock").string("path").map(PathBuf::from);

        reader.warn_unused_sections("dhtdump", &["Dht", "Dump", "Stats", "STATS", "LOG"]);
        if document.get("UNIX_SOCKET", "path").is_some() {
            warnings.push("UNIX_SOCKET.path: dhtdump has no control socket; ignored".to_string());
        }
        Ok(DhtDumpConfig { dht, dump, stats, log, pid_lock, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our example config (deploy/dhtdump.config.ini).
    const EXAMPLE: &str = include_str!("../../../deploy/dhtdump.config.ini");

    /// The keys and values of the original's doc/etc/dhtdump.config.ini.
    const ORIGINAL_DOC_CONFIG: &str = "\
[Dht]
address = 127.0.0.1
port = 10000

[Dump]
data_dir = data
period_s = 21600
min_wait_s = 60
retry_wait_s = 30
disable_direct_io = false

[LOG.Root]
level = trace
propagate = true
console = true
file = log/root.log
";

    fn error_of(text: &str) -> String {
        DhtDumpConfig::from_ini_str(text).expect_err("config is refused").to_string()
    }

    #[test]
    fn the_original_doc_config_parses() {
        let config = DhtDumpConfig::from_ini_str(ORIGINAL_DOC_CONFIG).unwrap();
        assert_eq!(config.dht, DhtTarget { address: "127.0.0.1".into(), port: 10000 });
        assert_eq!(config.dump.period_s, 21600);
        assert_eq!(config.dump.data_dir, PathBuf::from("data"));
        assert_eq!(config.stats.interval, 30);
        assert_eq!(config.stats.file_name, PathBuf::from("log/stats.log"));
        assert!(config.log.root.is_some());
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn the_example_config_parses() {
        let config = DhtDumpConfig::from_ini_str(EXAMPLE).unwrap();
        assert_eq!(config.dht.port, 10000);
        assert_eq!(config.dump.data_dir, PathBuf::from("../data"));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn defaults_match_the_original() {
        let config = DhtDumpConfig::from_ini_str("[Dht]\naddress = ::1\nport = 1\n").unwrap();
        assert_eq!(config.dump, DumpCycleConfig::default());
        assert_eq!(config.dump.period_s, 14400);
        assert_eq!(config.dump.min_wait_s, 60);
        assert_eq!(config.dump.retry_wait_s, 30);
        assert!(!config.dump.disable_direct_io);
        assert_eq!(config.pid_lock, None);
    }

    #[test]
    fn strict_sections_refuse_unknown_keys() {
        let base = "[Dht]\naddress = 127.0.0.1\nport = 10000\n";
        for (section, key) in [("Dht", "neoport"), ("Dump", "period"), ("Stats", "intervall"), ("STATS", "x"), ("LOG.Root", "colour")] {
            let text = format!("{base}[{section}]\n{key} = 1\n");
            let message = error_of(&text);
            assert!(message.contains(&format!("invalid configuration key {section}.{key}")), "{message}");
            assert!(!message.contains('\n'));
        }
        // Loose parsing turns them into warnings.
        let config = DhtDumpConfig::from_ini_str_with(&format!("{base}[Dump]\nperiod = 1\n"), &[], true).unwrap();
        assert_eq!(config.warnings.len(), 1);
    }

    #[test]
    fn mandatory_keys_and_bad_values_are_named() {
        assert!(error_of("[Dht]\nport = 1\n").contains("Dht.address"));
        assert!(error_of("[Dht]\naddress = a\n").contains("Dht.port"));
        assert!(error_of("[Dht]\naddress = a\nport = 70000\n").contains("Dht.port"));
        let base = "[Dht]\naddress = a\nport = 1\n";
        assert!(error_of(&format!("{base}[Dump]\nperiod_s = 0\n")).contains("Dump.period_s"));
        assert!(error_of(&format!("{base}[Dump]\nmin_wait_s = soon\n")).contains("Dump.min_wait_s"));
        assert!(error_of(&format!("{base}[Dump]\ndisable_direct_io = maybe\n")).contains("Dump.disable_direct_io"));
    }

    #[test]
    fn overrides_apply() {
        let overrides = ["Dump.period_s=1".to_string(), "Dht.port=10010".to_string()];
        let config = DhtDumpConfig::from_ini_str_with(ORIGINAL_DOC_CONFIG, &overrides, false).unwrap();
        assert_eq!(config.dump.period_s, 1);
        assert_eq!(config.dht.port, 10010);
    }

    #[test]
    fn other_sections_are_ignored_with_a_warning() {
        let config = DhtDumpConfig::from_ini_str("[Dht]\naddress = a\nport = 1\n[Server]\nport = 3\n").unwrap();
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].contains("[Server]"));
    }
}
