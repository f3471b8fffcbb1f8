//! Per-connection state: the connection's id (the event's `connectionMetadata.id`), its listener and SNI, and
//! the HTTPS authorizer cache (`enableCachingForHttp`, spec §5): a valid response is reused on the same
//! keep-alive connection for `refreshAfterInSeconds`, keyed by authorizer, token and signature.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::response::Authorization;
use crate::contract::Route;

/// Per TCP connection: its id (the event's `connectionMetadata.id`), listener, SNI and HTTP auth cache.
pub struct ConnCtx {
    pub id: String,
    /// HTTPS, or HTTP on the plain listener.
    pub transport: Route,
    pub server_name: Option<String>,
    cache: Mutex<Option<CacheEntry>>,
    /// The connection's place under its listener's cap: a WebSocket session keeps a clone after the upgrade.
    pub(crate) slot: Option<Arc<Slot>>,
}

/// The open connections of one listener, counted against its cap (`server::Limits`).
#[derive(Debug, Default)]
pub(crate) struct OpenConnections(Arc<AtomicUsize>);

impl OpenConnections {
    /// A slot, or `None` when `cap` connections are open.
    pub(crate) fn take(&self, cap: usize) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.0.clone()))
    }

    pub(crate) fn open(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// One open connection (or the WebSocket session it became); its place is freed when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) struct CacheEntry {
    pub(crate) authorizer: usize,
    pub(crate) token: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) authorization: Authorization,
    pub(crate) expires: Instant,
}

impl ConnCtx {
    pub fn new(transport: Route, server_name: Option<String>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            transport,
            server_name,
            cache: Mutex::new(None),
            slot: None,
        }
    }

    /// The connection, holding its place under the listener's cap.
    pub(crate) fn with_slot(mut self, slot: Arc<Slot>) -> Self {
        self.slot = Some(slot);
        self
    }

    pub(crate) fn cached(
        &self,
        authorizer: usize,
        token: &Option<String>,
        signature: &Option<String>,
    ) -> Option<Authorization> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .as_ref()
            .filter(|c| {
                c.authorizer == authorizer
                    && &c.token == token
                    && &c.signature == signature
                    && Instant::now() < c.expires
            })
            .map(|c| c.authorization.clone())
    }

    pub(crate) fn store(&self, entry: CacheEntry) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn auth() -> Authorization {
        Authorization {
            principal_id: "p".into(),
            policies: vec![],
            disconnect_after_s: None,
            refresh_after_s: Some(300),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_expires_after_refresh_and_is_keyed_by_authorizer_token_and_signature() {
        let conn = ConnCtx::new(Route::of(crate::contract::Transport::Https), None);
        let (t, s) = (Some("tok".to_string()), Some("sig".to_string()));
        assert!(conn.cached(0, &t, &s).is_none());
        conn.store(CacheEntry {
            authorizer: 0,
            token: t.clone(),
            signature: s.clone(),
            authorization: auth(),
            expires: Instant::now() + Duration::from_secs(300),
        });
        assert_eq!(conn.cached(0, &t, &s), Some(auth()));
        assert!(conn.cached(1, &t, &s).is_none());
        assert!(conn.cached(0, &Some("other".into()), &s).is_none());
        assert!(conn.cached(0, &t, &Some("other".into())).is_none());
        tokio::time::advance(Duration::from_secs(299)).await;
        assert!(conn.cached(0, &t, &s).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(
            conn.cached(0, &t, &s).is_none(),
            "expired at refreshAfterInSeconds"
        );
    }
}
