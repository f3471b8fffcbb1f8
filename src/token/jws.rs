//! JWS signing for `devices.token = "jwt"` (RFC 7515 compact form, RFC 7518 algorithms): the key that signs
//! the JWT itself, which is not the custom-auth signing key (that one signs the whole JWT afterwards, as for
//! any token). RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (the same operation as [`super::sign_token`]); ES256 is
//! ECDSA on P-256 with SHA-256, its signature the fixed 64-byte `r || s` JWS requires (not DER). Both through
//! `aws-lc-rs`. Key files are PEM as openssl writes them: for ES256 `openssl ecparam -genkey` (SEC1, `EC PRIVATE
//! KEY`, a leading `EC PARAMETERS` block is skipped) or `openssl genpkey` (PKCS#8).

use std::fmt;
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

use super::{KeyError, PrivateKey};

/// A JWS algorithm tokenstorm signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    Rs256,
    Es256,
}

impl JwsAlg {
    /// `alg` as the JOSE header writes it (and the scenario names it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// Length of an encoded signature, chars of base64url without padding, for a key of `rsa_bits` (RS256).
    pub fn signature_chars(self, rsa_bits: usize) -> usize {
        let bytes = match self {
            Self::Rs256 => rsa_bits.div_ceil(8),
            Self::Es256 => 64,
        };
        (bytes * 4).div_ceil(3)
    }
}

/// The JWT signing key. Its `Debug` never shows key material.
pub enum JwsKey {
    /// Boxed: an RSA key (both of its forms) is several times the size of an EC one.
    Rs256(Box<PrivateKey>),
    Es256(EcdsaKeyPair),
}

impl fmt::Debug for JwsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rs256(k) => write!(f, "JwsKey(RS256, rsa-{}, redacted)", k.bits()),
            Self::Es256(_) => write!(f, "JwsKey(ES256, P-256, redacted)"),
        }
    }
}

/// base64url without padding (RFC 7515 §2), the encoding of every JWT part.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl JwsKey {
    /// Reads the PEM private key for `alg` from `path` (`what` in errors is the path).
    pub fn from_pem_file(alg: JwsAlg, path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(alg, &text, &path.display().to_string())
    }

    /// Parses the first private key of `alg`'s kind in `text`.
    pub fn from_pem(alg: JwsAlg, text: &str, what: &str) -> Result<Self, KeyError> {
        match alg {
            JwsAlg::Rs256 => PrivateKey::from_pem(text, what).map(|k| Self::Rs256(Box::new(k))),
            JwsAlg::Es256 => {
                let rejected = |reason: String| KeyError::Rejected {
                    what: what.into(),
                    reason,
                };
                let mut found = false;
                for der in PrivateKeyDer::pem_slice_iter(text.as_bytes()).filter_map(Result::ok) {
                    let bytes = match &der {
                        PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der(),
                        PrivateKeyDer::Sec1(k) => k.secret_sec1_der(),
                        _ => continue,
                    };
                    found = true;
                    if let Ok(pair) =
                        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, bytes)
                    {
                        return Ok(Self::Es256(pair));
                    }
                }
                Err(rejected(if found {
                    "not an EC P-256 private key (ES256 needs P-256: `openssl ecparam -name prime256v1 -genkey -noout`)".into()
                } else {
                    "no private key in PEM form (ES256 needs an EC P-256 key: `openssl ecparam -name prime256v1 -genkey -noout`)".into()
                }))
            }
        }
    }

    pub fn alg(&self) -> JwsAlg {
        match self {
            Self::Rs256(_) => JwsAlg::Rs256,
            Self::Es256(_) => JwsAlg::Es256,
        }
    }

    /// Encoded signature length, chars.
    pub fn signature_chars(&self) -> usize {
        match self {
            Self::Rs256(k) => self.alg().signature_chars(k.bits()),
            Self::Es256(_) => self.alg().signature_chars(0),
        }
    }

    /// The JWS signature over `signing_input` (`<header>.<claims>`, both base64url), base64url-encoded.
    pub fn sign(&self, signing_input: &[u8]) -> String {
        let sig = match self {
            Self::Rs256(k) => super::sign_token(k, signing_input),
            Self::Es256(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .expect("signing with a validated P-256 key cannot fail")
                .as_ref()
                .to_vec(),
        };
        b64url(&sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, KeyPair as _, UnparsedPublicKey};

    const EC_SEC1: &str = include_str!("testdata/es256_sec1.pem");
    const EC_PKCS8: &str = include_str!("testdata/es256_pkcs8.pem");
    const EC_P384: &str = include_str!("testdata/p384.pem");
    const RSA: &str = include_str!("../attempt/testdata/signing_key.pem");

    #[test]
    fn es256_keys_load_from_sec1_and_pkcs8_and_sign_fixed_width() {
        for text in [EC_SEC1, EC_PKCS8] {
            let k = JwsKey::from_pem(JwsAlg::Es256, text, "k.pem").unwrap();
            let JwsKey::Es256(pair) = &k else {
                panic!("ES256")
            };
            let public = pair.public_key().as_ref().to_vec();
            let sig = k.sign(b"a.b");
            assert_eq!(sig.len(), 86, "64 bytes, base64url without padding");
            let raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
                .verify(b"a.b", &raw)
                .unwrap();
        }
        let k = JwsKey::from_pem(JwsAlg::Es256, EC_SEC1, "k").unwrap();
        assert_eq!(format!("{k:?}"), "JwsKey(ES256, P-256, redacted)");
    }

    #[test]
    fn rs256_is_pkcs1_v1_5_sha256() {
        let k = JwsKey::from_pem(JwsAlg::Rs256, RSA, "k.pem").unwrap();
        let JwsKey::Rs256(rsa) = &k else {
            panic!("RS256")
        };
        let sig = k.sign(b"h.c");
        assert_eq!(sig.len(), k.signature_chars());
        assert!(!sig.contains(['=', '+', '/']));
        let der = rsa.public_key().to_spki_pem();
        let public = crate::token::PublicKey::from_pem(&der, "p").unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
        assert!(crate::token::verify::verify_raw(&public, b"h.c", &raw));
    }

    #[test]
    fn wrong_keys_say_what_es256_needs() {
        for (text, says) in [
            (EC_P384, "not an EC P-256"),
            (RSA, "not an EC P-256"),
            ("nothing", "no private key"),
        ] {
            let e = JwsKey::from_pem(JwsAlg::Es256, text, "k.pem").unwrap_err();
            let m = e.to_string();
            assert!(m.contains("k.pem") && m.contains(says), "{m}");
        }
        let e = JwsKey::from_pem(JwsAlg::Rs256, EC_SEC1, "k.pem").unwrap_err();
        assert!(e.to_string().contains("not an RSA"), "{e}");
    }
}
