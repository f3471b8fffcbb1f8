//! The bounded ledger through the admin API: eviction counters, paging after evictions, and the run's
//! incremental join of an external emulator that misses evicted entries, and both witnesses of the join
//! ([`tokenstorm::join::Witness`]) driven through the trait over the same traffic.

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::invariant::{Inputs, Status, evaluate};
use tokenstorm::join::{self, Source, Spec, Witness};
use tokenstorm::metrics::Recorder;

use super::{refs, seed_headers};
use crate::support::client::Conn;
use crate::support::emulator::{Handle, config, seed_authorizer, start};
use crate::support::keys::{SEED_TOKEN, sign, signing_key};

/// An emulator that keeps `capacity` ledger entries.
async fn small(capacity: usize) -> Handle {
    let mut c = config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    );
    c.ledger_capacity = capacity;
    start(c).await
}

/// `n` allowed publishes with the attempt ids `r-valid-<from + i>-0`.
async fn publish(emu: &Handle, from: usize, n: usize) {
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    for i in from..from + n {
        let attempt = format!("r-valid-{i}-0");
        let mut with_id = refs(&h);
        with_id.push(("x-tokenstorm-attempt", &attempt));
        conn.post("/topics/t", &with_id)
            .await
            .assert_message(200, "OK");
    }
}

fn seqs(page: &serde_json::Value) -> Vec<u64> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

fn counters(page: &serde_json::Value) -> [u64; 6] {
    [
        "missed",
        "first_seq",
        "last_seq",
        "next_seq",
        "evicted",
        "capacity",
    ]
    .map(|k| page[k].as_u64().unwrap_or_else(|| panic!("{k} in {page}")))
}

#[tokio::test]
async fn admin_ledger_reports_evictions_and_pages_past_them() {
    let emu = small(3).await;
    let mut admin = Conn::http(emu.addrs().admin.unwrap()).await;
    let empty = admin.get("/ledger").await.json();
    assert_eq!(seqs(&empty), Vec::<u64>::new());
    assert_eq!(counters(&empty), [0, 1, 0, 1, 0, 3]);

    publish(&emu, 0, 5).await;
    let all = admin.get("/ledger").await.json();
    assert_eq!(seqs(&all), [3, 4, 5]);
    assert_eq!(counters(&all), [2, 3, 5, 6, 2, 3]);
    assert_eq!(all["entries"][0]["attempt_id"], "r-valid-2-0");

    let page = admin.get("/ledger?since=1&limit=2").await.json();
    assert_eq!(
        (seqs(&page), page["missed"].as_u64()),
        (vec![3, 4], Some(1))
    );
    let page = admin.get("/ledger?since=4&limit=2").await.json();
    assert_eq!((seqs(&page), page["missed"].as_u64()), (vec![5], Some(0)));
    let counts_only = admin.get("/ledger?limit=0").await.json();
    assert_eq!(seqs(&counts_only), Vec::<u64>::new());
    assert_eq!(counters(&counts_only), [2, 3, 5, 6, 2, 3]);

    // Memory stays bounded: ten times the capacity later, three entries are held.
    publish(&emu, 5, 25).await;
    assert_eq!(emu.ledger().len(), 3);
    assert_eq!((emu.ledger().recorded(), emu.ledger().evicted()), (30, 27));
    let metrics = admin.get("/metrics").await.body;
    for line in [
        "tokenstorm_ledger_entries 3\n",
        "tokenstorm_ledger_capacity 3\n",
        "tokenstorm_ledger_recorded_total 30\n",
        "tokenstorm_ledger_evicted_total 27\n",
    ] {
        assert!(metrics.contains(line), "{line:?} in {metrics}");
    }
    let last = admin.get("/ledger?since=29").await.json();
    assert_eq!(seqs(&last), [30]);
    assert_eq!(counters(&last), [0, 28, 30, 31, 27, 3]);
    emu.stop().await;
}

#[tokio::test]
async fn the_admin_join_counts_evicted_entries_as_missed_and_fails_the_run() {
    let emu = small(4).await;
    publish(&emu, 100, 6).await; // before the run: never joined, never missed
    let url = format!("http://{}", emu.addrs().admin.unwrap());
    let mut joiner = join::start(Source::Admin(&url), &Spec::new("r"))
        .await
        .unwrap();
    publish(&emu, 0, 3).await;
    joiner.drain().await.unwrap();
    publish(&emu, 3, 9).await; // seqs 10..=18; 10..=14 are evicted before the next drain
    let s = joiner.finish().await.unwrap();
    assert_eq!(s.source, url);
    assert_eq!((s.start_seq, s.last_seq), (6, 18));
    assert_eq!((s.total, s.missed, s.ours(), s.foreign), (7, 5, 7, 0));

    let rec = Recorder::new();
    let v = evaluate(&Inputs {
        recorder: &rec,
        ledger: Some(&s),
        run_secs: 0,
        gate: Default::default(),
    });
    let forged = v.iter().find(|v| v.name == "forged_never_invoked").unwrap();
    assert_eq!(forged.status, Status::Fail, "{forged:?}");
    assert!(
        forged
            .evidence
            .iter()
            .any(|e| e.contains("5 entries after seq 6") && e.contains("--ledger-capacity")),
        "{:?}",
        forged.evidence
    );

    // A join that keeps up misses nothing.
    let joiner = join::start(Source::Admin(&url), &Spec::new("r"))
        .await
        .unwrap();
    publish(&emu, 20, 4).await;
    let s = joiner.finish().await.unwrap();
    assert_eq!((s.total, s.missed, s.start_seq), (4, 0, 18));
    emu.stop().await;
}

/// The same traffic seen by the in-process ledger and through the admin API, each drained through
/// [`Witness`]: both joins count the same entries of the run, and neither misses one while it keeps up.
#[tokio::test]
async fn both_witnesses_join_the_same_traffic_through_the_trait() {
    let emu = small(8).await;
    publish(&emu, 100, 2).await; // before the run: neither joins it
    let url = format!("http://{}", emu.addrs().admin.unwrap());
    let spec = Spec::new("r");
    let mut witnesses: Vec<Box<dyn Witness>> = vec![
        join::start(Source::InProcess(emu.ledger()), &spec)
            .await
            .unwrap(),
        join::start(Source::Admin(&url), &spec).await.unwrap(),
    ];
    for round in 0..3 {
        publish(&emu, round * 5, 5).await;
        for w in &mut witnesses {
            w.drain().await.unwrap();
        }
    }
    let mut summaries = Vec::new();
    for w in witnesses {
        summaries.push(w.finish().await.unwrap());
    }
    let sources: Vec<&str> = summaries.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(sources, ["in-process", url.as_str()]);
    for s in &summaries {
        assert_eq!(
            (
                s.start_seq,
                s.last_seq,
                s.total,
                s.missed,
                s.ours(),
                s.foreign
            ),
            (2, 17, 15, 0, 15, 0),
            "{}",
            s.source
        );
        let valid = s.class(tokenstorm::contract::Class::Valid);
        assert_eq!((valid.invocations, valid.allowed), (15, 15), "{}", s.source);
    }
    emu.stop().await;
}
