//! A small fixed key set for unit tests (test-only keys, generated with `openssl genrsa 2048`).

use std::sync::OnceLock;

use crate::token::PrivateKey;

fn load(cell: &'static OnceLock<PrivateKey>, pem: &str, what: &str) -> &'static PrivateKey {
    cell.get_or_init(|| PrivateKey::from_pem(pem, what).expect("test key parses"))
}

pub fn signing() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    load(
        &K,
        include_str!("testdata/signing_key.pem"),
        "test signing key",
    )
}

pub fn attacker() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    load(
        &K,
        include_str!("testdata/attacker_key.pem"),
        "test attacker key",
    )
}
