//! Forged credentials: pure functions from a token, keys and a valid signature to a credential the gate must
//! refuse. Each is computed once per distinct token at setup, never on the request path.

use sha2::Digest as _;

use super::attacker_keys;
use crate::contract::Forgery;
use crate::token::craft::{self, Malformed};
use crate::token::{PrivateKey, encode_signature, sign_token};

/// What each forgery needs: the token, its valid signature (raw bytes), the attacker's key, the registered
/// public key, the key raw-RSA forgeries are crafted on, and the signer's signatures of other bytes.
pub struct ForgeInputs<'a> {
    pub token: &'a [u8],
    pub valid_sig: &'a [u8],
    pub attacker: &'a PrivateKey,
    /// The registered key (values at and around its modulus, its signature length).
    pub public: &'a crate::token::PublicKey,
    /// Raw RSA (malformed encodings, other digests, PSS) runs on this key: the signing key when it is held
    /// here, else (an external signer) the attacker's, which the gate refuses as a mismatch all the same.
    pub crafting_key: &'a PrivateKey,
    /// Valid signatures, under the registered key, of the other bytes some forgeries send.
    pub signed: &'a Signed,
    /// Which bit to flip (taken modulo the signature's bit length).
    pub flip_bit: usize,
}

/// Whether the forgery sends a signature from [`Signed`] (so the registered key's signer must make it).
pub const fn needs_signed(f: Forgery) -> bool {
    matches!(
        f,
        Forgery::OtherToken
            | Forgery::TokenNewline
            | Forgery::HexDigest
            | Forgery::SmuggledAmpersand
            | Forgery::SmuggledEquals
            | Forgery::TokenOverLong
            | Forgery::RawPlus
    )
}

mod signed;
pub use signed::Signed;

/// Length of the token of [`Forgery::TokenOverLong`]: over the 6144 characters AWS accepts (spec §1).
pub const OVERLONG_TOKEN_CHARS: usize = 6145;

/// How a credential is put on the wire: where the scenario says, or one of the placement forgeries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wire {
    /// Where the scenario puts credentials, each value percent-encoded once in a query string.
    #[default]
    Standard,
    /// The authorizer name [`UNKNOWN_AUTHORIZER`].
    UnknownAuthorizer,
    /// No token parameter.
    NoToken,
    /// The signature under [`MISNAMED_SIGNATURE`].
    SignatureMisnamed,
    /// The token unencoded in a query string (`&` and `=` raw); in HTTPS always in the query string.
    RawToken,
    /// A second `?` in the MQTT username (not sent over HTTPS).
    SecondQuestionMark,
    /// The signature with its `+` unencoded in a query string; in HTTPS always in the query string.
    RawPlus,
    /// The token parameter twice: the credential's token, then [`second_token`].
    DuplicateToken,
    /// The signature parameter twice: [`decoy_signature`], then the credential's.
    DuplicateSignature,
    /// The signature under [`SIGNATURE_DOCS_CASE`]; in HTTPS always in the query string.
    SignatureNameCase,
    /// HTTPS: token and signature in the body (form-encoded), not in headers or query string.
    InBody,
    /// MQTT: token and signature in the CONNECT password; the username names only the authorizer.
    InPassword,
    /// The authorizer name of the target's INACTIVE authorizer.
    InactiveAuthorizer,
    /// MQTT: a `?` in the username's free text, so the credentials' query follows a second `?` (not sent over
    /// HTTPS).
    FreeTextQuestionMark,
    /// [`BARE_SIGNATURE`] before the credential parameters; in HTTPS always in the query string.
    BareSignatureBefore,
    /// [`BARE_SIGNATURE`] after the credential parameters; in HTTPS always in the query string.
    BareSignatureAfter,
}

