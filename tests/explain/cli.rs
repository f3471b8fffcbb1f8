//! The `explain` binary against the oracle: every forged variant sent over MQTT (the CONNECT username) and
//! HTTPS (headers and URL) is explained with the rule the oracle expects, under the default gate settings and
//! under the other value of every setting; the transport traps are warned about; bad input exits 2 naming the
//! flag.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use serde_json::Value;
use tokenstorm::attempt::oracle::{self, GateVerdict};
use tokenstorm::attempt::{Catalogue, SetSpec};
use tokenstorm::contract::Transport;
use tokenstorm::load::request::{Placement, RequestBook, RequestShape};
use tokenstorm::load::username::{UsernameBook, UsernameShape};
use tokenstorm::scenario::file::UsernameMode;
use tokenstorm::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};
use tokenstorm::wire::username_style::UsernameStyle;

use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, signing_key,
};

pub const ENDPOINT: &str = "abc123-ats.iot.eu-west-1.amazonaws.com";

/// `MyCustomAuthorizer` (the signing key) and the INACTIVE `Off` the forged variant names, as describe-authorizer
/// files in `dir`; returns the flags naming them.
pub fn authorizer_flags(dir: &Path) -> Vec<String> {
    let pem = signing_key().public_key().to_spki_pem();
    for (name, status, file) in [
        (SEED_AUTHORIZER, "ACTIVE", "on.json"),
        ("Off", "INACTIVE", "off.json"),
    ] {
        let json = serde_json::json!({"authorizerDescription": {
            "authorizerName": name, "tokenKeyName": SEED_TOKEN_KEY_NAME,
            "tokenSigningPublicKeys": {"key0": pem}, "status": status, "signingDisabled": false}});
        std::fs::write(dir.join(file), json.to_string()).unwrap();
    }
    [
        "--authorizer-json",
        "on.json",
        "--authorizer-json",
        "off.json",
        "--default-authorizer",
        SEED_AUTHORIZER,
    ]
    .map(String::from)
    .to_vec()
}

/// Runs `explain ARGS --json` in `dir`: the exit code and the JSON.
pub fn explain(dir: &Path, args: &[String]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .arg("explain")
        .args(args)
        .arg("--json")
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), json, stderr)
}

fn catalogue() -> Catalogue {
    let specs = [SetSpec {
        token: SEED_TOKEN.into(),
        key_index: 0,
    }];
    Catalogue::build(&specs, vec![0], &[signing_key()], attacker_key(), 7).expect("local keys sign")
}

