//! The seam between what needs signatures (the credential catalogue, the token pool) and who makes them: a
//! [`TokenSigner`] signs a batch of token strings with the registered key. A PEM key signs here, spread over
//! threads; an external command or AWS KMS sign elsewhere (`crate::signer`), with their own bounded
//! concurrency, which is why the seam takes a whole batch rather than one token.

use super::keys::{PrivateKey, PublicKey};
use super::sign::sign_token;

/// Why a batch could not be signed: a setup error naming the signer, the token index and the cause (never key
/// material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Signs tokens with one registered key: RSASSA-PKCS1-v1_5 with SHA-256 over each token's bytes, exactly as
/// `openssl dgst -sha256 -sign` does.
pub trait TokenSigner: Sync {
    /// The raw signatures of `tokens`, in order.
    fn sign_all(&self, tokens: &[String]) -> Result<Vec<Vec<u8>>, SignError>;
    /// The private key when it is held here. Forgeries that need raw RSA on the registered key (malformed
    /// encodings, other digests, PSS) are crafted on it; without it they are crafted on the attacker's key.
    fn private_key(&self) -> Option<&PrivateKey>;
    /// The key the authorizer registers.
    fn public_key(&self) -> PublicKey;
}

impl TokenSigner for PrivateKey {
    fn sign_all(&self, tokens: &[String]) -> Result<Vec<Vec<u8>>, SignError> {
        Ok(par_map(tokens, |t| sign_token(self, t.as_bytes())))
    }

    fn private_key(&self) -> Option<&PrivateKey> {
        Some(self)
    }

    fn public_key(&self) -> PublicKey {
        PrivateKey::public_key(self)
    }
}

/// Signs `tokens[i]` with `signers[key_of[i]]`: one batch per signer, results back in order.
pub fn sign_by_key<S: TokenSigner + ?Sized>(
    signers: &[&S],
    key_of: &[usize],
    tokens: &[String],
) -> Result<Vec<Vec<u8>>, SignError> {
    let mut out = vec![Vec::new(); tokens.len()];
    for (k, signer) in signers.iter().enumerate() {
        let mine: Vec<usize> = (0..tokens.len()).filter(|&i| key_of[i] == k).collect();
        if mine.is_empty() {
            continue;
        }
        let batch: Vec<String> = mine.iter().map(|&i| tokens[i].clone()).collect();
        let signed = signer.sign_all(&batch)?;
        if signed.len() != batch.len() {
            return Err(SignError(format!(
                "signer {k} returned {} signatures for {} tokens",
                signed.len(),
                batch.len()
            )));
        }
        for (i, s) in mine.into_iter().zip(signed) {
            out[i] = s;
        }
    }
    Ok(out)
}

/// Maps over `items` on up to `available_parallelism` threads, keeping order.
pub fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{encode_signature, verify_token};

    #[test]
    fn each_token_goes_to_its_key_and_comes_back_in_order() {
        let a = PrivateKey::generate(2048).unwrap();
        let b = PrivateKey::generate(2048).unwrap();
        let tokens: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let key_of = [0, 1, 0, 1, 1];
        let sigs = sign_by_key(&[&a, &b], &key_of, &tokens).unwrap();
        for (i, sig) in sigs.iter().enumerate() {
            let public = if key_of[i] == 0 { &a } else { &b }.public_key();
            let ok = verify_token([&public], tokens[i].as_bytes(), &encode_signature(sig));
            assert!(ok.is_ok(), "token {i}");
        }
    }
}
