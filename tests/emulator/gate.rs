//! The signature gate end to end: where credentials are read from, which authorizer is chosen, key rotation,
//! and `signingDisabled`. A refusal here never reaches the function.

use tokenstorm::contract::GateRejection;
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
async fn https_valid_signature_is_allowed_and_forged_never_invoked() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::seed_article())],
        None,
    ))
    .await;
    let addr = emu.addrs().https.unwrap();
    let mut conn = Conn::https(addr, emu.ca_cert_path(), "localhost").await;
    let path = format!("/topics/{SEED_TOPIC}?qos=1");

    let good = seed_headers(&sign(signing_key(), SEED_TOKEN));
    let reply = conn
        .send(
            hyper::Method::POST,
            &path,
            &[refs(&good), vec![("x-tokenstorm-attempt", "a-1")]].concat(),
            b"Hello",
        )
        .await;
    reply.assert_message(200, "OK");

    let forged = seed_headers(&sign(attacker_key(), SEED_TOKEN));
    conn.post(&path, &refs(&forged))
        .await
        .assert_message(403, "Forbidden");

    let entries = emu.ledger().entries();
    assert_eq!(
        entries.len(),
        1,
        "only the valid request reached the authorizer"
    );
    let e = &entries[0];
    assert_eq!(
        (e.seq, e.authorizer.as_str(), e.verdict.as_str()),
        (1, SEED_AUTHORIZER, "allow")
    );
    assert_eq!(e.attempt_id.as_deref(), Some("a-1"));
    assert_eq!(
        (e.transport.label(), e.trigger.as_str()),
        ("https", "publish")
    );
    assert!(e.signature_verified);
    assert_eq!(e.event.value()["token"], SEED_TOKEN);
    assert_eq!(
        e.event.value()["protocols"],
        serde_json::json!(["tls", "http"])
    );
    assert_eq!(
        e.event.value()["protocolData"]["tls"]["serverName"],
        "localhost"
    );
    assert_eq!(
        e.event.value()["protocolData"]["http"]["queryString"],
        "?qos=1"
    );
    assert_eq!(
        e.event.value()["protocolData"]["http"]["headers"]["x-tokenstorm-attempt"],
        "a-1"
    );
    assert!(
        uuid::Uuid::parse_str(
            e.event.value()["connectionMetadata"]["id"]
                .as_str()
                .unwrap()
        )
        .is_ok()
    );
    assert_eq!(
        e.response.as_ref().unwrap().value()["principalId"],
        "myPrincipalDevice123"
    );

    let m = emu.metrics();
    assert_eq!(m.invocations(SEED_AUTHORIZER), 1);
    assert_eq!(m.gate_rejections(GateRejection::SignatureMismatch), 1);
    assert_eq!(m.requests(Route::of(Transport::Https), Outcome::Allowed), 1);
    assert_eq!(
        m.requests(Route::of(Transport::Https), Outcome::GateRejected),
        1
    );
    emu.stop().await;
}

/// Query-string credentials, percent-encoded as the generator sends them.
fn query_creds(signature: &str) -> String {
    use tokenstorm::wire::query::encode_component;
    format!(
        "x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={}&x-amz-customauthorizer-signature={}",
        encode_component(SEED_TOKEN),
        encode_component(signature)
    )
}

/// A signature of some token that contains a `+` (most do; search a few tokens deterministically).
fn token_with_plus_signature() -> (String, String) {
    (0..64)
        .map(|i| format!("{SEED_TOKEN}{i}"))
        .map(|t| {
            let s = sign(signing_key(), &t);
            (t, s)
        })
        .find(|(_, s)| s.contains('+'))
        .expect("a signature with '+' among 64")
}

#[tokio::test]
async fn query_string_credentials_and_raw_plus_is_not_a_space() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;

    let sig = sign(signing_key(), SEED_TOKEN);
    let path = format!("/topics/{SEED_TOPIC}?qos=0&{}", query_creds(&sig));
    conn.post(&path, &[]).await.assert_message(200, "OK");
    let e = &emu.ledger().entries()[0];
    assert_eq!(
        e.event.value()["protocols"],
        serde_json::json!(["http"]),
        "the plain listener has no tls"
    );
    assert!(e.event.value()["protocolData"].get("tls").is_none());
    assert_eq!(
        e.event.value()["protocolData"]["http"]["queryString"],
        format!("?qos=0&{}", query_creds(&sig))
    );
    assert_eq!(e.transport.label(), "http");

    // A raw `+` stays `+`: the signature arrives intact and passes.
    let (token, plus_sig) = token_with_plus_signature();
    let raw = format!(
        "/topics/t?x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={token}&x-amz-customauthorizer-signature={plus_sig}"
    );
    conn.post(&raw, &[]).await.assert_message(200, "OK");
    assert_eq!(
        emu.ledger().entries()[1].event.value()["token"],
        token.as_str()
    );
    // The same signature with the `+` sent as a space (`%20`) is refused at the gate.
    let spaced = raw.replace('+', "%20");
    conn.post(&spaced, &[])
        .await
        .assert_message(403, "Forbidden");
    assert_eq!(emu.metrics().gate_rejections(GateRejection::NotBase64), 1);
    assert_eq!(emu.ledger().len(), 2);

    // Headers win over the query string when both are present.
    let h = seed_headers(&sign(attacker_key(), SEED_TOKEN));
    conn.post(&path, &refs(&h))
        .await
        .assert_message(403, "Forbidden");
    assert_eq!(emu.ledger().len(), 2);
    emu.stop().await;
}

