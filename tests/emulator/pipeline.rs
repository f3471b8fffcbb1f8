//! The publish pipeline through a hyper client: gate, function, policy, ledger, metrics, caching.

use tokenstorm::emulator::FunctionBehaviour;
use tokenstorm::emulator::gate::GateRejection;
use tokenstorm::emulator::metrics::{Outcome, Transport};

use crate::support::client::Conn;
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, SEED_TOPIC, attacker_key, sign, signing_key};

fn seed_headers(signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN.to_string()),
        ("x-amz-customauthorizer-signature", signature.to_string()),
    ]
}

fn refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn https_valid_signature_is_allowed_and_forged_never_invoked() {
    let emu = start(config(vec![seed_authorizer(FunctionBehaviour::seed_article())], None)).await;
    let addr = emu.addrs().https.unwrap();
    let mut conn = Conn::https(addr, emu.ca_cert_path(), "localhost").await;
    let path = format!("/topics/{SEED_TOPIC}?qos=1");

    let good = seed_headers(&sign(signing_key(), SEED_TOKEN));
    let reply = conn.send(hyper::Method::POST, &path, &[refs(&good), vec![("x-tokenstorm-attempt", "a-1")]].concat(), b"Hello").await;
    reply.assert_message(200, "OK");

    let forged = seed_headers(&sign(attacker_key(), SEED_TOKEN));
    conn.post(&path, &refs(&forged)).await.assert_message(403, "Forbidden");

    let entries = emu.ledger().entries();
    assert_eq!(entries.len(), 1, "only the valid request reached the authorizer");
    let e = &entries[0];
    assert_eq!((e.seq, e.authorizer.as_str(), e.verdict.as_str()), (1, SEED_AUTHORIZER, "allow"));
    assert_eq!(e.attempt_id.as_deref(), Some("a-1"));
    assert_eq!((e.transport.as_str(), e.trigger.as_str()), ("https", "publish"));
    assert!(e.signature_verified);
    assert_eq!(e.event["token"], SEED_TOKEN);
    assert_eq!(e.event["protocols"], serde_json::json!(["tls", "http"]));
    assert_eq!(e.event["protocolData"]["tls"]["serverName"], "localhost");
    assert_eq!(e.event["protocolData"]["http"]["queryString"], "?qos=1");
    assert_eq!(e.event["protocolData"]["http"]["headers"]["x-tokenstorm-attempt"], "a-1");
    assert!(uuid::Uuid::parse_str(e.event["connectionMetadata"]["id"].as_str().unwrap()).is_ok());
    assert_eq!(e.response.as_ref().unwrap()["principalId"], "myPrincipalDevice123");

    let m = emu.metrics();
    assert_eq!(m.invocations(SEED_AUTHORIZER), 1);
    assert_eq!(m.gate_rejections(GateRejection::SignatureMismatch), 1);
    assert_eq!(m.requests(Transport::Https, Outcome::Allowed), 1);
    assert_eq!(m.requests(Transport::Https, Outcome::GateRejected), 1);
    emu.stop().await;
}
