//! The merge's checks and sums on hand-made shards: refusals name what is wrong, a sibling shard's entries are
//! not foreign to the merge, and each shard's seconds shift by its start second.

use std::path::PathBuf;

use super::combine;
use super::shards::{self, ShardRun};
use crate::join::saved::SavedLedger;
use crate::join::{LedgerRow, LedgerSummary};
use crate::report::evidence::{Evidence, SavedSecond};

/// A shard's evidence: shard `index` of `count` of plan `hash`, run `run`, its load started at `start_ms`.
pub(super) fn shard(hash: &str, index: u32, count: u32, run: &str, start_ms: u64) -> ShardRun {
    let recorder =
        crate::metrics::saved::SavedRecorder::of(&crate::metrics::Recorder::new()).unwrap();
    let v = serde_json::json!({
        "format": 1, "version": "test", "run_id": run, "plan_hash": hash,
        "shard": {"index": index, "count": count}, "seed": 1,
        "started_unix_ms": start_ms, "load_started_unix_ms": start_ms, "elapsed_us": 1_000_000,
        "interrupted": false, "stopped_by": null,
        "scenario": {"name": "t", "file": "t.toml", "resolved": {}, "keys": [], "tokens": []},
        "urls": [], "safety": {"remote": false, "addresses": [], "authorized": null, "caps": {},
            "predicted": {}, "implicit_ramp_s": null, "abort": {"on_forged_invocation": false,
            "max_throttled_share": null, "max_error_share": null, "max_cost_usd": null, "min_attempts": 1},
            "aborted_by": null},
        "recorder": recorder, "series": [], "ledger": null, "unreadable": null, "aws": null,
        "refused_valid": [], "usage": crate::load::usage::Usage::default(),
    });
    let evidence: Evidence = serde_json::from_value(v).unwrap();
    ShardRun {
        dir: PathBuf::from(format!("shards/{run}")),
        evidence,
        verdict: "pass".into(),
        intervals: Vec::new(),
    }
}

fn refusal(shards: &[ShardRun], partial: bool) -> String {
    shards::check(shards, partial).unwrap_err().to_string()
}

#[test]
fn refusals_name_the_folders() {
    let ok = || vec![shard("h", 0, 2, "a", 0), shard("h", 1, 2, "b", 0)];
    assert_eq!(shards::check(&ok(), false).unwrap(), Vec::<u32>::new());
    let mut other = ok();
    other[1] = shard("g", 1, 2, "b", 0);
    let e = refusal(&other, false);
    assert!(
        e.contains("shards/b is a shard of another plan") && e.contains(" g "),
        "{e}"
    );
    let mut count = ok();
    count[1] = shard("h", 1, 3, "b", 0);
    assert!(refusal(&count, false).contains("the shard counts differ"));
    let mut twice = ok();
    twice[1] = shard("h", 0, 2, "b", 0);
    let e = refusal(&twice, false);
    assert!(
        e.contains("shard 0/2 is given twice: shards/a and shards/b"),
        "{e}"
    );
    let one = vec![shard("h", 1, 3, "b", 0)];
    assert!(refusal(&one, false).contains("shards 0, 2 of 3 are missing"));
    assert_eq!(shards::check(&one, true).unwrap(), [0, 2]);
    let reconciliation = || {
        let section = crate::scenario::aws::AwsSection {
            region: "eu-west-1".into(),
            function_name: "Auth".into(),
            ..Default::default()
        };
        let target = crate::scenario::aws::resolve(&section).unwrap();
        crate::join::cloudwatch::Reconciliation::new(
            &target,
            crate::join::cloudwatch::Window::of_run(0, 1000),
        )
    };
    let mut mixed = ok();
    mixed[1].evidence.aws = Some(reconciliation());
    assert!(
        refusal(&mixed, false)
            .contains("shards/b was witnessed by CloudWatch ([target.aws]) but shards/a was not"),
        "{}",
        refusal(&mixed, false)
    );
    let mut deferred = ok();
    for s in &mut deferred {
        let mut r = reconciliation();
        r.metrics_deferred = true;
        s.evidence.aws = Some(r);
    }
    assert!(shards::check(&deferred, false).is_ok());
    let read_alone = serde_json::json!({"status": "reconciled", "observed": 3,
        "expected": {"min": 1, "max": 3}, "reads": [], "waited_ms": 0, "error": null, "gave_up": null,
        "dimensions": [], "throttles": 0, "iot": []});
    deferred[0].evidence.aws.as_mut().unwrap().metrics =
        Some(serde_json::from_value(read_alone).unwrap());
    assert!(
        refusal(&deferred, false)
            .contains("shards/a (shard 0/2) read the account's AWS/Lambda Invocations itself"),
        "{}",
        refusal(&deferred, false)
    );
    assert!(refusal(&[], false).contains("nothing to merge"));
    let e = shards::distinct_folders(&[PathBuf::from("x"), PathBuf::from("y"), PathBuf::from("x")])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "the same folder is given twice: x and x");
}

/// A shard's join of the entries of runs `a` and `b` (and one of another run), as shard `me` saw them.
fn joined(me: &str) -> LedgerSummary {
    let ids = ["a-valid-0-0", "a-valid-2-0", "b-valid-1-0", "zz-valid-0-0"];
    let rows = ids
        .iter()
        .enumerate()
        .map(|(i, id)| LedgerRow::new(i as u64 + 1, Some(id), "allow"));
    LedgerSummary::new("http://127.0.0.1:1", me, rows)
}

#[test]
fn a_sibling_shards_entries_are_not_foreign_to_the_merge() {
    let mut runs = vec![shard("h", 0, 2, "a", 10_000), shard("h", 1, 2, "b", 12_500)];
    for r in &mut runs {
        let l = joined(&r.evidence.run_id);
        r.evidence.ledger = Some(SavedLedger::of(&l, Default::default()));
    }
    let m = combine::ledger(&runs, 10_000).unwrap().unwrap();
    assert_eq!(m.ours(), 3, "a's two and b's one");
    assert_eq!(m.foreign, 1, "only the run zz's entry");
    assert_eq!(m.total, 4);
}

#[test]
fn seconds_shift_by_each_shards_start_second() {
    let mut runs = vec![shard("h", 0, 2, "a", 10_900), shard("h", 1, 2, "b", 12_100)];
    for r in &mut runs {
        r.evidence.series = vec![SavedSecond {
            second: 0,
            counts: vec![(0, 5)],
        }];
    }
    let t0 = combine::load_start(&runs);
    assert_eq!(t0, 10_900);
    let store = combine::series(&runs, t0).unwrap();
    let mut seen = Vec::new();
    store
        .each_second(|s| seen.push((s.index, s.counts[0])))
        .unwrap();
    assert_eq!(seen, [(0, 5), (2, 5)], "12 s is two seconds after 10 s");
}
