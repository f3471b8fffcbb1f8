//! Admitting a CONNECT (spec §1–§6): client id limit, the username query (a second `?` is refused unless
//! `gate.username_query = "last_question_mark"`), the
//! signature gate over the username (and, for WebSocket, the upgrade headers and query), then the authorizer
//! and `iot:Connect` on `client/<clientId>`. Nothing reaches the authorizer without passing the gate.

use hyper::HeaderMap;

use super::super::Shared;
use super::super::authorize::{Call, Trigger, authorize};
use super::super::event::{MqttEventInput, UpgradeRequest, mqtt_event};
use super::super::gate::{self, GatePass, RequestCredentials};
use super::super::metrics::Outcome;
use super::super::policy::{self, Decision, Variables};
use super::super::response::Authorization;
use super::codec::{CLIENT_ID_NOT_VALID, ConnectPacket, NOT_AUTHORIZED};
use crate::contract::limits::MAX_CLIENT_ID_BYTES;
use crate::contract::{JsonText, Route};
use crate::wire::mqtt::{ParsedUsername, attempt_id};
use crate::wire::query::parse_pairs_with;

/// The HTTP upgrade of a WebSocket connection (absent on MQTT over TLS or TCP).
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    pub headers: HeaderMap,
    /// The raw query without `?`.
    pub query: Option<String>,
}

/// Where a connection came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The transport and its listener (TLS or not: the event's `protocols` gets `tls`).
    pub transport: Route,
    pub server_name: Option<String>,
    pub upgrade: Option<Upgrade>,
    /// The event's `connectionMetadata.id`.
    pub connection_id: String,
}

/// An admitted connection: what refreshes re-run and what later packets are checked against.
pub struct Admitted {
    pub index: usize,
    pub pass: GatePass,
    /// The CONNECT's event, re-sent on each refresh (kept as text for the session's life).
    pub event: JsonText,
    pub attempt_id: Option<String>,
    pub authorization: Authorization,
}

/// A refused CONNECT: the outcome to count and the CONNACK reason for MQTT 5 (3.1.1 just closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub outcome: Outcome,
    pub reason: u8,
}

/// `iot:Connect` on the client's ARN, with `${iot:ClientId}`.
pub(crate) fn decide_connect(shared: &Shared, client_id: &str, auth: &Authorization) -> Decision {
    let resource = policy::client_arn(&shared.region, &shared.account_id, client_id);
    let vars = Variables {
        client_id: Some(client_id),
    };
    policy::evaluate(&auth.policies, "iot:Connect", &resource, &vars)
}

/// The CONNECT's username with its query parsed as `gate.username_query` says; under `first_question_mark` a
/// second `?` is refused before the gate.
fn parse_username(
    shared: &Shared,
    connect: &ConnectPacket,
) -> Result<Option<ParsedUsername>, Refusal> {
    match connect
        .username
        .as_deref()
        .map(|u| gate::read_username(u, &shared.gate, &mut ()))
    {
        None => Ok(None),
        Some(Ok(u)) => Ok(Some(u)),
        Some(Err(reason)) => {
            // A second `?` (spec §1): refused before any authorizer, like the gate's own refusals.
            shared.metrics.record_gate_rejection(reason);
            Err(Refusal {
                outcome: Outcome::BadRequest,
                reason: NOT_AUTHORIZED,
            })
        }
    }
}

/// The authorizer's event for a CONNECT that passed the gate.
fn connect_event(origin: &Origin, connect: &ConnectPacket, pass: &GatePass) -> serde_json::Value {
    mqtt_event(&MqttEventInput {
        token: pass.token.as_deref(),
        signature_verified: pass.signature_verified,
        tls: origin.transport.is_tls(),
        server_name: origin.server_name.as_deref(),
        upgrade: origin.upgrade.as_ref().map(|u| UpgradeRequest {
            headers: &u.headers,
            query: u.query.as_deref(),
        }),
        username: connect.username.as_deref(),
        password: connect.password.as_deref(),
        client_id: &connect.client_id,
        connection_id: &origin.connection_id,
    })
}

