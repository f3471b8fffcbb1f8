//! The ledger join: the emulator's invocation ledger, reduced to counts per credential class for this run.
//!
//! Each ledger entry carries the attempt id the generator sent (`x-tokenstorm-attempt`), and the id names the
//! class ([`crate::attempt::id`]), so the join needs no per-attempt storage. Entries of other runs or without
//! an id are counted as foreign. The ledger comes from the embedded emulator in-process, or from an external
//! emulator's admin API (`GET /ledger`).

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::attempt::{Class, id};

/// The part of a ledger entry the join reads (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LedgerRow {
    /// 1, 2, 3, ... in invocation order (for paging through the admin API).
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub attempt_id: Option<String>,
    /// `allow` or `deny`.
    pub verdict: String,
}

impl From<&crate::emulator::LedgerEntry> for LedgerRow {
    fn from(e: &crate::emulator::LedgerEntry) -> Self {
        Self {
            seq: e.seq,
            attempt_id: e.attempt_id.clone(),
            verdict: e.verdict.clone(),
        }
    }
}

/// Invocations of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClassInvocations {
    pub invocations: u64,
    pub allowed: u64,
    pub denied: u64,
}

/// The ledger, as counts per class for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerSummary {
    /// `in-process` or the admin URL it was read from.
    pub source: String,
    /// Every entry read.
    pub total: u64,
    /// Entries without an attempt id of this run.
    pub foreign: u64,
    #[serde(skip)]
    pub by_class: [ClassInvocations; Class::COUNT],
    /// Up to 10 attempt ids of forged attempts that reached the authorizer.
    pub forged_examples: Vec<String>,
}

const MAX_EXAMPLES: usize = 10;

impl LedgerSummary {
    pub fn new(
        source: impl Into<String>,
        run_id: &str,
        rows: impl IntoIterator<Item = LedgerRow>,
    ) -> Self {
        let mut s = Self {
            source: source.into(),
            total: 0,
            foreign: 0,
            by_class: [ClassInvocations::default(); Class::COUNT],
            forged_examples: Vec::new(),
        };
        for row in rows {
            s.total += 1;
            let parsed = row
                .attempt_id
                .as_deref()
                .and_then(id::parse)
                .filter(|a| a.run == run_id);
            let Some(a) = parsed else {
                s.foreign += 1;
                continue;
            };
            let c = &mut s.by_class[a.class.index()];
            c.invocations += 1;
            if row.verdict == "allow" {
                c.allowed += 1;
            } else {
                c.denied += 1;
            }
            if a.class.is_forged() && s.forged_examples.len() < MAX_EXAMPLES {
                s.forged_examples.extend(row.attempt_id);
            }
        }
        s
    }

    pub fn class(&self, c: Class) -> ClassInvocations {
        self.by_class[c.index()]
    }

    /// Invocations of this run (all classes).
    pub fn ours(&self) -> u64 {
        self.by_class.iter().map(|c| c.invocations).sum()
    }

    /// Invocations caused by forged attempts.
    pub fn forged(&self) -> u64 {
        Class::ALL
            .into_iter()
            .filter(|c| c.is_forged())
            .map(|c| self.class(c).invocations)
            .sum()
    }
}

/// Entries per admin request.
const PAGE: usize = 10_000;

/// Reads an external emulator's whole ledger: `GET <admin_url>/ledger?since=SEQ&limit=N` → `{"entries": [...]}`
/// (plain HTTP, one keep-alive connection, pages of [`PAGE`] entries).
pub async fn fetch(admin_url: &str) -> anyhow::Result<Vec<LedgerRow>> {
    use http_body_util::{BodyExt as _, Empty};
    use hyper_util::rt::TokioIo;

    #[derive(Deserialize)]
    struct Page {
        entries: Vec<LedgerRow>,
    }
    let authority = admin_url
        .strip_prefix("http://")
        .context("the admin URL must start with http://")?
        .trim_end_matches('/');
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to the emulator's admin listener {admin_url}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut rows: Vec<LedgerRow> = Vec::new();
    loop {
        let since = rows.last().map_or(0, |r| r.seq);
        let req = hyper::Request::get(format!("/ledger?since={since}&limit={PAGE}"))
            .header(hyper::header::HOST, authority)
            .body(Empty::<bytes::Bytes>::new())?;
        sender
            .ready()
            .await
            .with_context(|| format!("{admin_url}: connection lost"))?;
        let resp = sender
            .send_request(req)
            .await
            .with_context(|| format!("GET {admin_url}/ledger failed"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::ensure!(
            status.is_success(),
            "GET {admin_url}/ledger answered {status}"
        );
        let page: Page = serde_json::from_slice(&body)
            .with_context(|| format!("GET {admin_url}/ledger: not a ledger"))?;
        let n = page.entries.len();
        if let Some(first) = page.entries.first() {
            anyhow::ensure!(
                first.seq > since,
                "GET {admin_url}/ledger: entries do not advance past seq {since}"
            );
        }
        rows.extend(page.entries);
        if n < PAGE {
            return Ok(rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::Forgery;

    fn row(id: Option<&str>, verdict: &str) -> LedgerRow {
        LedgerRow {
            seq: 0,
            attempt_id: id.map(str::to_string),
            verdict: verdict.into(),
        }
    }

    #[test]
    fn joins_by_attempt_id_and_run() {
        let rows = vec![
            row(Some("r1-valid-0-0"), "allow"),
            row(Some("r1-valid-1-0"), "deny"),
            row(Some("r1-replayed-2-0"), "allow"),
            row(Some("r1-forged.bit_flip-3-0"), "allow"),
            row(Some("r2-valid-0-0"), "allow"),
            row(None, "allow"),
            row(Some("garbage"), "deny"),
        ];
        let s = LedgerSummary::new("in-process", "r1", rows);
        assert_eq!(s.total, 7);
        assert_eq!(s.foreign, 3);
        assert_eq!(s.ours(), 4);
        assert_eq!(
            s.class(Class::Valid),
            ClassInvocations {
                invocations: 2,
                allowed: 1,
                denied: 1
            }
        );
        assert_eq!(s.class(Class::Replayed).invocations, 1);
        assert_eq!(s.class(Class::Forged(Forgery::BitFlip)).invocations, 1);
        assert_eq!(s.forged(), 1);
        assert_eq!(
            s.forged_examples,
            vec!["r1-forged.bit_flip-3-0".to_string()]
        );
    }
}
