//! token tests: the toolkit (`keygen`, `sign`, `verify`) driven as a real binary against the real `openssl` and
//! `base64` binaries, and the gate's verifiers against the Wycheproof vectors.
//!
//! Every external command runs without a shell: what the seed article pipes through `echo -n`, we write to a
//! file byte for byte and hand to the tool as its input file, which is what the pipe delivers.

mod cli;
mod gate;
mod interop;
mod seed;
mod wycheproof;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the built `tokenstorm` binary.
pub fn tokenstorm<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(env!("CARGO_BIN_EXE_tokenstorm")).args(args))
}

/// Runs a tool nobody here wrote (`openssl`, `base64`), failing the test with a clear message when it is missing.
pub fn tool<I, S>(program: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(program).args(args))
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.env("LC_ALL", "C").output().unwrap_or_else(|e| {
        panic!("cannot run {shown}: {e} (scripts/test installs the tools the tests need)")
    })
}

/// Like [`tool`], but the command must succeed; returns its stdout.
pub fn tool_ok<I, S>(program: &str, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = tool(program, &args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        describe(&out)
    );
    out.stdout
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The process's stdout as text without the final newline.
pub fn stdout_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string()
}

/// Asserts the exit code, showing everything the command printed when it differs.
pub fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}: {}", describe(out));
}

/// A scratch directory with helpers to put files in it.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }
}

/// Reads a file the test made.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `openssl genrsa -out PATH BITS` (PKCS#8 with OpenSSL 3), plus `-traditional` when PKCS#1 is wanted.
pub fn openssl_genrsa(out: &Path, bits: usize, traditional: bool) {
    let mut args: Vec<String> = vec!["genrsa".into()];
    if traditional {
        args.push("-traditional".into());
    }
    args.extend(["-out".into(), out.display().to_string(), bits.to_string()]);
    tool_ok("openssl", &args);
}

/// `openssl rsa -in KEY -pubout -out OUT`: the SPKI public key, as in the seed article.
pub fn openssl_pubout(key: &Path, out: &Path) {
    tool_ok(
        "openssl",
        [
            OsStr::new("rsa"),
            "-in".as_ref(),
            key.as_ref(),
            "-pubout".as_ref(),
            "-out".as_ref(),
            out.as_ref(),
        ],
    );
}

/// `openssl dgst -sha256 -sign KEY -out SIG INPUT`, then `base64 -w0 SIG`: the seed's pipeline without pipes.
pub fn openssl_sign_b64(scratch: &Scratch, key: &Path, input: &Path) -> String {
    let sig = scratch.path("openssl.sig");
    tool_ok(
        "openssl",
        [
            OsStr::new("dgst"),
            "-sha256".as_ref(),
            "-sign".as_ref(),
            key.as_ref(),
            "-out".as_ref(),
            sig.as_ref(),
            input.as_ref(),
        ],
    );
    base64_w0(&sig)
}

/// `base64 -w0 FILE` from coreutils.
pub fn base64_w0(file: &Path) -> String {
    String::from_utf8(tool_ok("base64", [OsStr::new("-w0"), file.as_ref()]))
        .expect("base64 prints ASCII")
}

/// Fails when a command printed any part of the private key in `key_pem`: its PEM armour or any body line.
pub fn assert_no_key_material(out: &Output, key_pem: &str, what: &str) {
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !printed.contains("PRIVATE KEY"),
        "{what} printed a private key header: {}",
        describe(out)
    );
    for line in key_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
    {
        assert!(
            !printed.contains(line),
            "{what} printed private key material: {}",
            describe(out)
        );
    }
}
