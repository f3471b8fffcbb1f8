//! The toolkit's command-line contract: `verify` exits 0 valid, 1 invalid saying why, 2 on usage errors; `keygen`
//! refuses small keys and writes the private key with mode 0600; no command ever prints private key material.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

use super::interop::assert_mode_0600;
use super::{
    Scratch, assert_exit, assert_no_key_material, describe, openssl_genrsa, openssl_pubout, read,
    stdout_line, tokenstorm, tool_ok,
};

const TOKEN: &str = "device-token-1";

/// A 2048-bit openssl key pair and the signature of [`TOKEN`] in a scratch dir.
struct Fixture {
    s: Scratch,
    key: PathBuf,
    key_pem: String,
    public: PathBuf,
    sig: String,
}

impl Fixture {
    fn new() -> Self {
        let s = Scratch::new();
        let key = s.path("private_key.pem");
        let public = s.path("public_key.pem");
        openssl_genrsa(&key, 2048, false);
        openssl_pubout(&key, &public);
        let out = tokenstorm([
            OsStr::new("sign"),
            "--key".as_ref(),
            key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
        ]);
        assert_exit(&out, 0, "sign");
        let key_pem = String::from_utf8(read(&key)).expect("PEM is ASCII");
        Self {
            sig: stdout_line(&out),
            s,
            key,
            key_pem,
            public,
        }
    }

    /// `tokenstorm verify --public-key PUBLIC --token TOKEN --signature SIG` with `sig` replaced.
    fn verify(&self, sig: &str) -> Output {
        self.verify_with(&self.public, sig)
    }

    fn verify_with(&self, public: &Path, sig: &str) -> Output {
        let out = tokenstorm([
            OsStr::new("verify"),
            "--public-key".as_ref(),
            public.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--signature".as_ref(),
            sig.as_ref(),
        ]);
        assert_no_key_material(&out, &self.key_pem, "verify");
        out
    }
}

/// Asserts exit 1 and that stdout says `why`.
fn assert_invalid(out: &Output, why: &str, what: &str) {
    assert_exit(out, 1, what);
    let line = stdout_line(out);
    assert!(
        line.starts_with("invalid: ") && line.contains(why),
        "{what}: expected 'invalid: …{why}…', got {}",
        describe(out)
    );
}

/// Asserts exit 2 and that stderr names `needle` (a path, a flag, a limit).
fn assert_usage(out: &Output, needle: &str, what: &str) {
    assert_exit(out, 2, what);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(needle),
        "{what}: stderr should name {needle}: {}",
        describe(out)
    );
    assert!(
        out.stdout.is_empty(),
        "{what}: a usage error prints nothing on stdout: {}",
        describe(out)
    );
}

#[test]
fn verify_exit_codes_say_why() {
    let f = Fixture::new();
    let ok = f.verify(&f.sig);
    assert_exit(&ok, 0, "a valid signature");
    assert!(stdout_line(&ok).starts_with("valid"), "{}", describe(&ok));

    let bytes = STANDARD.decode(&f.sig).expect("sign prints base64");
    let mut flipped = bytes.clone();
    flipped[100] ^= 0x01;
    assert_invalid(
        &f.verify(&STANDARD.encode(&flipped)),
        "does not match",
        "a flipped bit",
    );
    let other = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        f.key.as_ref(),
        "--token".as_ref(),
        "another".as_ref(),
    ]);
    assert_invalid(
        &f.verify(&stdout_line(&other)),
        "does not match",
        "the signature of another token",
    );

    assert_invalid(
        &f.verify(&STANDARD.encode(&bytes[..255])),
        "wrong length",
        "one byte short",
    );
    assert_invalid(
        &f.verify(&STANDARD.encode([bytes.as_slice(), &[0]].concat())),
        "wrong length",
        "one byte long",
    );
    assert_invalid(&f.verify(""), "wrong length", "an empty signature");

    assert_invalid(&f.verify("not base64!"), "not base64", "punctuation");
    assert_invalid(
        &f.verify(&f.sig[..f.sig.len() - 1]),
        "not base64",
        "padding cut",
    );
    assert_invalid(
        &f.verify(&format!("{}\n", f.sig)),
        "not base64",
        "a trailing newline",
    );
    assert_invalid(
        &f.verify(&format!("{} ", f.sig)),
        "not base64",
        "a trailing space",
    );
    assert_invalid(
        &f.verify(
            &f.sig
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
        ),
        "not base64",
        "still percent-encoded",
    );
    let url_safe = URL_SAFE.encode(&bytes);
    if url_safe != f.sig {
        assert_invalid(&f.verify(&url_safe), "not base64", "the URL-safe alphabet");
    }
    // A value starting with '-' is a signature, not a flag.
    assert_invalid(&f.verify("-abc"), "not base64", "a leading hyphen");
    assert_invalid(
        &f.verify(&"A".repeat(2564)),
        "longer than 2560",
        "more than 2560 characters",
    );
}

