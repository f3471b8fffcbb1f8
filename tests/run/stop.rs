//! The run's stop controls, on the real binary: the first SIGINT/SIGTERM or `--stop-file` stops the load, drains
//! it (at most 5 s, even when an attempt hangs) and still writes the report, marked interrupted and saying what
//! stopped it, and exits 3 (interrupted); a second signal exits at once (130 for SIGINT) without a report.

#![cfg(unix)]

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStderr};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::*;

/// A scenario that would run for a minute at a low rate.
const LONG: &str = "[run]\nduration_s = 60.0\nrate_per_s = 20.0\n[devices]\ncount = 4\n";

/// Starts `tokenstorm run` on `body` with `extra` arguments and waits for its first plain progress line (the
/// load has been running for 5 s). Returns the child, its stderr (to keep reading) and the out dir.
fn start(dir: &Path, body: &str, extra: &[&str]) -> (Child, BufReader<ChildStderr>, PathBuf) {
    let s = start_until_progress(dir, body, extra);
    (s.child, s.err, s.out)
}

/// Waits (at most a generous 30 s, far beyond the 5 s drain) for the child to exit; returns its output and
/// the rest of its stderr.
fn ended(child: Child, err: BufReader<ChildStderr>) -> (Output, String) {
    wait_ended(child, err, Duration::from_secs(30))
}

fn signal(child: &Child, s: Signal) {
    kill(Pid::from_raw(child.id() as i32), s).expect("signal to the run");
}

/// What every stopped run's report shows: interrupted, by `by`, before its end, every attempt accounted for.
fn assert_stopped(r: &Value, by: &str) {
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], by);
    assert_eq!(r["exit_code"], 3, "an interrupted run's own exit code");
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 60.0);
    assert_eq!(
        r["throughput"]["attempts_started"],
        r["throughput"]["attempts_ended"]
    );
}

#[test]
fn sigint_stops_the_run_and_still_writes_an_interrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let (child, err, out) = start(dir.path(), LONG, &[]);
    signal(&child, Signal::SIGINT);
    let (o, _) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    let r = report_in(&out).expect("report written after SIGINT");
    assert_stopped(&r, "signal");
    assert!(text(&o.stdout).contains("INTERRUPTED"));
    assert!(
        text(&o.stdout).contains("(exit 3: interrupted by a signal)"),
        "{}",
        text(&o.stdout)
    );
    assert_histograms_written(&out, &r);
}

/// The run folder's `histograms/` holds one `.hgrm` per result row with a latency histogram, beside
/// `latency.hlog`, interrupted or not.
fn assert_histograms_written(out: &Path, r: &Value) {
    let folder = std::fs::read_dir(out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(folder.join("latency.hlog").is_file());
    let files = std::fs::read_dir(folder.join("histograms"))
        .unwrap()
        .count();
    let rows = r["results"].as_array().unwrap();
    let with_latency = rows
        .iter()
        .filter(|row| !row["latency_us"].is_null())
        .count();
    assert_eq!(files, with_latency);
}

#[test]
fn sigterm_stops_the_run_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let (child, err, out) = start(dir.path(), LONG, &[]);
    signal(&child, Signal::SIGTERM);
    let (o, _) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert_stopped(&report_in(&out).expect("report written"), "signal");
}

#[test]
fn the_stop_file_stops_the_run_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let stop = dir.path().join("stop-now");
    let (child, err, out) = start(dir.path(), LONG, &["--stop-file", stop.to_str().unwrap()]);
    std::fs::write(&stop, "").unwrap();
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(rest.contains("appeared: stopping"), "{rest}");
    assert_stopped(&report_in(&out).expect("report written"), "stop_file");
    let run_dir = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let junit =
        std::fs::read_to_string(run_dir.join("junit.xml")).expect("junit.xml written after a stop");
    assert!(
        junit.contains(r#"<property name="interrupted" value="true"/>"#)
            && junit.contains(r#"<property name="exit_code" value="3"/>"#),
        "{junit}"
    );
}

#[test]
fn a_stop_file_that_already_exists_is_refused_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let stop = dir.path().join("leftover");
    std::fs::write(&stop, "").unwrap();
    let path = write_scenario(dir.path(), "long.toml", LONG);
    let out = dir.path().join("out");
    let (o, report) = run(
        &[
            path.to_str().unwrap(),
            "--stop-file",
            stop.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already exists"),
        "{}",
        text(&o.stderr)
    );
    assert!(report.is_none());
}

/// While the first SIGINT's drain waits on attempts that hang, a second one exits at once.
#[test]
fn a_second_sigint_exits_at_once_without_a_report() {
    let (_silent, body) = hung_target();
    let dir = tempfile::tempdir().unwrap();
    let (child, err, out) = start(dir.path(), &body, &[]);
    signal(&child, Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, Signal::SIGINT);
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(130), "{rest}");
    assert!(
        rest.contains("SIGINT: exiting at once; the report was not written"),
        "{rest}"
    );
    assert!(report_in(&out).is_none());
}

/// A target that accepts connections and never answers (the listener, kept open by the caller), and a
/// scenario aimed at it with a 60 s request timeout: HTTPS devices and plain MQTT devices.
fn hung_target() -> (std::net::TcpListener, String) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let body = format!(
        "[run]\nduration_s = 60.0\nrate_per_s = 20.0\nrequest_timeout_ms = 60000\n[devices]\ncount = 8\n\
         [transports]\nhttps = 1.0\nmqtt = 1.0\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{port}\"\nverify_tls = false\n\
         mqtt_addr = \"127.0.0.1:{port}\"\n"
    );
    (silent, body)
}

/// Attempts that hang (60 s request timeout, a target that never answers, HTTPS and MQTT): after SIGINT they
/// are abandoned when the 5 s drain runs out, counted as timeouts that say so, and the report is written.
#[test]
fn the_drain_after_a_stop_is_bounded_even_when_attempts_hang() {
    let (silent, body) = hung_target();
    let dir = tempfile::tempdir().unwrap();
    let (child, err, out) = start(dir.path(), &body, &[]);
    signal(&child, Signal::SIGINT);
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{rest}");
    let r = report_in(&out).expect("report written after the drain ran out");
    assert_stopped(&r, "signal");
    let errors = r["errors"].as_array().unwrap();
    let abandoned = errors
        .iter()
        .find(|e| e["kind"] == "timeout")
        .unwrap_or_else(|| panic!("no timeouts: {errors:?}"));
    assert!(
        abandoned["first_message"]
            .as_str()
            .unwrap()
            .contains("abandoned, no answer within the 5 s drain after the stop"),
        "{abandoned}"
    );
    // Both the HTTPS lanes and the MQTT fleet abandoned theirs: a hung CONNECT does not hold the run either.
    for t in ["https", "mqtt"] {
        assert!(
            abandoned["transports"][t].as_u64().unwrap_or(0) > 0,
            "{abandoned}"
        );
    }
    drop(silent);
}
