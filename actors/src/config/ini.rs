//! The ini dialect of ocean's config parser, which is what every swarm
//! node's `config.ini` is written in, plugged into the `config` crate.
//!
//! # The dialect
//!
//! Every line is trimmed first; then, in this order:
//!
//! - an empty line is skipped;
//! - a line starting with `;`, `#` or `//` is a comment (only whole lines:
//!   a `;` after a value is part of the value);
//! - a line starting with `[` opens a section; the name is what lies between
//!   `[` and the first `]` (or the end of the line when there is no `]`),
//!   trimmed. A section may be opened several times; its keys merge;
//! - a line containing `=` is `key = value`, split at the first `=`, both
//!   sides trimmed;
//! - any other line continues the value of the previous key: it is appended
//!   after a newline (multi-line values, used for lists). When the key line
//!   itself had an empty value, the first continuation line becomes the value
//!   without a leading newline.
//!
//! Section and key names are case-sensitive. A key given twice keeps the
//! last value. A key whose value ends up empty (`key =` with no continuation)
//! is treated as absent, exactly as the original does: `file =` means "no
//! file", not "a file with an empty name".
//!
//! The original silently drops keys written before the first section and
//! continuation lines that follow a section header directly. We accept such
//! files too (a config the original starts with must start shoal), but record
//! a [`IniWarning`] with the line number so that the node can log it.
//!
//! # How it plugs into the `config` crate
//!
//! [`OceanIni`] implements [`config::Format`] (and [`config::FileStoredFormat`]
//! for the `.ini` extension), so `config::Config::builder()` assembles the
//! sources: the file, then the `-O` command line overrides ([`Overrides`],
//! a [`config::Source`]). Two properties of the crate forced one detail of
//! the layout:
//!
//! - the crate reads every *top-level* key of a source as a path expression,
//!   splitting it at dots, so a section called `LOG.Root` would turn into a
//!   table `LOG` holding a table `Root`, indistinguishable from a key `Root`
//!   in `[LOG]`. Keys *inside* a table value are merged literally, though.
//!   So the format returns a single top-level table, `sections`, whose keys
//!   are the section names exactly as written (dots and case intact);
//! - the crate keeps the case of keys (0.15 no longer lowercases them), so
//!   case-sensitivity needs nothing special.
//!
//! Next to `sections` the format returns `lines` (same shape, holding the
//! line number of each value, so that errors found later can point at the
//! line) and `warnings`. [`IniDocument::from_config`] turns the assembled
//! [`config::Config`] back into an [`IniDocument`]. All values stay strings:
//! the conversions (booleans, integers with `0x` prefixes, …) follow ocean's
//! rules, not the crate's, and are done in [`super::dht`].

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

use config::{Map, Value, ValueKind};

/// Top-level key under which [`OceanIni`] puts the sections.
const SECTIONS: &str = "sections";
/// Top-level key under which [`OceanIni`] puts the line numbers.
const LINES: &str = "lines";
/// Top-level key under which [`OceanIni`] puts the warnings.
const WARNINGS: &str = "warnings";

/// One value of a config file, with where it came from, so that a bad value
/// can be reported with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniValue {
    /// The value, trimmed; lines of a multi-line value are joined with `\n`.
    pub value: String,
    /// 1-based line of the `key = ...` line; `None` for values that came from
    /// a command line override.
    pub line: Option<usize>,
}

/// Something the original accepts silently but which is most likely a
/// mistake; kept so that the node can log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniWarning {
    /// 1-based line number.
    pub line: usize,
    /// What is odd about the line.
    pub message: String,
}

impl fmt::Display for IniWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why a config text cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    /// The file is not UTF-8 (ocean reads bytes, but every value we use is
    /// ASCII, so a non-UTF-8 file is a corrupted file).
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 {
        /// 1-based line holding the first invalid byte.
        line: usize,
    },
    /// The assembled configuration did not have the shape [`OceanIni`]
    /// produces (only possible when foreign sources are mixed in).
    #[error("unexpected configuration layout: {0}")]
    Layout(String),
}

