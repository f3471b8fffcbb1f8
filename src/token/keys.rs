//! RSA keys in the PEM forms `openssl genrsa`, `openssl rsa -pubout` and `tokenstorm keygen` write.
//!
//! Private keys: PKCS#1 (`RSA PRIVATE KEY`) and PKCS#8 (`PRIVATE KEY`). Public keys: SPKI (`PUBLIC KEY`) and
//! PKCS#1 (`RSA PUBLIC KEY`). Each key is parsed once by `rsa` (the reference) and kept in `aws-lc-rs` form for
//! the hot paths. AWS accepts only RSA keys of at least 2048 bits, so smaller ones are refused here.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as lc_sig, ParsedPublicKey, RsaKeyPair};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;

use super::pem::{self, Want};

/// Smallest modulus AWS IoT accepts for token signing keys.
pub const MIN_BITS: usize = 2048;

/// Why a key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{what}: not an RSA {kind} key in PEM form (expected PKCS#1 or PKCS#8/SPKI as written by openssl genrsa / openssl rsa -pubout){hint}"
    )]
    NotPem {
        what: String,
        kind: &'static str,
        hint: &'static str,
    },
    #[error(
        "{what}: the key has {bits} bits; AWS IoT token signing needs RSA keys of at least {MIN_BITS} bits"
    )]
    TooSmall { what: String, bits: usize },
    #[error("{what}: {reason}")]
    Rejected { what: String, reason: String },
    #[error("unsupported key size {0}: choose 2048, 3072 or 4096")]
    UnsupportedSize(usize),
}

/// A private signing key. Its `Debug` never shows key material.
pub struct PrivateKey {
    pair: RsaKeyPair,
    reference: rsa::PrivateKey,
}

/// A public verification key, pre-parsed for fast repeated verification.
#[derive(Clone)]
pub struct PublicKey {
    parsed: ParsedPublicKey,
    reference: rsa::PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(rsa-{}, redacted)", self.bits())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(rsa-{}, {})", self.bits(), self.fingerprint())
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl PrivateKey {
    /// Generates a fresh key with aws-lc (2048, 3072 or 4096 bits).
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            b if b < MIN_BITS => {
                return Err(KeyError::TooSmall {
                    what: "keygen".into(),
                    bits: b,
                });
            }
            b => return Err(KeyError::UnsupportedSize(b)),
        };
        let what = || "generated key".to_string();
        let pair = RsaKeyPair::generate(size).map_err(|e| KeyError::Rejected {
            what: what(),
            reason: e.to_string(),
        })?;
        let der = pair.as_der().map_err(|e| KeyError::Rejected {
            what: what(),
            reason: e.to_string(),
        })?;
        let reference =
            rsa::PrivateKey::from_pkcs8_der(der.as_ref()).map_err(|e| KeyError::Rejected {
                what: what(),
                reason: e.to_string(),
            })?;
        Ok(Self { pair, reference })
    }

    /// Reads a PEM file; `what` in errors is the path.
    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?, &path.display().to_string())
    }

    /// Parses PKCS#1 or PKCS#8 PEM; text around the key block is skipped, as openssl does. `what` names the
    /// source in errors.
    pub fn from_pem(text: &str, what: &str) -> Result<Self, KeyError> {
        let reference = pem::private_key(text).ok_or_else(|| KeyError::NotPem {
            what: what.into(),
            kind: Want::Private.as_str(),
            hint: pem::hint(text, Want::Private),
        })?;
        Self::from_reference(reference, what)
    }

    /// Wraps an `rsa` private key (used by tests and by forgeries that need raw RSA on a copy of the key).
    pub fn from_reference(reference: rsa::PrivateKey, what: &str) -> Result<Self, KeyError> {
        let bits = reference.n().bit_width() as usize;
        if bits < MIN_BITS {
            return Err(KeyError::TooSmall {
                what: what.into(),
                bits,
            });
        }
        let der = reference.to_pkcs8_der().map_err(|e| KeyError::Rejected {
            what: what.into(),
            reason: e.to_string(),
        })?;
        let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| KeyError::Rejected {
            what: what.into(),
            reason: e.to_string(),
        })?;
        Ok(Self { pair, reference })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.reference.n().bit_width() as usize
    }

    /// Signature length in bytes (the modulus length).
    pub fn signature_len(&self) -> usize {
        self.pair.public_modulus_len()
    }

    /// The aws-lc key pair, for signing.
    pub(crate) fn pair(&self) -> &RsaKeyPair {
        &self.pair
    }

    /// The `rsa` form of the key (hazmat forgeries, reference checks).
    pub fn reference(&self) -> &rsa::PrivateKey {
        &self.reference
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_reference(self.reference.to_public_key(), "public key")
            .expect("a valid private key always yields a valid public key")
    }

    /// PKCS#8 PEM, as `openssl genpkey` writes it. Callers write it to files, never to logs.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.reference
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| KeyError::Rejected {
                what: "private key".into(),
                reason: e.to_string(),
            })
    }
}

