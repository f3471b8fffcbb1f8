//! What an admitted MQTT session does with each packet (PUBLISH with `iot:Publish`/`iot:RetainPublish`,
//! SUBSCRIBE with `iot:Subscribe` per filter, UNSUBSCRIBE, PINGREQ, DISCONNECT) and with each routed message
//! (delivered only when `iot:Receive` allows its topic). Denials follow spec §6: MQTT 3.1.1 closes on a denied
//! publish, MQTT 5 answers PUBACK `0x87`; a denied filter gets SUBACK `0x80` (3.1.1) or `0x87` (5).

use tokio::io::AsyncWrite;

use super::super::Shared;
use super::super::metrics::{CloseReason, Outcome};
use super::super::policy::{self, Decision, Variables};
use super::broker::Delivery;
use super::codec::{Inbound, NOT_AUTHORIZED, Outbound};
use super::session::{Live, send};
use super::topics::{valid_filter, valid_topic};
use crate::contract::limits::{MAX_PAYLOAD_BYTES, MAX_SUBSCRIPTIONS};
use crate::contract::{MqttVersion, Route};

fn vars(client_id: &str) -> Variables<'_> {
    Variables {
        client_id: Some(client_id),
    }
}

/// Sends a routed message if the policy allows `iot:Receive` on its topic; drops it otherwise.
pub(super) async fn deliver<S: AsyncWrite + Unpin>(
    stream: &mut S,
    live: &mut Live,
    shared: &Shared,
    d: Delivery,
) -> std::io::Result<()> {
    let resource = policy::topic_arn(&shared.region, &shared.account_id, &d.topic);
    if policy::evaluate(
        &live.auth().policies,
        "iot:Receive",
        &resource,
        &vars(&live.client_id),
    ) != Decision::Allow
    {
        return Ok(());
    }
    let pkid = if d.qos > 0 { live.pkid() } else { 0 };
    send(
        stream,
        live.version,
        &Outbound::Publish {
            topic: d.topic,
            qos: d.qos,
            pkid,
            payload: d.payload,
        },
    )
    .await
}

/// Acts on one packet; `Some` ends the connection.
pub(super) async fn handle<S: AsyncWrite + Unpin>(
    stream: &mut S,
    packet: Inbound,
    live: &mut Live,
    id: u64,
    shared: &Shared,
    transport: Route,
) -> Option<CloseReason> {
    let version = live.version;
    let io = |r: std::io::Result<()>| r.err().map(|_| CloseReason::Client);
    match packet {
        Inbound::Publish {
            topic,
            qos,
            retain,
            pkid,
            payload,
        } => {
            if payload.len() > MAX_PAYLOAD_BYTES {
                shared
                    .metrics
                    .record_request(transport, Outcome::PayloadTooLarge);
                return Some(CloseReason::TooLarge);
            }
            if !valid_topic(&topic) {
                shared
                    .metrics
                    .record_request(transport, Outcome::BadRequest);
                return Some(CloseReason::ProtocolError);
            }
            let resource = policy::topic_arn(&shared.region, &shared.account_id, &topic);
            let v = vars(&live.client_id);
            let mut decision =
                policy::evaluate(&live.auth().policies, "iot:Publish", &resource, &v);
            if retain && decision == Decision::Allow {
                decision =
                    policy::evaluate(&live.auth().policies, "iot:RetainPublish", &resource, &v);
            }
            if decision != Decision::Allow {
                shared
                    .metrics
                    .record_request(transport, Outcome::PolicyDenied);
                // MQTT 3.1.1 has no way to refuse one publish: AWS closes the connection. MQTT 5: PUBACK 0x87.
                return match version {
                    MqttVersion::V311 => Some(CloseReason::PublishDenied),
                    MqttVersion::V5 if qos > 0 => io(send(
                        stream,
                        version,
                        &Outbound::PubAck {
                            pkid,
                            reason: NOT_AUTHORIZED,
                        },
                    )
                    .await),
                    MqttVersion::V5 => None,
                };
            }
            shared.metrics.record_request(transport, Outcome::Allowed);
            shared.broker.publish(&topic, qos, &payload);
            if qos > 0 {
                return io(send(stream, version, &Outbound::PubAck { pkid, reason: 0 }).await);
            }
            None
        }
        Inbound::Subscribe { pkid, filters } => {
            let mut codes = Vec::with_capacity(filters.len());
            for (filter, qos) in filters {
                let resource = policy::topicfilter_arn(&shared.region, &shared.account_id, &filter);
                let room = live.filters.contains(&filter) || live.filters.len() < MAX_SUBSCRIPTIONS;
                let allowed = room
                    && valid_filter(&filter)
                    && policy::evaluate(
                        &live.auth().policies,
                        "iot:Subscribe",
                        &resource,
                        &vars(&live.client_id),
                    ) == Decision::Allow;
                if allowed {
                    let granted = qos.min(1);
                    shared.broker.subscribe(id, &filter, granted);
                    if !live.filters.contains(&filter) {
                        live.filters.push(filter);
                    }
                    codes.push(Ok(granted));
                } else {
                    codes.push(Err(()));
                }
            }
            io(send(stream, version, &Outbound::SubAck { pkid, codes }).await)
        }
        Inbound::Unsubscribe { pkid, filters } => {
            for f in &filters {
                shared.broker.unsubscribe(id, f);
                live.filters.retain(|g| g != f);
            }
            io(send(
                stream,
                version,
                &Outbound::UnsubAck {
                    pkid,
                    count: filters.len(),
                },
            )
            .await)
        }
        Inbound::PingReq => io(send(stream, version, &Outbound::PingResp).await),
        Inbound::Disconnect => Some(CloseReason::Client),
        Inbound::Ignored => None,
        Inbound::Connect(_) => Some(CloseReason::ProtocolError),
    }
}
