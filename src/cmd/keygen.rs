//! `tokenstorm keygen`: a new RSA key pair, written as PEM files.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::Exit;
use crate::token::PrivateKey;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Where to write the public key (SPKI PEM, as `openssl rsa -pubout`); default: next to --out as public_key.pem.
    #[arg(long, value_name = "PATH")]
    pub public_out: Option<PathBuf>,
    /// Modulus size: 2048, 3072 or 4096 (AWS needs at least 2048).
    #[arg(long, default_value_t = 2048)]
    pub bits: usize,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let key = PrivateKey::generate(args.bits)?;
    let public_out = args
        .public_out
        .unwrap_or_else(|| args.out.with_file_name("public_key.pem"));
    if public_out == args.out {
        anyhow::bail!(
            "--public-out must differ from --out ({})",
            args.out.display()
        );
    }
    write_private(&args.out, &key.to_pkcs8_pem()?)?;
    std::fs::write(&public_out, key.public_key().to_spki_pem())
        .with_context(|| format!("cannot write --public-out {}", public_out.display()))?;
    eprintln!(
        "wrote {}-bit private key to {} and public key to {} (fingerprint {})",
        key.bits(),
        args.out.display(),
        public_out.display(),
        key.public_key().fingerprint()
    );
    Ok(Exit::Ok)
}

fn write_private(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write --out {}", path.display()))?;
    // `mode` applies only when the file is created: an existing file keeps its mode unless we set it, and the
    // key must never land in a world-readable file. Truncated above, so nothing is written before this.
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot make --out {} private (mode 0600)", path.display()))?;
    f.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write --out {}", path.display()))?;
    Ok(())
}
