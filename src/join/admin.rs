//! An external emulator's ledger, read through its admin listener: `GET <admin_url>/ledger?since=SEQ&limit=N`,
//! page by page, folded into a [`LedgerSummary`] (entries evicted before a read reached them count as missed).
//! [`AdminLedger`] is the pager; [`Admin`] is the [`Witness`] the run drains.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use super::summary::{LedgerRow, LedgerSummary};
use super::{Pending, Spec, Witness};

/// Entries per admin request.
const PAGE: usize = 10_000;

/// One `GET /ledger` answer (the fields the join reads).
#[derive(Debug, Deserialize)]
struct Page {
    entries: Vec<LedgerRow>,
    #[serde(default)]
    evicted: u64,
    #[serde(default)]
    last_seq: u64,
}

/// An external emulator's ledger, read through its admin listener (plain HTTP, one keep-alive connection,
/// reopened after an error).
pub struct AdminLedger {
    url: String,
    authority: String,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl AdminLedger {
    pub fn new(admin_url: &str) -> anyhow::Result<Self> {
        let authority = crate::contract::url::http_origin(admin_url)
            .with_context(|| format!("the admin URL {admin_url:?}"))?
            .addr();
        Ok(Self {
            url: admin_url.trim_end_matches('/').to_string(),
            authority,
            sender: None,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
        let tcp = tokio::net::TcpStream::connect(self.authority.as_str())
            .await
            .with_context(|| {
                format!(
                    "cannot connect to the emulator's admin listener {}",
                    self.url
                )
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    async fn get(&mut self, since: u64, limit: usize) -> anyhow::Result<Page> {
        let body = self
            .fetch(&format!("/ledger?since={since}&limit={limit}"))
            .await?;
        serde_json::from_slice(&body)
            .with_context(|| format!("GET {}/ledger: not a ledger", self.url))
    }

    /// `GET <admin_url><path_and_query>` on the kept connection: the body of a success answer.
    pub async fn fetch(&mut self, path_and_query: &str) -> anyhow::Result<Bytes> {
        let result = self.try_fetch(path_and_query).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn try_fetch(&mut self, path_and_query: &str) -> anyhow::Result<Bytes> {
        let url = self.url.clone();
        let path = path_and_query.split('?').next().unwrap_or_default();
        let mut sender = match self.sender.take() {
            Some(s) => s,
            None => self.connect().await?,
        };
        let req = hyper::Request::get(path_and_query)
            .header(hyper::header::HOST, self.authority.as_str())
            .body(Empty::<Bytes>::new())?;
        sender
            .ready()
            .await
            .with_context(|| format!("{url}: connection lost"))?;
        let resp = sender
            .send_request(req)
            .await
            .with_context(|| format!("GET {url}{path} failed"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::ensure!(status.is_success(), "GET {url}{path} answered {status}");
        self.sender = Some(sender);
        Ok(body)
    }

    /// The newest seq recorded so far (where a join of what comes next starts).
    pub async fn last_seq(&mut self) -> anyhow::Result<u64> {
        Ok(self.get(u64::MAX, 0).await?.last_seq)
    }

    /// The newest `limit` entries whole (event and response included), oldest first: what `run --preflight`
    /// reads its probes' answers from.
    pub async fn newest(
        &mut self,
        limit: usize,
    ) -> anyhow::Result<Vec<crate::contract::LedgerEntry>> {
        let since = self.last_seq().await?.saturating_sub(limit as u64);
        let body = self
            .fetch(&format!("/ledger?since={since}&limit={limit}"))
            .await?;
        let page: crate::emulator::ledger::Since = serde_json::from_slice(&body)
            .with_context(|| format!("GET {}/ledger: not a ledger", self.url))?;
        Ok(page.entries)
    }

    /// Folds every entry after `summary.last_seq`, page by page.
    pub async fn drain(&mut self, summary: &mut LedgerSummary) -> anyhow::Result<()> {
        loop {
            let since = summary.last_seq;
            let page = self.get(since, PAGE).await?;
            let n = page.entries.len();
            if let Some(first) = page.entries.first() {
                anyhow::ensure!(
                    first.seq > since,
                    "GET {}/ledger: entries do not advance past seq {since}",
                    self.url
                );
            }
            for row in page.entries {
                summary.absorb(row);
            }
            summary.note_evicted(page.evicted);
            if n < PAGE {
                return Ok(());
            }
        }
    }
}

/// An external emulator's ledger as a [`Witness`]: the join of the entries recorded after it started.
pub struct Admin {
    ledger: AdminLedger,
    summary: LedgerSummary,
}

impl Admin {
    /// Starts joining an external emulator's ledger after the entries it holds now.
    pub async fn start(admin_url: &str, spec: &Spec) -> anyhow::Result<Self> {
        let mut ledger = AdminLedger::new(admin_url)?;
        let start = ledger.last_seq().await?;
        let summary = spec.summary(ledger.url(), start);
        Ok(Self { ledger, summary })
    }
}

impl Witness for Admin {
    fn drain(&mut self) -> Pending<'_, anyhow::Result<()>> {
        Box::pin(self.ledger.drain(&mut self.summary))
    }

    fn so_far(&self) -> super::SoFar {
        self.summary.so_far()
    }

    fn finish(mut self: Box<Self>) -> Pending<'static, anyhow::Result<LedgerSummary>> {
        Box::pin(async move {
            self.ledger.drain(&mut self.summary).await?;
            Ok(self.summary)
        })
    }
}