/// Keeps a refused CONNECT's explanation in the refusal log, under its attempt id (the upgrade's header, the
/// username's `ts-<id>`, else the client id).
fn refused_at_gate(
    shared: &Shared,
    origin: &Origin,
    connect: &ConnectPacket,
    headers: &HeaderMap,
    username: Option<&ParsedUsername>,
) {
    // A username refused for its second `?` is read up to its first `?` for the attempt id.
    let free_text = connect.username.as_deref().map(|u| ParsedUsername {
        free_text: u.split('?').next().unwrap_or_default().to_string(),
        ..ParsedUsername::default()
    });
    let attempt = headers
        .get(crate::wire::http::ATTEMPT_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| {
            attempt_id(username.or(free_text.as_ref()), &connect.client_id).map(str::to_string)
        });
    shared.refusals.record(super::super::refusals::Refused {
        presented: gate::Presented {
            headers,
            query: origin.upgrade.as_ref().and_then(|u| u.query.as_deref()),
            username: connect.username.as_deref(),
        },
        route: origin.transport,
        attempt_id: attempt,
    });
}

/// Runs the whole admission for one CONNECT.
pub(crate) async fn admit(
    shared: &Shared,
    origin: &Origin,
    connect: &ConnectPacket,
) -> Result<Admitted, Refusal> {
    let refuse = |outcome, reason| Refusal { outcome, reason };
    if connect.client_id.len() > MAX_CLIENT_ID_BYTES {
        return Err(refuse(Outcome::BadRequest, CLIENT_ID_NOT_VALID));
    }
    let empty = HeaderMap::new();
    let headers = origin.upgrade.as_ref().map_or(&empty, |u| &u.headers);
    let username = parse_username(shared, connect).inspect_err(|_| {
        refused_at_gate(shared, origin, connect, headers, None);
    })?;
    let query_pairs = origin
        .upgrade
        .as_ref()
        .and_then(|u| u.query.as_deref())
        .map(|q| parse_pairs_with(q, &shared.gate))
        .unwrap_or_default();
    let creds = RequestCredentials {
        headers,
        query: &query_pairs,
        username: username.as_ref().map_or(&[], |u| u.pairs.as_slice()),
        settings: shared.gate,
    };
    let (index, pass) = match gate::check(&shared.authorizers, shared.default_authorizer, &creds) {
        Ok(ok) => ok,
        Err(reason) => {
            shared.metrics.record_gate_rejection(reason);
            tracing::debug!(reason = reason.as_str(), "gate rejected a CONNECT");
            refused_at_gate(shared, origin, connect, headers, username.as_ref());
            return Err(refuse(Outcome::GateRejected, NOT_AUTHORIZED));
        }
    };
    let event = connect_event(origin, connect, &pass);
    let kept = JsonText::from(&event);
    let header_attempt = headers
        .get(crate::wire::http::ATTEMPT_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let attempt_id = header_attempt
        .or_else(|| attempt_id(username.as_ref(), &connect.client_id).map(str::to_string));
    let call = Call {
        index,
        pass: &pass,
        event,
        attempt_id: attempt_id.clone(),
        transport: origin.transport,
        trigger: Trigger::Connect,
    };
    let verdict = authorize(shared, call, |auth| {
        decide_connect(shared, &connect.client_id, auth)
    })
    .await;
    match (verdict.outcome, verdict.authorization) {
        (Outcome::Allowed, Some(authorization)) => Ok(Admitted {
            index,
            // A refresh re-sends the kept event, which carries the token; the token and signature themselves
            // (a few hundred bytes) are not kept for the session's life.
            pass: GatePass {
                token: None,
                signature: None,
                ..pass
            },
            event: kept,
            attempt_id,
            authorization,
        }),
        (outcome, _) => Err(refuse(outcome, NOT_AUTHORIZED)),
    }
}

/// Re-invokes the authorizer for a live connection (spec §5); `Some` with the new authorization when it still
/// allows `iot:Connect`.
pub(crate) async fn refresh(
    shared: &Shared,
    transport: Route,
    client_id: &str,
    admitted: &Admitted,
) -> Option<Authorization> {
    let call = Call {
        index: admitted.index,
        pass: &admitted.pass,
        event: admitted.event.value(),
        attempt_id: admitted.attempt_id.clone(),
        transport,
        trigger: Trigger::Refresh,
    };
    let verdict = authorize(shared, call, |auth| decide_connect(shared, client_id, auth)).await;
    match verdict.outcome {
        Outcome::Allowed => verdict.authorization,
        _ => None,
    }
}
