//! `tokenstorm sign`: the base64 RSASSA-PKCS1-v1_5/SHA-256 signature of a token.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::Exit;
use crate::token::{PrivateKey, encode_signature, sign_token};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Private key PEM (PKCS#1 or PKCS#8, e.g. from `openssl genrsa`).
    #[arg(long, value_name = "PATH")]
    pub key: PathBuf,
    #[command(flatten)]
    pub token: super::TokenArgs,
    /// Percent-encode the signature for a query string or MQTT username (`+`, `/`, `=` encoded).
    #[arg(long)]
    pub url_encode: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let token = args.token.read()?;
    let key = PrivateKey::from_pem_file(&args.key)?;
    let sig = encode_signature(&sign_token(&key, &token));
    let line = if args.url_encode {
        crate::wire::query::encode_component(&sig)
    } else {
        sig
    };
    // Not `println!`: it panics when stdout is a closed pipe.
    writeln!(std::io::stdout().lock(), "{line}").context("cannot write the signature to stdout")?;
    Ok(Exit::Ok)
}
