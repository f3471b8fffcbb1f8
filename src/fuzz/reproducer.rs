//! The file a finding is written to (`finding-<index>-<kind>.json` in the run folder) and read back by
//! `tokenstorm fuzz --replay FILE`: the seed and case index (to regenerate the case), the transport, whether a
//! valid prefix came first, the raw bytes (hex and base64; minimized when minimization helped) and a readable
//! rendering.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::oracle::FindingKind;
use super::render::readable;
use crate::contract::Route;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reproducer {
    pub seed: u64,
    pub case_index: u64,
    pub transport: Route,
    pub valid_prefix: bool,
    pub kind: FindingKind,
    pub detail: String,
    /// The bytes sent after the valid prefix (the prefix is rebuilt at replay), hex.
    pub bytes_hex: String,
    pub bytes_base64: String,
    pub readable: String,
    /// The bytes as generated, hex, when `bytes_hex` holds a minimized version.
    #[serde(default)]
    pub original_hex: Option<String>,
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Reproducer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        case_index: u64,
        transport: Route,
        valid_prefix: bool,
        kind: FindingKind,
        detail: String,
        bytes: &[u8],
        original: Option<&[u8]>,
    ) -> Self {
        Self {
            seed,
            case_index,
            transport,
            valid_prefix,
            kind,
            detail,
            bytes_hex: to_hex(bytes),
            bytes_base64: STANDARD.encode(bytes),
            readable: readable(bytes, 4000),
            original_hex: original.map(to_hex),
        }
    }

    /// The bytes to send (from `bytes_hex`).
    pub fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        from_hex(&self.bytes_hex).context("bytes_hex is not an even-length hex string")
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(format!(
            "finding-{}-{}-{}.json",
            self.case_index,
            self.transport.name(),
            self.kind.as_str()
        ));
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write the reproducer {}", path.display()))?;
        Ok(path)
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the reproducer {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a tokenstorm fuzz reproducer (expected the JSON `tokenstorm fuzz` writes)",
                path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_odd_or_non_hex_text() {
        let bytes = vec![0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn a_reproducer_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reproducer::new(
            1,
            2,
            Route::of(crate::contract::Transport::Mqtt),
            true,
            FindingKind::Panic,
            "d".into(),
            b"\x10\x00",
            None,
        );
        let path = r.write(dir.path()).unwrap();
        assert_eq!(Reproducer::read(&path).unwrap(), r);
        assert_eq!(r.bytes().unwrap(), b"\x10\x00");
    }
}
