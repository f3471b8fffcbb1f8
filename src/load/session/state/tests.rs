//! The session state machine driven by hand: instants as values, packets as values, no socket.

use super::*;

#[derive(Default)]
struct Rec {
    events: Vec<PubEvent>,
    phases: Vec<(Phase, Duration)>,
}

impl Sink for Rec {
    fn event(&mut self, e: PubEvent) {
        self.events.push(e);
    }

    fn phase(&mut self, p: Phase, d: Duration) {
        self.phases.push((p, d));
    }
}

const MS: Duration = Duration::from_millis(1);

fn spec(t0: Instant, subscribe: bool, keep_alive: Option<Duration>) -> SessionSpec {
    SessionSpec {
        topic: "tokenstorm/dev1".into(),
        qos: 1,
        publish_interval: Some(1000 * MS),
        payload_bytes: 16,
        subscribe,
        keep_alive,
        timeout: 3000 * MS,
        t0,
    }
}

fn pkid_of(out: Option<Out<'_>>) -> u16 {
    match out {
        Some(Out::Publish { pkid, .. }) => pkid,
        other => panic!("expected a PUBLISH, got {other:?}"),
    }
}

#[test]
fn publishes_follow_the_interval_and_pubacks_are_timed() {
    let t0 = Instant::now();
    let spec = spec(t0, false, None);
    let mut st = SessionState::new(&spec, 500 * MS, t0);
    let mut rec = Rec::default();
    assert!(st.subscribe().is_none());
    assert_eq!(st.wake(), t0 + 500 * MS);
    assert!(st.publish_due(t0 + 400 * MS).is_none(), "not yet");
    let pkid = pkid_of(st.publish_due(t0 + 500 * MS));
    st.published(&mut rec);
    assert_eq!(st.wake(), t0 + 1500 * MS);
    assert!(!st.settled());
    assert_eq!(
        st.absorb(In::PubAck { pkid, ok: true }, t0 + 700 * MS, &mut rec),
        None
    );
    assert_eq!(rec.events, [PubEvent::Sent, PubEvent::PubackOk]);
    assert_eq!(rec.phases, [(Phase::PublishPuback, 200 * MS)]);
    assert!(st.settled());
    // A late tick publishes once and schedules from now: missed ticks are not banked.
    assert_ne!(pkid_of(st.publish_due(t0 + 5200 * MS)), pkid);
    assert_eq!(st.wake(), t0 + 6200 * MS);
    assert!(st.publish_due(t0 + 5300 * MS).is_none());
}

#[test]
fn unanswered_pubacks_time_out_and_cap_what_is_in_flight() {
    let t0 = Instant::now();
    let spec = spec(t0, false, None);
    let mut st = SessionState::new(&spec, Duration::ZERO, t0);
    let mut rec = Rec::default();
    let mut now = t0;
    for _ in 0..MAX_INFLIGHT {
        pkid_of(st.publish_due(now));
        st.published(&mut rec);
        now += 1000 * MS;
    }
    assert!(
        st.publish_due(now).is_none(),
        "a tick is skipped at the cap"
    );
    // At 32 s, the publishes sent at 0..=29 s are 3 s or more old.
    st.expire(now, &mut rec);
    let count = |rec: &Rec, e: PubEvent| rec.events.iter().filter(|x| **x == e).count();
    assert_eq!(count(&rec, PubEvent::PubackTimeout), MAX_INFLIGHT - 2);
    // A PUBACK for a publish already given up on is ignored.
    st.absorb(In::PubAck { pkid: 1, ok: true }, now, &mut rec);
    assert!(rec.phases.is_empty());
    st.abandon(PubEvent::PubackDenied, &mut rec);
    assert_eq!(count(&rec, PubEvent::PubackDenied), 2);
    assert!(st.settled());
}

#[test]
fn own_deliveries_are_timed_and_a_refused_subscription_stops_the_wait() {
    let t0 = Instant::now();
    let spec = spec(t0, true, None);
    let mut st = SessionState::new(&spec, Duration::ZERO, t0);
    let mut rec = Rec::default();
    let Some(Out::Subscribe {
        pkid: sub, filter, ..
    }) = st.subscribe()
    else {
        panic!("subscribes first");
    };
    assert_eq!(filter, "tokenstorm/dev1");
    let Some(Out::Publish { pkid, payload, .. }) = st.publish_due(t0 + 100 * MS) else {
        panic!("publishes");
    };
    st.published(&mut rec);
    st.absorb(In::PubAck { pkid, ok: true }, t0 + 150 * MS, &mut rec);
    assert!(!st.settled(), "its delivery is still awaited");
    let back = In::Publish {
        topic: spec.topic.clone(),
        qos1: true,
        pkid: 9,
        payload,
    };
    assert_eq!(
        st.absorb(back, t0 + 180 * MS, &mut rec),
        Some(9),
        "PUBACK it"
    );
    assert_eq!(rec.phases[1], (Phase::PublishReceive, 80 * MS));
    assert!(st.settled());
    // The SUBACK refuses: nothing more is awaited for later publishes.
    st.absorb(
        In::SubAck {
            pkid: sub,
            failed: true,
        },
        t0,
        &mut rec,
    );
    st.publish_due(t0 + 1100 * MS);
    st.published(&mut rec);
    st.absorb(In::PubAck { pkid: 3, ok: false }, t0 + 1200 * MS, &mut rec);
    assert!(st.settled());
    assert_eq!(
        rec.events,
        [
            PubEvent::Sent,
            PubEvent::PubackOk,
            PubEvent::Received,
            PubEvent::SubscribeDenied,
            PubEvent::Sent,
            PubEvent::PubackDenied
        ]
    );
}

#[test]
fn pings_follow_the_keep_alive() {
    let t0 = Instant::now();
    let mut no_publish = spec(t0, false, Some(30_000 * MS));
    no_publish.publish_interval = None;
    let mut st = SessionState::new(&no_publish, Duration::ZERO, t0);
    assert_eq!(st.wake(), t0 + 30_000 * MS);
    assert!(st.publish_due(t0 + 40_000 * MS).is_none());
    assert!(!st.ping_due(t0 + 29_000 * MS));
    assert!(st.ping_due(t0 + 31_000 * MS));
    assert_eq!(st.wake(), t0 + 61_000 * MS);
    assert_eq!(st.drain_deadline(t0), t0 + 2000 * MS, "at most 2 s");
}

#[test]
fn payloads_carry_their_send_time() {
    let t0 = Instant::now();
    let now = t0 + 1234 * MS;
    let p = payload(t0, now, 64);
    assert_eq!(p.len(), 64);
    assert_eq!(stamp_of(t0, &p), Some(now));
    assert_eq!(payload(t0, now, 0).len(), 8);
    assert_eq!(stamp_of(t0, b"short"), None);
}
