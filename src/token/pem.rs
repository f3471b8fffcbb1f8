//! Finding the key inside a PEM file the way `openssl` does, and saying what a wrong file is.
//!
//! openssl skips text around a PEM block (blank lines, `Bag Attributes` from a PKCS#12 export, a certificate in
//! the same file), so a key it reads must load here too. The hints are judged from PEM labels only: a file's
//! contents are never echoed, since it may hold a private key.

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

    fn label_suffix(self) -> &'static str {
        match self {
            Self::Private => "PRIVATE KEY",
            Self::Public => "PUBLIC KEY",
        }
    }
}

/// The first complete PEM block whose label ends in `PRIVATE KEY` / `PUBLIC KEY` (as wanted), from its BEGIN
/// line to the end of its END line; the trimmed text when there is none, so the parser reports it.
pub(crate) fn key_block(text: &str, want: Want) -> &str {
    let mut from = 0;
    while let Some(offset) = text[from..].find("-----BEGIN ") {
        let start = from + offset;
        let after_begin = start + "-----BEGIN ".len();
        let Some(label_len) = text[after_begin..].find("-----") else {
            break;
        };
        let label = &text[after_begin..after_begin + label_len];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = text[start..].find(&end_marker) else {
            break;
        };
        let block_end = start + end + end_marker.len();
        if label.ends_with(want.label_suffix()) {
            return &text[start..block_end];
        }
        from = block_end;
    }
    text.trim()
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
    use super::*;

    const PRIV: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
    const PUB: &str = "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----";

    #[test]
    fn finds_the_wanted_block_among_others() {
        let text =
            format!("Bag Attributes\n  friendlyName: x\n{CERT}\n\n{PRIV}\n{PUB}\ntrailing\n");
        assert_eq!(key_block(&text, Want::Private), PRIV);
        assert_eq!(key_block(&text, Want::Public), PUB);
        let rsa = "\n\n-----BEGIN RSA PRIVATE KEY-----\nDDDD\n-----END RSA PRIVATE KEY-----\n\n";
        assert_eq!(key_block(rsa, Want::Private), rsa.trim());
    }

    #[test]
    fn falls_back_to_the_trimmed_text() {
        assert_eq!(key_block("  junk  \n", Want::Private), "junk");
        assert_eq!(
            key_block("-----BEGIN PRIVATE KEY-----\nAAAA\n", Want::Private),
            "-----BEGIN PRIVATE KEY-----\nAAAA"
        );
        assert_eq!(key_block("-----BEGIN ", Want::Public), "-----BEGIN");
        assert_eq!(key_block(CERT, Want::Public), CERT);
    }

    #[test]
    fn hints_name_the_wrong_kind_of_file() {
        assert!(hint(PUB, Want::Private).contains("holds a public key"));
        assert!(hint(PRIV, Want::Public).contains("holds a private key"));
        assert!(hint(PRIV, Want::Private).contains("damaged or not RSA"));
        assert!(hint(CERT, Want::Public).contains("x509"));
        assert!(hint("-----BEGIN ENCRYPTED PRIVATE KEY-----", Want::Private).contains("encrypted"));
        assert_eq!(hint("nothing", Want::Public), "");
    }
}
