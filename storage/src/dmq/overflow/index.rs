//! `ofchannels.csv`, the overflow's channel index: one text line per
//! channel holding records,
//!
//! ```text
//! <storage name> <records> <payload bytes> <first offset> <last offset>
//! ```
//!
//! single spaces, decimal, offsets pointing at record headers (the original
//! writes it with `printf("%s %u %llu %lld %lld\n")`). The original reads
//! any whitespace between the fields and aborts the start on the first bad
//! entry. Shoal reads line by line and reports a bad line without giving up
//! the good ones.

use crate::dmq::name;

/// Bytes of the magic string at the start of `overflow.dat`; no record
/// starts before it.
pub const DATA_START: u64 = 8;

/// One channel's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Storage name.
    pub name: String,
    /// Records in the channel.
    pub records: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// Offset of the oldest record's header.
    pub first: u64,
    /// Offset of the newest record's header.
    pub last: u64,
}

/// Why a line was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ofchannels.csv line {line}: {reason}")]
pub struct IndexError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// The index text for `entries`.
pub fn format<'a>(entries: impl IntoIterator<Item = &'a IndexEntry>) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!(
            "{} {} {} {} {}\n",
            e.name, e.records, e.bytes, e.first, e.last
        ));
    }
    out
}

/// Parses the index: the usable entries, and one error per unusable line.
/// Applies the original's per-line checks; blank lines are skipped.
pub fn parse(text: &str) -> (Vec<IndexEntry>, Vec<IndexError>) {
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(entry) if entries.iter().any(|e| e.name == entry.name) => {
                errors.push(IndexError {
                    line: i + 1,
                    reason: "duplicate channel name",
                });
            }
            Ok(entry) => entries.push(entry),
            Err(reason) => errors.push(IndexError {
                line: i + 1,
                reason,
            }),
        }
    }
    (entries, errors)
}

fn parse_line(line: &str) -> Result<IndexEntry, &'static str> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, records, bytes, first, last] = fields[..] else {
        return Err("expected 5 fields");
    };
    if !name::valid_storage(name) {
        return Err("invalid channel name");
    }
    let number = |field: &str, what| field.parse::<u64>().map_err(|_| what);
    let entry = IndexEntry {
        name: name.to_owned(),
        records: number(records, "invalid number of records")?,
        bytes: number(bytes, "invalid number of bytes")?,
        first: number(first, "invalid position of first record")?,
        last: number(last, "invalid position of last record")?,
    };
    if entry.records == 0 {
        return Err("empty channel");
    }
    if entry.records == 1 && entry.first != entry.last {
        return Err("one record but first and last position differ");
    }
    if entry.records > 1 && entry.first >= entry.last {
        return Err("first position not before last");
    }
    if entry.first < DATA_START {
        return Err("first position inside the file's magic string");
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries = vec![
            IndexEntry {
                name: "q".into(),
                records: 3,
                bytes: 300,
                first: 8,
                last: 272,
            },
            IndexEntry {
                name: "sub@ch".into(),
                records: 1,
                bytes: 0,
                first: 400,
                last: 400,
            },
        ];
        let text = format(&entries);
        assert_eq!(text, "q 3 300 8 272\nsub@ch 1 0 400 400\n");
        assert_eq!(parse(&text), (entries, vec![]));
    }

    #[test]
    fn bad_lines_are_reported_good_ones_kept() {
        let text = "a 1 10 8 8\n\nb 0 0 0 0\nc 1 10 50 60\nd 2 20 90 50\ne 1 1 4 4\n\
                    a 1 10 9 9\nf x 1 1 1\nbad.name 1 1 8 8\ng 1 1\n  h\t1  5 100 100  \n";
        let (entries, errors) = parse(text);
        assert_eq!(
            entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["a", "h"]
        );
        let reasons: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.reason)).collect();
        assert_eq!(
            reasons,
            [
                (3, "empty channel"),
                (4, "one record but first and last position differ"),
                (5, "first position not before last"),
                (6, "first position inside the file's magic string"),
                (7, "duplicate channel name"),
                (8, "invalid number of records"),
                (9, "invalid channel name"),
                (10, "expected 5 fields"),
            ]
        );
    }
}
