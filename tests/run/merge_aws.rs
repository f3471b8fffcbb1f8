//! Shards witnessed by the account's CloudWatch (`[target.aws]`), merged (issue 14): an emulator the runs did
//! not start publishes to moto as Lambda publishes to CloudWatch (no admin listener), and the shards of one plan
//! run against it at once. Each shard joins its own run id's witness lines (CloudWatch Logs) and leaves
//! `AWS/Lambda` `Invocations`, which counts every shard's invocations at once, to the merge; the merge adds the
//! logs up and reads the metrics once over all shards' window, so the merged count is every shard's invocations
//! counted once.

#![cfg(feature = "aws")]

use super::aws::{aws_table, publishing, scenario};
use super::merge::merge_with_env;
use super::*;
use crate::support::keys;
use crate::support::moto::{self, Moto};

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).unwrap()
}

/// A shard's `aws`: its own lines only, the metrics left to the merge.
fn assert_deferred(shard: &Value) {
    let aws = &shard["aws"];
    assert_eq!(aws["metrics_deferred"], true, "{aws}");
    assert_eq!(aws["metrics"], Value::Null, "{aws}");
}

/// `run --processes 2`, both witnesses, an honest gate: each shard's logs count its own lines, the merged count
/// is their sum and every attempt that may reach the authorizer; the metrics read once by the merge count the
/// same invocations, once; the merged verdict passes by both witnesses. Merged again with CloudWatch gone, the
/// metrics never settle and the verdict is inconclusive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_witnessed_by_cloudwatch_merge_the_logs_and_read_the_metrics_once() {
    let moto = Moto::start();
    let emu = publishing(&moto, false).await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let aws = aws_table(&moto.url(), keys::SEED_AUTHORIZER, "both");
    let body = scenario(&emu, &private, "https = 1.0\nmqtt_tls = 1.0", &aws);
    let path = write_scenario(dir.path(), "aws.toml", &body);
    let out = dir.path().join("out");
    let (o, r) = tokio::task::spawn_blocking(move || {
        run_with_env(
            &[path.to_str().unwrap(), "--processes", "2"],
            &out,
            &moto::AWS_ENV,
        )
    })
    .await
    .unwrap();
    emu.stop().await;
    let r = r.unwrap_or_else(|| panic!("no merged report: {}", text(&o.stderr)));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}\nmoto: {}",
        text(&o.stdout),
        text(&o.stderr),
        moto.log_text()
    );
    assert_schema_valid(&r);
    let reached = reaching(&class_counts(&r));
    assert!(reached > 0, "{}", text(&o.stdout));
    let mut shard_lines = 0;
    let mut windows = Vec::new();
    let shard_folders: Vec<PathBuf> = (0..2)
        .map(|i| PathBuf::from(r["merged_from"][i]["folder"].as_str().unwrap()))
        .collect();
    for (i, folder) in shard_folders.iter().enumerate() {
        let shard = report(folder);
        assert_deferred(&shard);
        let logs = &shard["aws"]["logs"];
        assert_eq!(logs["status"], "reconciled", "shard {i}: {logs}");
        assert_eq!(
            logs["observed"].as_u64(),
            Some(reaching(&class_counts(&shard))),
            "shard {i}: its own lines only: {logs}"
        );
        shard_lines += logs["observed"].as_u64().unwrap();
        let f = invariant(&shard, "forged_never_invoked");
        assert_eq!(f["status"], "pass", "shard {i}: {f}");
        windows.push(shard["aws"]["window"].clone());
    }
    let aws = &r["aws"];
    assert_eq!(aws["metrics_deferred"], false, "{aws}");
    let logs = &aws["logs"];
    assert_eq!(logs["status"], "reconciled", "{logs}");
    assert_eq!(logs["observed"].as_u64(), Some(shard_lines), "{logs}");
    assert_eq!(shard_lines, reached);
    assert_eq!(
        logs["reads"].as_array().unwrap().len(),
        2,
        "each shard's last read: {logs}"
    );
    let metrics = &aws["metrics"];
    assert_eq!(metrics["status"], "reconciled", "{metrics}");
    assert_eq!(
        metrics["observed"].as_u64(),
        Some(reached),
        "every shard's invocations, counted once: {metrics}"
    );
    assert!(metrics["reads"].as_array().unwrap().len() >= 2, "{metrics}");
    assert_eq!(metrics["throttles"], 0, "{metrics}");
    // The merged window spans every shard's.
    let w = &aws["window"];
    for s in &windows {
        assert!(
            w["start_unix_s"].as_i64() <= s["start_unix_s"].as_i64()
                && w["end_unix_s"].as_i64() >= s["end_unix_s"].as_i64(),
            "{w} covers {s}"
        );
    }
    assert_eq!(r["invocations"]["source"], "cloudwatch-logs");
    assert_eq!(r["invocations"]["this_run"].as_u64(), Some(reached));
    let f = invariant(&r, "forged_never_invoked");
    assert_eq!(f["status"], "pass", "{f}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains("(cloudwatch-logs)") && summary.contains("(cloudwatch-metrics)"),
        "{summary}"
    );
    assert_eq!(invariant(&r, "shards_complete")["status"], "pass");
    eprintln!(
        "merged: cloudwatch-metrics {} after {} ms, {} reads",
        metrics["status"],
        metrics["waited_ms"],
        metrics["reads"].as_array().map_or(0, Vec::len)
    );
    // Merged again once CloudWatch is gone: the metrics never settle, and the verdict is inconclusive, not a pass.
    drop(moto);
    let again = dir.path().join("again");
    let folders: Vec<&Path> = shard_folders.iter().map(PathBuf::as_path).collect();
    let (o, r) = merge_with_env(&folders, &again, &moto::AWS_ENV);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.expect("report.json");
    assert_eq!(r["verdict"], "inconclusive");
    let metrics = &r["aws"]["metrics"];
    assert_eq!(metrics["status"], "pending", "{metrics}");
    assert!(metrics["error"].as_str().is_some(), "{metrics}");
    assert_eq!(r["aws"]["logs"]["status"], "reconciled");
    let f = invariant(&r, "forged_never_invoked");
    assert_eq!(f["status"], "inconclusive", "{f}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("cloudwatch-metrics never settled"),
        "{f}"
    );
}

