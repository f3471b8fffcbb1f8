//! One module per subcommand: an `Args` struct and a `run` function.

pub mod emulate;
pub mod keygen;
pub mod run;
pub mod sign;
pub mod verify;

use crate::cli::Command;
use crate::error::Exit;

/// Runs the chosen subcommand. `Err` means a usage or setup problem (exit 2).
pub fn dispatch(command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Emulate(args) => emulate::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
    }
}

/// Reads a token given as a literal or a file (the file's bytes exactly, no newline trimming, like `openssl dgst`).
pub(crate) fn read_token(
    token: Option<String>,
    token_file: Option<std::path::PathBuf>,
) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    match (token, token_file) {
        (Some(t), None) => Ok(t.into_bytes()),
        (None, Some(p)) => {
            std::fs::read(&p).with_context(|| format!("cannot read --token-file {}", p.display()))
        }
        _ => anyhow::bail!("give exactly one of --token STRING or --token-file PATH"),
    }
}
