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
