//! `tokenstorm sign`/`verify`/`keygen` against `openssl` in both directions, for 2048, 3072 and 4096-bit keys, in
//! every PEM form openssl writes: PKCS#8 and PKCS#1 private keys, SPKI and PKCS#1 public keys.

use std::ffi::OsStr;
use std::path::Path;

use super::{
    Scratch, assert_exit, assert_no_key_material, describe, openssl_genrsa, openssl_pubout,
    openssl_sign_b64, read, stdout_line, tokenstorm, tool, tool_ok,
};

const TOKEN: &str = "MyStringThatNeedsToBeSigned";

/// A token file whose exact bytes matter: a trailing newline, a CR, a tab, UTF-8 and bytes that are not UTF-8.
const TRICKY_TOKEN: &[u8] = b"device-42 \xc3\xa9t\xc3\xa9\t\r\n\x00\xff\xfe end\n";

#[test]
fn openssl_interop_2048() {
    interop(2048);
}

#[test]
fn openssl_interop_3072() {
    interop(3072);
}

#[test]
fn openssl_interop_4096() {
    interop(4096);
}

fn interop(bits: usize) {
    let s = Scratch::new();
    openssl_keys_sign_and_verify(&s, bits);
    keygen_keys_verify_under_openssl(&s, bits);
}

/// Keys from `openssl genrsa` (both encodings): our signatures are openssl's byte for byte, and openssl's
/// signatures pass `tokenstorm verify` under both public key encodings.
fn openssl_keys_sign_and_verify(s: &Scratch, bits: usize) {
    let pkcs8 = s.path("pkcs8.pem");
    let pkcs1 = s.path("pkcs1.pem");
    openssl_genrsa(&pkcs8, bits, false);
    openssl_genrsa(&pkcs1, bits, true);
    let pkcs8_pem = String::from_utf8(read(&pkcs8)).expect("PEM is ASCII");
    let pkcs1_pem = String::from_utf8(read(&pkcs1)).expect("PEM is ASCII");
    assert!(
        pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "genrsa should write PKCS#8 with OpenSSL 3"
    );
    assert!(
        pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "genrsa -traditional should write PKCS#1"
    );

    let token_file = s.write("token.txt", TOKEN.as_bytes());
    let tricky_file = s.write("tricky.bin", TRICKY_TOKEN);

    for (key, key_pem) in [(&pkcs8, &pkcs8_pem), (&pkcs1, &pkcs1_pem)] {
        let what = format!("{bits}-bit {}", key.display());
        let spki = s.path("spki.pem");
        let rsapub = s.path("rsapub.pem");
        openssl_pubout(key, &spki);
        tool_ok(
            "openssl",
            [
                OsStr::new("rsa"),
                "-in".as_ref(),
                key.as_ref(),
                "-RSAPublicKey_out".as_ref(),
                "-out".as_ref(),
                rsapub.as_ref(),
            ],
        );
        assert!(String::from_utf8_lossy(&read(&spki)).starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(
            String::from_utf8_lossy(&read(&rsapub)).starts_with("-----BEGIN RSA PUBLIC KEY-----")
        );

        // --token: identical to `echo -n TOKEN | openssl dgst -sha256 -sign key | base64 -w0`.
        let expected = openssl_sign_b64(s, key, &token_file);
        assert_eq!(
            expected.len(),
            bits.div_ceil(6).div_ceil(4) * 4,
            "base64 length of a {bits}-bit signature"
        );
        let ours = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
        ]);
        assert_exit(&ours, 0, &format!("sign with {what}"));
        assert_no_key_material(&ours, key_pem, "sign");
        assert_eq!(
            stdout_line(&ours),
            expected,
            "sign --token with {what} differs from openssl dgst"
        );
        assert_eq!(ours.stdout.last(), Some(&b'\n'), "sign ends its line");

        // --token-file: the file's bytes exactly, newline and invalid UTF-8 included.
        let expected_tricky = openssl_sign_b64(s, key, &tricky_file);
        let ours_tricky = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            key.as_ref(),
            "--token-file".as_ref(),
            tricky_file.as_ref(),
        ]);
        assert_exit(&ours_tricky, 0, "sign --token-file");
        assert_eq!(
            stdout_line(&ours_tricky),
            expected_tricky,
            "sign --token-file with {what} differs from openssl dgst"
        );

        // --url-encode: the same signature, percent-encoded for a query string.
        let url = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--url-encode".as_ref(),
        ]);
        assert_exit(&url, 0, "sign --url-encode");
        let url = stdout_line(&url);
        assert!(
            !url.contains(['+', '/', '=']),
            "--url-encode left a raw + / = in {url}"
        );
        if expected.ends_with('=') {
            assert!(
                url.ends_with("%3D"),
                "--url-encode must encode the padding of {expected}: {url}"
            );
        }
        assert_eq!(
            percent_decode(&url),
            expected,
            "--url-encode does not decode back to the signature"
        );

        // openssl's signatures pass our verify under both public key encodings; a changed token does not.
        for public in [&spki, &rsapub] {
            let v = tokenstorm([
                OsStr::new("verify"),
                "--public-key".as_ref(),
                public.as_ref(),
                "--token".as_ref(),
                TOKEN.as_ref(),
                "--signature".as_ref(),
                expected.as_ref(),
            ]);
            assert_exit(
                &v,
                0,
                &format!("verify openssl's signature with {}", public.display()),
            );
            let v = tokenstorm([
                OsStr::new("verify"),
                "--public-key".as_ref(),
                public.as_ref(),
                "--token-file".as_ref(),
                tricky_file.as_ref(),
                "--signature".as_ref(),
                expected_tricky.as_ref(),
            ]);
            assert_exit(&v, 0, "verify --token-file");
            let v = tokenstorm([
                OsStr::new("verify"),
                "--public-key".as_ref(),
                public.as_ref(),
                "--token".as_ref(),
                "MyStringThatNeedsToBeSigneD".as_ref(),
                "--signature".as_ref(),
                expected.as_ref(),
            ]);
            assert_exit(&v, 1, "verify with a changed token");
            assert!(
                stdout_line(&v).contains("does not match"),
                "{}",
                describe(&v)
            );
        }
    }
}

