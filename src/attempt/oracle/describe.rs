//! One line per forgery variant on what it is (the README table, `tokenstorm catalogue`, the report).

use super::F;
use crate::contract::Forgery;

/// One line on what a variant is (README table, report).
pub const fn describe(f: Forgery) -> &'static str {
    match f {
        F::WrongKey => "signed with the attacker's own 2048-bit key (same size, not registered)",
        F::WrongKeyOtherSize => "signed with the attacker's 3072-bit key (another size)",
        F::ShortKey => "signed with a 1024-bit key (shorter than the 2048 bits AWS accepts)",
        F::BitFlip => "the valid signature with one (seeded) bit flipped",
        F::Truncated => "the valid signature with its last 3 bytes cut",
        F::Extended => "the valid signature with a zero byte appended",
        F::Empty => "the signature parameter present but empty",
        F::ValueZero => "the integer 0 as a modulus-length signature",
        F::ValueOne => "the integer 1",
        F::ValueNMinusOne => "the integer n-1 (n: the registered modulus)",
        F::ValueN => "the integer n",
        F::ValueNPlusOne => "the integer n+1",
        F::NotBase64 => "the valid signature with characters outside base64 (! * ~)",
        F::OtherToken => "a valid signature of another token",
        F::TokenNewline => "a valid signature of `token\\n` (`echo` without `-n`)",
        F::MissingSignature => "no signature parameter at all",
        F::HexDigest => {
            "the seed article's `pkeyutl` pipeline: a signature of the hex digest string"
        }
        F::Pss => "RSASSA-PSS (SHA-256) with the real key instead of PKCS#1 v1.5",
        F::Sha1 => "PKCS#1 v1.5 with SHA-1 and the real key",
        F::Sha384 => "PKCS#1 v1.5 with SHA-384 and the real key",
        F::Sha512 => "PKCS#1 v1.5 with SHA-512 and the real key",
        F::DigestInfoWrongOid => {
            "raw RSA with the real key: DigestInfo names SHA-224 over a SHA-256 digest"
        }
        F::DigestInfoNoNull => "raw RSA with the real key: DigestInfo without the NULL parameters",
        F::ShortPadding => "raw RSA with the real key: 4 padding bytes instead of at least 8",
        F::BlockType02 => "raw RSA with the real key: block type 02 (encryption padding)",
        F::BytesAfterDigest => {
            "raw RSA with the real key: 16 bytes after the digest (Bleichenbacher 2006)"
        }
        F::GarbagePadding => {
            "raw RSA with the real key: non-0xFF garbage in the padding (e=3 forgery shape)"
        }
        F::Base64Url => "the valid signature in the base64url alphabet",
        F::MissingPadding => "the valid signature without its `=` padding",
        F::Wrapped64 => "the valid signature wrapped at 64 columns (`openssl base64` without -A)",
        F::Whitespace => "the valid signature with a space inside",
        F::OverLong => "the valid signature repeated past 2560 characters",
        F::TokenOverLong => "a valid signature of a token longer than 6144 characters",
        F::DoublePercentEncoding => "the valid signature percent-encoded twice (`%252B`)",
        F::UnknownAuthorizer => "valid credentials naming an authorizer that does not exist",
        F::MissingToken => "a valid signature without the token parameter",
        F::SignatureMisnamed => "the valid signature under `x-amz-customauthorizer-signatures`",
        F::SmuggledAmpersand => {
            "a validly signed token holding `&smuggled=1`, sent unencoded: the `&` splits it"
        }
        F::SecondQuestionMark => {
            "valid credentials in an MQTT username, then a second `?` (only the authorizer name after it)"
        }
        F::RawPlus => "a valid signature holding `+`, the `+` left unencoded in a query string",
        F::DuplicatedToken => "the token parameter twice: the signed token, then another",
        F::DuplicatedSignature => "the signature parameter twice: a wrong one, then the valid one",
        F::SignatureNameCase => {
            "the valid signature under `X-Amz-CustomAuthorizer-Signature` in a query string"
        }
        F::SmuggledEquals => "a validly signed token holding `=`, sent unencoded in a query string",
        F::InBody => "valid credentials in the HTTPS request body (form-encoded)",
        F::InPassword => "valid credentials in the MQTT CONNECT password, not the username",
        F::InactiveAuthorizer => "valid credentials naming the target's INACTIVE authorizer",
        F::QuestionMarkInFreeText => {
            "valid credentials after a second `?` in an MQTT username (the first in its free text)"
        }
        F::BareSignatureBefore => {
            "the bare parameter `=x-amz-customauthorizer-signature` before valid credentials"
        }
        F::BareSignatureAfter => {
            "the bare parameter `=x-amz-customauthorizer-signature` after valid credentials"
        }
    }
}
