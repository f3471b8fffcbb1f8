//! Per-connection state: the connection's id (the event's `connectionMetadata.id`), its listener and SNI, and
//! the HTTPS authorizer cache (`enableCachingForHttp`, spec §5): a valid response is reused on the same
//! keep-alive connection for `refreshAfterInSeconds`, keyed by authorizer, token and signature.

use std::sync::Mutex;

use tokio::time::Instant;

use super::metrics::Transport;
use super::response::Authorization;

/// Per TCP connection: its id (the event's `connectionMetadata.id`), listener, SNI and HTTP auth cache.
pub struct ConnCtx {
    pub id: String,
    pub transport: Transport,
    pub server_name: Option<String>,
    cache: Mutex<Option<CacheEntry>>,
}

pub(crate) struct CacheEntry {
    pub(crate) authorizer: usize,
    pub(crate) token: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) authorization: Authorization,
    pub(crate) expires: Instant,
}

impl ConnCtx {
    pub fn new(transport: Transport, server_name: Option<String>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            transport,
            server_name,
            cache: Mutex::new(None),
        }
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
        let conn = ConnCtx::new(Transport::Https, None);
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