/// A parsed config file: sections of keys, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IniDocument {
    /// Section name → key → value. Names are case-sensitive and kept as
    /// written (`LOG.Root` is one section name).
    pub sections: BTreeMap<String, BTreeMap<String, IniValue>>,
    /// Lines the original would silently ignore.
    pub warnings: Vec<IniWarning>,
}

/// Where the parser is: the open section and key, and the value so far.
#[derive(Default)]
struct Pending {
    section: Option<String>,
    key: Option<(String, usize)>,
    value: String,
    /// True while the value is empty because the key line had no value:
    /// the next continuation line then starts the value without a newline.
    first_line_of_value: bool,
}

/// Parses a config text. Never fails: every line of the dialect has a
/// meaning (see the module documentation); oddities become warnings.
pub fn parse(text: &str) -> IniDocument {
    let mut document = IniDocument::default();
    let mut pending = Pending::default();
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            document.save(&mut pending);
            let name = match rest.find(']') {
                Some(end) => &rest[..end],
                None => {
                    document.warn(line_number, format!("section header `{line}` has no closing `]`"));
                    rest
                }
            };
            let name = name.trim();
            if name.is_empty() {
                document.warn(line_number, "empty section name; its keys are ignored".to_string());
            }
            pending.section = Some(name.to_string());
            pending.key = None;
            pending.value.clear();
        } else if let Some(equals) = line.find('=') {
            document.save(&mut pending);
            let key = line[..equals].trim();
            let value = line[equals + 1..].trim();
            match &pending.section {
                None => document.warn(
                    line_number,
                    format!("`{key}` is outside any [section] and is ignored"),
                ),
                Some(section) if section.is_empty() => {}
                Some(_) if key.is_empty() => {
                    document.warn(line_number, "a value without a key is ignored".to_string())
                }
                Some(_) => {}
            }
            pending.key = Some((key.to_string(), line_number));
            pending.value.clear();
            pending.value.push_str(value);
            pending.first_line_of_value = value.is_empty();
        } else {
            if pending.key.is_none() {
                let message = if pending.section.is_none() {
                    format!("`{line}` is outside any [section] and is ignored")
                } else {
                    format!("`{line}` has no `=` and follows no key; it is ignored")
                };
                document.warn(line_number, message);
            }
            if !pending.first_line_of_value {
                pending.value.push('\n');
            }
            pending.value.push_str(line);
            pending.first_line_of_value = false;
        }
    }
    document.save(&mut pending);
    document
}

/// Parses raw bytes (a file as read from disk), reporting the line of the
/// first invalid byte when it is not UTF-8.
pub fn parse_bytes(bytes: &[u8]) -> Result<IniDocument, IniError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(parse(text)),
        Err(error) => {
            let line = bytes[..error.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(IniError::NotUtf8 { line })
        }
    }
}

impl IniDocument {
    /// Stores the pending key, when there is one with a non-empty value in a
    /// named section (the original's rule for what gets kept).
    fn save(&mut self, pending: &mut Pending) {
        if let (Some(section), Some((key, line))) = (&pending.section, &pending.key) {
            if !section.is_empty() && !key.is_empty() && !pending.value.is_empty() {
                self.sections.entry(section.clone()).or_default().insert(
                    key.clone(),
                    IniValue { value: std::mem::take(&mut pending.value), line: Some(*line) },
                );
            }
        }
        pending.key = None;
        pending.value.clear();
        pending.first_line_of_value = false;
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(IniWarning { line, message });
    }

