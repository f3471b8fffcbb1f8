//! The cost section: a fixed small run whose bill is computed by hand, and the cost-abuse scenarios.

use super::*;

fn row<'a>(report: &'a Value, class: &str) -> &'a Value {
    report["cost"]["by_class"]
        .as_array()
        .expect("cost.by_class")
        .iter()
        .find(|r| r["class"] == class)
        .expect("a row per class")
}

/// Closed model, exactly 40 attempts: 10 valid and 30 forged with signing disabled, in-process function billed
/// 100 ms at 256 MB, 6000-byte payloads (two 5 KB IoT messages each), arm64 prices.
#[test]
fn cost_figures_match_a_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "bill.toml",
        r#"
[run]
model = "closed"
concurrency = 4
max_attempts = 40
duration_s = 60.0
[devices]
count = 8
token = "per_device"
[authorizer]
signing_disabled = true
[authorizer.function]
mode = "allow"
memory_mb = 256
billed_duration_ms = 100
[http]
payload_bytes = 6000
[mix]
valid = 1.0
forged = 3.0
replayed = 0.0
# An unknown authorizer name is refused before any signature check, signing disabled or not.
[mix.forged_variants]
unknown_authorizer = 0.0
# The hand computation needs all 40 attempts: the forged invocations must not stop the run.
[abort]
on_forged_invocation = false
[pricing]
architecture = "arm64"
requests_per_million_usd = 0.2
gb_second_usd_arm64 = 0.0000133334
messages_per_million_usd = 1.0
"#,
    );
    let (o, report) = run(&[scenario.to_str().unwrap()], &dir.path().join("out"));
    // Forged attempts reach the function with signing disabled: forged_never_invoked fails, exit 1.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = report.expect("report");
    let stdout = text(&o.stdout);
    assert!(stdout.contains("cost (USD, Lambda arm64"), "{stdout}");
    assert!(
        stdout.contains("sustained for 24 h at this rate"),
        "{stdout}"
    );
    let counts = class_counts(&r);
    let valid = counts.get("valid").copied().unwrap_or(0);
    let forged: u64 = counts
        .iter()
        .filter(|(k, _)| k.starts_with("forged."))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(valid + forged, 40);
    assert!(valid > 0 && forged > 0, "{counts:?}");
    let c = &r["cost"];
    assert_eq!(c["architecture"], "arm64");
    let elapsed_ms = c["elapsed_ms"].as_u64().unwrap();
    assert!(elapsed_ms > 0);
    let half_up = |n: u128, d: u128| (2 * n + d) / (2 * d);
    for (class, n) in [("valid", valid), ("forged", forged)] {
        let got = row(&r, class);
        let n128 = u128::from(n);
        // Every attempt invoked the function once (no caching), and every invocation is billed.
        assert_eq!(got["invocations"], n, "{class}");
        assert_eq!(got["billed_requests"], n, "{class}");
        assert_eq!(got["billed_ms"], n * 100, "{class}");
        // $0.20 per million = 200_000_000_000 pUSD per million requests.
        let req = half_up(n128 * 200_000_000_000, 1_000_000);
        // 256 MB × 100 ms per invocation; $0.0000133334 per GB-s = 13_333_400 pUSD; 1 GB-s = 1024 × 1000 MB·ms.
        let compute = half_up(n128 * 256 * 100 * 13_333_400, 1024 * 1000);
        // Every publish is answered 200 (signing disabled lets forged ones through to the allow-all
        // function) and counts as 2 IoT messages of 5 KB.
        let messages = n * 2;
        let msg = half_up(u128::from(messages) * 1_000_000_000_000, 1_000_000);
        assert_eq!(got["lambda_requests_pusd"].as_u64().unwrap() as u128, req);
        assert_eq!(
            got["lambda_compute_pusd"].as_u64().unwrap() as u128,
            compute
        );
        assert_eq!(got["messages"], messages);
        assert_eq!(got["messaging_pusd"].as_u64().unwrap() as u128, msg);
        let total = req + compute + msg;
        assert_eq!(got["total_pusd"].as_u64().unwrap() as u128, total);
        assert!((got["total_usd"].as_f64().unwrap() - total as f64 / 1e12).abs() < 1e-15);
        let day = half_up(total * 86_400_000, u128::from(elapsed_ms));
        assert!(
            (got["per_24h_usd"].as_f64().unwrap() - day as f64 / 1e12).abs() < 1e-12,
            "{class}: {got}"
        );
        assert!((got["gb_seconds"].as_f64().unwrap() - n as f64 * 0.025).abs() < 1e-9);
    }
    assert_eq!(row(&r, "replayed")["invocations"], 0);
    assert_eq!(row(&r, "fuzz")["total_pusd"], 0);
    let sum: u64 = c["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["total_pusd"].as_u64().unwrap())
        .sum();
    assert_eq!(c["total"]["total_pusd"], sum);
}

/// A replay-resistant run against the in-process allow-all function: the generator side alone. Pools of 3 tokens
/// per device: the fourth valid attempt of a device is not sent (`exhausted`), replays are sent only once a
/// token was allowed, and expired tokens go out from the start. The function allows everything (it checks no
/// nonce), so what the report shows is what the generator sent.
#[test]
fn replay_resistant_pools_run_out_as_exhausted_and_every_variant_has_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "pool.toml",
        r#"