/// Keys from `tokenstorm keygen`: openssl reads them, its signatures equal ours, and `openssl dgst -verify`
/// accepts our signatures (and refuses them for another token).
fn keygen_keys_verify_under_openssl(s: &Scratch, bits: usize) {
    let private = s.path("ours.pem");
    let public = s.path("ours.pub.pem");
    let out = tokenstorm([
        OsStr::new("keygen"),
        "--out".as_ref(),
        private.as_ref(),
        "--public-out".as_ref(),
        public.as_ref(),
        "--bits".as_ref(),
        bits.to_string().as_ref(),
    ]);
    assert_exit(&out, 0, "keygen");
    let private_pem = String::from_utf8(read(&private)).expect("PEM is ASCII");
    assert_no_key_material(&out, &private_pem, "keygen");
    assert_mode_0600(&private);

    // openssl agrees on the size and reads both files.
    let text = String::from_utf8_lossy(&tool_ok(
        "openssl",
        [
            OsStr::new("rsa"),
            "-in".as_ref(),
            public.as_ref(),
            "-pubin".as_ref(),
            "-noout".as_ref(),
            "-text".as_ref(),
        ],
    ))
    .to_string();
    assert!(
        text.contains(&format!("Public-Key: ({bits} bit)")),
        "openssl reads the public key as {text}"
    );
    tool_ok(
        "openssl",
        [
            OsStr::new("rsa"),
            "-in".as_ref(),
            private.as_ref(),
            "-check".as_ref(),
            "-noout".as_ref(),
        ],
    );

    let token_file = s.write("token.txt", TOKEN.as_bytes());
    let sign = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        private.as_ref(),
        "--token-file".as_ref(),
        token_file.as_ref(),
    ]);
    assert_exit(&sign, 0, "sign with a keygen key");
    let ours = stdout_line(&sign);
    assert_eq!(
        ours,
        openssl_sign_b64(s, &private, &token_file),
        "openssl dgst -sign with our key differs from sign"
    );

    // `base64 -d` our signature to the binary file openssl wants.
    let b64_file = s.write("sig.b64", ours.as_bytes());
    let sig_bin = s.write(
        "sig.bin",
        &tool_ok("base64", [OsStr::new("-d"), b64_file.as_ref()]),
    );
    let verify = |token: &Path| {
        tool(
            "openssl",
            [
                OsStr::new("dgst"),
                "-sha256".as_ref(),
                "-verify".as_ref(),
                public.as_ref(),
                "-signature".as_ref(),
                sig_bin.as_ref(),
                token.as_ref(),
            ],
        )
    };
    let ok = verify(&token_file);
    assert_exit(&ok, 0, "openssl dgst -verify of our signature");
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "Verified OK");
    let other = s.write("other.txt", b"MyStringThatNeedsToBeSigned\n");
    let bad = verify(&other);
    assert_exit(
        &bad,
        1,
        "openssl dgst -verify of our signature over another token",
    );
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("Verification failure"),
        "{}",
        describe(&bad)
    );
}

