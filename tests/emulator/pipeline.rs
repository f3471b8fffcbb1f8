//! After the gate: the function's answer, response validation, policy evaluation, the per-connection cache,
//! malformed requests, and the admin API.

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::{Route, Transport};
use tokenstorm::emulator::metrics::Outcome;

use super::{refs, seed_headers};
use crate::support::client::Conn;
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, SEED_TOPIC, attacker_key, sign, signing_key,
};

#[tokio::test]
async fn seed_policy_allows_its_topic_and_denies_another_after_invoking() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::seed_article())],
        None,
    ))
    .await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    conn.post(&format!("/topics/{SEED_TOPIC}?qos=1"), &refs(&h))
        .await
        .assert_message(200, "OK");
    conn.post("/topics/otherTopic?qos=1", &refs(&h))
        .await
        .assert_message(403, "Forbidden");
    // Percent-encoded topics are decoded before the policy sees them.
    conn.post("/topics/customAuht%54estTopic", &refs(&h))
        .await
        .assert_message(200, "OK");
    let entries = emu.ledger().entries();
    assert_eq!(
        entries.len(),
        3,
        "the denied publish still invoked the authorizer"
    );
    assert_eq!(entries[1].verdict, "deny");
    assert_eq!(
        entries[1].deny_text().as_deref(),
        Some("policy_implicit_deny")
    );
    assert_eq!(
        emu.metrics()
            .requests(Route::of(Transport::Https), Outcome::PolicyDenied),
        1
    );
    emu.stop().await;
}

#[tokio::test]
async fn caching_for_http_reuses_the_result_per_connection() {
    let mut spec = seed_authorizer(FunctionBehaviour::seed_article());
    spec.enable_caching_for_http = true;
    let emu = start(config(vec![spec], None)).await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    let mut first = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    for _ in 0..3 {
        first
            .post(&format!("/topics/{SEED_TOPIC}"), &refs(&h))
            .await
            .assert_message(200, "OK");
    }
    // The cached policy is still evaluated per topic.
    first
        .post("/topics/otherTopic", &refs(&h))
        .await
        .assert_message(403, "Forbidden");
    assert_eq!(
        emu.ledger().len(),
        1,
        "one invocation for the whole keep-alive connection"
    );
    // Another connection is another cache.
    let mut second = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    second
        .post(&format!("/topics/{SEED_TOPIC}"), &refs(&h))
        .await
        .assert_message(200, "OK");
    assert_eq!(emu.ledger().len(), 2);
    // Another token on the same connection is not served from the cache, and a forged one still hits the gate.
    let other = vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, "another".to_string()),
        (
            "x-amz-customauthorizer-signature",
            sign(signing_key(), "another"),
        ),
    ];
    second
        .post(&format!("/topics/{SEED_TOPIC}"), &refs(&other))
        .await
        .assert_message(200, "OK");
    second
        .post(
            &format!("/topics/{SEED_TOPIC}"),
            &refs(&seed_headers(&sign(attacker_key(), SEED_TOKEN))),
        )
        .await
        .assert_message(403, "Forbidden");
    assert_eq!(emu.ledger().len(), 3);
    assert_eq!(emu.metrics().invocations(SEED_AUTHORIZER), 3);

    // Without enableCachingForHttp every publish invokes.
    let plain = start(config(
        vec![seed_authorizer(FunctionBehaviour::seed_article())],
        None,
    ))
    .await;
    let mut conn = Conn::http(plain.addrs().http.unwrap()).await;
    for _ in 0..3 {
        conn.post(&format!("/topics/{SEED_TOPIC}"), &refs(&h))
            .await
            .assert_message(200, "OK");
    }
    assert_eq!(plain.ledger().len(), 3);
    plain.stop().await;
    emu.stop().await;
}

#[tokio::test]
async fn table_mode_and_invalid_responses_deny() {
    let table = FunctionBehaviour::Table {
        entries: vec![
            (
                "good".into(),
                serde_json::json!({"isAuthenticated": true, "principalId": "dev1",
                "policyDocuments": ["{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iot:Publish\",\"Resource\":\"*\"}}"]}),
            ),
            (
                "badprincipal".into(),
                serde_json::json!({"isAuthenticated": true, "principalId": "dev-1", "policyDocuments": []}),
            ),
            ("no".into(), serde_json::json!({"isAuthenticated": false})),
        ],
        fallback: Box::new(FunctionBehaviour::Deny),
    };
    let emu = start(config(vec![seed_authorizer(table)], None)).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let cases = [
        ("good", 200, None),
        (
            "badprincipal",
            403,
            Some("invalid_response: principalId has characters outside [a-zA-Z0-9]"),
        ),
        ("no", 403, Some("not_authenticated")),
        ("unlisted", 403, Some("not_authenticated")),
    ];
    for (token, status, _) in cases {
        let h = vec![
            ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
            (SEED_TOKEN_KEY_NAME, token.to_string()),
            (
                "x-amz-customauthorizer-signature",
                sign(signing_key(), token),
            ),
        ];
        let reply = conn.post("/topics/t", &refs(&h)).await;
        reply.assert_message(status, if status == 200 { "OK" } else { "Forbidden" });
    }
    let entries = emu.ledger().entries();
    assert_eq!(entries.len(), 4);
    for (entry, (token, _, reason)) in entries.iter().zip(cases) {
        assert_eq!(entry.event.value()["token"], token);
        assert_eq!(entry.deny_text().as_deref(), reason);
    }
    assert_eq!(
        emu.metrics()
            .requests(Route::PLAIN_HTTP, Outcome::AuthorizerDenied),
        3
    );
    emu.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_refused_before_the_gate() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    let r = conn
        .send(hyper::Method::GET, "/topics/t", &refs(&h), b"")
        .await;
    r.assert_message(405, "Method Not Allowed");
    conn.post("/nothing", &refs(&h))
        .await
        .assert_message(404, "Not Found");
    conn.post("/topics/t?qos=2", &refs(&h))
        .await
        .assert_message(400, "qos must be 0 or 1");
    conn.post("/topics/", &refs(&h))
        .await
        .assert_message(400, "The topic is empty");
    let big = vec![b'x'; 128 * 1024 + 1];
    let r = conn
        .send(hyper::Method::POST, "/topics/t", &refs(&h), &big)
        .await;
    r.assert_message(413, "Payload Too Large");
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let exact = vec![b'x'; 128 * 1024];
    conn.send(hyper::Method::POST, "/topics/t", &refs(&h), &exact)
        .await
        .assert_message(200, "OK");
    assert_eq!(emu.ledger().len(), 1);
    let m = emu.metrics();
    assert_eq!(m.requests(Route::PLAIN_HTTP, Outcome::NotFound), 2);
    assert_eq!(m.requests(Route::PLAIN_HTTP, Outcome::BadRequest), 2);
    assert_eq!(m.requests(Route::PLAIN_HTTP, Outcome::PayloadTooLarge), 1);
    emu.stop().await;
}

