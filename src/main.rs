//! The `tokenstorm` binary: parse, set up logging, run the subcommand, map the result to an exit code.

use clap::Parser as _;
use tokenstorm::cli::Cli;
use tokenstorm::error::Exit;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tokenstorm::cli::init_tracing(cli.verbose);
    let exit = match cli.command.run(cli.verbose) {
        Ok(exit) => exit,
        Err(err) => {
            eprintln!("error: {err:#}");
            Exit::Usage
        }
    };
    exit.into()
}
