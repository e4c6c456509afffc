//! The node's credentials file (`etc/credentials`): which client names may
//! connect over neo, and each one's key.
//!
//! Format, as the original reads it:
//!
//! - one `name:key` entry per line, split at the first `:`; spaces and tabs
//!   (C `isspace`) around the name and around the key are ignored, so CRLF
//!   files work;
//! - empty lines are skipped; a line of only white space is an entry with an
//!   empty name, which is an error;
//! - there are **no comments**: `# text` is an entry named `# text` without
//!   a key, which is an error ("Invalid key length 0");
//! - a name is 1..=100 bytes of printable ASCII other than space;
//! - a key is exactly 256 hex digits (128 bytes), either case;
//! - a name given twice keeps the last key, silently;
//! - a file over 10,000,000 bytes is refused as a whole;
//! - any bad entry refuses the whole file (the node keeps what it had).
//!
//! Line numbers in errors are physical line numbers (1-based). The original
//! counts only non-empty lines, so its number can be smaller when the file
//! has empty lines.

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

use super::auth::{is_name_byte, Key, KEY_LEN, MAX_NAME_LEN};

/// Largest credentials file accepted, in bytes (the original's limit).
pub const MAX_FILE_LEN: u64 = 10_000_000;

/// What is wrong with one entry of the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// Nothing (or only white space) before the `:`.
    #[error("empty name")]
    EmptyName,
    /// The name is longer than 100 bytes.
    #[error("name too long ({0} bytes, at most 100)")]
    NameTooLong(usize),
    /// The key is not 256 characters long (0 when the `:` is missing).
    #[error("invalid key length {0} (should be 256)")]
    KeyLength(usize),
    /// A name byte that is not printable ASCII or is a space (0-based position).
    #[error("invalid name character at position {0}")]
    NameCharacter(usize),
    /// A key character that is not a hex digit (0-based position in the key).
    #[error("invalid key character at position {0}")]
    KeyCharacter(usize),
}

/// Why a credentials file could not be used.
#[derive(Debug, Error)]
pub enum CredentialsError {
    /// The file could not be read.
    #[error("cannot read credentials file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_FILE_LEN`].
    #[error("credentials file too large: {0} bytes (at most 10000000)")]
    TooLarge(u64),
    /// One entry is bad; `line` is the 1-based line number.
    #[error("credentials file line {line}: {error}")]
    Entry {
        /// 1-based physical line number
        line: usize,
        /// what is wrong with it
        error: EntryError,
    },
}

/// The clients allowed to connect and their keys, keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    keys: HashMap<Vec<u8>, Key>,
}

