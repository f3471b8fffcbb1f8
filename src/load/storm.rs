//! Storms (`[[mqtt.storms]]`): at each storm's time the target is told to drop every MQTT session at once —
//! the embedded emulator directly, an external one with `POST <admin_url>/storm` — and the [`StormClock`]
//! remembers when each fired, so the fleet can tell which sessions a storm dropped (those up when it fired)
//! and time their devices' way back.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::join::Windows;
use crate::join::cloudwatch::unix_ms_now;
use crate::scenario::reconnect::Storm;
use crate::shutdown::Shutdown;

/// Drops every session at the target; answers how many it dropped.
pub type Trigger =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<u64>> + Send>> + Send + Sync>;

/// The storms of a run and when each fired.
#[derive(Debug, Default)]
pub struct StormClock {
    storms: Vec<Storm>,
    fired: Vec<OnceLock<Instant>>,
    /// What the target answered (sessions it dropped), per storm.
    answers: Mutex<Vec<Option<u64>>>,
}

impl StormClock {
    pub fn new(storms: Vec<Storm>) -> Self {
        Self {
            fired: storms.iter().map(|_| OnceLock::new()).collect(),
            answers: Mutex::new(vec![None; storms.len()]),
            storms,
        }
    }

    pub fn storms(&self) -> &[Storm] {
        &self.storms
    }

    /// The latest storm that fired in `[since, now]` (index, when); `None`: none did.
    pub fn fired_between(&self, since: Instant, now: Instant) -> Option<(usize, Instant)> {
        self.fired.iter().enumerate().rev().find_map(|(k, f)| {
            f.get()
                .filter(|&&at| at >= since && at <= now)
                .map(|&at| (k, at))
        })
    }

    /// Storm `k` fired (`None`: it did not, the run ended first) and what the target answered.
    pub fn outcome(&self, k: usize) -> (bool, Option<u64>) {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        (
            self.fired.get(k).is_some_and(|f| f.get().is_some()),
            answers.get(k).copied().flatten(),
        )
    }

    /// Fires each storm at `t0` + its time, until `deadline` or `shutdown`, opening its window in `windows`
    /// (the join counts the invocations in it).
    pub async fn run(
        &self,
        (t0, deadline): (Instant, Instant),
        (trigger, windows): (Trigger, Windows),
        shutdown: Shutdown,
    ) {
        for (k, s) in self.storms.iter().enumerate() {
            let at = t0 + s.at;
            if at >= deadline {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = shutdown.wait() => return,
            }
            // Marked before the trigger: every session the storm drops was up when it fired, and every
            // invocation its reconnects cause is stamped after its window opened.
            let _ = self.fired[k].set(Instant::now());
            windows.open(k, unix_ms_now(), s.window.as_millis() as u64);
            match trigger().await {
                Ok(n) => {
                    let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
                    answers[k] = Some(n);
                }
                Err(e) => tracing::warn!("storm {k} at {} s: {e:#}", s.at.as_secs_f64()),
            }
        }
    }
}

/// A trigger for an external emulator: `POST <admin_url>/storm`, answered `{"dropped":N}`.
pub fn admin_trigger(admin_url: &str) -> anyhow::Result<Trigger> {
    let authority = crate::contract::url::http_origin(admin_url)
        .with_context(|| format!("the admin URL {admin_url:?}"))?
        .addr();
    let url = admin_url.trim_end_matches('/').to_string();
    Ok(Arc::new(move || {
        let (authority, url) = (authority.clone(), url.clone());
        Box::pin(async move { post_storm(&authority, &url).await })
    }))
}

async fn post_storm(authority: &str, url: &str) -> anyhow::Result<u64> {
    let tcp = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to the emulator's admin listener {url}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::post("/storm")
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())?;
    let resp = sender
        .send_request(req)
        .await
        .with_context(|| format!("POST {url}/storm failed"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(status.is_success(), "POST {url}/storm answered {status}");
    #[derive(serde::Deserialize)]
    struct Answer {
        dropped: u64,
    }
    let a: Answer = serde_json::from_slice(&body)
        .with_context(|| format!("POST {url}/storm: not a storm answer"))?;
    Ok(a.dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn storms_fire_in_order_until_the_deadline_and_sessions_find_theirs() {
        let storm = |s| Storm {
            at: Duration::from_secs(s),
            window: Duration::from_secs(5),
        };
        let clock = Arc::new(StormClock::new(vec![storm(2), storm(6), storm(20)]));
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let trigger: Trigger = Arc::new(move || {
            let n = c.fetch_add(1, Ordering::Relaxed) + 10;
            Box::pin(async move { Ok(n) })
        });
        let t0 = Instant::now();
        let windows = Windows::default();
        let deadline = t0 + Duration::from_secs(10);
        clock
            .run((t0, deadline), (trigger, windows.clone()), Shutdown::new())
            .await;
        let (a, b) = (windows.span(0).unwrap(), windows.span(1).unwrap());
        assert_eq!((a.1 - a.0, b.1 - b.0), (5_000, 5_000));
        assert_eq!(windows.span(2), None);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            2,
            "the third is after the deadline"
        );
        assert_eq!(clock.outcome(0), (true, Some(10)));
        assert_eq!(clock.outcome(1), (true, Some(11)));
        assert_eq!(clock.outcome(2), (false, None));
        let s = |n| t0 + Duration::from_secs(n);
        assert_eq!(
            clock.fired_between(s(0), s(10)),
            Some((1, s(6))),
            "the latest"
        );
        assert_eq!(clock.fired_between(s(0), s(5)), Some((0, s(2))));
        assert_eq!(
            clock.fired_between(s(3), s(5)),
            None,
            "a session opened after the storm"
        );
    }
}