pub fn assert_mode_0600(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .expect("stat the private key")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        mode,
        0o600,
        "{} has mode {mode:o}, want 600",
        path.display()
    );
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .expect("percent-decoded base64 is ASCII")
        .into_owned()
}

/// PEM files as people keep them: CRLF line ends, blank lines or PKCS#12 `Bag Attributes` around the key, a
/// certificate and its key in one file. openssl reads all of these, so sign must too, byte-identically.
#[test]
fn pem_files_as_people_store_them() {
    let s = Scratch::new();
    let key = s.path("private_key.pem");
    let public = s.path("public_key.pem");
    let cert = s.path("cert.pem");
    openssl_genrsa(&key, 2048, true);
    openssl_pubout(&key, &public);
    tool_ok(
        "openssl",
        [
            OsStr::new("req"),
            "-x509".as_ref(),
            "-key".as_ref(),
            key.as_ref(),
            "-subj".as_ref(),
            "/CN=tokenstorm-test".as_ref(),
            "-days".as_ref(),
            "1".as_ref(),
            "-out".as_ref(),
            cert.as_ref(),
        ],
    );
    let key_pem = String::from_utf8(read(&key)).expect("PEM is ASCII");
    let pub_pem = String::from_utf8(read(&public)).expect("PEM is ASCII");
    let cert_pem = String::from_utf8(read(&cert)).expect("PEM is ASCII");
    let token_file = s.write("token.txt", TOKEN.as_bytes());
    let expected = openssl_sign_b64(&s, &key, &token_file);

    let variants = [
        ("crlf", key_pem.replace('\n', "\r\n")),
        ("blank-lines", format!("\n\n{key_pem}\n\n")),
        (
            "bag-attributes",
            format!(
                "Bag Attributes\n    localKeyID: 01 02\nKey Attributes: <No Attributes>\n{key_pem}"
            ),
        ),
        ("cert-then-key", format!("{cert_pem}{key_pem}")),
    ];
    for (name, text) in variants {
        let file = s.write(&format!("{name}.pem"), text.as_bytes());
        assert_eq!(
            openssl_sign_b64(&s, &file, &token_file),
            expected,
            "openssl reads the {name} key"
        );
        let out = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            file.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
        ]);
        assert_exit(&out, 0, &format!("sign with a {name} key"));
        assert_eq!(stdout_line(&out), expected, "sign with a {name} key");
        assert_no_key_material(&out, &key_pem, "sign");
    }
    let public_variants = [
        ("crlf", pub_pem.replace('\n', "\r\n")),
        ("blank-lines", format!("\n{pub_pem}\n\n")),
        ("cert-then-key", format!("{cert_pem}{pub_pem}")),
    ];
    for (name, text) in public_variants {
        let file = s.write(&format!("{name}.pub.pem"), text.as_bytes());
        let out = tokenstorm([
            OsStr::new("verify"),
            "--public-key".as_ref(),
            file.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--signature".as_ref(),
            expected.as_ref(),
        ]);
        assert_exit(&out, 0, &format!("verify with a {name} public key"));
    }
    // A certificate alone is not a public key file: refused, with the openssl command that extracts the key.
    let out = tokenstorm([
        OsStr::new("verify"),
        "--public-key".as_ref(),
        cert.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
        "--signature".as_ref(),
        expected.as_ref(),
    ]);
    assert_exit(&out, 2, "verify with a certificate");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("openssl x509"),
        "{}",
        describe(&out)
    );
}
