//! `tokenstorm run [SCENARIO]`: run a scenario and judge it.

use std::path::PathBuf;

use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(default_value = "scenarios/quickstart.toml")]
    pub scenario: PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("run: in progress")
}
