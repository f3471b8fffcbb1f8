//! The attacker's extra keys for the wrong-size forgeries: a 3072-bit key (another size than the registered
//! 2048-bit ones) and a 1024-bit key (below AWS's 2048-bit minimum, so it cannot be a [`PrivateKey`]).
//! Throwaway keys generated with `openssl genrsa`, public by design: they only ever make forgeries.

use std::sync::OnceLock;

use rsa::pkcs8::DecodePrivateKey as _;

use crate::token::PrivateKey;

/// The attacker's 3072-bit key.
pub fn other_size() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    K.get_or_init(|| {
        PrivateKey::from_pem(
            include_str!("keys/attacker_3072.pem"),
            "attacker 3072-bit key",
        )
        .expect("the embedded 3072-bit attacker key parses")
    })
}

/// The attacker's 1024-bit key (raw `rsa` form).
pub fn short() -> &'static rsa::PrivateKey {
    static K: OnceLock<rsa::PrivateKey> = OnceLock::new();
    K.get_or_init(|| {
        rsa::PrivateKey::from_pkcs8_pem(include_str!("keys/short_1024.pem"))
            .expect("the embedded 1024-bit attacker key parses")
    })
}
