//! Verifying token signatures as the AWS IoT gate does (spec §2), with a reason for each failure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;

use super::keys::PublicKey;

/// Longest signature string AWS accepts (spec §2).
pub const MAX_SIGNATURE_CHARS: usize = 2560;

/// Why a signature was refused. The variants are a bounded set, usable as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is longer than {MAX_SIGNATURE_CHARS} characters")]
    TooLong,
    #[error("the signature is not base64 (standard alphabet, padded)")]
    NotBase64,
    #[error("the signature has the wrong length for the key")]
    WrongLength,
    #[error("the signature does not match the token under any configured key")]
    Mismatch,
}

impl SignatureError {
    /// Stable snake_case name for metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::NotBase64 => "not_base64",
            Self::WrongLength => "wrong_length",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

/// Decodes the base64 signature string: the standard alphabet with canonical padding, nothing else
/// (no whitespace, no URL-safe alphabet).
pub fn decode_signature(b64: &str) -> Result<Vec<u8>, SignatureError> {
    if b64.len() > MAX_SIGNATURE_CHARS {
        return Err(SignatureError::TooLong);
    }
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| SignatureError::NotBase64)
}

/// Verifies a base64 signature of `token` against each key in turn (key rotation); returns the index of the
/// first key that accepts it.
pub fn verify_token<'a, I>(
    keys: I,
    token: &[u8],
    signature_b64: &str,
) -> Result<usize, SignatureError>
where
    I: IntoIterator<Item = &'a PublicKey>,
{
    verify_token_each(keys, token, signature_b64, |_| {})
}

/// What [`verify_token_each`] found on the way: the decoded signature, then each key's verdict in turn (the keys
/// after the one that accepts it are not tried). `tokenstorm explain` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStep {
    /// The signature string decoded to this many bytes, or why it did not.
    Decoded(Result<usize, SignatureError>),
    /// Key `index` was not tried: the signature has `got` bytes, the key's signatures `want`.
    WrongLength {
        index: usize,
        got: usize,
        want: usize,
    },
    /// Key `index` does not accept the signature.
    Mismatch { index: usize },
    /// Key `index` accepts the signature.
    Accepted { index: usize },
}

/// [`verify_token`], telling `on_step` what it finds (the one code path: explanations cannot drift from it).
pub fn verify_token_each<'a, I>(
    keys: I,
    token: &[u8],
    signature_b64: &str,
    mut on_step: impl FnMut(KeyStep),
) -> Result<usize, SignatureError>
where
    I: IntoIterator<Item = &'a PublicKey>,
{
    let decoded = decode_signature(signature_b64);
    on_step(KeyStep::Decoded(
        decoded.as_ref().map(Vec::len).map_err(|e| *e),
    ));
    let sig = decoded?;
    let mut any_len_matched = false;
    for (index, key) in keys.into_iter().enumerate() {
        if sig.len() != key.signature_len() {
            on_step(KeyStep::WrongLength {
                index,
                got: sig.len(),
                want: key.signature_len(),
            });
            continue;
        }
        any_len_matched = true;
        if verify_raw(key, token, &sig) {
            on_step(KeyStep::Accepted { index });
            return Ok(index);
        }
        on_step(KeyStep::Mismatch { index });
    }
    Err(if any_len_matched {
        SignatureError::Mismatch
    } else {
        SignatureError::WrongLength
    })
}

/// The fast verifier (aws-lc-rs): RSASSA-PKCS1-v1_5, SHA-256.
pub fn verify_raw(key: &PublicKey, token: &[u8], sig: &[u8]) -> bool {
    key.parsed().verify_sig(token, sig).is_ok()
}

/// The reference verifier (RustCrypto `rsa`), strict PKCS#1 v1.5 with SHA-256. Must agree with [`verify_raw`].
pub fn verify_reference(key: &PublicKey, token: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = Signature::try_from(sig) else {
        return false;
    };
    VerifyingKey::<sha2::Sha256>::new(key.reference().clone())
        .verify(token, &sig)
        .is_ok()
}
