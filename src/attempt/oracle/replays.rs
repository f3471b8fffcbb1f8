//! The replay catalogue: what the oracle expects of a captured valid pair reused.

use super::{Evidence, MISMATCH};
use crate::contract::GateRejection;

/// What the oracle expects of a replay: the signature gate cannot tell a captured valid pair from the original
/// (spec §8), so every replay reaches the authorizer, one invocation per attempt, and only the function can
/// refuse it — except a pair whose key was rotated out, which is a forgery.
#[derive(Debug, Clone, Copy)]
pub struct ReplayEntry {
    /// The class label (`replayed`, `replayed.<variant>`), or `rotated_key` (a test, not a mix class).
    pub label: &'static str,
    pub what: &'static str,
    /// `None`: passes the gate and reaches the authorizer; `Some(reason)`: refused at the gate.
    pub refusal: Option<GateRejection>,
    pub evidence: Evidence,
}

const REPLAY: Evidence = Evidence::Documented(
    "spec §8: the signature covers only the token; a captured pair passes the gate until the key is rotated",
);

/// The replay catalogue. `replayed.reused_nonce` and `replayed.expired` are the cost scenarios' replay-resistant
/// variants (`[mix.replayed_variants]`); their function denies them, the gate does not.
pub static REPLAYS: [ReplayEntry; 4] = [
    ReplayEntry {
        label: "replayed",
        what: "another device's captured valid pair, reused (from many connections at once under load)",
        refusal: None,
        evidence: REPLAY,
    },
    ReplayEntry {
        label: "replayed.reused_nonce",
        what: "the same device resends a token it already used (replay-resistant tokens: a reused nonce)",
        refusal: None,
        evidence: REPLAY,
    },
    ReplayEntry {
        label: "replayed.expired",
        what: "a token older than the function's maximum age (replay-resistant tokens)",
        refusal: None,
        evidence: REPLAY,
    },
    ReplayEntry {
        label: "rotated_key",
        what: "a captured pair signed with a key since removed from tokenSigningPublicKeys",
        refusal: Some(MISMATCH),
        evidence: REPLAY,
    },
];

/// The replay row of a class label, if it is a replay.
pub fn replay(label: &str) -> Option<&'static ReplayEntry> {
    REPLAYS.iter().find(|r| r.label == label)
}