/// An authorizer name no emulator or account has.
pub const UNKNOWN_AUTHORIZER: &str = "tokenstorm-unknown-authorizer";
/// The default name of the target's INACTIVE authorizer (`target.inactive_authorizer`).
pub const INACTIVE_AUTHORIZER: &str = "tokenstorm-inactive-authorizer";
/// A misspelt signature parameter.
pub const MISNAMED_SIGNATURE: &str = "x-amz-customauthorizer-signatures";
/// What [`Forgery::SmuggledAmpersand`] appends to the token.
pub const SMUGGLED: &str = "&smuggled=1";
/// What [`Forgery::SmuggledEquals`] appends to the token.
pub const SMUGGLED_EQUALS: &str = "=smuggled";
/// A bare parameter: an empty name whose value is the signature parameter's name. Plain query parsing ignores
/// it (a parameter with an empty name); read as AWS's client code says (`gate.bare_params = "equivalent"`) it is
/// the signature parameter with an empty value.
pub const BARE_SIGNATURE: &str = "=x-amz-customauthorizer-signature";
/// What [`Forgery::FreeTextQuestionMark`] puts in the username's free text, after the attempt id.
pub const FREE_TEXT_QUERY: &str = "?SDK=tokenstorm";
/// The signature parameter as the AWS docs spell the header, in a query string ([`Forgery::SignatureNameCase`]).
pub const SIGNATURE_DOCS_CASE: &str = "X-Amz-CustomAuthorizer-Signature";

/// The second token of [`Wire::DuplicateToken`]: not the one the signature covers.
pub fn second_token(token: &str) -> String {
    format!("{token}.dup")
}

/// The first signature of [`Wire::DuplicateSignature`]: the valid one with its first character changed (same
/// length, still base64, so it decodes and fails as a mismatch).
pub fn decoy_signature(sig: &str) -> String {
    let mut out = String::with_capacity(sig.len());
    let mut chars = sig.chars();
    out.push(match chars.next() {
        Some('A') => 'B',
        Some(_) | None => 'A',
    });
    out.extend(chars);
    out
}

/// A validly signed (token, signature) whose signature holds a `+` ([`Forgery::RawPlus`]): the set's own pair
/// when its signature has one (almost always: 342 characters), else the first `<token>.plus<n>` whose has.
pub fn raw_plus_pair(token: &str, key: &PrivateKey, valid_sig: &[u8]) -> (String, String) {
    let own = encode_signature(valid_sig);
    if own.contains('+') {
        return (token.to_string(), own);
    }
    let signed = plus_candidates(token)
        .into_iter()
        .map(|t| {
            let sig = sign_token(key, t.as_bytes());
            (t, sig)
        })
        .find(|(_, sig)| encode_signature(sig).contains('+'));
    pick_raw_plus(token, valid_sig, signed.as_slice())
}

/// The tokens [`raw_plus_pair`] tries when the set's own signature has no `+`.
pub fn plus_candidates(token: &str) -> Vec<String> {
    (1..=64).map(|n| format!("{token}.plus{n}")).collect()
}

/// [`raw_plus_pair`] from [`plus_candidates`] signed in advance (`signed`: the candidates with their
/// signatures, in order; may be empty when the own signature has a `+`).
pub fn pick_raw_plus(
    token: &str,
    valid_sig: &[u8],
    signed: &[(String, Vec<u8>)],
) -> (String, String) {
    let own = encode_signature(valid_sig);
    if own.contains('+') {
        return (token.to_string(), own);
    }
    let mut last = (token.to_string(), own);
    for (t, sig) in signed {
        let sig = encode_signature(sig);
        let found = sig.contains('+');
        last = (t.clone(), sig);
        if found {
            break;
        }
    }
    last
}

/// The wire shape of a forgery.
pub const fn wire_of(f: Forgery) -> Wire {
    match f {
        Forgery::UnknownAuthorizer => Wire::UnknownAuthorizer,
        Forgery::MissingToken => Wire::NoToken,
        Forgery::SignatureMisnamed => Wire::SignatureMisnamed,
        Forgery::SmuggledAmpersand | Forgery::SmuggledEquals => Wire::RawToken,
        Forgery::SecondQuestionMark => Wire::SecondQuestionMark,
        Forgery::RawPlus => Wire::RawPlus,
        Forgery::DuplicatedToken => Wire::DuplicateToken,
        Forgery::DuplicatedSignature => Wire::DuplicateSignature,
        Forgery::SignatureNameCase => Wire::SignatureNameCase,
        Forgery::InBody => Wire::InBody,
        Forgery::InPassword => Wire::InPassword,
        Forgery::InactiveAuthorizer => Wire::InactiveAuthorizer,
        Forgery::FreeTextQuestionMark => Wire::FreeTextQuestionMark,
        Forgery::BareSignatureBefore => Wire::BareSignatureBefore,
        Forgery::BareSignatureAfter => Wire::BareSignatureAfter,
        _ => Wire::Standard,
    }
}

