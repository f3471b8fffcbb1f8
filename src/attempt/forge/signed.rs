//! The signatures some forgeries send that only the registered key's signer can make: valid signatures of
//! other bytes than the token (the token plus a newline, its hex digest, the smuggled and over-long tokens,
//! another token). They are signed at setup in the same batches as the valid tokens, so an external signer
//! (a command, AWS KMS) makes them too and these variants keep their meaning: "validly signed, wrong bytes".

use super::{forged_token, hex_digest};
use crate::contract::Forgery;
use crate::token::{PrivateKey, sign_token};

/// Valid signatures (raw bytes, under the registered key) of other bytes than the token.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    /// [`Forgery::OtherToken`]: another token's (the next set's valid one, or `<token>.other`).
    pub other_token: Vec<u8>,
    pub newline: Vec<u8>,
    pub hex_digest: Vec<u8>,
    pub smuggled_ampersand: Vec<u8>,
    pub smuggled_equals: Vec<u8>,
    pub overlong: Vec<u8>,
}

impl Signed {
    /// How many messages [`Self::messages`] gives.
    pub const MESSAGES: usize = 5;

    /// What to sign for `token`, in the order [`Self::from_signatures`] takes the signatures.
    pub fn messages(token: &str) -> [String; Self::MESSAGES] {
        [
            format!("{token}\n"),
            hex_digest(token.as_bytes()),
            forged_token(Forgery::SmuggledAmpersand, token),
            forged_token(Forgery::SmuggledEquals, token),
            forged_token(Forgery::TokenOverLong, token),
        ]
    }

    /// The message signed when no other token's valid signature is at hand.
    pub fn other_message(token: &str) -> String {
        format!("{token}.other")
    }

    /// The signatures of [`Self::messages`], in order, and the other token's.
    pub fn from_signatures(sigs: impl IntoIterator<Item = Vec<u8>>, other_token: Vec<u8>) -> Self {
        let mut it = sigs.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Self {
            other_token,
            newline: next(),
            hex_digest: next(),
            smuggled_ampersand: next(),
            smuggled_equals: next(),
            overlong: next(),
        }
    }

    /// Every message signed with a local key, the other token being `<token>.other` (tests).
    pub fn with_key(key: &PrivateKey, token: &str) -> Self {
        let sign = |m: &str| sign_token(key, m.as_bytes());
        Self::from_signatures(
            Self::messages(token).iter().map(|m| sign(m)),
            sign(&Self::other_message(token)),
        )
    }
}
