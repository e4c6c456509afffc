//! Which values a range read returns: all, those containing a substring, or
//! those a regular expression matches anywhere (optionally ignoring case).
//!
//! Expressions use the `regex` crate: linear time whatever the pattern, so
//! no pattern can hang or crash the node as PCRE's recursion could the
//! original's. Patterns it cannot compile (e.g. back-references) are
//! refused, as the original refuses patterns PCRE cannot compile.

use memchr::memmem::Finder;
use regex::bytes::{Regex, RegexBuilder};

/// A compiled value filter.
pub enum ValueFilter {
    /// Every value.
    All,
    /// Values containing these bytes. An empty substring matches nothing
    /// (the original's behaviour on a fresh node, made deterministic).
    Substring(Finder<'static>),
    /// Values the expression matches somewhere.
    Regex(Regex),
}

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression: {0}")]
pub struct BadPattern(String);

/// Bytes of compiled program a pattern may take: a bound on what a client
/// can make the node build.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl ValueFilter {
    /// A substring filter.
    pub fn substring(needle: &[u8]) -> ValueFilter {
        ValueFilter::Substring(Finder::new(needle).into_owned())
    }

    /// A regular-expression filter.
    pub fn regex(pattern: &[u8], ignore_case: bool) -> Result<ValueFilter, BadPattern> {
        let pattern = std::str::from_utf8(pattern).map_err(|e| BadPattern(e.to_string()))?;
        RegexBuilder::new(pattern)
            .case_insensitive(ignore_case)
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(ValueFilter::Regex)
            .map_err(|e| BadPattern(e.to_string()))
    }

    /// Whether `value` passes.
    pub fn matches(&self, value: &[u8]) -> bool {
        match self {
            ValueFilter::All => true,
            ValueFilter::Substring(finder) => !finder.needle().is_empty() && finder.find(value).is_some(),
            ValueFilter::Regex(regex) => regex.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_as_the_original() {
        assert!(ValueFilter::All.matches(b""));
        assert!(ValueFilter::substring(b"ell").matches(b"hello"));
        assert!(!ValueFilter::substring(b"").matches(b"hello"));
        let regex = ValueFilter::regex(b"h.l+o", false).unwrap();
        assert!(regex.matches(b"say hello"));
        assert!(!regex.matches(b"HELLO"));
        assert!(ValueFilter::regex(b"h.l+o", true).unwrap().matches(b"HELLO"));
        assert!(ValueFilter::regex(b"(a", false).is_err());
        assert!(ValueFilter::regex(br"(a)\1", false).is_err(), "back-references are refused");
        // The pattern that crashed the original runs in linear time here:
        // it needs 30 characters, so 29 `a`s do not match.
        let nasty = format!("{}.{}", "a?".repeat(29), "a".repeat(29));
        let filter = ValueFilter::regex(nasty.as_bytes(), false).unwrap();
        assert!(!filter.matches(&[b'a'; 29]));
        assert!(filter.matches(&[b'a'; 30]));
    }
}
