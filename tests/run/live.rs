//! What a run shows while it goes, on the real binary: the generator's `/metrics` (`--metrics-addr`), scraped
//! during the run and once more after the report (`--linger` keeps it up until the stop file appears), must
//! grow monotonically and end equal to the report's counts; the live status is an in-place block under a
//! pseudo-terminal (util-linux `script`), plain `progress ...` lines when stderr is a pipe, and nothing under
//! `-q`; the terminal table folds forged variants unless `-v`.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::mpsc;

use super::*;

/// `GET /metrics` over a fresh connection; the body.
fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to /metrics");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.to_string()
}

/// The samples of one metric family: labels (as written) → value.
fn samples(body: &str, name: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let labels = series.strip_prefix(name)?;
            (labels.is_empty() || labels.starts_with('{'))
                .then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

/// Reads the child's stderr on a thread, line by line, into a channel.
fn lines(stderr: std::process::ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits (at most 60 s) for a stderr line with `needle`; returns it.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(_) => {}
            Err(e) => panic!("no stderr line with {needle:?}: {e}"),
        }
    }
}

/// `{transport="https",class="valid",outcome="allowed"}` for a report row.
fn attempts_key(row: &Value) -> String {
    format!(
        "{{transport=\"{}\",class=\"{}\",outcome=\"{}\"}}",
        row["transport"].as_str().unwrap(),
        row["class"].as_str().unwrap(),
        row["outcome"].as_str().unwrap()
    )
}

