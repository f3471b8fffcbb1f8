//! Credential classes: what kind of credential an attempt carries. Enum-indexed so counters and histograms
//! are plain arrays, and every outcome is attributable to a class and variant.
//!
//! The forgery variants are declared once, in `forgeries!`: the enum, its stable snake_case names and the
//! `forged.<name>` labels all come from that list, so they cannot drift apart. What each variant is and what
//! the gate must do with it is the oracle table in [`crate::attempt::oracle`].

use serde::{Deserialize, Serialize};

macro_rules! forgeries {
    ($($(#[$doc:meta])* $v:ident => $name:literal,)*) => {
        /// How a forged credential was made. Each must be refused by the signature gate.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Forgery {
            $($(#[$doc])* $v,)*
        }

        impl Forgery {
            pub const COUNT: usize = [$($name,)*].len();
            pub const ALL: [Forgery; Self::COUNT] = [$(Self::$v,)*];
            const NAMES: [&'static str; Self::COUNT] = [$($name,)*];
            const LABELS: [&'static str; Self::COUNT] = [$(concat!("forged.", $name),)*];
        }
    };
}

forgeries! {
    /// Signed with a key the authorizer does not list (the attacker's own key, same size).
    WrongKey => "wrong_key",
    /// Signed with the attacker's 3072-bit key (another size than the registered key).
    WrongKeyOtherSize => "wrong_key_other_size",
    /// Signed with a 1024-bit key (shorter than the 2048 bits AWS accepts).
    ShortKey => "short_key",
    /// A valid signature with one bit flipped.
    BitFlip => "bit_flip",
    /// A valid signature with its last bytes cut off (still valid base64).
    Truncated => "truncated",
    /// A valid signature with a byte appended.
    Extended => "extended",
    /// The signature parameter present but empty.
    Empty => "empty",
    /// The integer 0, as a modulus-length signature.
    ValueZero => "value_zero",
    /// The integer 1.
    ValueOne => "value_one",
    /// The integer n − 1 (n: the registered key's modulus).
    ValueNMinusOne => "value_n_minus_one",
    /// The integer n.
    ValueN => "value_n",
    /// The integer n + 1.
    ValueNPlusOne => "value_n_plus_one",
    /// Characters outside the base64 alphabet.
    NotBase64 => "not_base64",
    /// A valid signature, but of another token.
    OtherToken => "other_token",
    /// A valid signature of `token\n` (`echo` without `-n`).
    TokenNewline => "token_newline",
    /// No signature at all.
    MissingSignature => "missing_signature",
    /// The seed article's `pkeyutl` pipeline: PKCS#1 v1.5 SHA-256 over the ASCII hex digest of the token.
    HexDigest => "hex_digest",
    /// RSASSA-PSS (SHA-256) with the real key instead of PKCS#1 v1.5.
    Pss => "pss",
    /// PKCS#1 v1.5 with SHA-1 and the real key.
    Sha1 => "sha1",
    /// PKCS#1 v1.5 with SHA-384 and the real key.
    Sha384 => "sha384",
    /// PKCS#1 v1.5 with SHA-512 and the real key.
    Sha512 => "sha512",
    /// Raw RSA with the real key over a PKCS#1 encoding whose DigestInfo names another hash (SHA-224's OID).
    DigestInfoWrongOid => "digest_info_wrong_oid",
    /// Raw RSA over a PKCS#1 encoding whose DigestInfo leaves out the NULL parameters.
    DigestInfoNoNull => "digest_info_no_null",
    /// Raw RSA over a PKCS#1 encoding with fewer than 8 padding bytes (the digest moved right, zeros in front).
    ShortPadding => "short_padding",
    /// Raw RSA over an encoding with block type 02 (encryption padding) instead of 01.
    BlockType02 => "block_type_02",
    /// Raw RSA over an encoding with bytes after the digest (the padding shortened to make room).
    BytesAfterDigest => "bytes_after_digest",
    /// Raw RSA over an encoding whose padding bytes are garbage instead of 0xFF (the shape of e=3 forgeries
    /// against lax parsers).
    GarbagePadding => "garbage_padding",
    /// The valid signature in the base64url alphabet (`-` `_` for `+` `/`).
    Base64Url => "base64url",
    /// The valid signature without its `=` padding.
    MissingPadding => "missing_padding",
    /// The valid signature wrapped at 64 columns, as `openssl base64` writes it without `-A`.
    Wrapped64 => "wrapped_64",
    /// The valid signature with a space inside.
    Whitespace => "whitespace",
    /// The valid signature repeated past 2560 characters.
    OverLong => "over_long",
    /// The valid signature of a token over 6144 characters (the token is the problem, not the signature).
    TokenOverLong => "token_over_long",
    /// The valid signature percent-encoded twice (`%252B`): once decoded, it still holds `%`.
    DoublePercentEncoding => "double_percent_encoding",
    /// Valid credentials naming an authorizer that does not exist.
    UnknownAuthorizer => "unknown_authorizer",
    /// A valid signature without the token parameter.
    MissingToken => "missing_token",
    /// The valid signature under a misspelt parameter name (`x-amz-customauthorizer-signatures`).
    SignatureMisnamed => "signature_misnamed",
    /// A token with `&smuggled=1` in it, validly signed, sent unencoded in a query string: the `&` splits it.
    SmuggledAmpersand => "smuggled_ampersand",
    /// Valid credentials in an MQTT username with a second `?`.
    SecondQuestionMark => "second_question_mark",
    /// A valid signature holding `+`, with the `+` unencoded in a query string (`gate.query_plus`).
    RawPlus => "raw_plus",
    /// The token parameter twice: the signed token, then another (`gate.duplicates`).
    DuplicatedToken => "duplicated_token",
    /// The signature parameter twice: a wrong one, then the valid one (`gate.duplicates`).
    DuplicatedSignature => "duplicated_signature",
    /// The valid signature in a query string under `X-Amz-CustomAuthorizer-Signature` (`gate.query_names`).
    SignatureNameCase => "signature_name_case",
    /// A validly signed token holding `=`, sent unencoded in a query string.
    SmuggledEquals => "smuggled_equals",
    /// Valid credentials in the HTTPS request body instead of headers or query string.
    InBody => "in_body",
    /// Valid credentials in the MQTT CONNECT password instead of the username.
    InPassword => "in_password",
    /// Valid credentials naming the target's INACTIVE authorizer.
    InactiveAuthorizer => "inactive_authorizer",
    /// Valid credentials after a second `?` in the MQTT username, the first `?` in its free text
    /// (`gate.username_query`).
    FreeTextQuestionMark => "free_text_question_mark",
    /// The bare parameter `=x-amz-customauthorizer-signature` before the valid credentials (`gate.bare_params`).
    BareSignatureBefore => "bare_signature_before",
    /// The bare parameter `=x-amz-customauthorizer-signature` after the valid credentials (`gate.bare_params`).
    BareSignatureAfter => "bare_signature_after",
}

impl Forgery {
    /// Stable snake_case name (scenario files, reports, attempt ids).
    pub const fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// `forged.<name>`.
    pub const fn label(self) -> &'static str {
        Self::LABELS[self as usize]
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
    pub const ALL: [Class; Self::COUNT] = {
        let mut all = [Self::Valid; Self::COUNT];
        all[1] = Self::Replayed;
        all[2] = Self::ReusedNonce;
        all[3] = Self::Expired;
        let mut i = 0;
        while i < Forgery::COUNT {
            all[4 + i] = Self::Forged(Forgery::ALL[i]);
            i += 1;
        }
        all
    };

    pub const fn index(self) -> usize {
        match self {
            Self::Valid => 0,
            Self::Replayed => 1,
            Self::ReusedNonce => 2,
            Self::Expired => 3,
            Self::Forged(f) => 4 + f.index(),
        }
    }

    /// Every class kind ([`Self::kind`]), in [`Self::kind_index`] order.
    pub const KINDS: [&'static str; 3] = ["valid", "forged", "replayed"];

    /// The index of [`Self::kind`] in [`Self::KINDS`] (live counters by kind are arrays).
    pub const fn kind_index(self) -> usize {
        match self {
            Self::Valid => 0,
            Self::Forged(_) => 1,
            Self::Replayed | Self::ReusedNonce | Self::Expired => 2,
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
            Self::Forged(f) => f.label(),
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.label() == label)
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
            assert_eq!(Class::KINDS[c.kind_index()], c.kind());
        }
        for (i, f) in Forgery::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), i);
            assert_eq!(Forgery::from_name(f.as_str()), Some(f));
            assert_eq!(Class::Forged(f).variant(), Some(f.as_str()));
        }
        assert_eq!(Class::from_label("forged.nope"), None);
    }
}
