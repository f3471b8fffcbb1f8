//! `tokenstorm run --preflight` on the real binary: the plan, the caps in force and the prediction printed, then
//! exactly one valid and one forged attempt per transport (counted by the emulator itself), each answer printed
//! and recorded in `preflight.json`; exit 0 when each answered as it must, 1 when one did not, 2 on setup errors.

use super::*;

/// Runs `tokenstorm run --preflight` (not quiet: the preflight prints to stdout either way).
fn preflight(path: &Path, out: &Path, extra: &[&str]) -> (Output, Option<Value>) {
    let o = Command::new(bin())
        .args(["run", path.to_str().unwrap(), "--preflight", "--out-dir"])
        .arg(out)
        .args(extra)
        .output()
        .expect("tokenstorm runs");
    let record = std::fs::read_dir(out).ok().and_then(|mut d| {
        let dir = d.next()?.ok()?.path();
        assert!(
            !dir.join("report.json").exists(),
            "a preflight writes no report"
        );
        let text = std::fs::read_to_string(dir.join("preflight.json")).ok()?;
        Some(serde_json::from_str(&text).expect("preflight.json is JSON"))
    });
    (o, record)
}

/// The probes of `record`, as (transport, class, outcome, invoked).
fn probes(record: &Value) -> Vec<(String, String, String, Value)> {
    record["probes"]
        .as_array()
        .expect("probes[]")
        .iter()
        .map(|p| {
            (
                p["transport"].as_str().unwrap().to_string(),
                p["class"].as_str().unwrap().to_string(),
                p["outcome"].as_str().unwrap().to_string(),
                p["invoked"].clone(),
            )
        })
        .collect()
}

#[test]
fn an_embedded_preflight_prints_the_plan_and_probes_every_transport_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (o, record) = preflight(&repo("scenarios/mixed-transports.toml"), &out, &[]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    for line in [
        "loopback target, addresses 127.0.0.1",
        "plan: 300 devices (90 https, 180 mqtt_tls, 30 wss)",
        "caps in force: client_id_gap_s 1.0",
        "abort guards: min_attempts 50, on_forged_invocation true",
        "predicted: 7000 attempts, 5950 invocations,",
        "preflight: PASS (exit 0)",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    let r = record.expect("preflight.json");
    assert_eq!(r["passed"], true);
    let mut want = Vec::new();
    for t in ["https", "mqtt_tls", "wss"] {
        want.push((
            t.to_string(),
            "valid".to_string(),
            "allowed".to_string(),
            Value::Bool(true),
        ));
        let refused = if t == "https" {
            "forbidden"
        } else {
            "closed_without_connack"
        };
        want.push((
            t.to_string(),
            "forged.wrong_key".to_string(),
            refused.to_string(),
            Value::Bool(false),
        ));
    }
    assert_eq!(probes(&r), want);
    assert_eq!(stdout.matches(" ms  invoked: ").count(), 6, "{stdout}");
    // What the load sends is what AWS serves: ALPN mqtt on MQTT/TLS, encoded signatures, one '?'.
    assert_eq!(r["warnings"], serde_json::json!([]), "{stdout}");
    assert!(!stdout.contains("warning ("), "{stdout}");
    // The policy dry run on the function's answer to each valid probe, against that transport's devices.
    for t in ["https", "mqtt_tls", "wss"] {
        let head = format!("policy check of the function's answer to the {t} probe:");
        assert!(stdout.contains(&head), "{head:?} in\n{stdout}");
    }
    assert_eq!(
        stdout.matches("policy check: PASS: every request").count(),
        3,
        "{stdout}"
    );
    let checked = r["policy"].as_array().expect("policy[]");
    assert_eq!(checked.len(), 3);
    assert!(
        checked
            .iter()
            .all(|c| c["report"]["denials"] == serde_json::json!([]))
    );
}

#[test]
fn a_policy_that_says_topic_for_a_subscription_fails_the_preflight() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo("scenarios/mixed-transports.toml")).unwrap();
    let wrong = original.replace(
        "arn:aws:iot:*:*:topicfilter/tokenstorm/${iot:ClientId}",
        "arn:aws:iot:*:*:topic/tokenstorm/${iot:ClientId}",
    );
    assert_ne!(wrong, original);
    let path = write_scenario(dir.path(), "topic-for-subscribe.toml", &wrong);
    let (o, record) = preflight(&path, &dir.path().join("out"), &[]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    for line in [
        "iot:Subscribe denied for 180 request(s): no statement allows",
        "iot:Subscribe denied for 30 request(s): no statement allows",
        "[subscribe_needs_topicfilter] document 1 statement 3",
        "preflight: FAIL (exit 1): the function's policy denies 210 request(s) the devices make",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    let r = record.expect("preflight.json");
    assert_eq!(r["passed"], false);
    assert!(probes(&r).iter().all(|p| p.2 != "transport_error"));
}

/// A username with a second `?` is warned about before any probe goes out (and the probe is then refused).
#[test]
fn a_preflight_warns_about_a_username_with_a_second_question_mark() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let body = "[run]\nduration_s = 5.0\nrate_per_s = 10.0\n[devices]\ncount = 4\n\
                [transports]\nhttps = 0.0\nmqtt_tls = 1.0\n\
                [mqtt]\nusername_mode = \"plain\"\nusername = \"device?a=1?b=2\"\n";
    let path = write_scenario(dir.path(), "two-marks.toml", body);
    let (o, record) = preflight(&path, &out, &[]);
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("warning (mqtt_tls): the MQTT username holds 2 '?'"),
        "{stdout}\n{}",
        text(&o.stderr)
    );
    let r = record.expect("preflight.json");
    assert_eq!(r["warnings"][0]["rule"], "second_question_mark");
    assert_eq!(
        r["warnings"].as_array().unwrap().len(),
        1,
        "{:#}",
        r["warnings"]
    );
}

