//! `keys.signer = { command = [...] }`: one run of the user's command per token, token bytes on stdin, the
//! base64 signature on stdout (as `openssl dgst -sha256 -sign key.pem | base64 -w0` or `aws kms sign` in a
//! script print it). Runs in the scenario's directory, at most `concurrency` at once, each within `timeout`.
//! A failure is a setup error naming the command, the token index and the command's stderr; never its stdout,
//! which for a misconfigured command could be key material.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::AsyncWriteExt as _;

use crate::token::{PublicKey, SignError};

/// Characters of a command's stderr an error quotes (its end, where the reason usually is).
const STDERR_QUOTED: usize = 600;

/// An external signing command.
pub type CommandSigner = super::Batched<Command>;

/// The command, run once per token.
pub struct Command {
    argv: Vec<String>,
    dir: PathBuf,
    timeout: Duration,
}

impl CommandSigner {
    /// `argv[0]` is the program (looked up on PATH, or relative to `dir`); `public` is its key's public half.
    pub fn new(
        argv: Vec<String>,
        dir: PathBuf,
        public: PublicKey,
        concurrency: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!argv.is_empty(), "keys.signer.command: empty");
        Ok(Self {
            one: Arc::new(Command { argv, dir, timeout }),
            public,
            concurrency,
            runtime: super::runtime("keys.signer.command")?,
        })
    }
}

impl super::SignOne for Command {
    fn what(&self) -> String {
        format!("keys.signer.command {}", self.shown())
    }

    async fn sign(&self, i: usize, token: &[u8]) -> Result<Vec<u8>, SignError> {
        self.run(i, token).await
    }
}

impl Command {
    /// The command as errors show it: its words, quoted where they hold spaces.
    fn shown(&self) -> String {
        let words: Vec<String> = self
            .argv
            .iter()
            .map(|w| {
                if w.contains(char::is_whitespace) || w.is_empty() {
                    format!("{w:?}")
                } else {
                    w.clone()
                }
            })
            .collect();
        format!("[{}]", words.join(" "))
    }

    fn fail(&self, i: usize, problem: String) -> SignError {
        SignError(format!(
            "keys.signer.command {} failed for token {i}: {problem}",
            self.shown()
        ))
    }

    /// One run: the token on stdin, its decoded signature from stdout.
    async fn run(&self, i: usize, token: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut child = tokio::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.fail(i, format!("cannot start {:?}: {e}", self.argv[0])))?;
        let mut stdin = child.stdin.take();
        let run = async {
            if let Some(stdin) = stdin.as_mut() {
                // A command that exits without reading its input is judged by its exit status and output.
                let _ = stdin.write_all(token).await;
            }
            drop(stdin);
            child.wait_with_output().await
        };
        let output = match tokio::time::timeout(self.timeout, run).await {
            Err(_) => {
                return Err(self.fail(
                    i,
                    format!(
                        "no answer within {} ms (keys.signer.timeout_ms)",
                        self.timeout.as_millis()
                    ),
                ));
            }
            Ok(Err(e)) => return Err(self.fail(i, format!("cannot run it: {e}"))),
            Ok(Ok(output)) => output,
        };
        let stderr = quoted_stderr(&output.stderr);
        if !output.status.success() {
            return Err(self.fail(i, format!("{}{stderr}", output.status)));
        }
        decode(&output.stdout).map_err(|p| self.fail(i, format!("{p}{stderr}")))
    }
}

/// The signature from a command's stdout: base64 (standard alphabet), surrounding whitespace and line breaks
/// (as `openssl base64` wraps) ignored. The problem never quotes the output.
fn decode(stdout: &[u8]) -> Result<Vec<u8>, String> {
    let text: Vec<u8> = stdout
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if text.is_empty() {
        return Err("it printed nothing (want the base64 signature on stdout)".into());
    }
    if text.starts_with(b"-----BEGIN") {
        return Err("it printed a PEM block, not a base64 signature".into());
    }
    match STANDARD.decode(&text) {
        Ok(sig) if !sig.is_empty() => Ok(sig),
        _ => Err(format!(
            "it printed {} bytes that are not a base64 signature (want e.g. `openssl dgst -sha256 -sign key.pem | base64 -w0`)",
            stdout.len()
        )),
    }
}

/// `; stderr: …` with the end of a command's stderr, or nothing when it wrote none.
fn quoted_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_QUOTED - 1)
        .map_or(0, |(i, _)| i);
    let cut = if start > 0 { "…" } else { "" };
    format!("; stderr: {cut}{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_is_base64_with_any_line_breaks() {
        assert_eq!(decode(b"AAEC\n").unwrap(), [0, 1, 2]);
        assert_eq!(decode(b" AA\nEC \n").unwrap(), [0, 1, 2]);
        assert!(decode(b"").unwrap_err().contains("printed nothing"));
        assert!(decode(b"\n\n").unwrap_err().contains("printed nothing"));
        let pem =
            decode(b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n").unwrap_err();
        assert!(pem.contains("PEM block") && !pem.contains("MIIE"), "{pem}");
        let e = decode(b"not base64!").unwrap_err();
        assert!(e.contains("11 bytes") && !e.contains("not base64!"), "{e}");
    }

    #[test]
    fn stderr_is_quoted_from_its_end() {
        assert_eq!(quoted_stderr(b"  \n"), "");
        assert_eq!(quoted_stderr(b"boom\n"), "; stderr: boom");
        let long = format!("{}END", "x".repeat(1000));
        let q = quoted_stderr(long.as_bytes());
        assert!(q.starts_with("; stderr: …") && q.ends_with("END"), "{q}");
        assert_eq!(
            q.chars().count(),
            "; stderr: …".chars().count() + STDERR_QUOTED
        );
    }
}
