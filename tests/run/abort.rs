//! The `[abort]` guards on the real binary: each guard stops a run that would otherwise last a minute, the
//! report says which (`safety.aborted_by`, `stopped_by = "abort"`) and the run exits 1; a run within its guards
//! passes with `aborted_by` null; a bad `[abort]` value exits 2 naming the field.

use std::io::{Read as _, Write as _};

use super::*;

/// A minute at 40 attempts/s: an abort shows as a run that ended long before its end.
const LONG: &str =
    "[run]\nduration_s = 60.0\nrate_per_s = 40.0\n[devices]\ncount = 8\ntoken = \"per_device\"\n";

/// Runs `body` and checks what every aborted run shows; returns its stdout and report.
fn aborted(body: &str, guard: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "abort.toml", body);
    let (o, r) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = r.expect("an aborted run still writes its report");
    let a = &r["safety"]["aborted_by"];
    assert_eq!(a["guard"], guard, "{a}\n{stdout}");
    assert!(
        a["observed"].as_f64().unwrap() > a["limit"].as_f64().unwrap(),
        "{a}"
    );
    assert!(a["at_s"].as_f64().unwrap() < 60.0, "{a}");
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "abort");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["exit_code"], 1);
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 60.0);
    assert_eq!(
        r["throughput"]["attempts_started"], r["throughput"]["attempts_ended"],
        "the stop drained every attempt"
    );
    let line = format!(
        "ABORTED at {:.1} s by {guard} (",
        a["at_s"].as_f64().unwrap()
    );
    assert!(stdout.contains(&line), "{line}\n{stdout}");
    (stdout, r)
}

#[test]
fn a_forged_invocation_aborts_an_embedded_run() {
    let body = format!(
        "{LONG}[authorizer]\nsigning_disabled = true\n[mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n"
    );
    let (_, r) = aborted(&body, "abort.on_forged_invocation");
    assert_eq!(
        r["safety"]["abort"]["on_forged_invocation"], true,
        "on by default with a live witness"
    );
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_invocation_aborts_a_run_against_an_external_emulator() {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let mut authorizer = emulator::seed_authorizer(FunctionBehaviour::seed_article());
    authorizer.signing_disabled = true;
    let emu = emulator::start(emulator::config(
        vec![authorizer],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let body = format!(
        "{LONG}[keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{}\"\nca_file = {:?}\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n",
        emu.https_port(),
        emu.addrs().admin.expect("admin listener"),
        emu.ca_cert_path(),
    );
    let (_, r) = tokio::task::spawn_blocking(move || aborted(&body, "abort.on_forged_invocation"))
        .await
        .unwrap();
    assert_eq!(r["safety"]["abort"]["on_forged_invocation"], true);
    emu.stop().await;
}

/// A Lambda Invoke API stand-in that throttles every invocation (429, as Lambda does over its concurrency).
fn throttling_invoke_api() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                // Read the request's head and body, then answer and close.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"Type":"User","message":"Rate Exceeded."}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

#[test]
fn throttling_aborts_the_run_once_enough_attempts_ended() {
    let port = throttling_invoke_api();
    let body = format!(
        "{LONG}[authorizer.function.invoke_api]\nurl = \"http://127.0.0.1:{port}\"\nfunction_name = \"authorizer\"\n\
         [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n[abort]\nmax_throttled_share = 0.5\nmin_attempts = 20\n"
    );
    let (stdout, r) = aborted(&body, "abort.max_throttled_share");
    let a = &r["safety"]["aborted_by"];
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("attempts ended throttled"),
        "{a}\n{stdout}"
    );
    let throttled: u64 = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["outcome"] == "throttled")
        .map(|row| row["count"].as_u64().unwrap())
        .sum();
    assert!(
        throttled >= 20,
        "judged only after min_attempts: {throttled}"
    );
}

#[test]
fn a_refused_port_aborts_on_the_error_share() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let body = format!(
        "{LONG}[target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{port}\"\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n[abort]\nmax_error_share = 0.5\nmin_attempts = 10\n"
    );
    let (_, r) = aborted(&body, "abort.max_error_share");
    assert_eq!(
        r["safety"]["abort"]["on_forged_invocation"], false,
        "no live witness without admin_url: off by default"
    );
    assert_eq!(r["safety"]["aborted_by"]["observed"], 1.0);
}

#[test]
fn the_projected_cost_aborts_the_run() {
    // 2400 attempts planned at about 0.4 µUSD each ≈ 0.001 USD; the limit is a tenth of that, reached by the
    // projection once 20 attempts ended, long before the cost so far.
    let body = format!("{LONG}[abort]\nmax_cost_usd = 0.0001\nmin_attempts = 20\n");
    let (_, r) = aborted(&body, "abort.max_cost_usd");
    let a = &r["safety"]["aborted_by"];
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("projected to the planned end"),
        "{a}"
    );
    assert!(a["at_s"].as_f64().unwrap() < 30.0, "{a}");
}

#[test]
fn a_run_within_its_guards_passes_with_aborted_by_null() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[run]\nduration_s = 2.0\nrate_per_s = 40.0\n[devices]\ncount = 8\n\
                [abort]\nmax_throttled_share = 0.1\nmax_error_share = 0.1\nmax_cost_usd = 1.0\nmin_attempts = 10\n";
    let path = write_scenario(dir.path(), "within.toml", body);
    let (o, r) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    let r = r.unwrap();
    assert_eq!(r["safety"]["aborted_by"], Value::Null);
    assert_eq!(r["stopped_by"], Value::Null);
    assert_eq!(r["interrupted"], false);
    let g = &r["safety"]["abort"];
    assert_eq!(
        (
            g["on_forged_invocation"].as_bool(),
            g["max_throttled_share"].as_f64(),
            g["max_cost_usd"].as_f64()
        ),
        (Some(true), Some(0.1), Some(1.0))
    );
    assert!(!stdout.contains("ABORTED"), "{stdout}");
}

#[test]
fn bad_abort_values_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let aws = "[target]\nkind = \"external\"\nurl = \"https://127.0.0.1:1\"\n\
               [target.aws]\nregion = \"eu-west-1\"\nfunction_name = \"f\"\n";
    for (body, field, why) in [
        (
            "[abort]\nmax_throttled_share = 1.5\n".to_string(),
            "abort.max_throttled_share",
            "0..=1",
        ),
        (
            "[abort]\nmax_error_share = -0.5\n".to_string(),
            "abort.max_error_share",
            "0..=1",
        ),
        (
            "[abort]\nmax_cost_usd = -1.0\n".to_string(),
            "abort.max_cost_usd",
            "≥ 0",
        ),
        (
            format!("{aws}[abort]\non_forged_invocation = true\n"),
            "abort.on_forged_invocation",
            "CloudWatch",
        ),
    ] {
        let path = write_scenario(dir.path(), "bad.toml", &format!("{LONG}{body}"));
        let out = dir.path().join("out");
        let (o, r) = run(&[path.to_str().unwrap()], &out);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{field}: {stderr}");
        assert!(stderr.contains(field) && stderr.contains(why), "{stderr}");
        assert!(r.is_none(), "nothing ran");
    }
}