#[tokio::test]
async fn retain_needs_iot_retain_publish_too() {
    let retaining = FunctionBehaviour::Allow {
        principal_id: "p".into(),
        policy_documents: vec![serde_json::json!({"Statement": [{"Effect": "Allow",
            "Action": ["iot:Publish", "iot:RetainPublish"], "Resource": "arn:aws:iot:*:*:topic/r/*"}]})],
        disconnect_after_s: 86400,
        refresh_after_s: 300,
    };
    let emu = start(config(
        vec![
            seed_authorizer(FunctionBehaviour::seed_article()),
            crate::support::emulator::authorizer("Retaining", &[0], retaining),
        ],
        None,
    ))
    .await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    let seed_retained = format!("/topics/{SEED_TOPIC}?qos=1&retain=true");
    conn.post(&seed_retained, &refs(&h))
        .await
        .assert_message(403, "Forbidden");
    conn.post(
        &format!("/topics/{SEED_TOPIC}?qos=1&retain=false"),
        &refs(&h),
    )
    .await
    .assert_message(200, "OK");
    let mut r = h.clone();
    r[0].1 = "Retaining".into();
    conn.post("/topics/r%2Fx?retain=true", &refs(&r))
        .await
        .assert_message(200, "OK");
    assert_eq!(emu.ledger().len(), 3);
    emu.stop().await;
}

#[tokio::test]
async fn admin_ledger_pages_and_refuses_bad_parameters() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    for i in 0..5 {
        let attempt = format!("a-{i}");
        let mut with_id = refs(&h);
        with_id.push(("x-tokenstorm-attempt", &attempt));
        conn.post("/topics/t", &with_id)
            .await
            .assert_message(200, "OK");
    }
    let mut admin = Conn::http(emu.addrs().admin.unwrap()).await;
    let page = admin.get("/ledger?since=1&limit=2").await.json();
    let ids: Vec<_> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["attempt_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ids, [(2, "a-1".to_string()), (3, "a-2".to_string())]);
    let back: Vec<tokenstorm::contract::LedgerEntry> =
        serde_json::from_value(admin.get("/ledger").await.json()["entries"].clone()).unwrap();
    assert_eq!(back, emu.ledger().entries());
    admin
        .get("/ledger?since=-1")
        .await
        .assert_message(400, "since must be a non-negative integer");
    admin
        .get("/ledger?limit=x")
        .await
        .assert_message(400, "limit must be a non-negative integer");
    admin.get("/nope").await.assert_message(404, "Not Found");
    admin
        .send(hyper::Method::POST, "/metrics", &[], b"")
        .await
        .assert_message(405, "Method Not Allowed");
    let metrics = admin.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("tokenstorm_requests_total{transport=\"http\",outcome=\"allowed\"} 5\n")
    );
    emu.stop().await;
}

#[tokio::test]
async fn garbage_and_oversized_heads_do_not_disturb_the_emulator() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;

    // Not TLS at all on the TLS port: the handshake fails and the connection is dropped.
    let mut raw = tokio::net::TcpStream::connect(emu.addrs().https.unwrap())
        .await
        .unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        raw.read_to_end(&mut buf),
    )
    .await;
    assert!(read.is_ok(), "the emulator closes a non-TLS connection");

    // A request head over the 16 KiB limit is refused by the HTTP layer (431) before any handler runs.
    let mut raw = tokio::net::TcpStream::connect(emu.addrs().http.unwrap())
        .await
        .unwrap();
    let head = format!(
        "POST /topics/t HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        raw.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");

    // Still serving, and none of it reached the authorizer.
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let h = seed_headers(&sign(signing_key(), SEED_TOKEN));
    conn.post("/topics/t", &refs(&h))
        .await
        .assert_message(200, "OK");
    assert_eq!(emu.ledger().len(), 1);
    emu.stop().await;
}
