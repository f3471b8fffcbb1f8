//! Finding the RSA key inside a PEM file the way `openssl` does, and saying what a wrong file is.
//!
//! openssl skips text around a PEM block (blank lines, `Bag Attributes` from a PKCS#12 export, a certificate in
//! the same file), so a key it reads must load here too. The blocks are read by `rustls-pki-types` (whose PEM
//! reader skips text between blocks and blocks of other kinds) and decoded by `rsa`. The hints are judged from
//! PEM labels only: a file's contents are never echoed, since it may hold a private key.

use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};

/// Which kind of key the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Private,
    Public,
}

impl Want {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

/// The first RSA private key: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`). Blocks that do not decode
/// to one (damaged, encrypted, EC) are passed over; `None` when there is none.
pub(crate) fn private_key(text: &str) -> Option<rsa::PrivateKey> {
    PrivateKeyDer::pem_slice_iter(text.as_bytes())
        .filter_map(Result::ok)
        .find_map(|der| match der {
            PrivateKeyDer::Pkcs8(k) => rsa::PrivateKey::from_pkcs8_der(k.secret_pkcs8_der()).ok(),
            PrivateKeyDer::Pkcs1(k) => rsa::PrivateKey::from_pkcs1_der(k.secret_pkcs1_der()).ok(),
            _ => None,
        })
}

/// The first RSA public key: SPKI (`PUBLIC KEY`), else PKCS#1 (`RSA PUBLIC KEY`, `openssl rsa
/// -RSAPublicKey_out`). `None` when there is none.
pub(crate) fn public_key(text: &str) -> Option<rsa::PublicKey> {
    SubjectPublicKeyInfoDer::pem_slice_iter(text.as_bytes())
        .filter_map(Result::ok)
        .find_map(|der| rsa::PublicKey::from_public_key_der(&der).ok())
        .or_else(|| pkcs1_public_key(text))
}

/// `RSA PUBLIC KEY`, which pki-types has no section kind for: the block is cut out at its BEGIN and END lines
/// and handed to `rsa`'s strict PEM decoder.
fn pkcs1_public_key(text: &str) -> Option<rsa::PublicKey> {
    const BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
    const END: &str = "-----END RSA PUBLIC KEY-----";
    let start = text.find(BEGIN)?;
    let end = start + text[start..].find(END)? + END.len();
    rsa::PublicKey::from_pkcs1_pem(&text[start..end]).ok()
}

/// A hint for the common wrong files, appended to the "not an RSA key" error.
pub(crate) fn hint(text: &str, want: Want) -> &'static str {
    let has = |s: &str| text.contains(s);
    let encrypted = has("-----BEGIN ENCRYPTED PRIVATE KEY-----") || has("Proc-Type: 4,ENCRYPTED");
    let private = has("PRIVATE KEY-----");
    let public = has("PUBLIC KEY-----");
    let certificate = has("-----BEGIN CERTIFICATE-----");
    match want {
        Want::Private if encrypted => {
            "; it is encrypted: write a plain copy with `openssl pkey -in KEY -out plain.pem`"
        }
        Want::Private if private => {
            "; its private key block is damaged or not RSA (AWS token signing needs RSA)"
        }
        Want::Private if public => {
            "; it holds a public key: sign with the private key it belongs to"
        }
        Want::Private if certificate => {
            "; it is a certificate: sign with the private key it was issued for"
        }
        Want::Public if public => {
            "; its public key block is damaged or not RSA (AWS token signing needs RSA)"
        }
        Want::Public if private => {
            "; it holds a private key: give the public key (`openssl rsa -in KEY -pubout`) or use it with `sign --key`"
        }
        Want::Public if certificate => {
            "; it is a certificate: extract its key with `openssl x509 -in CERT -pubkey -noout`"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n";

    fn key() -> rsa::PrivateKey {
        let pem = include_str!("../attempt/testdata/signing_key.pem");
        rsa::PrivateKey::from_pkcs8_pem(pem).unwrap()
    }

    #[test]
    fn finds_the_key_among_other_blocks_and_text() {
        let k = key();
        let pkcs8 = k.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let pkcs1 = k.to_pkcs1_pem(LineEnding::CRLF).unwrap().to_string();
        let spki = k.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        let rsa_pub = k.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
        for private in [&pkcs8, &pkcs1] {
            let text =
                format!("Bag Attributes\n  friendlyName: x\n{CERT}\n\n{private}\n{spki}trailing\n");
            assert_eq!(private_key(&text).as_ref(), Some(&k));
            assert_eq!(public_key(&text).as_ref(), Some(&k.to_public_key()));
        }
        let text = format!("\n{CERT}{rsa_pub}\n");
        assert_eq!(public_key(&text).as_ref(), Some(&k.to_public_key()));
        assert_eq!(private_key(&text), None);
    }

    #[test]
    fn damaged_or_missing_blocks_are_none() {
        assert_eq!(private_key("  junk  \n"), None);
        assert_eq!(private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n"), None);
        assert_eq!(
            private_key("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----"),
            None
        );
        assert_eq!(public_key("-----BEGIN "), None);
        assert_eq!(public_key(CERT), None);
        assert_eq!(public_key("-----BEGIN RSA PUBLIC KEY-----\nAAAA\n"), None);
    }

    #[test]
    fn hints_name_the_wrong_kind_of_file() {
        const PRIV: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        const PUB: &str = "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----";
        assert!(hint(PUB, Want::Private).contains("holds a public key"));
        assert!(hint(PRIV, Want::Public).contains("holds a private key"));
        assert!(hint(PRIV, Want::Private).contains("damaged or not RSA"));
        assert!(hint(CERT, Want::Public).contains("x509"));
        assert!(hint("-----BEGIN ENCRYPTED PRIVATE KEY-----", Want::Private).contains("encrypted"));
        assert_eq!(hint("nothing", Want::Public), "");
    }
}
