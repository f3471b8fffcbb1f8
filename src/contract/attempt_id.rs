//! Attempt ids: `<run>-<class label>-<device>-<n>`, sent in the `x-tokenstorm-attempt` header. The class is in
//! the id, so the ledger join needs no per-attempt storage. Run ids contain no `-`; class labels contain none.

use super::Class;

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
}
