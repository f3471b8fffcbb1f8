//! `POST /topics/{topic}?qos=0|1`: the HTTPS publish path (spec §1–§6). The order of checks: route, topic and
//! qos, body size, then the signature gate (a refusal never invokes the authorizer), the per-connection cache
//! (`enableCachingForHttp`), the function, response validation, and `iot:Publish` policy evaluation.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use tokio::time::{Duration, Instant};

use super::Shared;
#[cfg(test)]
use super::authorize::Verdict;
use super::authorize::{Call, Trigger, authorize, policy_verdict};
use super::connection::{CacheEntry, ConnCtx};
use super::event::{HttpEventInput, http_event};
use super::gate::{self, GatePass, RequestCredentials};
use super::metrics::Outcome;
use super::policy::{self, Decision, Variables};
use super::reply;
use super::response::Authorization;
use crate::contract::DenyReason;
use crate::contract::limits::MAX_PAYLOAD_BYTES;
use crate::wire::http::{ATTEMPT_ID, topic_from_path};
use crate::wire::query::parse_pairs_with;
use crate::wire::settings::GateSettings;

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

/// A publish request's target, checked before anything else.
struct Target {
    topic: String,
    /// The raw query string (without `?`), for the event.
    query: Option<String>,
    /// Its decoded pairs, where query-string credentials are looked up.
    pairs: Vec<(String, String)>,
    retain: bool,
}

/// A request refused before the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    NotFound,
    MethodNotAllowed,
    BadRequest(&'static str),
    TooLarge,
}

impl Refused {
    fn reply(self) -> (Outcome, Response<Full<Bytes>>) {
        match self {
            Self::NotFound => (Outcome::NotFound, reply::not_found()),
            Self::MethodNotAllowed => (Outcome::NotFound, reply::method_not_allowed("POST")),
            Self::BadRequest(m) => (
                Outcome::BadRequest,
                reply::message(StatusCode::BAD_REQUEST, m),
            ),
            Self::TooLarge => (
                Outcome::PayloadTooLarge,
                reply::message(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
            ),
        }
    }
}

/// Route, method, topic and `qos` (0 or 1). `retain=true` marks a retained publish.
fn target(method: &Method, uri: &hyper::Uri, gate: &GateSettings) -> Result<Target, Refused> {
    let Some(topic) = topic_from_path(uri.path()) else {
        return Err(Refused::NotFound);
    };
    if method != Method::POST {
        return Err(Refused::MethodNotAllowed);
    }
    if topic.is_empty() {
        return Err(Refused::BadRequest("The topic is empty"));
    }
    let query = uri.query().map(str::to_string);
    let pairs = query
        .as_deref()
        .map(|q| parse_pairs_with(q, gate))
        .unwrap_or_default();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("qos").is_some_and(|q| q != "0" && q != "1") {
        return Err(Refused::BadRequest("qos must be 0 or 1"));
    }
    let retain = param("retain").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(Target {
        topic,
        query,
        pairs,
        retain,
    })
}

/// The authorizer call for a publish that passed the gate: its event and the attempt id header.
fn publish_call<'a>(
    index: usize,
    pass: &'a GatePass,
    conn: &ConnCtx,
    headers: &hyper::HeaderMap,
    target: &Target,
) -> Call<'a> {
    let event = http_event(&HttpEventInput {
        token: pass.token.as_deref(),
        signature_verified: pass.signature_verified,
        tls: conn.transport.is_tls(),
        server_name: conn.server_name.as_deref(),
        headers,
        query: target.query.as_deref(),
        connection_id: &conn.id,
    });
    Call {
        index,
        pass,
        event,
        attempt_id: headers
            .get(ATTEMPT_ID)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        transport: conn.transport,
        trigger: Trigger::Publish,
    }
}

/// Caches an authorization on the connection for its `refreshAfterInSeconds` (none: not cached).
fn remember(conn: &ConnCtx, index: usize, pass: &GatePass, auth: Authorization) {
    if let Some(refresh) = auth.refresh_after_s {
        conn.store(CacheEntry {
            authorizer: index,
            token: pass.token.clone(),
            signature: pass.signature.clone(),
            authorization: auth,
            expires: Instant::now() + Duration::from_secs(u64::from(refresh)),
        });
    }
}

