//! `POST /topics/{topic}?qos=0|1`: the HTTPS publish path (spec §1–§6). The order of checks: route, topic and
//! qos, body size, then the signature gate (a refusal never invokes the authorizer), the per-connection cache
//! (`enableCachingForHttp`), the function, response validation, and `iot:Publish` policy evaluation.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use tokio::time::{Duration, Instant};

use super::Shared;
use super::event::{HttpEventInput, http_event};
use super::function::invoke;
use super::gate::{self, RequestCredentials};
use super::ledger::LedgerEntry;
use super::metrics::{Outcome, Transport};
use super::policy::{self, Decision, Variables};
use super::reply;
use super::response::{Authorization, Judgement, judge};
use crate::wire::http::{ATTEMPT_ID, topic_from_path};
use crate::wire::query::parse_pairs;

/// Largest publish payload AWS IoT accepts (spec §7).
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// Per TCP connection: its id (the event's `connectionMetadata.id`), listener, SNI and HTTP auth cache.
pub struct ConnCtx {
    pub id: String,
    pub transport: Transport,
    pub server_name: Option<String>,
    cache: Mutex<Option<CacheEntry>>,
}

struct CacheEntry {
    authorizer: usize,
    token: Option<String>,
    signature: Option<String>,
    authorization: Authorization,
    expires: Instant,
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

    fn cached(
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

    fn store(&self, entry: CacheEntry) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }
}

/// Serves one data-plane request and counts its outcome.
pub(crate) async fn handle(
    req: Request<Incoming>,
    shared: &Shared,
    conn: &ConnCtx,
) -> Response<Full<Bytes>> {
    let (outcome, response) = route(req, shared, conn).await;
    shared.metrics.record_request(conn.transport, outcome);
    response
}

async fn route(
    req: Request<Incoming>,
    shared: &Shared,
    conn: &ConnCtx,
) -> (Outcome, Response<Full<Bytes>>) {
    let Some(topic) = topic_from_path(req.uri().path()) else {
        return (Outcome::NotFound, reply::not_found());
    };
    if req.method() != Method::POST {
        return (Outcome::NotFound, reply::method_not_allowed("POST"));
    }
    if topic.is_empty() {
        return (
            Outcome::BadRequest,
            reply::message(StatusCode::BAD_REQUEST, "The topic is empty"),
        );
    }
    let query = req.uri().query().map(str::to_string);
    let pairs = query.as_deref().map(parse_pairs).unwrap_or_default();
    if let Some((_, qos)) = pairs.iter().find(|(k, _)| k == "qos")
        && qos != "0"
        && qos != "1"
    {
        return (
            Outcome::BadRequest,
            reply::message(StatusCode::BAD_REQUEST, "qos must be 0 or 1"),
        );
    }
    let retain = pairs
        .iter()
        .any(|(k, v)| k == "retain" && v.eq_ignore_ascii_case("true"));
    let (parts, body) = req.into_parts();
    if let Err(outcome) = read_body(&parts.headers, body).await {
        return outcome;
    }

    let creds = RequestCredentials {
        headers: &parts.headers,
        query: &pairs,
    };
    let (index, pass) = match gate::check(&shared.authorizers, shared.default_authorizer, &creds) {
        Ok(ok) => ok,
        Err(reason) => {
            shared.metrics.record_gate_rejection(reason);
            tracing::debug!(reason = reason.as_str(), "gate rejected a publish");
            return (Outcome::GateRejected, reply::forbidden());
        }
    };
    let spec = &shared.authorizers[index];
    let resource = policy::topic_arn(&shared.region, &shared.account_id, &topic);

    if spec.enable_caching_for_http
        && let Some(auth) = conn.cached(index, &pass.token, &pass.signature)
    {
        shared.metrics.record_cache_hit(index);
        return match authorize_publish(&auth, &resource, retain) {
            Decision::Allow => (Outcome::Allowed, reply::ok()),
            _ => (Outcome::PolicyDenied, reply::forbidden()),
        };
    }

    let event = http_event(&HttpEventInput {
        token: pass.token.as_deref(),
        signature_verified: pass.signature_verified,
        tls: conn.transport == Transport::Https,
        server_name: conn.server_name.as_deref(),
        headers: &parts.headers,
        query: query.as_deref(),
        connection_id: &conn.id,
    });
    shared.metrics.record_invocation(index);
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let started = Instant::now();
    let result = invoke(&spec.function, &event).await;
    let duration_us = started.elapsed().as_micros() as u64;

    let (outcome, deny_reason, response) = match result {
        Err(err) => (
            Outcome::AuthorizerDenied,
            Some(err.as_str().to_string()),
            None,
        ),
        Ok(response) => {
            let (outcome, reason) = match judge(&response) {
                Judgement::NotAuthenticated => (
                    Outcome::AuthorizerDenied,
                    Some("not_authenticated".to_string()),
                ),
                Judgement::Invalid(rule) => (
                    Outcome::AuthorizerDenied,
                    Some(format!("invalid_response: {rule}")),
                ),
                Judgement::Authenticated(auth) => {
                    let decision = authorize_publish(&auth, &resource, retain);
                    if spec.enable_caching_for_http
                        && let Some(refresh) = auth.refresh_after_s
                    {
                        conn.store(CacheEntry {
                            authorizer: index,
                            token: pass.token.clone(),
                            signature: pass.signature.clone(),
                            authorization: auth,
                            expires: Instant::now() + Duration::from_secs(u64::from(refresh)),
                        });
                    }
                    match decision {
                        Decision::Allow => (Outcome::Allowed, None),
                        Decision::ExplicitDeny => (
                            Outcome::PolicyDenied,
                            Some("policy_explicit_deny".to_string()),
                        ),
                        Decision::ImplicitDeny => (
                            Outcome::PolicyDenied,
                            Some("policy_implicit_deny".to_string()),
                        ),
                    }
                }
            };
            (outcome, reason, Some(response))
        }
    };
    let allowed = outcome == Outcome::Allowed;
    shared.ledger.record(LedgerEntry {
        seq: 0,
        unix_ms,
        authorizer: spec.name.clone(),
        attempt_id: parts
            .headers
            .get(ATTEMPT_ID)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        transport: conn.transport.as_str().to_string(),
        trigger: "publish".to_string(),
        signature_verified: pass.signature_verified,
        event,
        response,
        verdict: if allowed { "allow" } else { "deny" }.to_string(),
        deny_reason,
        duration_us,
    });
    (
        outcome,
        if allowed {
            reply::ok()
        } else {
            reply::forbidden()
        },
    )
}

/// `iot:Publish` on the topic's ARN, plus `iot:RetainPublish` for `retain=true` (spec §4). HTTPS has no client
/// id, so `${iot:ClientId}` resources match nothing.
fn authorize_publish(auth: &Authorization, resource: &str, retain: bool) -> Decision {
    let vars = Variables::default();
    let publish = policy::evaluate(&auth.policies, "iot:Publish", resource, &vars);
    if !retain || publish != Decision::Allow {
        return publish;
    }
    policy::evaluate(&auth.policies, "iot:RetainPublish", resource, &vars)
}

/// Reads (and discards) the payload, refusing more than [`MAX_BODY_BYTES`].
async fn read_body(
    headers: &hyper::HeaderMap,
    body: Incoming,
) -> Result<(), (Outcome, Response<Full<Bytes>>)> {
    let too_large = || {
        (
            Outcome::PayloadTooLarge,
            reply::message(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(_) => Ok(()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err((
            Outcome::BadRequest,
            reply::message(StatusCode::BAD_REQUEST, "The body could not be read"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