[run]
model = "closed"
concurrency = 1
max_attempts = 60
duration_s = 30.0
[devices]
count = 4
token = "replay_resistant"
token_pool = 3
token_max_age_s = 300
[mix]
valid = 2.0
forged = 1.0
replayed = 1.0
[mix.replayed_variants]
other_device = 1.0
reused_nonce = 1.0
expired = 1.0
"#,
    );
    let (o, report) = run(&[scenario.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let r = report.expect("report");
    let mut by = std::collections::BTreeMap::<(String, String), u64>::new();
    for row in r["results"].as_array().unwrap() {
        let label = row_label(row);
        *by.entry((label, row["outcome"].as_str().unwrap().to_string()))
            .or_default() += row["count"].as_u64().unwrap();
    }
    let get = |l: &str, o: &str| {
        by.get(&(l.to_string(), o.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // 4 devices × 3 pool tokens: at most 12 valid attempts are sent, the rest end as exhausted.
    let valid_sent = get("valid", "allowed");
    assert_eq!(valid_sent, 12, "{by:?}");
    assert!(get("valid", "exhausted") > 0, "{by:?}");
    // Expired tokens are well-formed and signed: the allow-all function lets them in.
    assert!(get("replayed.expired", "allowed") > 0, "{by:?}");
    let exhausted_or_allowed = |l: &str| get(l, "allowed") + get(l, "exhausted");
    let counts = class_counts(&r);
    for l in ["replayed", "replayed.reused_nonce"] {
        assert!(counts.contains_key(l), "{l}: {by:?}");
        assert_eq!(exhausted_or_allowed(l), counts[l], "{l}: {by:?}");
    }
    // Forged attempts never reach the function; nothing is unexplained.
    assert_eq!(r["verdict"], "pass");
    let inv = r["invocations"]["by_class"].as_array().unwrap();
    let invoked: u64 = inv.iter().map(|c| c["invocations"].as_u64().unwrap()).sum();
    let exhausted: u64 = by
        .iter()
        .filter(|((_, o), _)| o == "exhausted")
        .map(|(_, n)| n)
        .sum();
    let refused: u64 = counts
        .iter()
        .filter(|(k, _)| !reaches_authorizer(k))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(invoked, 60 - exhausted - refused, "{by:?}");
    // The report names the scheme without any token.
    let tokens = r["scenario"]["tokens"][0].as_str().unwrap();
    assert!(
        tokens.starts_with("v1.device000000.<issue unix_s>.<nonce>"),
        "{tokens}"
    );
}

#[test]
fn replay_resistant_settings_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "expired.toml",
            "[mix.replayed_variants]\nexpired = 1.0\n",
            "mix.replayed_variants.expired",
        ),
        (
            "pool.toml",
            "[devices]\ntoken = \"replay_resistant\"\ntoken_pool = 100001\n",
            "devices.token_pool",
        ),
        (
            "age.toml",
            "[devices]\ntoken = \"replay_resistant\"\ntoken_max_age_s = 5\n",
            "devices.token_max_age_s",
        ),
        (
            "price.toml",
            "[pricing]\nrequests_per_million_usd = -0.2\n",
            "pricing.requests_per_million_usd",
        ),
        (
            "arch.toml",
            "[pricing]\narchitecture = \"riscv\"\n",
            "pricing.architecture",
        ),
    ];
    for (name, body, want) in cases {
        let path = write_scenario(dir.path(), name, body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: want {want:?} in {stderr}");
        assert!(report.is_none());
    }
}

/// The two HTTP caching scenarios send the same traffic; with enableCachingForHttp the function runs about once
/// per keep-alive connection, and the bill's Lambda part shrinks accordingly.
#[test]
fn http_caching_scenarios_show_the_invocations_caching_saves() {
    let dir = tempfile::tempdir().unwrap();
    let mut lambda = Vec::new();
    for name in ["cost-abuse-http-caching", "cost-abuse-http-no-caching"] {
        let out = dir.path().join(name);
        let path = repo(&format!("scenarios/{name}.toml"));
        let (o, report) = run(
            &[
                path.to_str().unwrap(),
                "--attempts",
                "400",
                "--duration",
                "60",
            ],
            &out,
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stdout));
        let r = report.expect("report");
        let valid = row(&r, "valid");
        assert_eq!(valid["attempts"], 400, "{name}");
        assert_eq!(
            valid["messages"], 400,
            "{name}: every publish allowed and billed"
        );
        // Attempts, attempts that reached the function, cache hits and invocations are separate counts.
        let inv = r["invocations"]["by_class"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["class"] == "valid")
            .unwrap();
        let n = |k: &str| inv[k].as_u64().unwrap();
        assert_eq!(n("reached") + n("cache_hits"), 400, "{name}: {inv}");
        assert_eq!(
            n("invocations"),
            n("reached") + n("refreshes"),
            "{name}: {inv}"
        );
        assert_eq!(
            n("cache_hits") > 0,
            name == "cost-abuse-http-caching",
            "{inv}"
        );
        lambda.push((
            valid["invocations"].as_u64().unwrap(),
            valid["lambda_requests_pusd"].as_u64().unwrap()
                + valid["lambda_compute_pusd"].as_u64().unwrap(),
        ));
    }
    let (cached, uncached) = (lambda[0], lambda[1]);
    assert_eq!(
        uncached.0, 400,
        "without caching: one invocation per publish"
    );
    // 50 devices, one keep-alive connection each (a few may reconnect).
    assert!(cached.0 >= 50 && cached.0 < 100, "with caching: {cached:?}");
    assert!(cached.1 * 4 < uncached.1, "{cached:?} vs {uncached:?}");
}