impl PublicKey {
    /// Reads a PEM file; `what` in errors is the path.
    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?, &path.display().to_string())
    }

    /// Parses SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM. Text around the key block (whitespace, as
    /// in the PEM strings of `aws iot describe-authorizer`) is skipped.
    pub fn from_pem(text: &str, what: &str) -> Result<Self, KeyError> {
        let reference = pem::public_key(text).ok_or_else(|| KeyError::NotPem {
            what: what.into(),
            kind: Want::Public.as_str(),
            hint: pem::hint(text, Want::Public),
        })?;
        Self::from_reference(reference, what)
    }

    /// Parses DER SubjectPublicKeyInfo (what AWS KMS `GetPublicKey` returns).
    pub fn from_spki_der(der: &[u8], what: &str) -> Result<Self, KeyError> {
        use rsa::pkcs8::DecodePublicKey as _;
        let reference =
            rsa::PublicKey::from_public_key_der(der).map_err(|e| KeyError::Rejected {
                what: what.into(),
                reason: format!("not an RSA SubjectPublicKeyInfo: {e}"),
            })?;
        Self::from_reference(reference, what)
    }

    /// Wraps an `rsa` public key.
    pub fn from_reference(reference: rsa::PublicKey, what: &str) -> Result<Self, KeyError> {
        let bits = reference.n().bit_width() as usize;
        if bits < MIN_BITS {
            return Err(KeyError::TooSmall {
                what: what.into(),
                bits,
            });
        }
        let der = reference.to_pkcs1_der().map_err(|e| KeyError::Rejected {
            what: what.into(),
            reason: e.to_string(),
        })?;
        let parsed = ParsedPublicKey::new(&lc_sig::RSA_PKCS1_2048_8192_SHA256, der.as_bytes())
            .map_err(|e| KeyError::Rejected {
                what: what.into(),
                reason: e.to_string(),
            })?;
        Ok(Self { parsed, reference })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.reference.n().bit_width() as usize
    }

    /// Signature length in bytes.
    pub fn signature_len(&self) -> usize {
        self.reference.size()
    }

    pub(crate) fn parsed(&self) -> &ParsedPublicKey {
        &self.parsed
    }

    /// The `rsa` form of the key (the reference verifier).
    pub fn reference(&self) -> &rsa::PublicKey {
        &self.reference
    }

    /// SPKI PEM, as `openssl rsa -pubout` writes it.
    pub fn to_spki_pem(&self) -> String {
        self.reference
            .to_public_key_pem(LineEnding::LF)
            .expect("encoding an RSA public key cannot fail")
    }

    /// A short, stable identifier for logs and reports: the first 8 bytes of SHA-256 over the PKCS#1 DER.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let der = self
            .reference
            .to_pkcs1_der()
            .expect("encoding an RSA public key cannot fail");
        let digest = sha2::Sha256::digest(der.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}
