//! Signing tokens exactly as `openssl dgst -sha256 -sign key.pem | base64 -w0` does.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::keys::PrivateKey;

/// RSASSA-PKCS1-v1_5 with SHA-256 over the exact token bytes. PKCS#1 v1.5 is deterministic, so the result is
/// byte-identical to openssl's.
pub fn sign_token(key: &PrivateKey, token: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; key.signature_len()];
    key.pair()
        .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), token, &mut sig)
        .expect("signing with a validated RSA key cannot fail");
    sig
}

/// Standard base64 with padding, the form AWS expects.
pub fn encode_signature(sig: &[u8]) -> String {
    STANDARD.encode(sig)
}