#[test]
fn verify_usage_errors_exit_2() {
    let f = Fixture::new();
    let missing = f.s.path("no-such-key.pem");
    assert_usage(
        &f.verify_with(&missing, &f.sig),
        &missing.display().to_string(),
        "a missing public key file",
    );

    let garbage = f.s.write(
        "garbage.pem",
        b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n",
    );
    assert_usage(
        &f.verify_with(&garbage, &f.sig),
        &garbage.display().to_string(),
        "a file that is not a key",
    );
    // The private key where the public key belongs: refused by name, its contents never echoed.
    assert_usage(
        &f.verify_with(&f.key, &f.sig),
        &f.key.display().to_string(),
        "a private key as --public-key",
    );

    let small = f.s.path("small.pem");
    let small_pub = f.s.path("small.pub.pem");
    openssl_genrsa(&small, 1024, false);
    openssl_pubout(&small, &small_pub);
    let out = f.verify_with(&small_pub, &f.sig);
    assert_usage(
        &out,
        &small_pub.display().to_string(),
        "a 1024-bit public key",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2048"),
        "{}",
        describe(&out)
    );
    let out = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        small.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    assert_usage(
        &out,
        &small.display().to_string(),
        "signing with a 1024-bit key",
    );
    assert_no_key_material(
        &out,
        &String::from_utf8_lossy(&read(&small)),
        "sign with a small key",
    );

    let token_file = f.s.write("token.txt", TOKEN.as_bytes());
    let missing_token = f.s.path("no-such-token.txt");
    let public: &OsStr = f.public.as_ref();
    let sig: &OsStr = f.sig.as_ref();
    let cases: Vec<(Vec<&OsStr>, &str, &str)> = vec![
        (
            vec![
                "--token".as_ref(),
                TOKEN.as_ref(),
                "--token-file".as_ref(),
                token_file.as_ref(),
            ],
            "--token",
            "both --token and --token-file",
        ),
        (vec![], "--token", "neither --token nor --token-file"),
        (
            vec!["--token-file".as_ref(), missing_token.as_ref()],
            "no-such-token.txt",
            "a missing token file",
        ),
    ];
    for (token_args, needle, what) in cases {
        let mut args: Vec<&OsStr> = vec![
            "verify".as_ref(),
            "--public-key".as_ref(),
            public,
            "--signature".as_ref(),
            sig,
        ];
        args.extend(token_args);
        assert_usage(&tokenstorm(&args), needle, what);
    }
    let out = tokenstorm([
        OsStr::new("verify"),
        "--public-key".as_ref(),
        public,
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    assert_usage(&out, "--signature", "no --signature");
    let out = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        f.key.as_ref(),
        "--token-file".as_ref(),
        missing_token.as_ref(),
    ]);
    assert_usage(&out, "no-such-token.txt", "sign with a missing token file");
    let out = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        f.public.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    assert_usage(
        &out,
        &f.public.display().to_string(),
        "sign with a public key",
    );
}

