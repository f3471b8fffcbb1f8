//! Crafting signatures an attacker could send (hazmat): raw RSA on the attacker's copy of a key over any
//! encoded message, so a forgery can be a *well-formed* RSA signature (s < n, right length) over a malformed
//! PKCS#1 v1.5 encoding. Setup-time only: every function here runs a private-key operation.
//!
//! The encodings follow RFC 8017 §9.2 (EMSA-PKCS1-v1_5): `00 01 FF…FF 00 || DigestInfo || H`, with the
//! mistakes named by the function that makes them.

use rsa::BoxedUint;
use rsa::traits::PublicKeyParts as _;
use sha2::Digest as _;

/// The DER DigestInfo prefixes (RFC 8017 §9.2 note 1).
pub const SHA1_PREFIX: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
pub const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
pub const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
pub const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];
/// SHA-256's DigestInfo with SHA-224's OID (…04 02 04): the wrong algorithm named over a SHA-256 digest.
pub const SHA256_WRONG_OID_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05,
    0x00, 0x04, 0x20,
];
/// SHA-256's DigestInfo without the NULL parameters (lengths adjusted, so it is valid DER).
pub const SHA256_NO_NULL_PREFIX: &[u8] = &[
    0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04,
    0x20,
];

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(data).to_vec()
}

/// The SHA-1 digest of `data` (aws-lc's legacy-only SHA-1).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// RSASSA-PSS with SHA-256 (MGF1-SHA-256, 32-byte salt) with the real key: the wrong scheme.
pub fn sign_pss(key: &super::PrivateKey, token: &[u8]) -> Vec<u8> {
    let mut sig = vec![0u8; key.signature_len()];
    key.pair()
        .sign(
            &aws_lc_rs::signature::RSA_PSS_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            token,
            &mut sig,
        )
        .expect("signing with a validated RSA key cannot fail");
    sig
}

/// `00 01 FF…FF 00 || prefix || digest`, `k` bytes; `None` when it does not fit.
pub fn emsa_pkcs1(k: usize, prefix: &[u8], digest: &[u8]) -> Option<Vec<u8>> {
    let t = prefix.len() + digest.len();
    let ps = k.checked_sub(t + 3)?;
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.extend(std::iter::repeat_n(0xff, ps));
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(digest);
    Some(em)
}

/// A malformed SHA-256 encoding: each shape a lax PKCS#1 parser has been known to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Only 4 padding bytes; the block is filled with leading zeros (`00 00 … 00 01 FF FF FF FF 00 T`).
    ShortPadding,
    /// Block type 02 (encryption) with non-zero random-looking padding.
    BlockType02,
    /// `00 01 FF…FF 00 T || 16 bytes` (the padding shortened by 16 to make room): Bleichenbacher 2006.
    BytesAfterDigest,
    /// `00 01 <non-0xFF garbage> 00 T`: the padding is not all 0xFF.
    GarbagePadding,
}

/// The `k`-byte encoded message of `digest` (SHA-256) in the given malformed shape; `None` if `k` is too small.
pub fn malformed_em(k: usize, digest: &[u8], shape: Malformed) -> Option<Vec<u8>> {
    let mut t = SHA256_PREFIX.to_vec();
    t.extend_from_slice(digest);
    let garbage = |i: usize| (i as u8).wrapping_mul(37).wrapping_add(11) | 0x01;
    match shape {
        Malformed::ShortPadding => {
            let body_len = 2 + 4 + 1 + t.len();
            let zeros = k.checked_sub(body_len)?;
            let mut em = vec![0u8; zeros];
            em.extend_from_slice(&[0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x00]);
            em.extend_from_slice(&t);
            // The leading 0x00 of the block sits after the zeros: the value is a valid (small) integer.
            Some(em)
        }
        Malformed::BlockType02 => {
            let mut em = emsa_pkcs1(k, SHA256_PREFIX, digest)?;
            em[1] = 0x02;
            let ps_end = k - t.len() - 1;
            for (i, b) in em[2..ps_end].iter_mut().enumerate() {
                *b = garbage(i);
            }
            Some(em)
        }
        Malformed::BytesAfterDigest => {
            let extra = 16;
            let mut em = emsa_pkcs1(k.checked_sub(extra)?, SHA256_PREFIX, digest)?;
            em.extend((0..extra).map(garbage));
            (em.len() == k).then_some(em)
        }
        Malformed::GarbagePadding => {
            let mut em = emsa_pkcs1(k, SHA256_PREFIX, digest)?;
            let ps_end = k - t.len() - 1;
            for (i, b) in em[2..ps_end].iter_mut().enumerate() {
                if i % 2 == 1 {
                    *b = garbage(i) & 0x7f;
                }
            }
            Some(em)
        }
    }
}