/// Serves one publish request: target, body, gate, cache, authorizer, and the answer.
async fn route(
    req: Request<Incoming>,
    shared: &Shared,
    conn: &ConnCtx,
) -> (Outcome, Response<Full<Bytes>>) {
    let target = match target(req.method(), req.uri(), &shared.gate) {
        Ok(t) => t,
        Err(refused) => return refused.reply(),
    };
    let (parts, body) = req.into_parts();
    if let Err(refused) = read_body(&parts.headers, body).await {
        return refused.reply();
    }

    let creds = RequestCredentials {
        headers: &parts.headers,
        query: &target.pairs,
        username: &[],
        settings: shared.gate,
    };
    let (index, pass) = match gate::check(&shared.authorizers, shared.default_authorizer, &creds) {
        Ok(ok) => ok,
        Err(reason) => {
            shared.metrics.record_gate_rejection(reason);
            tracing::debug!(reason = reason.as_str(), "gate rejected a publish");
            let refused = super::refusals::Refused {
                presented: gate::Presented {
                    headers: &parts.headers,
                    query: target.query.as_deref(),
                    username: None,
                },
                route: conn.transport,
                attempt_id: parts
                    .headers
                    .get(ATTEMPT_ID)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            };
            shared.refusals.record(refused);
            return (Outcome::GateRejected, reply::forbidden());
        }
    };
    let spec = &shared.authorizers[index];
    let resource = policy::topic_arn(&shared.region, &shared.account_id, &target.topic);

    if spec.enable_caching_for_http
        && let Some(auth) = conn.cached(index, &pass.token, &pass.signature)
    {
        shared.metrics.record_cache_hit(index);
        let verdict = policy_verdict(authorize_publish(&auth, &resource, target.retain));
        return respond(verdict.outcome);
    }

    let call = publish_call(index, &pass, conn, &parts.headers, &target);
    let verdict = authorize(shared, call, |auth| {
        authorize_publish(auth, &resource, target.retain)
    })
    .await;
    if spec.enable_caching_for_http
        && let Some(auth) = verdict.authorization
    {
        remember(conn, index, &pass, auth);
    }
    if verdict.deny_reason == Some(DenyReason::Throttled) {
        // Lambda's concurrency was exhausted: AWS answers HTTPS with 429 (spec §6); still a deny.
        return (
            verdict.outcome,
            reply::message(hyper::StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        );
    }
    respond(verdict.outcome)
}

fn respond(outcome: Outcome) -> (Outcome, Response<Full<Bytes>>) {
    let response = if outcome == Outcome::Allowed {
        reply::ok()
    } else {
        reply::forbidden()
    };
    (outcome, response)
}

/// Pure: judges the function's answer and evaluates the publish against its policies.
#[cfg(test)]
fn verdict(
    result: &Result<serde_json::Value, super::function::InvokeError>,
    resource: &str,
    retain: bool,
) -> Verdict {
    super::authorize::verdict(result, |auth| authorize_publish(auth, resource, retain))
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

/// Reads (and discards) the payload, refusing more than [`MAX_PAYLOAD_BYTES`].
async fn read_body(headers: &hyper::HeaderMap, body: Incoming) -> Result<(), Refused> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64) {
        return Err(Refused::TooLarge);
    }
    match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(_) => Ok(()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(Refused::TooLarge),
        Err(_) => Err(Refused::BadRequest("The body could not be read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::function::InvokeError;

    #[test]
    fn verdicts() {
        use serde_json::json;
        let arn = "arn:aws:iot:eu-west-1:1:topic/t";
        let doc = |effect: &str| json!({"Statement": [{"Effect": effect, "Action": "iot:*", "Resource": "*"}]});
        let ok =
            json!({"isAuthenticated": true, "principalId": "p", "policyDocuments": [doc("Allow")]});
        let v = verdict(&Ok(ok), arn, false);
        assert_eq!((v.outcome, v.deny_reason), (Outcome::Allowed, None));
        assert!(v.authorization.is_some());
        let both = json!({"isAuthenticated": true, "principalId": "p", "policyDocuments": [doc("Allow"), doc("Deny")]});
        let v = verdict(&Ok(both), arn, false);
        assert_eq!(
            (
                v.outcome,
                v.deny_reason.as_ref().map(ToString::to_string).as_deref()
            ),
            (Outcome::PolicyDenied, Some("policy_explicit_deny"))
        );
        assert!(
            v.authorization.is_some(),
            "a valid response is cacheable even when this topic is denied"
        );
        let none = json!({"isAuthenticated": true, "principalId": "p", "policyDocuments": []});
        let v = verdict(&Ok(none), arn, false);
        assert_eq!(
            v.deny_reason.as_ref().map(ToString::to_string).as_deref(),
            Some("policy_implicit_deny")
        );
        let v = verdict(&Ok(json!({"isAuthenticated": false})), arn, false);
        assert_eq!(
            (
                v.outcome,
                v.deny_reason.as_ref().map(ToString::to_string).as_deref()
            ),
            (Outcome::AuthorizerDenied, Some("not_authenticated"))
        );
        let v = verdict(&Ok(json!({"isAuthenticated": true})), arn, false);
        assert_eq!(
            v.deny_reason.as_ref().map(ToString::to_string).as_deref(),
            Some("invalid_response: principalId is missing or not a string")
        );
        let v = verdict(&Err(InvokeError::Timeout), arn, false);
        assert_eq!(
            (
                v.outcome,
                v.deny_reason.as_ref().map(ToString::to_string).as_deref(),
                v.authorization
            ),
            (Outcome::AuthorizerDenied, Some("timeout"), None)
        );
    }

    #[test]
    fn targets() {
        let t = target(
            &Method::POST,
            &"/topics/a%2Fb?qos=1&retain=TRUE".parse().unwrap(),
            &GateSettings::default(),
        )
        .ok()
        .unwrap();
        assert_eq!(
            (t.topic.as_str(), t.query.as_deref(), t.retain),
            ("a/b", Some("qos=1&retain=TRUE"), true)
        );
        let t = target(
            &Method::POST,
            &"/topics/x".parse().unwrap(),
            &GateSettings::default(),
        )
        .ok()
        .unwrap();
        assert_eq!((t.query, t.retain), (None, false));
        let outcome = |m: Method, u: &str| {
            target(&m, &u.parse().unwrap(), &GateSettings::default())
                .err()
                .map(|refused| {
                    let (o, r) = refused.reply();
                    (o, r.status().as_u16())
                })
        };
        assert_eq!(
            outcome(Method::GET, "/topics/x"),
            Some((Outcome::NotFound, 405))
        );
        assert_eq!(
            outcome(Method::POST, "/topic/x"),
            Some((Outcome::NotFound, 404))
        );
        assert_eq!(
            outcome(Method::POST, "/topics/"),
            Some((Outcome::BadRequest, 400))
        );
        assert_eq!(
            outcome(Method::POST, "/topics/x?qos=01"),
            Some((Outcome::BadRequest, 400))
        );
    }
}
