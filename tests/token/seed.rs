//! The seed article's two signing pipelines, run with the real `openssl`.
//!
//! `echo -n TOKEN | openssl dgst -sha256 -sign key | base64` is the one AWS accepts and `tokenstorm sign`
//! reproduces. The article's other pipeline signs the *hex digest string* with `pkeyutl`: OpenSSL 3 refuses it
//! outright ("invalid digest length": 64 ASCII bytes are not a 32-byte SHA-256 digest) and prints nothing, so the
//! pipeline's output is an empty signature; the ways people then "fix" it (dropping `-pkeyopt digest:sha256`, or
//! hashing the hex string again with `dgst`) produce real signatures that do not match the token. `pkeyutl`
//! agrees with `dgst` only when given the raw 32-byte digest. `echo` without `-n` signs `token\n`.

use std::ffi::OsStr;

use sha2::Digest as _;

use super::{
    Scratch, assert_exit, base64_w0, describe, openssl_genrsa, openssl_pubout, openssl_sign_b64,
    stdout_line, tokenstorm, tool,
};

const TOKEN: &str = "MyStringThatNeedsToBeSigned";
/// The digest the article prints for its token (`echo -n … | shasum -a 256`).
const SEED_HEX_DIGEST: &str = "8de411c918c5ed2896a7dfdd8f838fdc441c36a22938b024958b2546f8e7bd6a";

struct Seed {
    s: Scratch,
    key: std::path::PathBuf,
    public: std::path::PathBuf,
}

impl Seed {
    /// `openssl genrsa -out private_key.pem 2048` and `openssl rsa -in private_key.pem -pubout > public_key.pem`.
    fn new() -> Self {
        let s = Scratch::new();
        let key = s.path("private_key.pem");
        let public = s.path("public_key.pem");
        openssl_genrsa(&key, 2048, false);
        openssl_pubout(&key, &public);
        Self { s, key, public }
    }

    fn verify(&self, token: &str, signature: &str) -> std::process::Output {
        tokenstorm([
            OsStr::new("verify"),
            "--public-key".as_ref(),
            self.public.as_ref(),
            "--token".as_ref(),
            token.as_ref(),
            "--signature".as_ref(),
            signature.as_ref(),
        ])
    }

    fn sign(&self, token: &str) -> String {
        let out = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            self.key.as_ref(),
            "--token".as_ref(),
            token.as_ref(),
        ]);
        assert_exit(&out, 0, "sign");
        stdout_line(&out)
    }

    /// `echo -n HEX | openssl pkeyutl -sign -inkey key [-pkeyopt digest:sha256]`, returning openssl's output.
    fn pkeyutl(&self, input: &[u8], digest_opt: bool) -> (std::process::Output, String) {
        let input = self.s.write("pkeyutl.in", input);
        let sig = self.s.path("pkeyutl.sig");
        let mut args: Vec<&OsStr> = vec![
            "pkeyutl".as_ref(),
            "-sign".as_ref(),
            "-inkey".as_ref(),
            self.key.as_ref(),
        ];
        if digest_opt {
            args.extend([OsStr::new("-pkeyopt"), "digest:sha256".as_ref()]);
        }
        args.extend([
            OsStr::new("-in"),
            input.as_ref(),
            "-out".as_ref(),
            sig.as_ref(),
        ]);
        let out = tool("openssl", &args);
        let b64 = if sig.exists() {
            base64_w0(&sig)
        } else {
            String::new()
        };
        (out, b64)
    }
}

#[test]
fn seed_dgst_pipeline_matches_sign_and_verifies() {
    let seed = Seed::new();
    let token_file = seed.s.write("token.txt", TOKEN.as_bytes());
    let openssl = openssl_sign_b64(&seed.s, &seed.key, &token_file);
    assert_eq!(
        seed.sign(TOKEN),
        openssl,
        "tokenstorm sign differs from `openssl dgst -sha256 -sign`"
    );
    assert_eq!(
        openssl.len(),
        344,
        "a 2048-bit signature is 344 base64 characters (spec §2)"
    );
    let v = seed.verify(TOKEN, &openssl);
    assert_exit(&v, 0, "verify the dgst pipeline's signature");
    assert!(stdout_line(&v).starts_with("valid"), "{}", describe(&v));
}

