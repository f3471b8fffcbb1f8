//! `devices.token = "jwt"` and `"file"` end to end: JWTs checked by a real PyJWT authorizer under awslambdaric
//! (valid ones allowed, expired and replayed ones denied), and rows signed by the real `openssl dgst -sha256
//! -sign` passing the embedded emulator's gate.

use std::path::Path;

use super::*;
use crate::lambda::fixtures::python;
use crate::token::{Scratch, openssl_genrsa, openssl_pubout, openssl_sign_b64, tool_ok};

/// The report's invocation row of a class label (`valid`, `replayed`, `replayed.expired`, ...).
fn invocations<'a>(r: &'a Value, label: &str) -> &'a Value {
    r["invocations"]["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row_label(row) == label)
        .unwrap_or_else(|| panic!("no invocations row {label}: {}", r["invocations"]))
}

/// The function's own record in the run folder: one line per invocation.
fn record(out: &Path) -> Vec<Value> {
    let folder = std::fs::read_dir(out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(folder.join("emulator/functions/MyCustomAuthorizer.jsonl"))
        .expect("the function's record");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A JWT scenario against `scenarios/lambdas/jwt_python` with the JWT key `key` (public half `public`).
fn jwt_scenario(alg: &str, key: &Path, public: &Path) -> String {
    let py = python();
    format!(
        r#"
[run]
duration_s = 4.0
max_attempts = 160
model = "closed"
concurrency = 1
[devices]
count = 6
token = "jwt"
[devices.jwt]
alg = "{alg}"
key_file = "{key}"
kid = "test-key"
sub = "{{client_id}}"
[devices.jwt.claims]
iss = "tokenstorm-test"
aud = "iot-authorizer"
nbf = "{{unix_s}}"
device = "{{device}}"
[mix]
valid = 1.0
forged = 1.0
replayed = 2.0
[mix.replayed_variants]
other_device = 1.0
reused_nonce = 1.0
expired = 1.0
[authorizer.function.runtime]
command = ["{py}", "-m", "awslambdaric", "lambda_function.lambda_handler"]
dir = "{dir}"
concurrency = 1
env = {{ TOKENSTORM_JWT_PUBLIC_KEY_FILE = "{public}", TOKENSTORM_JWT_AUDIENCE = "iot-authorizer", TOKENSTORM_JWT_ISSUER = "tokenstorm-test", TOKENSTORM_JWT_ALGORITHMS = "{alg}" }}
"#,
        key = key.display(),
        public = public.display(),
        py = py.display(),
        dir = repo("scenarios/lambdas/jwt_python").display(),
    )
}

/// Runs `body` and checks what the PyJWT function said: every valid JWT allowed, every replay (captured from
/// another device, resent by its own device, expired) denied, and forged ones never seen.
fn run_jwt(s: &Scratch, name: &str, body: &str) -> Value {
    let path = write_scenario(&s.path(""), name, body);
    let out = s.path(&format!("out-{name}"));
    let (o, report) = run(&[path.to_str().unwrap()], &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    let valid = invocations(&r, "valid");
    assert!(valid["invocations"].as_u64().unwrap() > 0, "{valid}");
    assert_eq!(valid["allowed"], valid["invocations"], "{valid}");
    for label in ["replayed", "replayed.reused_nonce", "replayed.expired"] {
        let row = invocations(&r, label);
        assert!(row["invocations"].as_u64().unwrap() > 0, "{label}: {row}");
        assert_eq!(row["allowed"], 0, "{label}: {row}");
    }
    // The function's own record: it denied for `exp` and for a seen `jti`, and found no JWT invalid but those
    // of the forged variants that pass the gate (a token with text appended, say).
    let lines = record(&out);
    let denials = |why: &str| {
        lines
            .iter()
            .filter(|l| l["authenticated"] == false && l["reason"] == why)
            .count() as u64
    };
    assert!(
        denials("expired") > 0 && denials("replayed") > 0,
        "{lines:?}"
    );
    let forged: u64 = r["invocations"]["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["class"] == "forged")
        .map(|row| row["invocations"].as_u64().unwrap())
        .sum();
    assert!(denials("invalid") <= forged, "{lines:?}");
    assert_eq!(
        denials("expired") + denials("replayed") + denials("invalid"),
        lines.iter().filter(|l| l["authenticated"] == false).count() as u64
    );
    assert!(!r.to_string().contains("eyJ"), "no JWT in the report");
    super::assert_schema_valid(&r);
    r
}

#[test]
fn a_pyjwt_authorizer_allows_the_jwt_schemes_valid_attempts_and_denies_expired_and_replayed_ones() {
    let s = Scratch::new();
    // RS256 with a key from openssl genrsa. HTTPS in a closed model with one attempt in flight: the function runs
    // in one runtime process (its seen jtis are per process) and never gets a second concurrent invocation,
    // which the emulator would throttle (a throttled valid attempt is denied without the function's say).
    let (key, public) = (s.path("jwt-rs.pem"), s.path("jwt-rs.pub.pem"));
    openssl_genrsa(&key, 2048, false);
    openssl_pubout(&key, &public);
    let r = run_jwt(&s, "rs256.toml", &jwt_scenario("RS256", &key, &public));
    let tokens = r["scenario"]["tokens"][0].as_str().unwrap();
    assert!(
        tokens.starts_with("JWT RS256 sub={client_id} claims=[aud, device, iss, nbf], "),
        "{tokens}"
    );
    // ES256 with a P-256 key from openssl ecparam (SEC1 PEM).
    let (key, public) = (s.path("jwt-ec.pem"), s.path("jwt-ec.pub.pem"));
    let k = key.to_str().unwrap();
    tool_ok(
        "openssl",
        ["ecparam", "-name", "prime256v1", "-genkey", "-out", k],
    );
    tool_ok(
        "openssl",
        ["ec", "-in", k, "-pubout", "-out", public.to_str().unwrap()],
    );
    run_jwt(&s, "es256.toml", &jwt_scenario("ES256", &key, &public));
}

/// `(device, token)` rows for 4 devices, each signed by `openssl dgst -sha256 -sign key.pem`: 5 fresh `v1`
/// tokens per device and one issued 400 s ago, marked expired. CSV with the columns in another order.
fn openssl_rows(s: &Scratch, key: &Path) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut csv = String::from("token,device,signature,expired\n");
    for d in 0..4u32 {
        for k in 0..6u32 {
            let (issued, expired) = if k == 5 {
                (now - 400, "true")
            } else {
                (now, "")
            };
            let token = format!("v1.device{d:06}.{issued}.nonce{d}x{k}abc");
            let input = s.write("token.txt", token.as_bytes());
            let sig = openssl_sign_b64(s, key, &input);
            // Devices named by number and by client id.
            let device = if d % 2 == 0 {
                d.to_string()
            } else {
                format!("tokenstorm-{d:06}")
            };
            csv.push_str(&format!("{token},{device},{sig},{expired}\n"));
        }
    }
    csv
}

#[test]
fn a_file_of_openssl_signed_rows_passes_the_gate_and_runs_out_as_exhausted() {
    let s = Scratch::new();
    let key = s.path("signing.pem");
    openssl_genrsa(&key, 2048, true);
    s.write("rows.csv", openssl_rows(&s, &key).as_bytes());
    let body = r#"
[run]
duration_s = 2.0
rate_per_s = 100.0
[devices]
count = 4
token = "file"
token_file = "rows.csv"
[keys]
private_key_files = ["signing.pem"]
[authorizer.function]
mode = "replay_resistant"
[mix]
valid = 2.0
forged = 1.0
replayed = 1.0
[mix.replayed_variants]
other_device = 1.0
reused_nonce = 1.0
expired = 1.0
"#;
    let path = write_scenario(&s.path(""), "file.toml", body);
    let (o, report) = run(&[path.to_str().unwrap()], &s.path("out"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{}\n{stderr}", text(&o.stdout));
    assert!(stderr.contains("devices.token_file has 5 rows"), "{stderr}");
    let r = report.expect("report.json");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    let valid = invocations(&r, "valid");
    assert_eq!(
        valid["allowed"], 20,
        "each of the 20 rows allowed once: {valid}"
    );
    let exhausted: u64 = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["class"] == "valid" && row["outcome"] == "exhausted")
        .map(|row| row["count"].as_u64().unwrap())
        .sum();
    assert!(exhausted > 0, "valid attempts past the rows end exhausted");
    for label in ["replayed", "replayed.reused_nonce", "replayed.expired"] {
        let row = invocations(&r, label);
        assert!(row["invocations"].as_u64().unwrap() > 0, "{label}: {row}");
        assert_eq!(row["allowed"], 0, "{label}: {row}");
    }
    let tokens = r["scenario"]["tokens"][0].as_str().unwrap();
    assert!(
        tokens.contains("rows.csv: 20 valid for 4 devices (at least 5 each), 4 expired"),
        "{tokens}"
    );
    super::assert_schema_valid(&r);
}

#[test]
fn bad_token_files_exit_2_naming_the_file_the_line_and_the_fault() {
    let s = Scratch::new();
    let key = s.path("signing.pem");
    openssl_genrsa(&key, 2048, false);
    let other = s.path("other.pem");
    openssl_genrsa(&other, 2048, false);
    let signed = |key: &Path, token: &str| {
        let input = s.write("t.txt", token.as_bytes());
        openssl_sign_b64(&s, key, &input)
    };
    let row = |d: &str, t: &str, sig: &str| {
        format!("{{\"device\": {d}, \"token\": \"{t}\", \"signature\": \"{sig}\"}}\n")
    };
    let good0 = row("0", "a", &signed(&key, "a"));
    let good1 = row("1", "b", &signed(&key, "b"));
    let cases = [
        (
            format!("{good0}{good1}{}", row("2", "c", "c2ln")),
            "rows.jsonl:3",
            "unknown device \"2\"",
        ),
        (
            format!("{good0}{good1}\n{}", row("1", "d", &signed(&other, "d"))),
            "rows.jsonl:4",
            "does not verify",
        ),
        (
            format!("{good0}{good0}{good1}"),
            "device 1 (tokenstorm-000001) has too few rows",
            "1 of 2 devices",
        ),
        (
            format!("{good0}{{\"device\": 1}}\n"),
            "rows.jsonl:2",
            "no token",
        ),
    ];
    for (i, (rows, at, fault)) in cases.iter().enumerate() {
        let dir = s.path(&format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rows.jsonl"), rows).unwrap();
        let body = format!(
            "[devices]\ncount = 2\ntoken = \"file\"\ntoken_file = \"rows.jsonl\"\n[keys]\nprivate_key_files = [\"{}\"]\n",
            key.display()
        );
        let path = write_scenario(&dir, "s.toml", &body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.join("out"));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {stderr}");
        assert!(
            stderr.contains("devices.token_file") && stderr.contains(at) && stderr.contains(fault),
            "case {i}: {stderr}"
        );
        assert!(report.is_none());
    }
    // Expired replays need an expired row per device.
    let dir = s.path("expired");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rows.jsonl"),
        format!("{good0}{good0}{good1}{good1}"),
    )
    .unwrap();
    let body = format!(
        "[devices]\ncount = 2\ntoken = \"file\"\ntoken_file = \"rows.jsonl\"\n[keys]\nprivate_key_files = [\"{}\"]\n[mix]\nreplayed = 1.0\n[mix.replayed_variants]\nexpired = 1.0\n",
        key.display()
    );
    let path = write_scenario(&dir, "s.toml", &body);
    let (o, _) = run(&[path.to_str().unwrap()], &dir.join("out"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mix.replayed_variants.expired") && stderr.contains("expired = true"),
        "{stderr}"
    );
}

#[test]
fn bad_jwt_settings_exit_2_naming_the_field() {
    let s = Scratch::new();
    let rsa = s.path("rsa.pem");
    openssl_genrsa(&rsa, 2048, false);
    let rsa = rsa.display();
    let cases = [
        (
            format!("alg = \"HS256\"\nkey_file = \"{rsa}\""),
            "devices.jwt.alg",
            "\"RS256\" or \"ES256\"",
        ),
        (
            "alg = \"RS256\"".to_string(),
            "devices.jwt.key_file",
            "openssl genrsa",
        ),
        (
            format!("alg = \"ES256\"\nkey_file = \"{rsa}\""),
            "devices.jwt.key_file",
            "not an EC P-256",
        ),
        (
            format!("key_file = \"{rsa}\"\nsub = \"{{id}}\""),
            "devices.jwt.sub",
            "{id}",
        ),
        (
            format!("key_file = \"{rsa}\"\n[devices.jwt.claims]\njti = \"x\""),
            "devices.jwt.claims.jti",
            "set by tokenstorm",
        ),
    ];
    for (i, (table, field, fault)) in cases.iter().enumerate() {
        let body = format!("[devices]\ntoken = \"jwt\"\n[devices.jwt]\n{table}\n");
        let path = write_scenario(&s.path(""), &format!("jwt{i}.toml"), &body);
        let (o, report) = run(&[path.to_str().unwrap()], &s.path("out"));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(fault),
            "case {i}: {stderr}"
        );
        assert!(report.is_none());
    }
    // [devices.jwt] with another scheme is a mistake worth naming.
    let path = write_scenario(
        &s.path(""),
        "static.toml",
        "[devices.jwt]\nalg = \"ES256\"\n",
    );
    let (o, _) = run(&[path.to_str().unwrap()], &s.path("out"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("devices.jwt: is set but devices.token is \"static\""),
        "{stderr}"
    );
}

/// JWTs ride the MQTT username's query as they are (base64url and dots need no encoding): over MQTT/TLS and
/// WebSocket the embedded emulator's in-process function allows every valid JWT CONNECT.
/// No replays here: a replay drawn before any token was allowed has nothing to capture and ends `exhausted`, and
/// over a 2 s run an MQTT device gets one or two CONNECTs, so the replay default would leave it to timing whether
/// a WebSocket device sends a JWT at all.
#[test]
fn jwt_tokens_connect_over_mqtt_tls_and_websocket() {
    let s = Scratch::new();
    let key = repo("src/token/testdata/es256_sec1.pem");
    let body = format!(
        "[run]\nduration_s = 2.0\n[devices]\ncount = 4\ntoken = \"jwt\"\n[devices.jwt]\nalg = \"ES256\"\nkey_file = \"{}\"\n\
         [transports]\nhttps = 0.0\nmqtt_tls = 1.0\nwss = 1.0\n[mqtt]\npublish_interval_ms = 300\nconnects_per_s = 50.0\n\
         [mix]\nvalid = 3.0\nforged = 1.0\nreplayed = 0.0\n",
        key.display()
    );
    let path = write_scenario(&s.path(""), "mqtt.toml", &body);
    let (o, report) = run(&[path.to_str().unwrap()], &s.path("out"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json");
    for t in ["mqtt_tls", "wss"] {
        let row = super::mqtt::transport_row(&r, t);
        assert!(
            super::mqtt::count(row, "outcomes", "allowed") > 0,
            "{t}: {row}"
        );
    }
    let valid = invocations(&r, "valid");
    assert_eq!(valid["allowed"], valid["invocations"], "{valid}");
}