/// The emulator's own count of requests over one transport (every outcome).
fn requests(emu: &crate::support::emulator::Handle, t: tokenstorm::contract::Transport) -> u64 {
    use tokenstorm::emulator::metrics::Outcome;
    Outcome::ALL
        .iter()
        .map(|&o| {
            emu.metrics()
                .requests(tokenstorm::contract::Route::of(t), o)
        })
        .sum()
}

/// An external emulator on loopback, HTTPS and MQTT/TLS, its ledger joined through `admin_url`.
async fn external(
    signing_disabled: bool,
) -> (crate::support::emulator::Handle, tempfile::TempDir, PathBuf) {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    // Allows iot:Connect too (the seed article's policy is for HTTPS publishes only).
    let mut authorizer = emulator::seed_authorizer(FunctionBehaviour::default_allow());
    authorizer.signing_disabled = signing_disabled;
    let emu = emulator::start(emulator::config(
        vec![authorizer],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let body = format!(
        "[run]\nduration_s = 60.0\nrate_per_s = 100.0\n[devices]\ncount = 8\ntoken = \"per_device\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n[transports]\nhttps = 1.0\nmqtt_tls = 1.0\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{}\"\nca_file = {:?}\n\
         mqtt_tls_addr = \"{}\"\n",
        emu.https_port(),
        emu.addrs().admin.expect("admin listener"),
        emu.ca_cert_path(),
        emu.addrs().mqtt_tls.expect("MQTT/TLS listener"),
    );
    let path = write_scenario(dir.path(), "external.toml", &body);
    (emu, dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_preflight_sends_exactly_two_attempts_per_transport() {
    use tokenstorm::contract::Transport;
    let (emu, dir, path) = external(false).await;
    let out = dir.path().join("out");
    let (o, record) = tokio::task::spawn_blocking(move || preflight(&path, &out, &[]))
        .await
        .unwrap();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    assert_eq!(requests(&emu, Transport::Https), 2, "{stdout}");
    assert_eq!(requests(&emu, Transport::MqttTls), 2, "{stdout}");
    // The ledger: one invocation per transport, the valid probe's, named by its attempt id.
    let r = record.expect("preflight.json");
    let ids: Vec<String> = emu
        .ledger()
        .entries()
        .iter()
        .filter_map(|e| e.attempt_id.clone())
        .collect();
    let valid: Vec<String> = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["class"] == "valid")
        .map(|p| p["attempt_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, valid);
    assert_eq!(r["safety"]["remote"], false);
    // The function's answers, read back through admin_url, pass the policy dry run.
    for t in ["https", "mqtt_tls"] {
        let head = format!("policy check of the function's answer to the {t} probe:");
        assert!(stdout.contains(&head), "{head:?} in\n{stdout}");
    }
    assert_eq!(r["policy"].as_array().map(Vec::len), Some(2), "{r:#}");
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_probe_that_reaches_the_function_fails_the_preflight() {
    let (emu, dir, path) = external(true).await;
    let out = dir.path().join("out");
    let (o, record) = tokio::task::spawn_blocking(move || preflight(&path, &out, &[]))
        .await
        .unwrap();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    assert!(
        stdout.contains("preflight: FAIL (exit 1): 2 probe(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("← the forged attempt was allowed"),
        "{stdout}"
    );
    assert_eq!(record.expect("preflight.json")["passed"], false);
    emu.stop().await;
}

#[test]
fn a_preflight_keeps_every_safety_rule_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[run]\nduration_s = 10.0\nrate_per_s = 100.0\n[safety]\nmax_rate_per_s = 10.0\n";
    let path = write_scenario(dir.path(), "over.toml", body);
    let (o, record) = preflight(&path, &dir.path().join("out"), &[]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("safety.max_rate_per_s (10)"), "{stderr}");
    assert!(record.is_none(), "nothing was sent");
}