    /// The value of `section.key`, if set.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(|v| v.value.as_str())
    }

    /// The line of `section.key`, when it came from a file.
    pub fn line_of(&self, section: &str, key: &str) -> Option<usize> {
        self.sections.get(section)?.get(key)?.line
    }

    /// Sets `section.key` (as a command line override does); an empty value
    /// removes the key, as in the original.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        if value.is_empty() {
            if let Some(keys) = self.sections.get_mut(section) {
                keys.remove(key);
                if keys.is_empty() {
                    self.sections.remove(section);
                }
            }
        } else {
            self.sections
                .entry(section.to_string())
                .or_default()
                .insert(key.to_string(), IniValue { value: value.to_string(), line: None });
        }
    }

    /// The document as the `config` crate source map (see the module
    /// documentation for the layout).
    pub fn to_config_map(&self, origin: Option<&String>) -> Map<String, Value> {
        let mut sections = Map::new();
        let mut lines = Map::new();
        for (section, keys) in &self.sections {
            let mut values = Map::new();
            let mut numbers = Map::new();
            for (key, value) in keys {
                values.insert(key.clone(), Value::new(origin, value.value.clone()));
                let line = match value.line {
                    Some(line) => ValueKind::U64(line as u64),
                    None => ValueKind::Nil,
                };
                numbers.insert(key.clone(), Value::new(origin, line));
            }
            sections.insert(section.clone(), Value::new(origin, ValueKind::Table(values)));
            lines.insert(section.clone(), Value::new(origin, ValueKind::Table(numbers)));
        }
        let warnings: Vec<Value> =
            self.warnings.iter().map(|w| Value::new(origin, w.to_string())).collect();
        let mut root = Map::new();
        root.insert(SECTIONS.to_string(), Value::new(origin, ValueKind::Table(sections)));
        root.insert(LINES.to_string(), Value::new(origin, ValueKind::Table(lines)));
        root.insert(WARNINGS.to_string(), Value::new(origin, ValueKind::Array(warnings)));
        root
    }

    /// Reads back what `config::Config::builder()` assembled from
    /// [`OceanIni`] sources and [`Overrides`]. Keys set to nil (removed by an
    /// override) are left out.
    pub fn from_config(config: &config::Config) -> Result<Self, IniError> {
        let layout = |e: config::ConfigError| IniError::Layout(e.to_string());
        let mut document = IniDocument::default();
        let sections = match config.get_table(SECTIONS) {
            Ok(sections) => sections,
            Err(config::ConfigError::NotFound(_)) => Map::new(),
            Err(e) => return Err(layout(e)),
        };
        let lines = config.get_table(LINES).unwrap_or_default();
        for (section, keys) in sections {
            let keys = keys.into_table().map_err(layout)?;
            let section_lines = lines.get(&section).cloned().and_then(|v| v.into_table().ok());
            let mut values = BTreeMap::new();
            for (key, value) in keys {
                if matches!(value.kind, ValueKind::Nil) {
                    continue;
                }
                let value = value.into_string().map_err(layout)?;
                if value.is_empty() {
                    continue;
                }
                let line = section_lines
                    .as_ref()
                    .and_then(|l| l.get(&key).cloned())
                    .and_then(|v| v.into_uint().ok())
                    .map(|n| n as usize);
                values.insert(key, IniValue { value, line });
            }
            if !values.is_empty() {
                document.sections.insert(section, values);
            }
        }
        if let Ok(warnings) = config.get_array(WARNINGS) {
            for warning in warnings {
                let text = warning.into_string().map_err(layout)?;
                let (line, message) = split_warning(&text);
                document.warnings.push(IniWarning { line, message });
            }
        }
        Ok(document)
    }
}

/// Splits `line N: message` back into its parts (warnings travel through the
/// `config` crate as strings).
fn split_warning(text: &str) -> (usize, String) {
    text.strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(n, m)| Some((n.parse().ok()?, m.to_string())))
        .unwrap_or((0, text.to_string()))
}

/// ocean's ini dialect as a `config` crate format.
#[derive(Debug, Clone, Copy, Default)]
pub struct OceanIni;

impl config::Format for OceanIni {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn StdError + Send + Sync>> {
        Ok(parse(text).to_config_map(uri))
    }
}

impl config::FileStoredFormat for OceanIni {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["ini"]
    }
}

/// One `-O Section.key=value` command line override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Section name: everything before the *last* dot of the left side, so
    /// `LOG.Root.level=info` targets section `LOG.Root`.
    pub section: String,
    /// Key name.
    pub key: String,
    /// New value; empty means "remove the key".
    pub value: String,
}

