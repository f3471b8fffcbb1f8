//! Attempt ids: `<run>-<class label>-<device>-<n>`, sent in the `x-tokenstorm-attempt` header. The class is in
//! the id, so the ledger join needs no per-attempt storage. Run ids contain no `-`; class labels contain none.

use super::Class;

/// The HTTP header (HTTPS publish, MQTT-over-WebSocket upgrade) that carries the attempt id.
pub const HEADER: &str = "x-tokenstorm-attempt";

/// The MQTT username's free text carries the attempt id after this prefix: `ts-<attempt id>?…`.
pub const USERNAME_PREFIX: &str = "ts-";

/// A parsed attempt id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptId<'a> {
    pub run: &'a str,
    pub class: Class,
    pub device: u32,
    pub n: u64,
}

/// Formats an attempt id into `out` (cleared first), reusing its allocation.
pub fn format_into(out: &mut String, run: &str, class: Class, device: u32, n: u64) {
    use std::fmt::Write as _;
    out.clear();
    let _ = write!(out, "{run}-{}-{device}-{n}", class.label());
}

/// Parses an attempt id; `None` when it is not one of ours (any run).
pub fn parse(id: &str) -> Option<AttemptId<'_>> {
    let mut right = id.rsplitn(3, '-');
    let n = right.next()?.parse().ok()?;
    let device = right.next()?.parse().ok()?;
    let (run, label) = right.next()?.split_once('-')?;
    if run.is_empty() {
        return None;
    }
    Some(AttemptId {
        run,
        class: Class::from_label(label)?,
        device,
        n,
    })
}

/// The attempt id an MQTT CONNECT username carries: what follows [`USERNAME_PREFIX`] up to the FIRST `?` (all of
/// it when there is none). An attempt id never holds a `?`, so this is right under either `gate.username_query`
/// (with `last_question_mark` the free text itself may hold a `?`, as the emulator's ledger also reads it). `None` when the free text does
/// not start with the prefix or nothing follows it.
pub fn from_username(username: &str) -> Option<&str> {
    let free_text = username.find('?').map_or(username, |i| &username[..i]);
    free_text
        .strip_prefix(USERNAME_PREFIX)
        .filter(|id| !id.is_empty())
}

/// The run id of an attempt id: its first `-` separated field; `None` when that is empty or the id has no `-`
/// (not one of ours, so it names no run).
pub fn run_of(id: &str) -> Option<&str> {
    id.split_once('-')
        .map(|(run, _)| run)
        .filter(|run| !run.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn round_trips_every_class() {
        let mut s = String::new();
        for c in Class::ALL {
            format_into(&mut s, "r1a2b", c, 17, 42);
            assert_eq!(
                parse(&s),
                Some(AttemptId {
                    run: "r1a2b",
                    class: c,
                    device: 17,
                    n: 42
                })
            );
        }
        format_into(&mut s, "x", Class::Forged(Forgery::HexDigest), 0, 0);
        assert_eq!(s, "x-forged.hex_digest-0-0");
    }

    #[test]
    fn rejects_foreign_ids() {
        for bad in [
            "",
            "abc",
            "-valid-1-2",
            "r-valid-x-2",
            "r-bogus-1-2",
            "r-valid-1-",
            "r-valid-1-2-3",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn username_free_text_up_to_the_last_question_mark() {
        assert_eq!(from_username("ts-r-valid-1-2?k=v"), Some("r-valid-1-2"));
        assert_eq!(from_username("ts-r-valid-1-2"), Some("r-valid-1-2"));
        assert_eq!(from_username("ts-a?b?c=d"), Some("a"));
        for none in [
            "",
            "?k=v",
            "ts-?k=v",
            "ts-",
            "x-r-valid-1-2?k=v",
            "TS-r-valid-1-2",
        ] {
            assert_eq!(from_username(none), None, "{none}");
        }
    }

    #[test]
    fn run_is_the_first_field() {
        assert_eq!(run_of("ab12-valid-3-0"), Some("ab12"));
        assert_eq!(run_of("ab12-"), Some("ab12"));
        assert_eq!(run_of("ab12"), None);
        assert_eq!(run_of("-valid-1-2"), None);
    }
}
