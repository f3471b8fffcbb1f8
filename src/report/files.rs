//! The files beside report.json that CI and people read: `junit.xml` ([`super::junit`]), `summary.md`
//! ([`super::markdown`]) and `report.html` ([`super::html`]), all rendered from the report's JSON form (the
//! page also from `histograms/*.hgrm`) so `tokenstorm report` re-renders them byte for byte.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::view::View;

/// Which files to write.
#[derive(Debug, Clone, Copy)]
pub struct Which {
    pub junit: bool,
    pub markdown: bool,
    pub html: bool,
}

/// Writes the chosen files into `dir`; returns their paths.
pub fn write(view: &View, dir: &Path, which: Which) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let files = [
        (
            which.junit,
            "junit.xml",
            super::junit::render as fn(&View) -> String,
        ),
        (which.markdown, "summary.md", super::markdown::render),
    ];
    for (on, name, render) in files {
        if on {
            let path = dir.join(name);
            std::fs::write(&path, render(view))
                .with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
    }
    if which.html {
        let path = dir.join("report.html");
        std::fs::write(&path, super::html::render(view, dir)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// All three files for a report just built (the run's hook beside report.json).
pub fn write_all(report: &super::Report, dir: &Path) -> anyhow::Result<()> {
    let which = Which {
        junit: true,
        markdown: true,
        html: true,
    };
    write(&View::of(report)?, dir, which).map(drop)
}