#[test]
fn seed_hex_digest_pipeline_is_not_a_token_signature() {
    let seed = Seed::new();
    let good = seed.sign(TOKEN);
    let hex = hex(&sha2::Sha256::digest(TOKEN.as_bytes()));
    assert_eq!(hex, SEED_HEX_DIGEST, "the article's digest of its token");

    // The article's command as written: OpenSSL 3 refuses it and the pipeline yields an empty signature.
    let (out, literal) = seed.pkeyutl(hex.as_bytes(), true);
    assert_ne!(
        out.status.code(),
        Some(0),
        "pkeyutl -pkeyopt digest:sha256 over a 64-byte hex string: {}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid digest length"),
        "{}",
        describe(&out)
    );
    assert_eq!(literal, "", "the failed pipeline prints no signature");
    let v = seed.verify(TOKEN, &literal);
    assert_exit(
        &v,
        1,
        "verify the empty signature of the failed hex pipeline",
    );
    assert!(stdout_line(&v).contains("wrong length"), "{}", describe(&v));

    // The hex string signed without the digest option (raw PKCS#1 padding, no DigestInfo): a real signature,
    // but not of the token.
    let (out, raw_hex) = seed.pkeyutl(hex.as_bytes(), false);
    assert_exit(&out, 0, "pkeyutl -sign over the hex string");
    assert_eq!(raw_hex.len(), 344);
    assert_ne!(raw_hex, good);
    let v = seed.verify(TOKEN, &raw_hex);
    assert_exit(&v, 1, "verify the hex-digest pkeyutl signature");
    assert!(
        stdout_line(&v).contains("does not match"),
        "{}",
        describe(&v)
    );

    // The hex string hashed and signed again (`echo -n HEX | openssl dgst -sha256 -sign`): double hashing.
    let hex_file = seed.s.write("hex.txt", hex.as_bytes());
    let double = openssl_sign_b64(&seed.s, &seed.key, &hex_file);
    assert_ne!(double, good);
    let v = seed.verify(TOKEN, &double);
    assert_exit(&v, 1, "verify the signature of the hex digest string");
    assert!(
        stdout_line(&v).contains("does not match"),
        "{}",
        describe(&v)
    );

    // The control: pkeyutl with the *raw* 32-byte digest is exactly `dgst -sign`, so the hex encoding is the bug.
    let (out, raw_digest) = seed.pkeyutl(&sha2::Sha256::digest(TOKEN.as_bytes()), true);
    assert_exit(
        &out,
        0,
        "pkeyutl -pkeyopt digest:sha256 over the raw digest",
    );
    assert_eq!(
        raw_digest, good,
        "pkeyutl over the raw digest equals openssl dgst -sign and tokenstorm sign"
    );
}

#[test]
fn seed_echo_without_n_signs_a_newline() {
    let seed = Seed::new();
    // `echo TOKEN | openssl dgst -sha256 -sign key | base64 -w0` signs "TOKEN\n".
    let with_newline = seed.s.write("echo.txt", format!("{TOKEN}\n").as_bytes());
    let sig = openssl_sign_b64(&seed.s, &seed.key, &with_newline);
    assert_ne!(sig, seed.sign(TOKEN));
    let v = seed.verify(TOKEN, &sig);
    assert_exit(&v, 1, "verify a signature of TOKEN\\n against TOKEN");
    assert!(
        stdout_line(&v).contains("does not match"),
        "{}",
        describe(&v)
    );
    // It is a good signature of the bytes it covered, and --token-file reads those bytes exactly.
    let v = tokenstorm([
        OsStr::new("verify"),
        "--public-key".as_ref(),
        seed.public.as_ref(),
        "--token-file".as_ref(),
        with_newline.as_ref(),
        "--signature".as_ref(),
        sig.as_ref(),
    ]);
    assert_exit(&v, 0, "verify TOKEN\\n from --token-file");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