/// Two `--shard i/2` processes at once against a gate with signing disabled: each shard fails on its own
/// answers and lines (forged attempts answered 200 and invoking) and reads no metrics; `tokenstorm merge` reads
/// `Invocations` once and fails the merged verdict with the surplus over what non-forged attempts explain. The
/// merged count is every invocation once: exactly the shards' witness lines added up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_metrics_are_read_once_by_the_merge_and_fail_forged_invocations() {
    let moto = Moto::start();
    let emu = publishing(&moto, true).await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let aws = aws_table(&moto.url(), keys::SEED_AUTHORIZER, "both");
    let body = scenario(&emu, &private, "https = 1.0", &aws);
    let path = write_scenario(dir.path(), "aws.toml", &body);
    let shards: Vec<(Output, PathBuf)> = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            let running: Vec<_> = (0..2)
                .map(|i| {
                    let out = dir.join(format!("shard{i}"));
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let shard = format!("{i}/2");
                        let (o, _) = run_with_env(
                            &[path.to_str().unwrap(), "--shard", &shard],
                            &out,
                            &moto::AWS_ENV,
                        );
                        (o, super::merge::folder(&out))
                    })
                })
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        }
    })
    .await
    .unwrap();
    emu.stop().await;
    let mut lines = 0;
    for (i, (o, folder)) in shards.iter().enumerate() {
        assert_eq!(o.status.code(), Some(1), "shard {i}: {}", text(&o.stdout));
        let shard = report(folder);
        assert_deferred(&shard);
        let f = invariant(&shard, "forged_never_invoked");
        assert_eq!(f["status"], "fail", "shard {i}: {f}");
        assert!(
            f["evidence"].as_array().unwrap().iter().any(|e| e
                .as_str()
                .unwrap()
                .contains("`tokenstorm merge` reads it once")),
            "{f}"
        );
        lines += shard["aws"]["logs"]["observed"].as_u64().unwrap();
    }
    let out = dir.path().join("merged");
    let dirs: Vec<&Path> = shards.iter().map(|(_, d)| d.as_path()).collect();
    let (o, r) = merge_with_env(&dirs, &out, &moto::AWS_ENV);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}{stderr}", text(&o.stdout));
    let r = r.expect("report.json");
    assert_schema_valid(&r);
    let metrics = &r["aws"]["metrics"];
    assert_eq!(metrics["status"], "mismatch", "{metrics}");
    let (observed, max) = (
        metrics["observed"].as_u64().unwrap(),
        metrics["expected"]["max"].as_u64().unwrap(),
    );
    assert_eq!(
        observed, lines,
        "every shard's invocations, counted once: {metrics}"
    );
    assert_eq!(r["aws"]["logs"]["observed"].as_u64(), Some(lines));
    assert!(observed > max, "{metrics}");
    let f = invariant(&r, "forged_never_invoked");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["summary"].as_str().unwrap().contains(&format!(
            "{} invocations more than non-forged attempts can explain",
            observed - max
        )),
        "{f}"
    );
    assert!(
        stderr.contains("merge: reading CloudWatch (metrics of")
            && stderr.contains("merge: witness: cloudwatch-metrics mismatch ("),
        "{stderr}"
    );
}