/// Raw RSA with the private key: `em^d mod n`, as `k` big-endian bytes; `None` if `em` is not below `n`.
pub fn raw_sign(key: &rsa::PrivateKey, em: &[u8]) -> Option<Vec<u8>> {
    let k = key.size();
    if em.len() != k {
        return None;
    }
    let bits = key.n().as_ref().bits_precision();
    let m = BoxedUint::from_be_slice(em, bits).ok()?;
    let s = rsa::hazmat::rsa_decrypt_and_check(key, None::<&mut NoRng>, &m).ok()?;
    Some(left_pad(&s.to_be_bytes(), k))
}

/// A PKCS#1 v1.5 signature with an arbitrary DigestInfo prefix and digest (SHA-1/384/512, wrong OID …).
pub fn sign_with_prefix(key: &rsa::PrivateKey, prefix: &[u8], digest: &[u8]) -> Option<Vec<u8>> {
    raw_sign(key, &emsa_pkcs1(key.size(), prefix, digest)?)
}

/// The modulus n plus `delta` (−1, 0 or +1) as `k` big-endian bytes (the result may need k+1 bytes for +1 in
/// theory; it is then cut to its low `k` bytes, which is still not a valid signature).
pub fn modulus_plus(key: &rsa::PublicKey, delta: i8) -> Vec<u8> {
    let k = key.size();
    let mut n = left_pad(&key.n().as_ref().to_be_bytes(), k);
    match delta {
        d if d > 0 => add_one(&mut n),
        d if d < 0 => sub_one(&mut n),
        _ => {}
    }
    n
}

/// The integer `v` as `k` big-endian bytes.
pub fn small_value(k: usize, v: u8) -> Vec<u8> {
    let mut out = vec![0u8; k];
    if let Some(last) = out.last_mut() {
        *last = v;
    }
    out
}

fn add_one(b: &mut [u8]) {
    for x in b.iter_mut().rev() {
        let (v, carry) = x.overflowing_add(1);
        *x = v;
        if !carry {
            return;
        }
    }
}

fn sub_one(b: &mut [u8]) {
    for x in b.iter_mut().rev() {
        let (v, borrow) = x.overflowing_sub(1);
        *x = v;
        if !borrow {
            return;
        }
    }
}

fn left_pad(bytes: &[u8], k: usize) -> Vec<u8> {
    let bytes = &bytes[bytes.len().saturating_sub(k)..];
    let mut out = vec![0u8; k - bytes.len()];
    out.extend_from_slice(bytes);
    out
}

/// A concrete type for "no blinding RNG" (the hazmat API is generic over one); never called.
struct NoRng;

impl rsa::rand_core::TryRng for NoRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for NoRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::test_keys;
    use crate::token::sign_token;

    #[test]
    fn raw_rsa_over_the_correct_encoding_is_the_real_signature() {
        let key = test_keys::signing();
        let token = b"MyStringThatNeedsToBeSigned";
        let crafted = sign_with_prefix(key.reference(), SHA256_PREFIX, &sha256(token)).unwrap();
        assert_eq!(crafted, sign_token(key, token));
    }

    #[test]
    fn malformed_encodings_have_the_modulus_length_and_differ_from_the_correct_one() {
        let d = sha256(b"t");
        let good = emsa_pkcs1(256, SHA256_PREFIX, &d).unwrap();
        for shape in [
            Malformed::ShortPadding,
            Malformed::BlockType02,
            Malformed::BytesAfterDigest,
            Malformed::GarbagePadding,
        ] {
            let em = malformed_em(256, &d, shape).unwrap();
            assert_eq!(em.len(), 256, "{shape:?}");
            assert_ne!(em, good, "{shape:?}");
            assert_eq!(em[0], 0, "{shape:?}: below the modulus");
        }
        assert_eq!(malformed_em(20, &d, Malformed::BytesAfterDigest), None);
    }

    #[test]
    fn modulus_arithmetic_carries() {
        let mut b = vec![0x00, 0xff, 0xff];
        add_one(&mut b);
        assert_eq!(b, [0x01, 0x00, 0x00]);
        sub_one(&mut b);
        assert_eq!(b, [0x00, 0xff, 0xff]);
        assert_eq!(small_value(3, 1), [0, 0, 1]);
    }
}
