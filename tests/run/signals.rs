//! SIGINT stops the load, drains it, and still writes the report, marked interrupted.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::*;

#[cfg(unix)]
#[test]
fn sigint_stops_the_run_and_still_writes_an_interrupted_report() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(
        dir.path(),
        "long.toml",
        "[run]\nduration_s = 600.0\nrate_per_s = 100.0\n[devices]\ncount = 10\n",
    );
    let out = dir.path().join("out");
    let mut child = Command::new(bin())
        .args([
            "run",
            path.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first progress line: the load is running.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "stderr closed before the load started"
        );
        if line.contains("attempts") && line.trim_end().ends_with("/s") {
            break;
        }
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT to the run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "run did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let r = report_in(&out).expect("report written after SIGINT");
    assert_eq!(r["interrupted"], true);
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 600.0);
    assert_eq!(
        r["throughput"]["attempts_started"],
        r["throughput"]["attempts_ended"]
    );
    assert!(text(&o.stdout).contains("INTERRUPTED"));
}
