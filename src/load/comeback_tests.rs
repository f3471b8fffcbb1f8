use super::*;

const SPEC: BackoffSpec = BackoffSpec {
    base: Duration::from_secs(1),
    max: Duration::from_secs(8),
    jitter: 1.0,
};

#[test]
fn sessions_end_as_closed_kicked_storm_or_dropped() {
    assert_eq!(classify(Ended::Done, true, true), SessionEnd::Closed);
    assert_eq!(classify(Ended::TakenOver, true, false), SessionEnd::Kicked);
    assert_eq!(classify(Ended::Dropped, true, true), SessionEnd::Storm);
    assert_eq!(classify(Ended::Dropped, false, true), SessionEnd::Kicked);
    assert_eq!(classify(Ended::Dropped, false, false), SessionEnd::Dropped);
}

/// A dropped session waits for the CONNECTs in flight with its client id: the kicker's admission may be
/// known only after the close is (paused time).
#[tokio::test(start_paused = true)]
async fn a_drop_is_a_kick_when_another_connect_with_the_id_is_admitted_since() {
    let ids = ClientIds::new(2, true);
    let patience = Duration::from_secs(5);
    // Our CONNECT is sent, then admitted.
    let mine = ids.mark(0);
    ids.admitted(0);
    assert!(
        !ids.kicked_since(0, mine, patience).await,
        "nothing else: a plain drop"
    );
    // The kicker's CONNECT is in flight when the close is seen; its admission is known 30 ms later.
    let flight = ids.sending(0);
    let kicker = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        ids.admitted(0);
        drop(flight);
    };
    let (kicked, ()) = tokio::join!(ids.kicked_since(0, mine, patience), kicker);
    assert!(kicked, "admitted while we waited");
    // Two CONNECTs sent together, admitted in the other order than their CONNACKs are read: each session
    // dropped afterwards was kicked by the other.
    let (a, b) = (ids.mark(0), ids.mark(0));
    ids.admitted(0);
    ids.admitted(0);
    assert!(ids.kicked_since(0, a, patience).await && ids.kicked_since(0, b, patience).await);
    // A CONNECT in flight that is refused kicks nobody.
    let mark = ids.mark(0);
    ids.admitted(0);
    let refused = ids.sending(0);
    let refusal = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(refused);
    };
    let (kicked, ()) = tokio::join!(ids.kicked_since(0, mark, patience), refusal);
    assert!(!kicked);
    let own = ClientIds::new(2, false);
    own.admitted(0);
    assert!(
        !own.shared() && !own.kicked_since(0, 0, patience).await,
        "ids not shared"
    );
}

#[test]
fn a_kick_counts_its_reconnects_until_one_is_allowed() {
    let now = Instant::now();
    let mut c = Comeback::new(None, 1, 0);
    assert_eq!(
        c.attempted(Outcome::Allowed, now),
        Counted::default(),
        "a first connect"
    );
    c.lost(SessionEnd::Kicked, Duration::from_secs(1), None, now);
    assert_eq!(c.until(), None, "no backoff: at once");
    assert!(c.attempted(Outcome::ClosedWithoutConnack, now).after_kick);
    assert!(c.attempted(Outcome::Allowed, now).after_kick);
    assert_eq!(
        c.attempted(Outcome::Allowed, now),
        Counted::default(),
        "back in"
    );
    c.lost(SessionEnd::Closed, Duration::from_secs(1), None, now);
    assert_eq!(
        c.attempted(Outcome::Allowed, now),
        Counted::default(),
        "the device closed it"
    );
}

#[test]
fn failed_reconnects_back_off_further_and_a_long_session_resets() {
    let now = Instant::now();
    let spec = BackoffSpec {
        jitter: 0.0,
        ..SPEC
    };
    let mut c = Comeback::new(Some(spec), 1, 0);
    let wait = |c: &Comeback| c.until().map(|u| u - now);
    c.lost(SessionEnd::Dropped, Duration::from_secs(1), None, now);
    assert_eq!(wait(&c), Some(Duration::from_secs(1)));
    c.attempted(Outcome::Refused, now);
    assert_eq!(wait(&c), Some(Duration::from_secs(2)), "a failed reconnect");
    c.attempted(Outcome::Allowed, now);
    c.lost(SessionEnd::Kicked, Duration::from_secs(1), None, now);
    assert_eq!(
        wait(&c),
        Some(Duration::from_secs(4)),
        "a short session keeps the streak"
    );
    c.attempted(Outcome::Allowed, now);
    c.lost(SessionEnd::Dropped, RESET_AFTER, None, now);
    assert_eq!(
        wait(&c),
        Some(Duration::from_secs(1)),
        "a long session resets it"
    );
}

/// 100 devices dropped by one storm, each reconnecting when its comeback allows (paused time): without a
/// backoff they all come back at the storm's instant (a thundering herd); with exponential backoff and full
/// jitter their reconnects spread over the first window.
#[tokio::test(start_paused = true)]
async fn a_storm_herds_without_backoff_and_spreads_with_jitter() {
    async fn reconnect_times(spec: Option<BackoffSpec>) -> Vec<Duration> {
        let storm_at = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for d in 0..100 {
            tasks.spawn(async move {
                let mut c = Comeback::new(spec, 7, d);
                c.lost(
                    SessionEnd::Storm,
                    Duration::from_secs(5),
                    Some((0, storm_at)),
                    storm_at,
                );
                if let Some(u) = c.until() {
                    tokio::time::sleep_until(u).await;
                }
                let counted = c.attempted(Outcome::Allowed, Instant::now());
                assert_eq!(counted.storm, Some(0));
                counted.back_from_storm.unwrap().1
            });
        }
        let mut out: Vec<Duration> = tasks.join_all().await;
        out.sort();
        out
    }
    let herd = reconnect_times(None).await;
    assert!(herd.iter().all(|t| t.is_zero()), "all at once: {herd:?}");
    let spread = reconnect_times(Some(SPEC)).await;
    assert!(
        spread.iter().all(|t| *t < SPEC.base),
        "within the first window"
    );
    let (first, last) = (spread[0], spread[99]);
    assert!(
        last - first > SPEC.base / 2,
        "spread: {first:?} .. {last:?}"
    );
    let in_first_tenth = spread.iter().filter(|t| **t < SPEC.base / 10).count();
    assert!(
        in_first_tenth < 30,
        "{in_first_tenth} of 100 in the first tenth"
    );
    assert_eq!(
        reconnect_times(Some(SPEC)).await,
        spread,
        "the seed reproduces them"
    );
}