/// The token a forgery sends: the set's own token, except for [`Forgery::TokenOverLong`] and
/// [`Forgery::SmuggledAmpersand`].
pub fn forged_token(variant: Forgery, token: &str) -> String {
    match variant {
        Forgery::SmuggledAmpersand => format!("{token}{SMUGGLED}"),
        Forgery::SmuggledEquals => format!("{token}{SMUGGLED_EQUALS}"),
        Forgery::TokenOverLong => {
            let mut t = String::with_capacity(OVERLONG_TOKEN_CHARS);
            while t.len() < OVERLONG_TOKEN_CHARS {
                t.push_str(token);
                t.push('.');
            }
            t.truncate(OVERLONG_TOKEN_CHARS);
            t
        }
        _ => token.to_string(),
    }
}

/// Whether the forgery runs a private-key operation of the `rsa` crate (crafted encodings, other digests).
pub const fn needs_raw_rsa(f: Forgery) -> bool {
    matches!(
        f,
        Forgery::ShortKey
            | Forgery::Sha1
            | Forgery::Sha384
            | Forgery::Sha512
            | Forgery::DigestInfoWrongOid
            | Forgery::DigestInfoNoNull
            | Forgery::ShortPadding
            | Forgery::BlockType02
            | Forgery::BytesAfterDigest
            | Forgery::GarbagePadding
    )
}

