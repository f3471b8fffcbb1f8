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

/// The catalogue of two devices, `tok-a` and `tok-b`, under the signing key (the generator's unit tests).
pub fn two_device_catalogue() -> super::Catalogue {
    let specs: Vec<super::SetSpec> = ["tok-a", "tok-b"]
        .into_iter()
        .map(|token| super::SetSpec {
            token: token.into(),
            key_index: 0,
        })
        .collect();
    super::Catalogue::build(&specs, vec![0, 1], &[signing()], attacker(), 3).unwrap()
}
