//! The pure session state without sockets or timers: what each packet, routed message, refresh result and decode
//! failure changes and asks the shell to do ([`super::state`], [`crate::emulator::mqtt::dispatch`]).

use bytes::Bytes;
use serde_json::json;
use tokio::time::{Duration, Instant};

use super::state::{self, Clocks, Effect, Live};
use crate::contract::MqttVersion as Version;
use crate::contract::limits::{MAX_PAYLOAD_BYTES, MAX_SUBSCRIPTIONS};
use crate::emulator::gate::GatePass;
use crate::emulator::metrics::{CloseReason, Outcome};
use crate::emulator::mqtt::broker::Delivery;
use crate::emulator::mqtt::codec::{
    ConnectPacket, DecodeError, Inbound, NOT_AUTHORIZED, Outbound, SESSION_TAKEN_OVER,
};
use crate::emulator::mqtt::connect::Admitted;
use crate::emulator::mqtt::dispatch::{Account, deliver, handle};
use crate::emulator::response::Authorization;

const ACCOUNT: Account<'static> = Account {
    region: "eu-west-1",
    account_id: "123456789012",
};

/// Publishing and subscribing allowed on `t/#` only; receiving on `t/in` only.
fn authorization(refresh: Option<u32>, disconnect: Option<u32>) -> Authorization {
    let arn = "arn:aws:iot:eu-west-1:123456789012";
    Authorization {
        principal_id: "p".into(),
        policies: vec![
            json!({"Statement": [
                {"Effect": "Allow", "Action": "iot:Publish", "Resource": format!("{arn}:topic/t/*")},
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": format!("{arn}:topicfilter/t/*")},
                {"Effect": "Allow", "Action": "iot:Receive", "Resource": format!("{arn}:topic/t/in")}
            ]})
            .into(),
        ],
        disconnect_after_s: disconnect,
        refresh_after_s: refresh,
    }
}

fn connect(version: Version, keep_alive_s: u16) -> ConnectPacket {
    ConnectPacket {
        version,
        client_id: "dev".into(),
        keep_alive_s,
        username: None,
        password: None,
    }
}

fn live(version: Version) -> Live {
    Live::new(
        &connect(version, 60),
        Admitted {
            index: 0,
            pass: GatePass {
                token: Some("t".into()),
                signature: None,
                signature_verified: false,
                key_index: None,
            },
            event: json!({}).into(),
            attempt_id: None,
            authorization: authorization(None, None),
        },
    )
}

fn publish(topic: &str, qos: u8, retain: bool) -> Inbound {
    Inbound::Publish {
        topic: topic.into(),
        qos,
        retain,
        pkid: 7,
        payload: Bytes::from_static(b"hi"),
    }
}

#[test]
fn an_allowed_publish_is_counted_routed_and_acknowledged() {
    let mut l = live(Version::V311);
    assert_eq!(
        handle(publish("t/a", 1, false), &mut l, ACCOUNT),
        [
            Effect::Record(Outcome::Allowed),
            Effect::Publish {
                topic: "t/a".into(),
                qos: 1,
                payload: Bytes::from_static(b"hi")
            },
            Effect::Send(Outbound::PubAck { pkid: 7, reason: 0 }),
        ]
    );
    // QoS 0: no PUBACK.
    assert_eq!(handle(publish("t/a", 0, false), &mut l, ACCOUNT).len(), 2);
}

#[test]
fn a_denied_publish_closes_3_1_1_and_is_refused_by_puback_in_5() {
    let denied = Effect::Record(Outcome::PolicyDenied);
    let mut v4 = live(Version::V311);
    assert_eq!(
        handle(publish("other", 1, false), &mut v4, ACCOUNT),
        [denied.clone(), Effect::Close(CloseReason::PublishDenied)]
    );
    let mut v5 = live(Version::V5);
    assert_eq!(
        handle(publish("other", 1, false), &mut v5, ACCOUNT),
        [
            denied.clone(),
            Effect::Send(Outbound::PubAck {
                pkid: 7,
                reason: NOT_AUTHORIZED
            })
        ]
    );
    assert_eq!(
        handle(publish("other", 0, false), &mut v5, ACCOUNT),
        std::slice::from_ref(&denied)
    );
    // Retained: `iot:RetainPublish` is needed too, and this policy lacks it.
    assert_eq!(handle(publish("t/a", 0, true), &mut v5, ACCOUNT), [denied]);
}

#[test]
fn bad_publishes_end_the_connection() {
    let mut l = live(Version::V5);
    let big = Inbound::Publish {
        topic: "t/a".into(),
        qos: 0,
        retain: false,
        pkid: 0,
        payload: Bytes::from(vec![0; MAX_PAYLOAD_BYTES + 1]),
    };
    assert_eq!(
        handle(big, &mut l, ACCOUNT),
        [
            Effect::Record(Outcome::PayloadTooLarge),
            Effect::Close(CloseReason::TooLarge)
        ]
    );
    assert_eq!(
        handle(publish("t/+", 0, false), &mut l, ACCOUNT),
        [
            Effect::Record(Outcome::BadRequest),
            Effect::Close(CloseReason::ProtocolError)
        ]
    );
}

#[test]
fn subscriptions_are_granted_per_filter_up_to_the_quota_and_dropped_again() {
    let mut l = live(Version::V311);
    let effects = handle(
        Inbound::Subscribe {
            pkid: 3,
            filters: vec![("t/in".into(), 2), ("other".into(), 0)],
        },
        &mut l,
        ACCOUNT,
    );
    assert_eq!(
        effects,
        [
            Effect::Subscribe {
                filter: "t/in".into(),
                qos: 1
            },
            Effect::Send(Outbound::SubAck {
                pkid: 3,
                codes: vec![Ok(1), Err(())]
            }),
        ]
    );
    assert_eq!(l.filters, ["t/in"]);
    let many = (0..MAX_SUBSCRIPTIONS)
        .map(|i| (format!("t/{i}"), 0))
        .collect();
    let effects = handle(
        Inbound::Subscribe {
            pkid: 4,
            filters: many,
        },
        &mut l,
        ACCOUNT,
    );
    let Some(Effect::Send(Outbound::SubAck { codes, .. })) = effects.last() else {
        panic!("{effects:?}");
    };
    assert_eq!(codes.iter().filter(|c| c.is_err()).count(), 1, "the 51st");
    assert_eq!(l.filters.len(), MAX_SUBSCRIPTIONS);
    let effects = handle(
        Inbound::Unsubscribe {
            pkid: 5,
            filters: vec!["t/in".into()],
        },
        &mut l,
        ACCOUNT,
    );
    assert_eq!(
        effects,
        [
            Effect::Unsubscribe("t/in".into()),
            Effect::Send(Outbound::UnsubAck { pkid: 5, count: 1 })
        ]
    );
    assert!(!l.filters.contains(&"t/in".to_string()));
}

#[test]
fn control_packets() {
    let mut l = live(Version::V311);
    assert_eq!(
        handle(Inbound::PingReq, &mut l, ACCOUNT),
        [Effect::Send(Outbound::PingResp)]
    );
    assert_eq!(
        handle(Inbound::Disconnect, &mut l, ACCOUNT),
        [Effect::Close(CloseReason::Client)]
    );
    assert_eq!(handle(Inbound::Ignored, &mut l, ACCOUNT), []);
    assert_eq!(
        handle(Inbound::Connect(connect(Version::V311, 0)), &mut l, ACCOUNT),
        [Effect::Close(CloseReason::ProtocolError)]
    );
}

#[test]
fn routed_messages_need_receive_and_take_packet_ids_from_1() {
    let mut l = live(Version::V311);
    let d = |topic: &str, qos| Delivery {
        topic: topic.into(),
        qos,
        payload: Bytes::new(),
    };
    assert_eq!(deliver(&mut l, ACCOUNT, d("t/other", 1)), None);
    let ids: Vec<u16> = (0..2)
        .filter_map(|_| match deliver(&mut l, ACCOUNT, d("t/in", 1)) {
            Some(Outbound::Publish { pkid, .. }) => Some(pkid),
            _ => None,
        })
        .collect();
    assert_eq!(ids, [1, 2]);
    l.next_pkid = u16::MAX;
    assert_eq!(l.pkid(), 1, "wraps past 0");
    assert!(matches!(
        deliver(&mut l, ACCOUNT, d("t/in", 0)),
        Some(Outbound::Publish { pkid: 0, .. })
    ));
}

#[test]
fn clocks_follow_keep_alive_refresh_and_disconnect() {
    let now = Instant::now();
    let c = Clocks::start(60, &authorization(Some(300), Some(900)), now);
    assert_eq!(c.silent_until - now, Duration::from_secs(90));
    assert_eq!(c.refresh_at - now, Duration::from_secs(300));
    assert_eq!(c.disconnect_at - now, Duration::from_secs(900));
    let mut c = Clocks::start(0, &authorization(None, None), now);
    assert_eq!(c.silent_until - now, Duration::from_secs(1800));
    assert!(c.refresh_at - now > Duration::from_secs(86_400 * 365));
    c.heard(now + Duration::from_secs(10));
    assert_eq!(c.silent_until - now, Duration::from_secs(1810));
    for (asked, limit) in [(5, 45), (30, 45), (1200, 1800), (4000, 1800)] {
        assert_eq!(state::keep_alive_limit(asked), Duration::from_secs(limit));
    }
}

#[test]
fn a_refresh_replaces_the_policy_or_ends_the_session() {
    let now = Instant::now();
    let mut l = live(Version::V5);
    let mut c = Clocks::start(60, l.auth(), now);
    let later = now + Duration::from_secs(5);
    let mut auth = authorization(Some(120), None);
    auth.principal_id = "q".into();
    assert_eq!(l.refreshed(&mut c, Some(auth), later), Ok(()));
    assert_eq!(l.auth().principal_id, "q");
    assert_eq!(c.refresh_at - later, Duration::from_secs(120));
    assert_eq!(
        l.refreshed(&mut c, None, later),
        Err(CloseReason::RefreshFailed)
    );
}

#[test]
fn before_connect_and_at_the_close() {
    let c = connect(Version::V5, 0);
    assert_eq!(
        state::first_packet(Ok(Some(Inbound::Connect(c.clone())))),
        Ok(Some(c))
    );
    assert_eq!(state::first_packet(Ok(None)), Ok(None));
    assert_eq!(
        state::first_packet(Ok(Some(Inbound::PingReq))),
        Err(CloseReason::ProtocolError)
    );
    assert_eq!(state::refusal(Version::V311, NOT_AUTHORIZED), None);
    assert_eq!(
        state::refusal(Version::V5, NOT_AUTHORIZED),
        Some(Outbound::ConnAck {
            reason: NOT_AUTHORIZED
        })
    );
    assert_eq!(
        state::undecodable(&DecodeError::TooLarge(1)),
        (Some(Outcome::PayloadTooLarge), CloseReason::TooLarge)
    );
    assert_eq!(state::goodbye(Version::V311, CloseReason::Kicked), None);
    assert_eq!(state::goodbye(Version::V5, CloseReason::Client), None);
    assert_eq!(
        state::goodbye(Version::V5, CloseReason::Kicked),
        Some(Outbound::Disconnect {
            reason: SESSION_TAKEN_OVER
        })
    );
}
