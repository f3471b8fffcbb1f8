//! Command-line surface: one subcommand per file under `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::error::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "tokenstorm",
    version,
    about = "Load and fuzz testing harness for AWS IoT Core custom authorizers with token signing"
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug; RUST_LOG overrides); `run -v` also shows every row of the
    /// terminal table.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (default scenarios/quickstart.toml) and judge it.
    Run(cmd::run::Args),
    /// Serve the emulated AWS IoT custom-auth data plane until SIGINT/SIGTERM.
    Emulate(Box<cmd::emulate::Args>),
    /// Send arbitrary-driven attack traffic over every transport to the embedded emulator and judge it.
    Fuzz(cmd::fuzz::Args),
    /// Measure the target's undocumented gate settings with a few valid probes and write them as a gate file.
    Calibrate(cmd::calibrate::Args),
    /// Print the forged-credential catalogue and the oracle's verdicts (under the gate settings given).
    Catalogue(cmd::catalogue::Args),
    /// Generate an RSA key pair for token signing.
    Keygen(cmd::keygen::Args),
    /// Sign a token: prints the base64 signature, as `openssl dgst -sha256 -sign KEY | base64 -w0`.
    Sign(cmd::sign::Args),
    /// Verify a token signature: exit 0 valid, 1 invalid, 2 usage error.
    Verify(cmd::verify::Args),
    /// Explain what the signature gate does with one request, step by step: exit 0 passes, 1 refused, 2 bad input.
    Explain(Box<cmd::explain::Args>),
    /// Invoke an authorizer's function once, as `aws iot test-invoke-authorizer` does (signature checked first).
    TestInvoke(Box<cmd::test_invoke::Args>),
    /// Policy dry run: `policy check FILE...` evaluates policy documents or an authorizer response against the
    /// scenario's devices and names what would be denied (exit 0 all allowed, 1 something denied, 2 bad input).
    Policy(cmd::policy::Args),
    /// Re-render a finished run's report.html, junit.xml and summary.md (all three without flags) from its saved files.
    Report(cmd::report::Args),
    /// Two finished runs side by side from their report.json: exit 0 no regression beyond tolerance, 1 a
    /// regression, 2 bad input.
    Compare(cmd::compare::Args),
    /// Merge the run folders of one plan's shards (`run --shard I/N`) into one run folder judged on the merged
    /// evidence: exit 0 pass, 1 fail or inconclusive, 3 interrupted, 2 a refused or bad shard set.
    Merge(cmd::merge::Args),
}

impl Command {
    /// Runs the chosen subcommand; `verbose`: the global `-v` count (`run` shows every table row with it). `Err`
    /// means a usage or setup problem (exit 2).
    pub fn run(self, verbose: u8) -> anyhow::Result<Exit> {
        match self {
            Self::Run(mut args) => {
                args.verbose = verbose > 0;
                cmd::run::run(args)
            }
            Self::Calibrate(args) => cmd::calibrate::run(args),
            Self::Catalogue(args) => cmd::catalogue::run(args),
            Self::Emulate(args) => cmd::emulate::run(*args),
            Self::Fuzz(args) => cmd::fuzz::run(args),
            Self::Keygen(args) => cmd::keygen::run(args),
            Self::Sign(args) => cmd::sign::run(args),
            Self::Verify(args) => cmd::verify::run(args),
            Self::Explain(args) => cmd::explain::run(*args),
            Self::TestInvoke(args) => cmd::test_invoke::run(*args),
            Self::Policy(args) => cmd::policy::run(args),
            Self::Report(args) => cmd::report::run(args),
            Self::Compare(args) => cmd::compare::run(args),
            Self::Merge(mut args) => {
                args.verbose = verbose > 0;
                cmd::merge::run(args)
            }
        }
    }
}

/// Logs go to stderr (around the live status block while it is drawn); results go to stdout.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::live::logs::writer)
        // Colours only on a terminal: a CI log or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