#[tokio::test]
async fn key_rotation_accepts_either_key() {
    use crate::support::emulator::authorizer;
    use crate::support::keys::rotated_key;
    let emu = start(config(
        vec![authorizer(
            SEED_AUTHORIZER,
            &[0, 1],
            FunctionBehaviour::default_allow(),
        )],
        None,
    ))
    .await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    for key in [signing_key(), rotated_key()] {
        conn.post("/topics/t", &refs(&seed_headers(&sign(key, SEED_TOKEN))))
            .await
            .assert_message(200, "OK");
    }
    conn.post(
        "/topics/t",
        &refs(&seed_headers(&sign(attacker_key(), SEED_TOKEN))),
    )
    .await
    .assert_message(403, "Forbidden");
    assert_eq!(emu.ledger().len(), 2);
    emu.stop().await;
}

#[tokio::test]
async fn unknown_inactive_and_default_authorizers() {
    use crate::support::emulator::authorizer;
    use tokenstorm::contract::authorizer::AuthorizerStatus;
    let mut off = authorizer("Off", &[0], FunctionBehaviour::default_allow());
    off.status = AuthorizerStatus::Inactive;
    let auths = vec![
        authorizer("Default", &[0], FunctionBehaviour::default_allow()),
        off,
    ];
    let sig = sign(signing_key(), SEED_TOKEN);
    let creds = |name: Option<&'static str>| {
        let mut h = vec![
            (SEED_TOKEN_KEY_NAME, SEED_TOKEN.to_string()),
            ("x-amz-customauthorizer-signature", sig.clone()),
        ];
        if let Some(n) = name {
            h.push(("x-amz-customauthorizer-name", n.to_string()));
        }
        h
    };

    // No default configured: a request naming no authorizer is refused.
    let emu = start(config(auths.clone(), None)).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    conn.post("/topics/t", &refs(&creds(None)))
        .await
        .assert_message(403, "Forbidden");
    conn.post("/topics/t", &refs(&creds(Some("Nope"))))
        .await
        .assert_message(403, "Forbidden");
    conn.post("/topics/t", &refs(&creds(Some("Off"))))
        .await
        .assert_message(403, "Forbidden");
    conn.post("/topics/t", &refs(&creds(Some("Default"))))
        .await
        .assert_message(200, "OK");
    let m = emu.metrics();
    assert_eq!(m.gate_rejections(GateRejection::NoDefaultAuthorizer), 1);
    assert_eq!(m.gate_rejections(GateRejection::UnknownAuthorizer), 1);
    assert_eq!(m.gate_rejections(GateRejection::InactiveAuthorizer), 1);
    assert_eq!((m.invocations("Default"), m.invocations("Off")), (1, 0));
    emu.stop().await;

    // With a default, the unnamed request goes to it.
    let emu = start(config(auths, Some("Default"))).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    conn.post("/topics/t", &refs(&creds(None)))
        .await
        .assert_message(200, "OK");
    assert_eq!(emu.ledger().entries()[0].authorizer, "Default");
    emu.stop().await;

    // A default that names an INACTIVE authorizer refuses without invoking it.
    let mut off = authorizer("Off", &[0], FunctionBehaviour::default_allow());
    off.status = AuthorizerStatus::Inactive;
    let emu = start(config(vec![off], Some("Off"))).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    conn.post("/topics/t", &refs(&creds(None)))
        .await
        .assert_message(403, "Forbidden");
    assert_eq!(
        emu.metrics()
            .gate_rejections(GateRejection::InactiveAuthorizer),
        1
    );
    assert_eq!(emu.ledger().len(), 0);
    emu.stop().await;
}

#[tokio::test]
async fn a_default_naming_no_authorizer_is_a_start_error() {
    let state = crate::support::tempdir();
    let mut c = config(
        vec![seed_authorizer(FunctionBehaviour::Deny)],
        Some("Missing"),
    );
    c.state_dir = state.path().to_path_buf();
    let err = tokenstorm::emulator::start(c, tokenstorm::shutdown::Shutdown::new())
        .await
        .err()
        .expect("must fail");
    assert!(format!("{err:#}").contains("\"Missing\""), "{err:#}");
}

#[tokio::test]
async fn signing_disabled_lets_a_forged_signature_reach_the_function() {
    let mut spec = seed_authorizer(FunctionBehaviour::default_allow());
    spec.signing_disabled = true;
    let emu = start(config(vec![spec], None)).await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let forged = seed_headers("Zm9yZ2Vk");
    conn.post("/topics/t", &refs(&forged))
        .await
        .assert_message(200, "OK");
    let e = &emu.ledger().entries()[0];
    assert!(!e.signature_verified);
    assert_eq!(e.event.value()["signatureVerified"], false);
    assert_eq!(e.event.value()["token"], SEED_TOKEN);
    assert_eq!(emu.metrics().invocations(SEED_AUTHORIZER), 1);
    emu.stop().await;
}