fn gate_flags(s: &GateSettings) -> Vec<String> {
    [
        ("--gate-query-plus", s.query_plus.as_str()),
        ("--gate-duplicates", s.duplicates.as_str()),
        ("--gate-query-names", s.query_names.as_str()),
        ("--gate-username-query", s.username_query.as_str()),
        ("--gate-bare-params", s.bare_params.as_str()),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect()
}

fn check(dir: &Path, args: Vec<String>, want: GateVerdict, what: &str) {
    let (code, json, stderr) = explain(dir, &args);
    let rule = json["rule"].as_str().unwrap_or("passes");
    assert_eq!(rule, want.as_str(), "{what}: {json:#} {stderr}");
    assert_eq!(code, if want.is_refused() { 1 } else { 0 }, "{what}");
}

fn settings() -> [GateSettings; 2] {
    let other = GateSettings {
        query_plus: QueryPlus::Space,
        duplicates: Duplicates::Last,
        query_names: QueryNames::CaseInsensitive,
        username_query: UsernameQuery::LastQuestionMark,
        bare_params: BareParams::Equivalent,
    };
    [GateSettings::default(), other]
}

#[test]
fn every_forged_mqtt_username_is_explained_with_the_oracles_rule() {
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    let shape = UsernameShape {
        mode: UsernameMode::CustomAuthorizer,
        style: UsernameStyle::Tokenstorm,
        authorizer_name: Some(SEED_AUTHORIZER.into()),
        token_key_name: SEED_TOKEN_KEY_NAME.into(),
        username: String::new(),
        password: None,
        inactive_authorizer: "Off".into(),
    };
    let book = UsernameBook::build(shape, &catalogue());
    for s in settings() {
        for (c, want) in oracle::expected_over(Transport::MqttTls, &s) {
            let login = book.login(0, c, 0, "r1-x-0-0");
            let mut args = auth.clone();
            args.extend(gate_flags(&s));
            args.extend(["--mqtt-username".into(), login.username.clone()]);
            check(dir.path(), args, want, &format!("{c:?} {}", s.describe()));
        }
    }
}

#[test]
fn every_forged_https_request_is_explained_with_the_oracles_rule() {
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    let shape = RequestShape {
        host: ENDPOINT.into(),
        topic: "t".into(),
        qos: 1,
        authorizer_name: Some(SEED_AUTHORIZER.into()),
        token_key_name: SEED_TOKEN_KEY_NAME.into(),
        payload: Bytes::from_static(b"x"),
        inactive_authorizer: "Off".into(),
    };
    let book = RequestBook::build(&shape, &catalogue()).unwrap();
    for s in settings() {
        for (c, want) in oracle::expected_over(Transport::Https, &s) {
            let req = book.prepared(0, c, 0, Placement::Headers);
            let mut args = auth.clone();
            args.extend(gate_flags(&s));
            args.extend(["--url".into(), format!("https://{ENDPOINT}{}", req.uri)]);
            for (k, v) in &req.headers {
                args.extend(["--header".into(), format!("{k}: {}", v.to_str().unwrap())]);
            }
            check(dir.path(), args, want, &format!("{c:?} {}", s.describe()));
        }
    }
}

/// The request-shape traps: port, ALPN, SNI, a second `?`, a raw `+` in a query signature (refused as not
/// base64 where `+` is read as a space).
#[test]
fn the_transport_traps_are_warned_about_before_anything_is_sent() {
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    // A token whose signature holds a '+' (for the raw '+' trap), so the test does not depend on the key.
    let (token, sig) = (0..)
        .map(|i| format!("{SEED_TOKEN}-{i}"))
        .map(|t| (t.clone(), crate::support::keys::sign(signing_key(), &t)))
        .find(|(_, s)| s.contains('+'))
        .unwrap();
    let enc = tokenstorm::wire::query::encode_component(&sig);
    let query = format!(
        "x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={token}&x-amz-customauthorizer-signature="
    );
    let run = |extra: &[&str]| {
        let mut args = auth.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        explain(dir.path(), &args)
    };
    let rules = |json: &Value| -> Vec<String> {
        json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let good = format!("dev?{query}{enc}");
    let (code, json, _) = run(&[
        "--mqtt-username",
        &good,
        "--host",
        ENDPOINT,
        "--port",
        "443",
        "--alpn",
        "mqtt",
    ]);
    assert_eq!((code, rules(&json).len()), (0, 0), "{json:#}");
    let (code, json, _) = run(&[
        "--mqtt-username",
        &good,
        "--host",
        ENDPOINT,
        "--port",
        "8883",
        "--sni",
        "localhost",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        rules(&json),
        ["alpn_not_mqtt", "port_not_443", "sni_not_endpoint"]
    );
    let two = format!("dev?SDK=x?{query}{enc}");
    let (code, json, _) = run(&["--mqtt-username", &two, "--alpn", "mqtt"]);
    assert_eq!(
        (code, json["rule"].as_str()),
        (1, Some("malformed_username"))
    );
    assert_eq!(rules(&json), ["second_question_mark"]);
    let raw_plus = sig.replace('/', "%2F").replace('=', "%3D");
    let url = format!("https://{ENDPOINT}/topics/t?{query}{raw_plus}");
    let (code, json, _) = run(&["--url", &url]);
    assert_eq!(
        (code, rules(&json)),
        (0, vec!["signature_not_percent_encoded".to_string()])
    );
    let (code, json, _) = run(&["--url", &url, "--gate-query-plus", "space"]);
    assert_eq!((code, json["rule"].as_str()), (1, Some("not_base64")));
    assert!(json.to_string().contains("read as a space"), "{json:#}");
}

#[test]
fn bad_input_exits_2_naming_the_flag_or_file() {
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    let cases: [(&[&str], &str); 5] = [
        (&["--url", "/topics/t", "--header", "no colon"], "--header"),
        (&["--url", "https://[bad"], "--url"),
        (
            &["--mqtt-username", "u", "--transport", "carrier_pigeon"],
            "--transport",
        ),
        (&["--request", "missing.txt"], "missing.txt"),
        (&[], "nothing to explain"),
    ];
    for (extra, named) in cases {
        let mut args = auth.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        let (code, _, stderr) = explain(dir.path(), &args);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(named), "{extra:?}: {stderr}");
    }
    let (code, _, stderr) = explain(dir.path(), &["--mqtt-username".into(), "u".into()]);
    assert!(
        code == 2 && stderr.contains("--authorizer-json"),
        "{stderr}"
    );
}

/// A captured WebSocket upgrade (`--request FILE`) and the same request as a JSON object: the credentials in the
/// upgrade's headers and query are found, and the valid signature passes (exit 0) over `wss`.
#[test]
fn a_captured_websocket_upgrade_and_a_json_request_are_explained() {
    let dir = crate::support::tempdir();
    let auth = authorizer_flags(dir.path());
    let sig = crate::support::keys::sign(signing_key(), SEED_TOKEN);
    let enc = tokenstorm::wire::query::encode_component(&sig);
    let captured = format!(
        "GET /mqtt?x-amz-customauthorizer-name={SEED_AUTHORIZER}&x-amz-customauthorizer-signature={enc} HTTP/1.1\r\n\
         Host: {ENDPOINT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\
         {SEED_TOKEN_KEY_NAME}: {SEED_TOKEN}\r\n\r\n"
    );
    std::fs::write(dir.path().join("upgrade.txt"), captured).unwrap();
    let json = serde_json::json!({
        "url": format!("wss://{ENDPOINT}/mqtt?x-amz-customauthorizer-name={SEED_AUTHORIZER}&x-amz-customauthorizer-signature={enc}"),
        "headers": [format!("{SEED_TOKEN_KEY_NAME}: {SEED_TOKEN}")],
    });
    std::fs::write(dir.path().join("upgrade.json"), json.to_string()).unwrap();
    for file in ["upgrade.txt", "upgrade.json"] {
        let mut args = auth.clone();
        args.extend(["--request".to_string(), file.to_string()]);
        let (code, json, stderr) = explain(dir.path(), &args);
        assert_eq!(
            (code, json["transport"].as_str()),
            (0, Some("wss")),
            "{file}: {json:#} {stderr}"
        );
        let text = json["items"].to_string();
        assert!(
            text.contains("found as header \\\"x-my-app-custom-key\\\"")
                && text.contains("found as query \\\"x-amz-customauthorizer-signature\\\""),
            "{file}: {text}"
        );
        assert_eq!(json["warnings"], serde_json::json!([]), "{file}");
    }
}