impl Override {
    /// Parses `Section.key=value` the way the original does: split at the
    /// first `=`, the left side at its last `.`, every part trimmed; the
    /// section and the key must not be empty, the value may be.
    pub fn parse(argument: &str) -> Result<Self, String> {
        let argument = argument.trim();
        if argument.is_empty() {
            return Err("an override can't be empty".to_string());
        }
        let Some((left, value)) = argument.split_once('=') else {
            return Err(format!("no '=' in config override '{argument}'"));
        };
        let Some((section, key)) = left.rsplit_once('.') else {
            return Err(format!("no '.' between section and key in config override '{argument}'"));
        };
        let (section, key) = (section.trim(), key.trim());
        if section.is_empty() {
            return Err(format!("empty section in config override '{argument}'"));
        }
        if key.is_empty() {
            return Err(format!("empty key in config override '{argument}'"));
        }
        Ok(Override { section: section.to_string(), key: key.to_string(), value: value.trim().to_string() })
    }
}

/// Command line overrides as a `config` crate source, added after the file
/// so that they win. A removal is written as nil, which
/// [`IniDocument::from_config`] leaves out.
#[derive(Debug, Clone, Default)]
pub struct Overrides(pub Vec<Override>);

impl config::Source for Overrides {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let origin = "command line".to_string();
        let origin = Some(&origin);
        let mut sections: Map<String, Value> = Map::new();
        let mut lines: Map<String, Value> = Map::new();
        for o in &self.0 {
            let value = if o.value.is_empty() { ValueKind::Nil } else { ValueKind::String(o.value.clone()) };
            for (target, kind) in [(&mut sections, value), (&mut lines, ValueKind::Nil)] {
                let entry = target
                    .entry(o.section.clone())
                    .or_insert_with(|| Value::new(origin, ValueKind::Table(Map::new())));
                if let ValueKind::Table(keys) = &mut entry.kind {
                    keys.insert(o.key.clone(), Value::new(origin, kind));
                }
            }
        }
        let mut root = Map::new();
        root.insert(SECTIONS.to_string(), Value::new(origin, ValueKind::Table(sections)));
        root.insert(LINES.to_string(), Value::new(origin, ValueKind::Table(lines)));
        Ok(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> IniDocument {
        parse(text)
    }

    #[test]
    fn sections_keys_and_trimming() {
        let d = doc("  [Server]  \n  address   =   127.0.0.1  \nport=10000\n");
        assert_eq!(d.get("Server", "address"), Some("127.0.0.1"));
        assert_eq!(d.get("Server", "port"), Some("10000"));
        assert_eq!(d.line_of("Server", "port"), Some(3));
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn comments_are_whole_lines_only() {
        let d = doc("; c\n# c\n// c\n[S]\n;k = 1\n  # k = 2\nk = 3 ; not a comment\n");
        assert_eq!(d.get("S", "k"), Some("3 ; not a comment"));
        assert_eq!(d.sections["S"].len(), 1);
    }

    #[test]
    fn continuation_lines_build_multi_line_values() {
        let d = doc("[S]\nlist = a\n   b\n c\nempty_first =\n  x\n  y\nnext = z\n");
        assert_eq!(d.get("S", "list"), Some("a\nb\nc"));
        assert_eq!(d.get("S", "empty_first"), Some("x\ny"));
        assert_eq!(d.get("S", "next"), Some("z"));
    }

    #[test]
    fn names_are_case_sensitive_and_dots_are_kept() {
        let d = doc("[LOG.Root]\nlevel = info\n[log.root]\nLevel = warn\n");
        assert_eq!(d.get("LOG.Root", "level"), Some("info"));
        assert_eq!(d.get("log.root", "Level"), Some("warn"));
        assert_eq!(d.get("LOG.Root", "Level"), None);
    }

    #[test]
    fn last_duplicate_wins_and_sections_merge() {
        let d = doc("[S]\nk = 1\nj = 1\n[T]\nx = 1\n[S]\nk = 2\n");
        assert_eq!(d.get("S", "k"), Some("2"));
        assert_eq!(d.get("S", "j"), Some("1"));
        assert_eq!(d.line_of("S", "k"), Some(7));
    }

    #[test]
    fn empty_values_are_absent() {
        let d = doc("[S]\nfile =\nother = x\n");
        assert_eq!(d.get("S", "file"), None);
        assert_eq!(d.get("S", "other"), Some("x"));
    }

    #[test]
    fn only_the_first_equals_splits() {
        let d = doc("[S]\nk = a=b\n");
        assert_eq!(d.get("S", "k"), Some("a=b"));
    }

    #[test]
    fn odd_lines_are_kept_out_with_a_warning() {
        let d = doc("k = 1\n[S]\nstray\nj = 2\n[Open\nx = 3\n");
        assert_eq!(d.get("S", "j"), Some("2"));
        assert_eq!(d.get("Open", "x"), Some("3"));
        let lines: Vec<usize> = d.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![1, 3, 5]);
    }

    #[test]
    fn crlf_line_ends() {
        let d = doc("[S]\r\nk = v\r\n");
        assert_eq!(d.get("S", "k"), Some("v"));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let error = parse_bytes(b"[S]\nk = v\nj = \xff\n").unwrap_err();
        assert_eq!(error, IniError::NotUtf8 { line: 3 });
        assert_eq!(error.to_string(), "line 3: not valid UTF-8");
    }

    #[test]
    fn round_trip_through_the_config_crate_keeps_dotted_sections() {
        let text = "[LOG]\nbuffer_size = 10\n[LOG.Root]\nlevel = info\n[LOG.a.b]\nfile = x\n[Server]\nport = 1\n";
        let config = config::Config::builder()
            .add_source(config::File::from_str(text, OceanIni))
            .add_source(Overrides(vec![
                Override::parse("LOG.Root.level = warn").unwrap(),
                Override::parse("Server.port=").unwrap(),
                Override::parse("New.key=v").unwrap(),
            ]))
            .build()
            .unwrap();
        let d = IniDocument::from_config(&config).unwrap();
        assert_eq!(d.get("LOG", "buffer_size"), Some("10"));
        assert_eq!(d.line_of("LOG", "buffer_size"), Some(2));
        assert_eq!(d.get("LOG.Root", "level"), Some("warn"));
        assert_eq!(d.line_of("LOG.Root", "level"), None);
        assert_eq!(d.get("LOG.a.b", "file"), Some("x"));
        assert_eq!(d.get("Server", "port"), None);
        assert_eq!(d.get("New", "key"), Some("v"));
        assert!(!d.sections.contains_key("Server"));
    }

    #[test]
    fn warnings_survive_the_config_crate() {
        let config = config::Config::builder()
            .add_source(config::File::from_str("stray = 1\n[S]\nk = v\n", OceanIni))
            .build()
            .unwrap();
        let d = IniDocument::from_config(&config).unwrap();
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].line, 1);
    }

    #[test]
    fn override_syntax() {
        let o = Override::parse("  cat . key = value \t ").unwrap();
        assert_eq!((o.section.as_str(), o.key.as_str(), o.value.as_str()), ("cat", "key", "value"));
        let o = Override::parse("LOG.Root.level=trace").unwrap();
        assert_eq!((o.section.as_str(), o.key.as_str()), ("LOG.Root", "level"));
        assert_eq!(Override::parse("S.k =").unwrap().value, "");
        assert!(Override::parse("S.k value").unwrap_err().contains("'='"));
        assert!(Override::parse("key = value").unwrap_err().contains("'.'"));
        assert!(Override::parse(" . k = v").unwrap_err().contains("empty section"));
        assert!(Override::parse("s . = v").unwrap_err().contains("empty key"));
        assert!(Override::parse("  ").is_err());
    }

    #[test]
    fn document_set_and_remove() {
        let mut d = doc("[S]\nk = 1\n");
        d.set("S", "k", "2");
        assert_eq!(d.get("S", "k"), Some("2"));
        assert_eq!(d.line_of("S", "k"), None);
        d.set("S", "k", "");
        assert!(d.sections.is_empty());
    }
}
