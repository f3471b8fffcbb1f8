//! `tokenstorm emulate`: serve the emulated data plane until SIGINT/SIGTERM.

use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("emulate: in progress")
}
