//! Output compatibility: the quickstart with a fixed seed and attempt budget must produce the same report.json and
//! the same terminal table as the committed golden files, once the fields that vary from run to run (ids, clock
//! times, ports, key fingerprints, latencies and the rates derived from elapsed time) are masked. It holds
//! refactors (issue 9) to "every external output identical": a renamed serde field, a reordered row, a changed
//! count or label fails here.
//!
//! After an intended change of output, regenerate with `TOKENSTORM_BLESS=1 cargo test --test integration --
//! compat` and review the diff of `tests/run/golden/` like code.

use super::*;

/// Object keys whose values vary between two runs of the same seed (found by diffing repeated runs).
const VARYING: &[&str] = &[
    "run_id",
    "started_at",
    "elapsed_s",
    "elapsed_ms",
    "url",
    "urls",
    "fingerprint",
    "attempts_per_s",
    "invocations_per_24h",
    "per_24h_usd",
    "latency_us",
    "service_us",
];

/// What also varies in an MQTT run: how many messages a connection published before the run ended, and the
/// messaging cost that follows from them.
const VARYING_MQTT: &[&str] = &[
    "messages",
    "messaging_pusd",
    "total_pusd",
    "total_usd",
    "published",
    "puback_ok",
    "received",
];

const MASK: &str = "<varies>";

/// Which second an attempt or invocation falls in varies: of `timeseries` only its shape stays.
const TIMESERIES_KEPT: &[&str] = &["interval_s", "truncated"];

/// Replaces the values of [`VARYING`] keys (and `extra` ones), at any depth, with [`MASK`].
fn mask_json(v: &mut Value, extra: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if VARYING.contains(&k.as_str()) || extra.contains(&k.as_str()) {
                    *child = Value::String(MASK.into());
                } else if k == "timeseries"
                    && let Value::Object(series) = child
                {
                    for (k, v) in series.iter_mut() {
                        if !TIMESERIES_KEPT.contains(&k.as_str()) {
                            *v = Value::String(MASK.into());
                        }
                    }
                } else {
                    mask_json(child, extra);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask_json(i, extra)),
        _ => {}
    }
}

/// Masks the terminal output token by token (whitespace collapsed, since column widths follow the numbers):
/// decimals (latencies, rates, money) become `#`, as do the run id and the target's port; integers (counts) stay,
/// except on the 24-hour projection line, which scales with the elapsed time, and the `result:` line's path.
fn mask_terminal(out: &str) -> String {
    let mut lines = Vec::new();
    for line in out.lines() {
        let all = line.contains("sustained for 24 h") || line.starts_with("result:");
        let mut tokens: Vec<String> = line
            .split_whitespace()
            .map(|t| mask_token(t, all))
            .collect();
        if let Some(i) = tokens.iter().position(|t| t == "run")
            && let Some(id) = tokens.get_mut(i + 1)
        {
            *id = MASK.into();
        }
        lines.push(tokens.join(" "));
    }
    lines.join("\n") + "\n"
}

/// `#` for a decimal number (or any token with a digit when `all`); a URL's loopback port becomes `#`.
fn mask_token(t: &str, all: bool) -> String {
    if all && t.chars().any(|c| c.is_ascii_digit()) {
        return "#".into();
    }
    // The number inside punctuation and units: `(3.47`, `479.1/s`, `$41.74`, `0.06,`.
    let start = t.find(|c: char| c.is_ascii_digit()).unwrap_or(t.len());
    let end = t[start..]
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or(t.len(), |n| start + n);
    let number = t[start..end].trim_end_matches('.');
    if number.contains('.') && number.parse::<f64>().is_ok() {
        return format!("{}#{}", &t[..start], &t[start + number.len()..]);
    }
    if let Some(i) = t.find("127.0.0.1:") {
        let rest = &t[i + "127.0.0.1:".len()..];
        let port_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        return format!("{}127.0.0.1:#{}", &t[..i], &rest[port_end..]);
    }
    t.to_string()
}

fn golden(name: &str, actual: &str) {
    let path = repo(&format!("tests/run/golden/{name}"));
    if std::env::var_os("TOKENSTORM_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (TOKENSTORM_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(n, (e, a))| format!("line {}:\n  golden: {e}\n  actual: {a}", n + 1))
            .unwrap_or_else(|| "one output is a prefix of the other".into());
        panic!(
            "{name} differs from {} (first difference at {first}); if the change is intended, \
             regenerate with TOKENSTORM_BLESS=1 and review the diff",
            path.display()
        );
    }
}

/// Runs `tokenstorm run ARGS` (from the package root, where cargo runs tests); returns stdout and the report.
fn run_ok(args: &[&str], out_dir: &Path) -> (String, Value) {
    let (o, report) = run(args, out_dir);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    (text(&o.stdout), report.expect("report.json written"))
}

#[test]
fn quickstart_report_and_table_match_the_golden_files_with_run_varying_fields_masked() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--seed", "42", "--attempts", "600", "--duration", "30"];
    let (stdout, mut report) = run_ok(&args, &dir.path().join("out"));
    mask_json(&mut report, &[]);
    golden(
        "quickstart-report.json",
        &(serde_json::to_string_pretty(&report).unwrap() + "\n"),
    );
    golden("quickstart-terminal.txt", &mask_terminal(&stdout));
}

/// The MQTT/TLS and WebSocket half of `scenarios/mixed-transports.toml` (HTTPS weighted 0): MQTT rows, phases and
/// the ledger's transports in report.json.
#[test]
fn mqtt_and_wss_report_matches_the_golden_file_with_run_varying_fields_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = std::fs::read_to_string(repo("scenarios/mixed-transports.toml")).unwrap();
    let body = mixed
        .replace("\nhttps = 30.0\n", "\nhttps = 0.0\n")
        .replace("name = \"mixed-transports\"", "name = \"mqtt-wss\"");
    assert_ne!(
        body, mixed,
        "mixed-transports.toml changed: update this test's edit"
    );
    let path = write_scenario(dir.path(), "mqtt-wss.toml", &body);
    let args = [
        path.to_str().unwrap(),
        "--attempts",
        "300",
        "--duration",
        "12",
        "--rate",
        "300",
    ];
    let (_, mut report) = run_ok(&args, &dir.path().join("out"));
    mask_json(&mut report, VARYING_MQTT);
    // The scenario's path is the temporary directory's.
    report["scenario"]["file"] = Value::String(MASK.into());
    golden(
        "mqtt-wss-report.json",
        &(serde_json::to_string_pretty(&report).unwrap() + "\n"),
    );
}

#[test]
fn the_masks_keep_counts_and_hide_what_varies() {
    let out = "x 0.1.0 · seed 42 · run 5386268b\ntarget: https://127.0.0.1:45815 (SNI x)\n  https  valid  480   3.47  10.17 479.1/s\n";
    assert_eq!(
        mask_terminal(out),
        "x 0.1.0 · seed 42 · run <varies>\ntarget: https://127.0.0.1:# (SNI x)\nhttps valid 480 # # #/s\n"
    );
    let mut v =
        serde_json::json!({"run_id": "ab", "results": [{"count": 3, "latency_us": {"p50": 1}}]});
    mask_json(&mut v, &[]);
    assert_eq!(
        v,
        serde_json::json!({"run_id": MASK, "results": [{"count": 3, "latency_us": MASK}]})
    );
}
