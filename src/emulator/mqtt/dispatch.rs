//! What an admitted MQTT session does with each packet (PUBLISH with `iot:Publish`/`iot:RetainPublish`,
//! SUBSCRIBE with `iot:Subscribe` per filter, UNSUBSCRIBE, PINGREQ, DISCONNECT) and with each routed message
//! (delivered only when `iot:Receive` allows its topic). Denials follow spec §6: MQTT 3.1.1 closes on a denied
//! publish, MQTT 5 answers PUBACK `0x87`; a denied filter gets SUBACK `0x80` (3.1.1) or `0x87` (5).
//!
//! Pure: each decision is a list of `Effect`s (`session::state`) the session's shell carries out (policy evaluation is pure too).

use bytes::Bytes;

use super::super::metrics::{CloseReason, Outcome};
use super::super::policy::{self, Decision, Variables};
use super::broker::Delivery;
use super::codec::{Inbound, NOT_AUTHORIZED, Outbound};
use super::session::state::{Effect, Live};
use super::topics::{valid_filter, valid_topic};
use crate::contract::MqttVersion;
use crate::contract::limits::{MAX_PAYLOAD_BYTES, MAX_SUBSCRIPTIONS};

/// Where policy resources live: `arn:aws:iot:<region>:<account_id>:...`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Account<'a> {
    pub(super) region: &'a str,
    pub(super) account_id: &'a str,
}

fn vars(client_id: &str) -> Variables<'_> {
    Variables {
        client_id: Some(client_id),
    }
}

/// Whether the session's policy allows `action` on `resource`.
fn allows(live: &Live, action: &str, resource: &str) -> bool {
    policy::evaluate(
        &live.auth().policies,
        action,
        resource,
        &vars(&live.client_id),
    ) == Decision::Allow
}

/// The PUBLISH of a routed message if the policy allows `iot:Receive` on its topic; `None` drops it.
pub(super) fn deliver(live: &mut Live, account: Account<'_>, d: Delivery) -> Option<Outbound> {
    let resource = policy::topic_arn(account.region, account.account_id, &d.topic);
    if !allows(live, "iot:Receive", &resource) {
        return None;
    }
    let pkid = if d.qos > 0 { live.pkid() } else { 0 };
    Some(Outbound::Publish {
        topic: d.topic,
        qos: d.qos,
        pkid,
        payload: d.payload,
    })
}

/// What one packet does.
pub(super) fn handle(packet: Inbound, live: &mut Live, account: Account<'_>) -> Vec<Effect> {
    match packet {
        Inbound::Publish {
            topic,
            qos,
            retain,
            pkid,
            payload,
        } => publish(live, account, topic, qos, retain, pkid, payload),
        Inbound::Subscribe { pkid, filters } => subscribe(live, account, pkid, filters),
        Inbound::Unsubscribe { pkid, filters } => {
            live.filters.retain(|g| !filters.contains(g));
            let count = filters.len();
            let mut out: Vec<Effect> = filters.into_iter().map(Effect::Unsubscribe).collect();
            out.push(Effect::Send(Outbound::UnsubAck { pkid, count }));
            out
        }
        Inbound::PingReq => vec![Effect::Send(Outbound::PingResp)],
        Inbound::Disconnect => vec![Effect::Close(CloseReason::Client)],
        Inbound::Ignored => Vec::new(),
        Inbound::Connect(_) => vec![Effect::Close(CloseReason::ProtocolError)],
    }
}

/// A PUBLISH: size and topic checks, then `iot:Publish` (and `iot:RetainPublish` when retained).
fn publish(
    live: &Live,
    account: Account<'_>,
    topic: String,
    qos: u8,
    retain: bool,
    pkid: u16,
    payload: Bytes,
) -> Vec<Effect> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return vec![
            Effect::Record(Outcome::PayloadTooLarge),
            Effect::Close(CloseReason::TooLarge),
        ];
    }
    if !valid_topic(&topic) {
        return vec![
            Effect::Record(Outcome::BadRequest),
            Effect::Close(CloseReason::ProtocolError),
        ];
    }
    let resource = policy::topic_arn(account.region, account.account_id, &topic);
    let allowed = allows(live, "iot:Publish", &resource)
        && (!retain || allows(live, "iot:RetainPublish", &resource));
    if !allowed {
        // MQTT 3.1.1 has no way to refuse one publish: AWS closes the connection. MQTT 5: PUBACK 0x87.
        let answer = match live.version {
            MqttVersion::V311 => Some(Effect::Close(CloseReason::PublishDenied)),
            MqttVersion::V5 if qos > 0 => Some(Effect::Send(Outbound::PubAck {
                pkid,
                reason: NOT_AUTHORIZED,
            })),
            MqttVersion::V5 => None,
        };
        return std::iter::once(Effect::Record(Outcome::PolicyDenied))
            .chain(answer)
            .collect();
    }
    let mut out = vec![
        Effect::Record(Outcome::Allowed),
        Effect::Publish {
            topic,
            qos,
            payload,
        },
    ];
    if qos > 0 {
        out.push(Effect::Send(Outbound::PubAck { pkid, reason: 0 }));
    }
    out
}

/// A SUBSCRIBE: each filter is granted (at most QoS 1) when there is room, it is valid and `iot:Subscribe`
/// allows it; one SUBACK answers them all.
fn subscribe(
    live: &mut Live,
    account: Account<'_>,
    pkid: u16,
    filters: Vec<(String, u8)>,
) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut codes = Vec::with_capacity(filters.len());
    for (filter, qos) in filters {
        let resource = policy::topicfilter_arn(account.region, account.account_id, &filter);
        let room = live.filters.contains(&filter) || live.filters.len() < MAX_SUBSCRIPTIONS;
        if room && valid_filter(&filter) && allows(live, "iot:Subscribe", &resource) {
            let granted = qos.min(1);
            if !live.filters.contains(&filter) {
                live.filters.push(filter.clone());
            }
            out.push(Effect::Subscribe {
                filter,
                qos: granted,
            });
            codes.push(Ok(granted));
        } else {
            codes.push(Err(()));
        }
    }
    out.push(Effect::Send(Outbound::SubAck { pkid, codes }));
    out
}
