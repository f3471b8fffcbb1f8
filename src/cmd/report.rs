//! `tokenstorm report RUN_DIR [--html] [--junit] [--md]`: re-renders a finished run's `report.html`, `junit.xml`
//! and `summary.md` from its saved `report.json` (and `histograms/*.hgrm`; all three without flags), writing
//! them into RUN_DIR as the run did. A missing folder or
//! an unreadable report.json is a setup error (exit 2) naming the path.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::Exit;
use crate::report::files::{self, Which};
use crate::report::view::View;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A run folder (`reports/<timestamp>-<scenario>`) holding report.json.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Write report.html.
    #[arg(long)]
    pub html: bool,
    /// Write junit.xml.
    #[arg(long)]
    pub junit: bool,
    /// Write summary.md.
    #[arg(long)]
    pub md: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let path = args.run_dir.join("report.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let view = View::from_json(value)
        .with_context(|| format!("{} is not a tokenstorm report", path.display()))?;
    let all = !args.junit && !args.md && !args.html;
    let which = Which {
        junit: all || args.junit,
        markdown: all || args.md,
        html: all || args.html,
    };
    for p in files::write(&view, &args.run_dir, which)? {
        println!("{}", p.display());
    }
    Ok(Exit::Ok)
}
