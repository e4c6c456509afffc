//! Storage names: a channel's plain queue is named like the channel (`ch`),
//! a subscriber's queue `subscriber@ch`, the empty subscriber's `@ch`. The
//! names become file names (`<name>.rq`) and overflow channel names, so they
//! are checked wherever they come from.

/// Whether `name` is a valid channel or subscriber name part: ASCII letters,
/// digits, `_` and `-` (the legacy protocol's rule; the empty string is only
/// allowed as a subscriber, see [`valid_subscriber`]).
pub fn valid_channel(name: &str) -> bool {
    crate::channel_name::is_valid_channel_name(name.as_bytes())
}

/// Whether `name` is a valid subscriber name; empty is the default
/// subscriber of legacy Consume.
pub fn valid_subscriber(name: &str) -> bool {
    name.is_empty() || valid_channel(name)
}

/// Whether `name` is a valid storage name: a channel name, optionally
/// preceded by a subscriber name and `@` (the original's rule for `.rq`
/// files and index lines).
pub fn valid_storage(name: &str) -> bool {
    match name.split_once('@') {
        None => valid_channel(name),
        Some((subscriber, channel)) => valid_subscriber(subscriber) && valid_channel(channel),
    }
}

/// Splits a storage name into its channel and its subscriber (`None` for a
/// plain queue, `Some("")` for `@ch`).
pub fn split(storage: &str) -> (&str, Option<&str>) {
    match storage.split_once('@') {
        None => (storage, None),
        Some((subscriber, channel)) => (channel, Some(subscriber)),
    }
}

/// The storage name of `subscriber` on `channel` (`None`: the plain queue).
pub fn storage_name(channel: &str, subscriber: Option<&str>) -> String {
    match subscriber {
        None => channel.to_owned(),
        Some(subscriber) => format!("{subscriber}@{channel}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_as_the_original_validates_dump_files() {
        for good in [
            "helloworld",
            "hello_world",
            "hello@world",
            "@world",
            "_world",
            "a-b",
        ] {
            assert!(valid_storage(good), "{good}");
        }
        for bad in [
            "hello.world",
            "hello:world",
            "hello@wor@ld",
            "@hello@world",
            "hello@",
            "@",
            "",
            "../x",
        ] {
            assert!(!valid_storage(bad), "{bad}");
        }
    }

    #[test]
    fn split_and_join_are_inverse() {
        for (storage, channel, subscriber) in [
            ("ch", "ch", None),
            ("@ch", "ch", Some("")),
            ("sub1@ch", "ch", Some("sub1")),
        ] {
            assert_eq!(split(storage), (channel, subscriber));
            assert_eq!(storage_name(channel, subscriber), storage);
        }
    }
}
