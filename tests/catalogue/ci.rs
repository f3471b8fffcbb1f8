//! `scenarios/ci-security.toml` as CI runs it: against its embedded emulator, shortened; exit 0 when every
//! invariant holds, exit 1 when the gate lets forged credentials through. Every replay variant goes over every
//! transport, reaches the in-process replay-resistant function once per attempt sent, and is denied by it.

use std::collections::BTreeMap;

use serde_json::Value;
use tokenstorm::contract::Transport;

use crate::run::{invariant, repo, run, text, write_scenario};

/// Replay attempts sent (not `exhausted`) and how they ended, per (transport, variant label).
fn replays_sent(r: &Value) -> BTreeMap<(String, String), BTreeMap<String, u64>> {
    let mut out: BTreeMap<_, BTreeMap<String, u64>> = BTreeMap::new();
    for row in r["results"].as_array().unwrap() {
        if row["class"] != "replayed" || row["outcome"] == "exhausted" {
            continue;
        }
        let variant = row["variant"]
            .as_str()
            .unwrap_or("other_device")
            .to_string();
        let key = (row["transport"].as_str().unwrap().to_string(), variant);
        *out.entry(key)
            .or_default()
            .entry(row["outcome"].as_str().unwrap().to_string())
            .or_default() += row["count"].as_u64().unwrap();
    }
    out
}

#[test]
fn ci_security_passes_against_the_embedded_emulator() {
    let out = tempfile::tempdir().unwrap();
    let scenario = repo("scenarios/ci-security.toml");
    // 10 s: an MQTT device resends its own token only after one was allowed, and other tests share the CPU.
    let (o, r) = run(
        &[scenario.to_str().unwrap(), "--duration", "10"],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.expect("report.json");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    assert!(
        invariant(&r, "forged_never_invoked")["details"]["forged_attempts"]
            .as_u64()
            .unwrap()
            > 0
    );
    // The terminal marks the forged variants that pass the gate under the default settings, and says why.
    let stdout = text(&o.stdout);
    assert!(stdout.contains("forged.duplicated_token †"), "{stdout}");
    assert!(
        !stdout.contains("forged.duplicated_signature †"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "† passes the gate under query_plus=literal, duplicates=first, query_names=exact"
        ),
        "{stdout}"
    );
    assert_eq!(invariant(&r, "oracle_passes")["status"], "pass");

    // Every replay variant over every transport, each one refused (403, or the connection closed).
    let sent = replays_sent(&r);
    for t in Transport::ALL {
        for v in ["other_device", "reused_nonce", "expired"] {
            let outcomes = sent
                .get(&(t.as_str().to_string(), v.to_string()))
                .unwrap_or_else(|| panic!("{} {v}: no replay sent: {sent:?}", t.as_str()));
            let refusal = if t.is_mqtt() {
                "closed_without_connack"
            } else {
                "forbidden"
            };
            assert_eq!(
                outcomes.keys().collect::<Vec<_>>(),
                vec![refusal],
                "{} {v}",
                t.as_str()
            );
        }
    }
    // ... each reaching the function once per attempt sent, and denied by it (the valid ones allowed).
    for row in r["invocations"]["by_class"].as_array().unwrap() {
        let label = row["variant"].as_str().unwrap_or("other_device");
        let invocations = row["invocations"].as_u64().unwrap();
        match row["class"].as_str().unwrap() {
            "replayed" => {
                let n: u64 = sent
                    .iter()
                    .filter(|((_, v), _)| v == label)
                    .flat_map(|(_, o)| o.values())
                    .sum();
                assert!(n > 0, "{row}");
                assert_eq!(invocations, n, "{label}: {row}");
                assert_eq!(row["denied"].as_u64(), Some(n), "{label}: {row}");
            }
            "valid" => {
                assert!(invocations > 0, "{row}");
                assert_eq!(row["allowed"].as_u64(), Some(invocations), "{row}");
            }
            // Forged variants the gate must refuse never reach the function; the few that pass under the
            // default gate settings (`raw_plus`, `duplicated_token`, `smuggled_equals`) do, as the oracle says.
            _ if crate::run::refused_row(row) => assert_eq!(invocations, 0, "{row}"),
            _ => assert!(invocations > 0, "{row}"),
        }
    }
}

#[test]
fn ci_security_exits_1_when_forged_credentials_reach_the_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo("scenarios/ci-security.toml")).unwrap();
    let leaky = src.replace(
        "token_key_name = \"X-My-App-custom-key\"\n",
        "token_key_name = \"X-My-App-custom-key\"\nsigning_disabled = true\n",
    );
    assert_ne!(leaky, src);
    let path = write_scenario(dir.path(), "ci-security-leaky.toml", &leaky);
    let (o, r) = run(
        &[path.to_str().unwrap(), "--duration", "2"],
        &dir.path().join("out"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let r = r.expect("report.json");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "fail");
}
