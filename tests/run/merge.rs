//! `tokenstorm merge`: three shards of one plan, run at once as processes of the real binary against one
//! external emulator, merge into one run folder whose counts are the sum of the shards', whose histograms are
//! exactly the shards' added (HdrHistogram equality per row, from the evidence and from latency.hlog), and
//! whose threshold and verdict are judged on the merged numbers. A missing, duplicated or foreign shard, or a
//! folder that is no run folder, is refused (exit 2, named); with `partial` a missing shard is an inconclusive
//! `shards_complete` row instead. The merged verdict's own checks: tests/run/merge_verdicts.rs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use tokenstorm::metrics::saved::SavedRecorder;

use super::*;

/// Runs `tokenstorm merge ARGS...`; the output and the merged report (if written).
pub(super) fn merge(args: &[&Path], out: &Path) -> (Output, Option<Value>) {
    merge_with_env(args, out, &[])
}

/// [`merge`] with extra environment variables (the AWS credential chain's, for `[target.aws]` shards).
pub(super) fn merge_with_env(
    args: &[&Path],
    out: &Path,
    env: &[(&str, &str)],
) -> (Output, Option<Value>) {
    let o = Command::new(bin())
        .arg("merge")
        .args(args)
        .arg("--out")
        .arg(out)
        .envs(env.iter().copied())
        .output()
        .expect("cannot start tokenstorm merge");
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (o, report)
}

