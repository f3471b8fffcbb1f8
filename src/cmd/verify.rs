//! `tokenstorm verify`: exit 0 when the signature is valid for the token, 1 when not (saying why), 2 on usage errors.

use std::io::Write as _;
use std::path::PathBuf;

use crate::error::Exit;
use crate::token::{PublicKey, verify_token};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Public key PEM (SPKI from `openssl rsa -pubout`, or PKCS#1).
    #[arg(long, value_name = "PATH")]
    pub public_key: PathBuf,
    #[command(flatten)]
    pub token: super::TokenArgs,
    /// The base64 signature (standard alphabet, padded), as `tokenstorm sign` prints it.
    #[arg(long, allow_hyphen_values = true)]
    pub signature: String,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let token = args.token.read()?;
    let key = PublicKey::from_pem_file(&args.public_key)?;
    // The exit code is the verdict; the line says why. Not `println!`, which panics on a closed stdout.
    let (line, exit) = match verify_token([&key], &token, &args.signature) {
        Ok(_) => (
            format!(
                "valid: signature matches the token under {} (rsa-{})",
                args.public_key.display(),
                key.bits()
            ),
            Exit::Ok,
        ),
        Err(why) => (format!("invalid: {why}"), Exit::Failed),
    };
    let _ = writeln!(std::io::stdout().lock(), "{line}");
    Ok(exit)
}
