//! One module per subcommand: an `Args` struct and a `run` function.

pub mod calibrate;
pub mod catalogue;
pub mod compare;
pub mod emulate;
pub mod explain;
pub mod fuzz;
pub mod gate_args;
pub mod keygen;
pub mod lambda_args;
pub mod merge;
pub mod policy;
pub mod report;
pub mod run;
pub mod sign;
pub mod test_invoke;
pub mod verify;

/// The token of `sign` and `verify`: a literal or a file.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The token, exactly as given (no trailing newline is added).
    #[arg(
        long,
        conflicts_with = "token_file",
        required_unless_present = "token_file"
    )]
    pub token: Option<String>,
    /// Read the token from a file, byte for byte (a trailing newline is part of the token, as for openssl).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
}

impl TokenArgs {
    /// The token's bytes.
    pub fn read(&self) -> anyhow::Result<Vec<u8>> {
        use anyhow::Context as _;
        match (&self.token, &self.token_file) {
            (Some(t), None) => Ok(t.clone().into_bytes()),
            (None, Some(p)) => std::fs::read(p)
                .with_context(|| format!("cannot read --token-file {}", p.display())),
            _ => anyhow::bail!("give exactly one of --token STRING or --token-file PATH"),
        }
    }
}
