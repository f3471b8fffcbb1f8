//! Forged signatures: pure functions from a token, keys and a valid signature to a credential the gate must
//! refuse. Each is computed once per distinct token at setup, never on the request path.

use sha2::Digest as _;

use super::Forgery;
use crate::token::{PrivateKey, encode_signature, sign_token};

/// What each forgery needs: the token, its valid signature (raw bytes), the attacker's key, and the valid
/// signature of a different token.
pub struct ForgeInputs<'a> {
    pub token: &'a [u8],
    pub valid_sig: &'a [u8],
    pub attacker: &'a PrivateKey,
    pub signing_key: &'a PrivateKey,
    /// A valid signature (raw bytes, under the signing key) of some other token.
    pub other_token_sig: &'a [u8],
    /// Which bit to flip (taken modulo the signature's bit length).
    pub flip_bit: usize,
}

/// The signature string a forgery sends; `None` means the signature is left out entirely.
pub fn forge(variant: Forgery, inp: &ForgeInputs<'_>) -> Option<String> {
    match variant {
        Forgery::WrongKey => Some(encode_signature(&sign_token(inp.attacker, inp.token))),
        Forgery::BitFlip => Some(encode_signature(&flip(inp.valid_sig, inp.flip_bit))),
        Forgery::Truncated => {
            // Drop the last 3 bytes: still canonical base64 (no padding), but too short for the key.
            let keep = inp.valid_sig.len().saturating_sub(3);
            Some(encode_signature(&inp.valid_sig[..keep]))
        }
        Forgery::NotBase64 => Some(not_base64(&encode_signature(inp.valid_sig))),
        Forgery::OtherToken => Some(encode_signature(inp.other_token_sig)),
        Forgery::MissingSignature => None,
        Forgery::HexDigest => Some(encode_signature(&sign_token(
            inp.signing_key,
            hex_digest(inp.token).as_bytes(),
        ))),
    }
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
mod tests {
    use super::*;
    use crate::token::{SignatureError, verify_token};

    #[test]
    fn hex_digest_matches_the_seed_article() {
        assert_eq!(
            hex_digest(b"MyStringThatNeedsToBeSigned"),
            "8de411c918c5ed2896a7dfdd8f838fdc441c36a22938b024958b2546f8e7bd6a"
        );
    }

    #[test]
    fn every_forgery_fails_verification_and_the_valid_one_passes() {
        let key = crate::attempt::test_keys::signing();
        let attacker = crate::attempt::test_keys::attacker();
        let public = key.public_key();
        let token = b"MyStringThatNeedsToBeSigned";
        let valid = sign_token(key, token);
        let other = sign_token(key, b"another token");
        assert_eq!(
            verify_token([&public], token, &encode_signature(&valid)),
            Ok(0)
        );
        for flip_bit in [0, 7, 1000, 4095, 99_999] {
            let inp = ForgeInputs {
                token,
                valid_sig: &valid,
                attacker,
                signing_key: key,
                other_token_sig: &other,
                flip_bit,
            };
            for v in Forgery::ALL {
                let sig = forge(v, &inp).unwrap_or_default();
                let got = verify_token([&public], token, &sig);
                let want = match v {
                    Forgery::NotBase64 => Err(SignatureError::NotBase64),
                    Forgery::Truncated | Forgery::MissingSignature => {
                        Err(SignatureError::WrongLength)
                    }
                    _ => Err(SignatureError::Mismatch),
                };
                assert_eq!(got, want, "{v:?} bit {flip_bit}");
            }
        }
    }
}
