//! The emulator's `GET /refusals` holds, for each request its gate refused, the same explanation `tokenstorm
//! explain` gives for that request (HTTPS headers, an MQTT username with a second `?`, a forged MQTT signature),
//! newest first, with the attempt id; refused valid attempts are kept apart.

use serde_json::Value;
use tokenstorm::contract::authorizer::{AuthorizerStatus, FunctionBehaviour};
use tokenstorm::wire::query::encode_component;

use super::cli::{authorizer_flags, explain};
use crate::support::client::Conn;
use crate::support::emulator::{authorizer, config, seed_authorizer, start};
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign};
use crate::support::mqtt::{Raw, connect};

/// The parts of `explain --json` that `/refusals` keeps.
fn gate_part(v: &Value) -> Value {
    serde_json::json!({
        "items": v["items"], "rule": v["rule"], "fix": v["fix"], "authorizer": v["authorizer"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_hold_the_explanations_explain_gives() {
    let mut off = authorizer("Off", &[0], FunctionBehaviour::default_allow());
    off.status = AuthorizerStatus::Inactive;
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow()), off],
        Some(SEED_AUTHORIZER),
    ))
    .await;
    let forged = sign(attacker_key(), SEED_TOKEN);
    let url_safe = forged.replace('+', "-").replace('/', "_");

    // HTTPS: a valid attempt's id with a forged signature, then a base64url one in the query.
    let mut http = Conn::http(emu.addrs().http.unwrap()).await;
    let headers = [
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN),
        ("x-amz-customauthorizer-signature", forged.as_str()),
        ("x-tokenstorm-attempt", "r1-valid-0-0"),
    ];
    assert_eq!(http.post("/topics/t?qos=1", &headers).await.status, 403);
    let query = format!(
        "qos=1&x-amz-customauthorizer-signature={}",
        encode_component(&url_safe)
    );
    let path = format!("/topics/t?{query}");
    let second = [
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN),
        ("x-tokenstorm-attempt", "r1-forged.base64url-0-1"),
    ];
    assert_eq!(http.post(&path, &second).await.status, 403);

    // MQTT: a username with a second `?`, then a forged signature.
    let mqtt = emu.addrs().mqtt.unwrap();
    let creds = format!(
        "x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}\
         &x-amz-customauthorizer-signature={}",
        encode_component(&forged)
    );
    let usernames = [
        format!("ts-r1-valid-0-2?SDK=x?{creds}"),
        format!("ts-r1-forged.wrong_key-0-3?{creds}"),
    ];
    for u in &usernames {
        let mut raw = Raw::tcp(mqtt).await;
        raw.send(&connect(4, "c", Some(u), None, 30)).await;
        raw.expect_closed(u).await;
    }

    let mut admin = Conn::http(emu.addrs().admin.unwrap()).await;
    let page = admin.get("/refusals").await.json();
    let refusals = page["refusals"].as_array().unwrap();
    let ids: Vec<&str> = refusals
        .iter()
        .map(|r| r["attempt_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "r1-forged.wrong_key-0-3",
            "r1-valid-0-2",
            "r1-forged.base64url-0-1",
            "r1-valid-0-0"
        ]
    );
    let rules: Vec<&str> = refusals
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "signature_mismatch",
            "malformed_username",
            "not_base64",
            "signature_mismatch"
        ]
    );
    let valid: Vec<&str> = page["valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attempt_id"].as_str().unwrap())
        .collect();
    assert_eq!(valid, ["r1-valid-0-0", "r1-valid-0-2"]);
    // The rule is the reason `/metrics` counts it under.
    let metrics = admin.get("/metrics").await.body;
    for (reason, n) in [
        ("signature_mismatch", 2),
        ("malformed_username", 1),
        ("not_base64", 1),
    ] {
        let line = format!("tokenstorm_gate_rejections_total{{reason=\"{reason}\"}} {n}\n");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    assert_eq!(refusals[0]["transport"], "mqtt");
    assert_eq!(refusals[3]["transport"], "http");

    // The same requests through `tokenstorm explain`.
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    let header_flags = |hs: &[(&str, &str)]| -> Vec<String> {
        hs.iter()
            .flat_map(|(k, v)| ["--header".to_string(), format!("{k}: {v}")])
            .collect()
    };
    let mut cases: Vec<Vec<String>> = usernames
        .iter()
        .rev()
        .map(|u| {
            vec![
                "--mqtt-username".to_string(),
                u.clone(),
                "--transport".into(),
                "mqtt".into(),
            ]
        })
        .collect();
    let mut q = vec!["--url".to_string(), path.clone()];
    q.extend(header_flags(&second));
    cases.push(q);
    let mut h = vec!["--url".to_string(), "/topics/t?qos=1".into()];
    h.extend(header_flags(&headers));
    cases.push(h);
    for (refusal, case) in refusals.iter().zip(cases) {
        let mut args = auth.clone();
        args.extend(case);
        let (code, json, stderr) = explain(dir.path(), &args);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(
            gate_part(&json),
            refusal["explanation"],
            "{}",
            refusal["attempt_id"]
        );
    }
    let text = tokenstorm::emulator::refusals::RECENT;
    assert_eq!(page["capacity"], text);
    emu.stop().await;
}