/// The single run folder under `out`.
pub(super) fn folder(out: &Path) -> PathBuf {
    std::fs::read_dir(out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// The recorder's latency histograms per cell, decoded from a folder's evidence.json.
fn latency(dir: &Path) -> BTreeMap<usize, Histogram<u64>> {
    let text = std::fs::read_to_string(dir.join("evidence.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let saved: SavedRecorder = serde_json::from_value(v["recorder"].clone()).unwrap();
    saved
        .latency
        .iter()
        .map(|(cell, h)| {
            (
                *cell,
                tokenstorm::metrics::saved::decode(h, "latency").unwrap(),
            )
        })
        .collect()
}

/// Every row of a folder's latency.hlog, its intervals added (tag → histogram).
fn hlog_rows(dir: &Path) -> BTreeMap<String, Histogram<u64>> {
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let bytes = std::fs::read(dir.join("latency.hlog")).unwrap();
    let mut rows: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for e in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(i) = e.unwrap() {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(i.encoded_histogram())
                .unwrap();
            let h: Histogram<u64> = Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .unwrap();
            let tag = i.tag().unwrap().as_str().to_string();
            rows.entry(tag)
                .or_insert_with(|| Histogram::new(3).unwrap())
                .add(&h)
                .unwrap();
        }
    }
    rows
}

/// Adds `b`'s histograms into `a`.
fn add_all<K: Ord + Clone>(a: &mut BTreeMap<K, Histogram<u64>>, b: BTreeMap<K, Histogram<u64>>) {
    for (k, h) in b {
        a.entry(k)
            .or_insert_with(|| Histogram::new(3).unwrap())
            .add(&h)
            .unwrap();
    }
}

/// `tokenstorm emulate` on port 0 (HTTPS and admin), the seed authorizer with its default allowing function:
/// the process (killed when dropped), its HTTPS and admin addresses and its CA file.
async fn emulate(dir: &Path) -> (tokio::process::Child, String, String, PathBuf) {
    use tokio::io::AsyncBufReadExt as _;
    let json = crate::emulator::process::describe_json("ACTIVE");
    std::fs::write(dir.join("authorizer.json"), json).unwrap();
    let args = [
        "--authorizer-json",
        "authorizer.json",
        "--bind-https",
        ":0",
        "--bind-http",
        "off",
        "--bind-admin",
        "127.0.0.1:0",
        "--state-dir",
        "state",
    ];
    let mut child = crate::emulator::process::emulate(&args, dir);
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no ready line within 30 s")
        .unwrap()
        .expect("stdout closed before the ready line");
    let ready: Value = serde_json::from_str(&line).unwrap();
    let s = |k: &str| ready[k].as_str().unwrap().to_string();
    (child, s("https"), s("admin"), PathBuf::from(s("ca_cert")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_against_one_emulator_merge_exactly_and_bad_sets_are_refused() {
    use crate::support::keys;

    let dir = tempfile::tempdir().unwrap();
    let (emu, https, admin, ca) = emulate(dir.path()).await;
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    // Each shard alone starts about a third of the 150 attempts: only the merged run meets the threshold.
    let body = format!(
        "name = \"merged\"\n[run]\nduration_s = 60.0\nmax_attempts = 150\nrate_per_s = 600.0\nseed = 9\n\
         [devices]\ncount = 12\ntoken = \"per_device\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://{https}\"\nadmin_url = \"http://{admin}\"\nca_file = {ca:?}\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 1.0\n\
         [thresholds]\nchecks = [\"throughput.attempts_started >= 150\"]\n",
    );
    let scenario = write_scenario(dir.path(), "merged.toml", &body);
    let outs: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    let runs: Vec<_> = (0..3)
        .map(|i| {
            let (scenario, out) = (scenario.clone(), outs[i].clone());
            tokio::task::spawn_blocking(move || {
                let shard = format!("{i}/3");
                run(&[scenario.to_str().unwrap(), "--shard", &shard], &out)
            })
        })
        .collect();
    let mut shards = Vec::new();
    for (i, r) in runs.into_iter().enumerate() {
        let (o, report) = r.await.unwrap();
        let report = report.unwrap_or_else(|| panic!("shard {i}: {}", text(&o.stderr)));
        assert_eq!(
            o.status.code(),
            Some(1),
            "shard {i} misses the threshold alone"
        );
        shards.push(report);
    }
    let dirs: Vec<PathBuf> = outs.iter().map(|o| folder(o)).collect();
    let merged_dir = dir.path().join("merged");
    // A merge connects nowhere: it does not need the target's CA file.
    let away = dir.path().join("ca-away.pem");
    std::fs::rename(&ca, &away).unwrap();
    let started = Instant::now();
    let (o, m) = merge(&[&dirs[2], &dirs[0], &dirs[1]], &merged_dir);
    let took = started.elapsed();
    std::fs::rename(&away, &ca).unwrap();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", text(&o.stderr));
    eprintln!("merge of 3 shards took {took:?}");
    let m = m.unwrap();
    assert_schema_valid(&m);
    assert!(stdout.contains("shards_complete") && stdout.contains("3 of 3 shards merged"));
    assert_eq!(m["shard"], Value::Null);
    assert_eq!(m["plan_hash"], shards[0]["plan_hash"]);
    let from = m["merged_from"].as_array().unwrap();
    assert_eq!(from.len(), 3);
    for (i, f) in from.iter().enumerate() {
        assert_eq!(f["index"], i as u64);
        assert_eq!(f["run_id"], shards[i]["run_id"]);
        assert_eq!(f["verdict"], "fail");
    }
    assert_eq!(
        invariant(&m, "threshold: throughput.attempts_started >= 150")["status"],
        "pass"
    );

    // Counts: the sum of the shards'.
    let sum = |path: &[&str]| -> u64 {
        shards
            .iter()
            .map(|r| path.iter().fold(r, |v, k| &v[*k]).as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(m["throughput"]["attempts_started"], 150);
    assert_eq!(
        m["throughput"]["attempts_started"],
        sum(&["throughput", "attempts_started"])
    );
    assert_eq!(
        m["throughput"]["attempts_ended"],
        sum(&["throughput", "attempts_ended"])
    );
    let mut classes = BTreeMap::new();
    for r in &shards {
        for (c, n) in class_counts(r) {
            *classes.entry(c).or_insert(0) += n;
        }
    }
    assert_eq!(class_counts(&m), classes);
    // The joins are disjoint: this run's invocations add up, and no sibling's entry is foreign to the merge.
    assert_eq!(
        m["invocations"]["this_run"],
        sum(&["invocations", "this_run"])
    );
    assert_eq!(
        m["invocations"]["this_run"].as_u64().unwrap(),
        reaching(&classes)
    );
    assert_eq!(m["invocations"]["foreign"], 0);
    assert_eq!(invariant(&m, "forged_never_invoked")["status"], "pass");

    // Histograms: exactly the shards' added, in the evidence and in latency.hlog.
    let mut want = BTreeMap::new();
    let mut want_log = BTreeMap::new();
    for d in &dirs {
        add_all(&mut want, latency(d));
        add_all(&mut want_log, hlog_rows(d));
    }
    assert!(!want.is_empty());
    assert_eq!(latency(&merged_dir), want);
    assert_eq!(hlog_rows(&merged_dir), want_log);

    refusals(dir.path(), &scenario, &dirs);
    partial(dir.path(), &dirs);
    drop(emu);
}

/// `run --processes` after a shard crashed: the library merge with `partial` writes the report of the shards
/// there are, `shards_complete` inconclusive naming the missing one, exit 1.
fn partial(dir: &Path, dirs: &[PathBuf]) {
    use tokenstorm::merge::{Options, merge};
    let out = dir.join("partial");
    let opts = Options {
        partial: true,
        verbose: false,
        progress: false,
    };
    let m = merge(&[dirs[0].clone(), dirs[2].clone()], &out, &opts).unwrap();
    assert_eq!(m.exit, tokenstorm::error::Exit::Failed);
    assert_eq!(m.run_dir, out);
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let v = invariant(&r, "shards_complete");
    assert_eq!(v["status"], "inconclusive", "{v}");
    assert_eq!(v["evidence"], serde_json::json!(["shard 1/3"]));
    assert_eq!(
        r["verdict"], "fail",
        "the threshold fails on two shards' attempts"
    );
    assert_eq!(r["merged_from"].as_array().unwrap().len(), 2);
}

/// A missing shard, a shard given twice (the same folder, or a copy), a shard of another plan and a folder that
/// is no run folder: each exit 2, named, nothing written.
fn refusals(dir: &Path, scenario: &Path, dirs: &[PathBuf]) {
    let copy = dir.join("copy-of-s0");
    std::fs::create_dir(&copy).unwrap();
    for f in ["report.json", "evidence.json", "latency.hlog"] {
        std::fs::copy(dirs[0].join(f), copy.join(f)).unwrap();
    }
    let (o, r) = run(
        &[scenario.to_str().unwrap(), "--shard", "1/3", "--seed", "10"],
        &dir.join("other"),
    );
    assert!(r.is_some(), "{}", text(&o.stderr));
    let other = folder(&dir.join("other"));
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: Vec<(Vec<&Path>, String)> = vec![
        (vec![&dirs[0], &dirs[2]], "shard 1 of 3 is missing".into()),
        (
            vec![&dirs[0], &dirs[1], &dirs[2], &dirs[1]],
            format!("the same folder is given twice: {}", dirs[1].display()),
        ),
        (
            vec![&dirs[0], &dirs[1], &dirs[2], &copy],
            format!("shard 0/3 is given twice: {}", dirs[0].display()),
        ),
        (
            vec![&dirs[0], &other, &dirs[2]],
            format!("{} is a shard of another plan", other.display()),
        ),
        (
            vec![&dirs[0], &dirs[1], &empty],
            format!("{} is not a run folder", empty.display()),
        ),
    ];
    for (i, (set, named)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("refused{i}"));
        let (o, report) = merge(&set, &out);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {stderr}");
        assert!(stderr.contains(&named), "case {i}: {named:?} in {stderr}");
        assert!(
            report.is_none() && !out.exists(),
            "case {i}: nothing written"
        );
    }
}
