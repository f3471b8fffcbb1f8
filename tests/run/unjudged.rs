//! Runs that could not be judged never pass: a target whose CA the run does not trust (the system's roots, as
//! with `target.ca_file` empty) and a closed port both end `inconclusive`, exit 1, with the error kind and its
//! first message in the terminal and in report.json's `errors[]`, over HTTPS, MQTT/TLS and WSS.

use super::*;

/// A scenario for an external target at `https` (HTTPS and WSS) and `mqtt_tls`, no `ca_file`, no ledger.
fn scenario(dir: &Path, https: u16, mqtt_tls: u16) -> PathBuf {
    let body = format!(
        "[run]\nduration_s = 2.0\nrate_per_s = 50.0\nrequest_timeout_ms = 2000\n\
         [devices]\ncount = 6\n\
         [transports]\nhttps = 1.0\nmqtt_tls = 1.0\nwss = 1.0\n\
         [mqtt]\nconnects_per_s = 100.0\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{https}\"\nmqtt_tls_addr = \"127.0.0.1:{mqtt_tls}\"\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n"
    );
    write_scenario(dir, "unjudged.toml", &body)
}

/// Runs it; checks the verdict, exit code and that the rules with nothing to judge say so.
fn run_unjudged(path: &Path, out: &Path) -> (String, Value) {
    let (o, r) = run(&[path.to_str().unwrap()], out);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = r.expect("report.json written");
    assert_eq!(r["verdict"], "inconclusive", "{stdout}");
    assert_eq!(r["exit_code"], 1);
    for name in ["forged_never_invoked", "valid_allowed"] {
        assert_eq!(
            invariant(&r, name)["status"],
            "inconclusive",
            "{name}: {stdout}"
        );
    }
    assert!(
        stdout.contains("result: INCONCLUSIVE (exit 1) · not judged: forged_never_invoked"),
        "{stdout}"
    );
    (stdout, r)
}

/// The one `errors[]` row of `kind`, which every transport shares.
fn error_row<'a>(r: &'a Value, kind: &str) -> &'a Value {
    let rows = r["errors"].as_array().expect("errors[]");
    let row = rows
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} row in {rows:?}"));
    for t in ["https", "mqtt_tls", "wss"] {
        assert!(row["transports"][t].as_u64().unwrap_or(0) > 0, "{t}: {row}");
    }
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_ca_is_inconclusive_with_the_tls_error() {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::seed_article())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mqtt_tls = emu.addrs().mqtt_tls.expect("MQTT/TLS listener").port();
    let path = scenario(dir.path(), emu.https_port(), mqtt_tls);
    let out = dir.path().join("out");
    let (stdout, r) = tokio::task::spawn_blocking(move || run_unjudged(&path, &out))
        .await
        .unwrap();
    let tls = error_row(&r, "tls");
    assert_eq!(
        tls["first_message"], "TLS: invalid peer certificate: UnknownIssuer",
        "{tls}"
    );
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{}", r["errors"]);
    assert!(stdout.contains("transport_error (tls)"), "{stdout}");
    assert!(
        stdout.contains("TLS: invalid peer certificate: UnknownIssuer"),
        "{stdout}"
    );
    let valid = invariant(&r, "valid_allowed");
    assert!(
        valid["details"]["errors_tls"].as_u64().unwrap() > 0,
        "{valid}"
    );
    assert!(
        valid["summary"]
            .as_str()
            .unwrap()
            .ends_with("first error: TLS: invalid peer certificate: UnknownIssuer"),
        "{valid}"
    );
    assert!(
        emu.ledger().entries().is_empty(),
        "nothing reached the authorizer"
    );
    emu.stop().await;
}

#[test]
fn a_closed_port_is_inconclusive_with_connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), port, port);
    let (stdout, r) = run_unjudged(&path, &dir.path().join("out"));
    let want = format!("connect: connection refused (127.0.0.1:{port})");
    let row = error_row(&r, "connect");
    assert_eq!(row["first_message"], want.as_str(), "{row}");
    assert!(stdout.contains("transport_error (connect)"), "{stdout}");
    assert!(stdout.contains(&want), "{stdout}");
}

/// No system roots to trust (here: `SSL_CERT_FILE` names a missing file) is a clear error before any load.
#[test]
fn missing_system_roots_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 1, 1);
    let o = std::process::Command::new(bin())
        .args(["run", path.to_str().unwrap(), "--quiet", "--out-dir"])
        .arg(dir.path().join("out"))
        .env("SSL_CERT_FILE", dir.path().join("no-such-roots.pem"))
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let stderr = text(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot load the system's trusted root certificates")
            && stderr.contains("target.ca_file"),
        "{stderr}"
    );
}
