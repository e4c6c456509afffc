//! Which values a range read returns: all, those containing a substring, or
//! those a regular expression matches anywhere (optionally ignoring case).
//!
//! Expressions are PCRE, as the original's: the `pcre2` crate (PCRE2, the
//! maintained successor of the original's libpcre), on bytes, without UTF
//! mode, JIT-compiled where available. Patterns PCRE cannot compile are
//! refused, as the original refuses them. Unlike the original's PCRE, whose
//! recursion could overflow the request's stack and crash the node, PCRE2
//! keeps its backtracking on the heap, and each match is bounded by
//! `MATCH_LIMIT`: a value that exhausts it counts as not matching.

use memchr::memmem::Finder;
use pcre2::bytes::{Regex, RegexBuilder};

/// A compiled value filter.
pub enum ValueFilter {
    /// Every value.
    All,
    /// Values containing these bytes. An empty substring matches nothing
    /// (the original's behaviour on a fresh node, made deterministic).
    Substring(Box<Finder<'static>>),
    /// Values the expression matches somewhere.
    Regex(Regex),
}

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression: {0}")]
pub struct BadPattern(String);

/// Backtracking steps one value may cost (PCRE2's `LIMIT_MATCH`, a tenth
/// of its default): a bound on what a pattern can make a scan spend per
/// record.
const MATCH_LIMIT: u32 = 1_000_000;

impl ValueFilter {
    /// A substring filter.
    pub fn substring(needle: &[u8]) -> ValueFilter {
        ValueFilter::Substring(Box::new(Finder::new(needle).into_owned()))
    }

    /// A regular-expression filter.
    pub fn regex(pattern: &[u8], ignore_case: bool) -> Result<ValueFilter, BadPattern> {
        let pattern = std::str::from_utf8(pattern).map_err(|e| BadPattern(e.to_string()))?;
        RegexBuilder::new()
            .caseless(ignore_case)
            .jit_if_available(true)
            // A start-of-pattern setting, which can only lower the limit.
            .build(&format!("(*LIMIT_MATCH={MATCH_LIMIT}){pattern}"))
            .map(ValueFilter::Regex)
            .map_err(|e| BadPattern(e.to_string()))
    }

    /// Whether `value` passes.
    pub fn matches(&self, value: &[u8]) -> bool {
        match self {
            ValueFilter::All => true,
            ValueFilter::Substring(finder) => !finder.needle().is_empty() && finder.find(value).is_some(),
            // An error is a match that ran out of steps.
            ValueFilter::Regex(regex) => regex.is_match(value).unwrap_or(false),
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
        assert!(ValueFilter::regex(b"*vw=1&", false).is_err(), "the original suite's malformed pattern");
    }

    #[test]
    fn patterns_are_pcre_not_a_subset() {
        let backreference = ValueFilter::regex(br"(ab)\1", false).unwrap();
        assert!(backreference.matches(b"xabab") && !backreference.matches(b"xab"));
        let lookahead = ValueFilter::regex(b"aid=(?!google)", false).unwrap();
        assert!(lookahead.matches(b"&aid=bing&") && !lookahead.matches(b"&aid=google&"));
        // Bytes, not UTF-8: a value that is not text still matches.
        assert!(ValueFilter::regex(b"^.x", false).unwrap().matches(b"\xffx"));
    }

    #[test]
    fn a_pattern_that_crashed_the_original_runs_out_of_steps_instead() {
        // Its recursion overflowed the original's stack. Here the match
        // gives up after MATCH_LIMIT steps and the value does not pass.
        let nasty = format!("{}.{}", "a?".repeat(29), "a".repeat(29));
        let filter = ValueFilter::regex(nasty.as_bytes(), false).unwrap();
        assert!(!filter.matches(&[b'a'; 29]));
        assert!(!filter.matches(&[b'a'; 40]), "exhausted, not matched");
        // A pattern that needs few steps is untouched by the limit.
        assert!(ValueFilter::regex(b"a{29}", false).unwrap().matches(&[b'a'; 40]));
    }
}
