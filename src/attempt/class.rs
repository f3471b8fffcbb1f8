//! Credential classes: what kind of credential an attempt carries. Enum-indexed so counters and histograms
//! are plain arrays, and every outcome is attributable to a class and variant.

use serde::{Deserialize, Serialize};

/// How a forged credential was made. Each must be refused by the signature gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forgery {
    /// Signed with a key the authorizer does not list (the attacker's own key).
    WrongKey,
    /// A valid signature with one bit flipped.
    BitFlip,
    /// A valid signature with its last bytes cut off (still valid base64).
    Truncated,
    /// Characters outside the base64 alphabet.
    NotBase64,
    /// A valid signature, but of another token.
    OtherToken,
    /// No signature at all.
    MissingSignature,
    /// The seed article's `pkeyutl` pipeline: PKCS#1 v1.5 SHA-256 over the ASCII hex digest of the token.
    HexDigest,
}

impl Forgery {
    pub const COUNT: usize = 7;
    pub const ALL: [Forgery; Self::COUNT] = [
        Self::WrongKey,
        Self::BitFlip,
        Self::Truncated,
        Self::NotBase64,
        Self::OtherToken,
        Self::MissingSignature,
        Self::HexDigest,
    ];

    /// Stable snake_case name (scenario files, reports, attempt ids).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::WrongKey => "wrong_key",
            Self::BitFlip => "bit_flip",
            Self::Truncated => "truncated",
            Self::NotBase64 => "not_base64",
            Self::OtherToken => "other_token",
            Self::MissingSignature => "missing_signature",
            Self::HexDigest => "hex_digest",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// The class of an attempt's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The device's own token with its correct signature.
    Valid,
    /// A forged signature; the gate must refuse it before the authorizer.
    Forged(Forgery),
    /// Another device's valid (token, signature) pair, captured and reused (spec §8). Label `replayed`.
    Replayed,
    /// The same device resends a token it already used (replay-resistant tokens: a reused nonce).
    /// Label `replayed.reused_nonce`.
    ReusedNonce,
    /// A token whose issue time is older than the function's maximum age (signed at setup with an old
    /// timestamp). Label `replayed.expired`.
    Expired,
}

impl Class {
    pub const COUNT: usize = 4 + Forgery::COUNT;

    /// Every class, in index order.
    pub const ALL: [Class; Self::COUNT] = [
        Self::Valid,
        Self::Replayed,
        Self::ReusedNonce,
        Self::Expired,
        Self::Forged(Forgery::WrongKey),
        Self::Forged(Forgery::BitFlip),
        Self::Forged(Forgery::Truncated),
        Self::Forged(Forgery::NotBase64),
        Self::Forged(Forgery::OtherToken),
        Self::Forged(Forgery::MissingSignature),
        Self::Forged(Forgery::HexDigest),
    ];

    pub const fn index(self) -> usize {
        match self {
            Self::Valid => 0,
            Self::Replayed => 1,
            Self::ReusedNonce => 2,
            Self::Expired => 3,
            Self::Forged(f) => 4 + f.index(),
        }
    }

    /// `valid`, `forged` or `replayed` (every replay variant).
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Forged(_) => "forged",
            Self::Replayed | Self::ReusedNonce | Self::Expired => "replayed",
        }
    }

    /// The forgery or replay variant, if any (`None` for valid and for another device's captured pair).
    pub const fn variant(self) -> Option<&'static str> {
        match self {
            Self::Forged(f) => Some(f.as_str()),
            Self::ReusedNonce => Some("reused_nonce"),
            Self::Expired => Some("expired"),
            _ => None,
        }
    }

    /// A replay of any variant.
    pub const fn is_replay(self) -> bool {
        matches!(self, Self::Replayed | Self::ReusedNonce | Self::Expired)
    }

    /// A stable label: `valid`, `replayed`, `replayed.<variant>` or `forged.<variant>`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Replayed => "replayed",
            Self::ReusedNonce => "replayed.reused_nonce",
            Self::Expired => "replayed.expired",
            Self::Forged(Forgery::WrongKey) => "forged.wrong_key",
            Self::Forged(Forgery::BitFlip) => "forged.bit_flip",
            Self::Forged(Forgery::Truncated) => "forged.truncated",
            Self::Forged(Forgery::NotBase64) => "forged.not_base64",
            Self::Forged(Forgery::OtherToken) => "forged.other_token",
            Self::Forged(Forgery::MissingSignature) => "forged.missing_signature",
            Self::Forged(Forgery::HexDigest) => "forged.hex_digest",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.label() == label)
    }

    pub const fn is_forged(self) -> bool {
        matches!(self, Self::Forged(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_all_and_labels_round_trip() {
        for (i, c) in Class::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i, "{c:?}");
            assert_eq!(Class::from_label(c.label()), Some(c));
        }
        for (i, f) in Forgery::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Forgery::from_name(f.as_str()), Some(f));
            assert_eq!(Class::Forged(f).variant(), Some(f.as_str()));
        }
        assert_eq!(Class::from_label("forged.nope"), None);
    }
}