/// The signature string a forgery sends; `None` means the signature is left out entirely. `inp.token` is the
/// set's token; the token sent is [`forged_token`].
pub fn forge(variant: Forgery, inp: &ForgeInputs<'_>) -> Option<String> {
    // Long on purpose: one exhaustive `match` arm per forgery, so a new variant fails to compile until it is
    // crafted here; the arms read best side by side.
    let real = inp.crafting_key.reference();
    let k = inp.public.signature_len();
    let crafted_k = inp.crafting_key.signature_len();
    let digest = craft::sha256(inp.token);
    let valid_b64 = || encode_signature(inp.valid_sig);
    let malformed = |shape| {
        craft::malformed_em(crafted_k, &digest, shape)
            .and_then(|em| craft::raw_sign(real, &em))
            .map(|s| encode_signature(&s))
    };
    let prefixed = |prefix: &[u8], digest: &[u8]| {
        craft::sign_with_prefix(real, prefix, digest).map(|s| encode_signature(&s))
    };
    match variant {
        Forgery::WrongKey => Some(encode_signature(&sign_token(inp.attacker, inp.token))),
        Forgery::WrongKeyOtherSize => Some(encode_signature(&sign_token(
            attacker_keys::other_size(),
            inp.token,
        ))),
        Forgery::ShortKey => {
            craft::sign_with_prefix(attacker_keys::short(), craft::SHA256_PREFIX, &digest)
                .map(|s| encode_signature(&s))
        }
        Forgery::BitFlip => Some(encode_signature(&flip(inp.valid_sig, inp.flip_bit))),
        Forgery::Truncated => {
            // Drop the last 3 bytes: still canonical base64 (no padding), but too short for the key.
            let keep = inp.valid_sig.len().saturating_sub(3);
            Some(encode_signature(&inp.valid_sig[..keep]))
        }
        Forgery::Extended => {
            let mut s = inp.valid_sig.to_vec();
            s.push(0x00);
            Some(encode_signature(&s))
        }
        Forgery::Empty => Some(String::new()),
        Forgery::ValueZero => Some(encode_signature(&craft::small_value(k, 0))),
        Forgery::ValueOne => Some(encode_signature(&craft::small_value(k, 1))),
        Forgery::ValueNMinusOne => Some(encode_signature(&craft::modulus_plus(
            inp.public.reference(),
            -1,
        ))),
        Forgery::ValueN => Some(encode_signature(&craft::modulus_plus(
            inp.public.reference(),
            0,
        ))),
        Forgery::ValueNPlusOne => Some(encode_signature(&craft::modulus_plus(
            inp.public.reference(),
            1,
        ))),
        Forgery::NotBase64 => Some(not_base64(&valid_b64())),
        Forgery::OtherToken => Some(encode_signature(&inp.signed.other_token)),
        Forgery::TokenNewline => Some(encode_signature(&inp.signed.newline)),
        Forgery::MissingSignature => None,
        Forgery::HexDigest => Some(encode_signature(&inp.signed.hex_digest)),
        Forgery::Pss => Some(encode_signature(&craft::sign_pss(
            inp.crafting_key,
            inp.token,
        ))),
        Forgery::Sha1 => prefixed(craft::SHA1_PREFIX, &craft::sha1(inp.token)),
        Forgery::Sha384 => prefixed(craft::SHA384_PREFIX, &sha2::Sha384::digest(inp.token)),
        Forgery::Sha512 => prefixed(craft::SHA512_PREFIX, &sha2::Sha512::digest(inp.token)),
        Forgery::DigestInfoWrongOid => prefixed(craft::SHA256_WRONG_OID_PREFIX, &digest),
        Forgery::DigestInfoNoNull => prefixed(craft::SHA256_NO_NULL_PREFIX, &digest),
        Forgery::ShortPadding => malformed(Malformed::ShortPadding),
        Forgery::BlockType02 => malformed(Malformed::BlockType02),
        Forgery::BytesAfterDigest => malformed(Malformed::BytesAfterDigest),
        Forgery::GarbagePadding => malformed(Malformed::GarbagePadding),
        Forgery::Base64Url => Some(base64url(&valid_b64())),
        Forgery::MissingPadding => Some(valid_b64().trim_end_matches('=').to_string()),
        Forgery::Wrapped64 => Some(wrap64(&valid_b64())),
        Forgery::Whitespace => {
            let mut s = valid_b64();
            s.insert(s.len() / 2, ' ');
            Some(s)
        }
        Forgery::OverLong => {
            let v = valid_b64();
            let mut s = String::with_capacity(crate::token::verify::MAX_SIGNATURE_CHARS + v.len());
            while s.len() <= crate::token::verify::MAX_SIGNATURE_CHARS {
                s.push_str(&v);
            }
            Some(s)
        }
        Forgery::DoublePercentEncoding => Some(crate::wire::query::encode_component(&valid_b64())),
        // Valid credentials in a wrong place or shape ([`Wire`]). `raw_plus` needs a signature with a `+`: the
        // catalogue makes that pair with [`raw_plus_pair`].
        Forgery::UnknownAuthorizer
        | Forgery::MissingToken
        | Forgery::SignatureMisnamed
        | Forgery::SecondQuestionMark
        | Forgery::RawPlus
        | Forgery::DuplicatedToken
        | Forgery::DuplicatedSignature
        | Forgery::SignatureNameCase
        | Forgery::InBody
        | Forgery::InPassword
        | Forgery::InactiveAuthorizer
        | Forgery::FreeTextQuestionMark
        | Forgery::BareSignatureBefore
        | Forgery::BareSignatureAfter => Some(valid_b64()),
        // Validly signed over the whole token, `&` or `=` included: only the parsing may split it.
        Forgery::SmuggledAmpersand => Some(encode_signature(&inp.signed.smuggled_ampersand)),
        Forgery::SmuggledEquals => Some(encode_signature(&inp.signed.smuggled_equals)),
        // A valid signature of the over-long token ([`forged_token`]): only the token's length is wrong.
        Forgery::TokenOverLong => Some(encode_signature(&inp.signed.overlong)),
    }
}

/// The base64url alphabet; if the signature has neither `+` nor `/` (so the alphabets agree), the padding is
/// dropped too so the variant never degenerates into the valid signature.
fn base64url(b64: &str) -> String {
    let url: String = b64
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    if url == b64 {
        url.trim_end_matches('=').to_string()
    } else {
        url
    }
}

/// Lines of 64 characters joined by `\n`, with a final `\n`, as `openssl base64` writes without `-A`.
fn wrap64(b64: &str) -> String {
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 1);
    for (i, c) in b64.chars().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push('\n');
    out
}

/// The lowercase hex SHA-256 digest of the token, as `shasum -a 256` prints it.
pub fn hex_digest(token: &[u8]) -> String {
    sha2::Sha256::digest(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn flip(sig: &[u8], bit: usize) -> Vec<u8> {
    let mut out = sig.to_vec();
    if !out.is_empty() {
        let bit = bit % (out.len() * 8);
        out[bit / 8] ^= 1 << (bit % 8);
    }
    out
}

/// Replaces characters with ones outside the base64 alphabet (`!`, `*`, `~`), keeping the length.
fn not_base64(b64: &str) -> String {
    b64.char_indices()
        .map(|(i, c)| match i % 16 {
            3 => '!',
            9 => '*',
            14 => '~',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests;