#[test]
fn keygen_refuses_small_keys_and_protects_the_private_key() {
    let s = Scratch::new();
    for bits in ["1024", "2047", "512"] {
        let out_path = s.path(&format!("k{bits}.pem"));
        let out = tokenstorm([
            OsStr::new("keygen"),
            "--out".as_ref(),
            out_path.as_ref(),
            "--bits".as_ref(),
            bits.as_ref(),
        ]);
        assert_usage(&out, "2048", &format!("keygen --bits {bits}"));
        assert!(
            !out_path.exists(),
            "keygen --bits {bits} wrote {}",
            out_path.display()
        );
    }
    let out = tokenstorm([
        OsStr::new("keygen"),
        "--out".as_ref(),
        s.path("odd.pem").as_ref(),
        "--bits".as_ref(),
        "2049".as_ref(),
    ]);
    assert_usage(&out, "2049", "keygen --bits 2049");

    // Defaults: 2048 bits, the public key next to --out as public_key.pem.
    let key = s.path("private_key.pem");
    let out = tokenstorm([OsStr::new("keygen"), "--out".as_ref(), key.as_ref()]);
    assert_exit(&out, 0, "keygen with defaults");
    let key_pem = String::from_utf8(read(&key)).expect("PEM is ASCII");
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "keygen writes PKCS#8"
    );
    assert_no_key_material(&out, &key_pem, "keygen");
    assert_mode_0600(&key);
    let public = String::from_utf8(read(&s.path("public_key.pem"))).expect("PEM is ASCII");
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----"),
        "keygen writes an SPKI public key"
    );
    let text = String::from_utf8_lossy(&tool_ok(
        "openssl",
        [
            OsStr::new("rsa"),
            "-in".as_ref(),
            key.as_ref(),
            "-noout".as_ref(),
            "-text".as_ref(),
        ],
    ))
    .to_string();
    assert!(text.contains("Private-Key: (2048 bit"), "{text}");

    // Overwriting a world-readable file still leaves a 0600 private key.
    let loose = s.write("loose.pem", b"old");
    std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    let out = tokenstorm([
        OsStr::new("keygen"),
        "--out".as_ref(),
        loose.as_ref(),
        "--public-out".as_ref(),
        s.path("loose.pub").as_ref(),
    ]);
    assert_exit(&out, 0, "keygen over an existing file");
    assert_mode_0600(&loose);

    let out = tokenstorm([
        OsStr::new("keygen"),
        "--out".as_ref(),
        key.as_ref(),
        "--public-out".as_ref(),
        key.as_ref(),
    ]);
    assert_usage(
        &out,
        "--public-out",
        "keygen with --public-out equal to --out",
    );
    let nowhere = s.path("no/such/dir/k.pem");
    let out = tokenstorm([OsStr::new("keygen"), "--out".as_ref(), nowhere.as_ref()]);
    assert_usage(
        &out,
        &nowhere.display().to_string(),
        "keygen into a missing directory",
    );
}

#[test]
fn no_private_key_material_in_logs_or_debug() {
    let f = Fixture::new();
    // Debug logging on every command.
    for args in [
        vec![
            OsStr::new("-vv"),
            "sign".as_ref(),
            "--key".as_ref(),
            f.key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
        ],
        vec![
            "-vv".as_ref(),
            "sign".as_ref(),
            "--key".as_ref(),
            f.key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--url-encode".as_ref(),
        ],
        vec![
            "-vv".as_ref(),
            "verify".as_ref(),
            "--public-key".as_ref(),
            f.key.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--signature".as_ref(),
            f.sig.as_ref(),
        ],
        vec![
            "-vv".as_ref(),
            "sign".as_ref(),
            "--key".as_ref(),
            f.key.as_ref(),
        ],
    ] {
        let out = tokenstorm(&args);
        assert_no_key_material(&out, &f.key_pem, &format!("tokenstorm {args:?}"));
    }
    // A damaged private key: the error names the file, not its contents.
    let damaged =
        f.s.write("damaged.pem", f.key_pem.replacen('A', "*", 3).as_bytes());
    let out = tokenstorm([
        OsStr::new("sign"),
        "--key".as_ref(),
        damaged.as_ref(),
        "--token".as_ref(),
        TOKEN.as_ref(),
    ]);
    assert_usage(
        &out,
        &damaged.display().to_string(),
        "sign with a damaged key",
    );
    assert_no_key_material(&out, &f.key_pem, "sign with a damaged key");

    // The library's Debug forms.
    let key =
        tokenstorm::token::PrivateKey::from_pem(&f.key_pem, "test key").expect("load the key");
    let shown = format!("{key:?} {key:#?} {:?}", key.public_key());
    assert!(shown.contains("redacted"), "{shown}");
    for line in f.key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !shown.contains(line),
            "Debug shows private key material: {shown}"
        );
    }
    assert!(
        !shown.to_lowercase().contains("prime") && !shown.contains("BoxedUint"),
        "Debug shows key internals: {shown}"
    );
    let err =
        tokenstorm::token::PrivateKey::from_pem(&f.key_pem[..f.key_pem.len() / 2], "half key")
            .expect_err("half a key");
    let shown = format!("{err:?} {err}");
    for line in f.key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !shown.contains(line),
            "a key error shows key material: {shown}"
        );
    }
}
