//! The files beside report.json that CI reads: `junit.xml` ([`super::junit`]) and `summary.md`
//! ([`super::markdown`]), both rendered from the report's JSON form so `tokenstorm report` re-renders them
//! byte for byte.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::view::View;

/// Which files to write.
#[derive(Debug, Clone, Copy)]
pub struct Which {
    pub junit: bool,
    pub markdown: bool,
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
    Ok(written)
}

/// Both files for a report just built (the run's hook beside report.json).
pub fn write_all(report: &super::Report, dir: &Path) -> anyhow::Result<()> {
    let which = Which {
        junit: true,
        markdown: true,
    };
    write(&View::of(report)?, dir, which).map(drop)
}