/// C `isspace` in the POSIX locale (Rust's ASCII whitespace lacks `\v`).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_c_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_c_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Parses one non-empty line into (name, key), checking in the original's
/// order: name empty, name length, key length, name characters, key digits.
fn parse_entry(line: &[u8]) -> Result<(&[u8], Key), EntryError> {
    let (name, hex) = match line.iter().position(|&b| b == b':') {
        Some(i) => (trim(&line[..i]), trim(&line[i + 1..])),
        None => (trim(line), &[][..]),
    };
    if name.is_empty() {
        return Err(EntryError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(EntryError::NameTooLong(name.len()));
    }
    if hex.len() != KEY_LEN * 2 {
        return Err(EntryError::KeyLength(hex.len()));
    }
    if let Some(pos) = name.iter().position(|&b| !is_name_byte(b)) {
        return Err(EntryError::NameCharacter(pos));
    }
    let mut key = [0u8; KEY_LEN];
    hex::decode_to_slice(hex, &mut key).map_err(|error| match error {
        hex::FromHexError::InvalidHexCharacter { index, .. } => EntryError::KeyCharacter(index),
        // The length was checked above.
        hex::FromHexError::OddLength | hex::FromHexError::InvalidStringLength => EntryError::KeyLength(hex.len()),
    })?;
    Ok((name, Key(key)))
}

impl Credentials {
    /// Parses the text of a credentials file; the first bad entry refuses it all.
    pub fn parse(content: &[u8]) -> Result<Self, CredentialsError> {
        let mut keys = HashMap::new();
        for (i, line) in content.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let (name, key) = parse_entry(line)
                .map_err(|error| CredentialsError::Entry { line: i + 1, error })?;
            keys.insert(name.to_vec(), key);
        }
        Ok(Self { keys })
    }

    /// Reads and parses a credentials file, refusing one over
    /// [`MAX_FILE_LEN`] before reading it.
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        use std::io::Read;
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len > MAX_FILE_LEN {
            return Err(CredentialsError::TooLarge(len));
        }
        let mut content = Vec::with_capacity(len as usize);
        // Read at most one byte past the limit in case the file grew.
        file.take(MAX_FILE_LEN + 1).read_to_end(&mut content)?;
        if content.len() as u64 > MAX_FILE_LEN {
            return Err(CredentialsError::TooLarge(content.len() as u64));
        }
        Self::parse(&content)
    }

    /// A set with one client, for tests and tools.
    pub fn single(name: &str, key: Key) -> Self {
        let mut keys = HashMap::new();
        keys.insert(name.as_bytes().to_vec(), key);
        Self { keys }
    }

    /// The key of a client name as sent in the handshake, if it may connect.
    pub fn get(&self, name: &[u8]) -> Option<&Key> {
        self.keys.get(name)
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no client may connect.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The client names, for logging what was loaded (never the keys).
    pub fn names(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.keys().map(|k| k.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: &str = match std::str::from_utf8(&[b'0'; 256]) {
        Ok(s) => s,
        Err(_) => panic!(),
    };

    fn line_err(content: &str) -> (usize, EntryError) {
        match Credentials::parse(content.as_bytes()) {
            Err(CredentialsError::Entry { line, error }) => (line, error),
            other => panic!("expected an entry error, got {other:?}"),
        }
    }

    #[test]
    fn the_test_setups_admin_file() {
        let c = Credentials::parse(format!("admin:{ZERO}\n").as_bytes()).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(b"admin"), Some(&Key([0; KEY_LEN])));
        assert_eq!(c.get(b"Admin"), None);
    }

    #[test]
    fn hex_either_case_and_byte_order() {
        let mut hex = String::from("0123456789abcdefABCDEF");
        hex.push_str(&ZERO[hex.len()..]);
        let c = Credentials::parse(format!("x:{hex}").as_bytes()).unwrap();
        let k = c.get(b"x").unwrap();
        assert_eq!(
            k.0[..11],
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef]
        );
    }

    #[test]
    fn empty_files_and_lines_and_white_space() {
        assert!(Credentials::parse(b"").unwrap().is_empty());
        assert!(Credentials::parse(b"\n\n").unwrap().is_empty());
        let text = format!("\n\n  a :\t{ZERO} \r\n\nb:{ZERO}");
        let c = Credentials::parse(text.as_bytes()).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.get(b"a").is_some() && c.get(b"b").is_some());
        assert_eq!(
            line_err(&format!("a:{ZERO}\n   \n")),
            (2, EntryError::EmptyName)
        );
    }

    #[test]
    fn no_comments() {
        assert_eq!(
            line_err(&format!("a:{ZERO}\n# keys\n")),
            (2, EntryError::KeyLength(0))
        );
        // "#" is a legal name character, so this is a client called "#a".
        assert!(Credentials::parse(format!("#a:{ZERO}").as_bytes())
            .unwrap()
            .get(b"#a")
            .is_some());
    }

    #[test]
    fn bad_entries_with_line_numbers() {
        assert_eq!(line_err(&format!(":{ZERO}")), (1, EntryError::EmptyName));
        assert_eq!(
            line_err(&format!("{}:{ZERO}", "n".repeat(101))),
            (1, EntryError::NameTooLong(101))
        );
        assert!(Credentials::parse(format!("{}:{ZERO}", "n".repeat(100)).as_bytes()).is_ok());
        assert_eq!(
            line_err(&format!("a:{ZERO}\nb:{}", &ZERO[1..])),
            (2, EntryError::KeyLength(255))
        );
        assert_eq!(
            line_err(&format!("a:{ZERO}0")),
            (1, EntryError::KeyLength(257))
        );
        assert_eq!(
            line_err(&format!("a b:{ZERO}")),
            (1, EntryError::NameCharacter(1))
        );
        assert_eq!(
            line_err(&format!("\u{e9}:{ZERO}")),
            (1, EntryError::NameCharacter(0))
        );
        let mut bad = ZERO.to_string();
        bad.replace_range(10..11, "g");
        assert_eq!(
            line_err(&format!("\n\na:{bad}")),
            (3, EntryError::KeyCharacter(10))
        );
        // A second ':' is part of the key, so the key is the wrong length.
        assert_eq!(
            line_err(&format!("a:b:{ZERO}")),
            (1, EntryError::KeyLength(258))
        );
        // Key length is checked before name characters, as in the original.
        assert_eq!(line_err("a b:00"), (1, EntryError::KeyLength(2)));
    }

    #[test]
    fn duplicate_names_keep_the_last_key() {
        let one = ZERO.replacen('0', "1", 1);
        let c = Credentials::parse(format!("a:{ZERO}\na:{one}\n").as_bytes()).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(b"a").unwrap().0[0], 0x10);
    }

    #[test]
    fn load_from_disk_and_size_limit() {
        let dir = std::env::temp_dir().join(format!("shoal-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("credentials");
        std::fs::write(&p, format!("admin:{ZERO}\n")).unwrap();
        assert_eq!(Credentials::load(&p).unwrap().len(), 1);
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_FILE_LEN + 1).unwrap();
        assert!(matches!(
            Credentials::load(&p),
            Err(CredentialsError::TooLarge(_))
        ));
        assert!(matches!(
            Credentials::load(&dir.join("missing")),
            Err(CredentialsError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn error_text_names_the_line() {
        let e = Credentials::parse(b"\n\nx").unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials file line 3: invalid key length 0 (should be 256)"
        );
    }
}