#[test]
fn metrics_scraped_mid_run_grow_and_end_equal_to_the_report_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stop) = (dir.path().join("out"), dir.path().join("stop"));
    let mut child = Command::new(bin())
        .args(["run", "--seed", "7", "--duration", "3", "--rate", "200"])
        .args(["--metrics-addr", "127.0.0.1:0", "--linger", "--out-dir"])
        .arg(&out)
        .arg("--stop-file")
        .arg(&stop)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(child.stderr.take().unwrap());
    let line = wait_for(&rx, "metrics: http://");
    let addr = line
        .trim_start_matches("metrics: http://")
        .trim_end_matches("/metrics")
        .to_string();
    // Scrape until the report is written (the linger line), then once more: the final counts.
    let name = "tokenstorm_generator_attempts_total";
    let mut scrapes: Vec<BTreeMap<String, f64>> = Vec::new();
    loop {
        scrapes.push(samples(&scrape(&addr), name));
        let lingering = rx
            .try_iter()
            .any(|l| l.contains("serving http://") && l.contains("--linger"));
        if lingering {
            break;
        }
        assert!(scrapes.len() < 600, "no report within 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let last = scrape(&addr);
    std::fs::write(&stop, "").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let report = report_in(&out).expect("report.json written");
    let final_attempts = samples(&last, name);
    assert_eq!(final_attempts.len(), 4 * 3 * 9, "every label combination");
    // Counters only grow, and the run was watched while it went.
    let total = |m: &BTreeMap<String, f64>| m.values().sum::<f64>();
    for pair in scrapes.windows(2) {
        for (k, v) in &pair[1] {
            assert!(*v >= pair[0][k], "{k} went down");
        }
    }
    let ended = report["throughput"]["attempts_ended"].as_f64().unwrap();
    assert!(
        scrapes.iter().any(|m| total(m) > 0.0 && total(m) < ended),
        "no scrape saw the run under way: {:?}",
        scrapes.iter().map(total).collect::<Vec<_>>()
    );
    // The final scrape equals the report: attempts by (transport, class kind, outcome), variants summed.
    let mut expected: BTreeMap<String, f64> =
        final_attempts.keys().map(|k| (k.clone(), 0.0)).collect();
    let mut latency_counts: BTreeMap<String, f64> = BTreeMap::new();
    for row in report["results"].as_array().unwrap() {
        *expected
            .get_mut(&attempts_key(row))
            .expect("a series per row") += row["count"].as_f64().unwrap();
        let hist = row["latency_us"]["count"].as_f64().unwrap_or(0.0);
        *latency_counts
            .entry(format!(
                "{{transport=\"{}\"}}",
                row["transport"].as_str().unwrap()
            ))
            .or_default() += hist;
    }
    assert_eq!(final_attempts, expected);
    let started = samples(&last, "tokenstorm_generator_attempts_started_total");
    assert_eq!(
        total(&started),
        report["throughput"]["attempts_started"].as_f64().unwrap()
    );
    let hist_counts = samples(&last, "tokenstorm_generator_latency_us_count");
    assert_eq!(
        hist_counts[r#"{transport="https"}"#],
        latency_counts[r#"{transport="https"}"#]
    );
    let mut by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for c in report["invocations"]["by_class"].as_array().unwrap() {
        *by_kind
            .entry(format!("{{class=\"{}\"}}", c["class"].as_str().unwrap()))
            .or_default() += c["invocations"].as_f64().unwrap();
    }
    assert_eq!(
        samples(&last, "tokenstorm_generator_invocations_total"),
        by_kind
    );
    let in_flight = samples(&last, "tokenstorm_generator_attempts_in_flight");
    assert_eq!(total(&in_flight), 0.0);
}

/// The output of a short run under a pseudo-terminal (`script` from util-linux: stdout and stderr are the tty).
fn under_a_terminal(out: &Path) -> String {
    let cmd = format!(
        "{} run --seed 3 --duration 2 --rate 100 --out-dir {}",
        bin(),
        out.display()
    );
    let o = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        // A terminal that can move its cursor (CI may run without TERM, which gets the plain lines instead).
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs the pseudo-terminal test");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    text(&o.stdout)
}

/// A run of 6 s (one plain line is due at 5 s) with stderr piped; its stdout and stderr.
fn piped(out: &Path, extra: &[&str]) -> (String, String) {
    let o = Command::new(bin())
        .args([
            "run",
            "--seed",
            "3",
            "--duration",
            "6",
            "--rate",
            "50",
            "--out-dir",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    (text(&o.stdout), text(&o.stderr))
}

#[test]
fn the_status_is_a_block_on_a_terminal_plain_lines_in_a_pipe_and_nothing_under_q_and_v_unfolds_the_table()
 {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let plain = std::thread::spawn(move || piped(&a, &["-v"]));
    let quiet = std::thread::spawn(move || piped(&b, &["-q"]));
    let tty = under_a_terminal(&dir.path().join("tty"));
    for label in [
        "p99 so far",
        "invocations",
        "outcomes",
        "(joined so far)",
        "] ",
    ] {
        assert!(
            tty.contains(label),
            "{label:?} missing from the block:\n{tty}"
        );
    }
    // Redrawn in place: the cursor moves back up over the block's lines.
    assert!(tty.contains("\x1b[4A"), "no in-place redraw:\n{tty}");
    assert!(!tty.contains("progress "), "{tty}");

    let (all_rows, plain) = plain.join().unwrap();
    let lines: Vec<&str> = plain
        .lines()
        .filter(|l| l.starts_with("progress "))
        .collect();
    assert_eq!(lines.len(), 1, "{plain}");
    assert!(lines[0].starts_with("progress 5s/6s: "), "{}", lines[0]);
    assert!(
        lines[0].contains(" attempts (") && lines[0].contains("p99 ≤ "),
        "{}",
        lines[0]
    );
    assert!(!plain.contains('\x1b'), "escape codes in a pipe:\n{plain}");

    let (folded, quiet) = quiet.join().unwrap();
    assert!(
        !quiet.contains("progress ") && !quiet.contains('\x1b'),
        "{quiet}"
    );
    assert!(!quiet.contains("load finished"), "{quiet}");

    // The terminal table: forged variants folded by default, every variant on its own row under -v.
    let forged_rows = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("  https    forged"))
            .count()
    };
    assert!(folded.contains(" variants)"), "{folded}");
    assert!(!all_rows.contains(" variants)"), "{all_rows}");
    assert!(
        forged_rows(&all_rows) > forged_rows(&folded),
        "{all_rows}\n{folded}"
    );
}
