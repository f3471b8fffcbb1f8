//! Test keys: generated once per test binary (aws-lc is fast, but not free in debug builds).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokenstorm::token::{PrivateKey, PublicKey, encode_signature, sign_token};

/// The seed article's token and token key name.
pub const SEED_TOKEN: &str = "MyStringThatNeedsToBeSigned";
pub const SEED_TOKEN_KEY_NAME: &str = "X-My-App-custom-key";
pub const SEED_AUTHORIZER: &str = "MyCustomAuthorizer";
pub const SEED_TOPIC: &str = "customAuhtTestTopic";

/// Three distinct 2048-bit keys: the signing key, a rotated one, and an attacker's.
pub fn key(index: usize) -> &'static PrivateKey {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    &KEYS.get_or_init(|| {
        (0..3)
            .map(|_| PrivateKey::generate(2048).expect("keygen"))
            .collect()
    })[index]
}

pub fn signing_key() -> &'static PrivateKey {
    key(0)
}

pub fn rotated_key() -> &'static PrivateKey {
    key(1)
}

pub fn attacker_key() -> &'static PrivateKey {
    key(2)
}

pub fn public(index: usize) -> PublicKey {
    key(index).public_key()
}

/// Base64 signature of `token` under `key`.
pub fn sign(key: &PrivateKey, token: &str) -> String {
    encode_signature(&sign_token(key, token.as_bytes()))
}

/// Writes `key`'s private (PKCS#8) and public (SPKI) PEM files into `dir`; returns (private, public) paths.
pub fn write_pems(key: &PrivateKey, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{stem}_private.pem"));
    let public = dir.join(format!("{stem}_public.pem"));
    std::fs::write(&private, key.to_pkcs8_pem().expect("pem")).expect("write private key");
    std::fs::write(&public, key.public_key().to_spki_pem()).expect("write public key");
    (private, public)
}
