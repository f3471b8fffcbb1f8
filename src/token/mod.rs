//! Keys, signing and verification of custom-authorizer tokens (spec §2).
//!
//! Pure functions over bytes: nothing here touches sockets, clocks or files other than the PEM readers.
//! `aws-lc-rs` is the fast path (bulk signing in the generator, the emulator's gate); the RustCrypto `rsa`
//! crate is the independent reference verifier the two are tested against.

pub mod craft;
pub mod jws;
pub mod keys;
mod pem;
pub mod sign;
pub mod signer;
pub mod verify;

pub use keys::{KeyError, PrivateKey, PublicKey};
pub use sign::{encode_signature, sign_token};
pub use signer::{SignError, TokenSigner};
pub use verify::{KeyStep, SignatureError, decode_signature, verify_token, verify_token_each};
