//! Backoff after throttling: the embedded emulator's authorizer is a function behind the Invoke API whose every
//! invocation is throttled (a stand-in answering 429, as Lambda does at its concurrency limit), so every valid
//! HTTPS attempt ends `throttled`. With `[safety] backoff` on, devices skip the attempts intended inside their
//! backoff windows: far fewer reach the function than with it off, and the report counts the skipped ones.
//! Over MQTT 5, a stand-in broker answers every CONNECT with CONNACK 0x97: with the backoff, devices hold their
//! next CONNECT and far fewer arrive. Judged by counts, never by times.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::mqtt::transport_row;
use super::*;

/// A stand-in Invoke API that throttles every invocation; returns its port and its invocation counter.
fn throttling_function() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut lines = 0;
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        lines += 1;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" && lines > 1 {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let answer = r#"{"Type":"User","message":"Rate Exceeded."}"#;
                    let reply = format!(
                        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if w.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, count)
}

/// 5 HTTPS devices at 50/s for 3 s, all valid (150 attempts planned), against the throttling function.
fn scenario(dir: &Path, name: &str, port: u16, backoff: &str) -> PathBuf {
    write_scenario(
        dir,
        name,
        &format!(
            "[run]\nduration_s = 3.0\nrate_per_s = 50.0\n[devices]\ncount = 5\n\
             [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n\
             [authorizer.function.invoke_api]\nurl = \"http://127.0.0.1:{port}\"\nfunction_name = \"authorizer\"\n\
             [safety]\n{backoff}\n"
        ),
    )
}

#[test]
fn a_backoff_after_throttling_sends_fewer_attempts_to_a_throttling_function() {
    let dir = crate::support::tempdir();
    let (port, invoked) = throttling_function();
    let mut reached = Vec::new();
    for (name, backoff) in [
        ("off", "backoff = false"),
        (
            "on",
            "backoff = true\nbackoff_base_s = 0.5\nbackoff_max_s = 4.0",
        ),
    ] {
        let before = invoked.load(Ordering::SeqCst);
        let path = scenario(dir.path(), &format!("{name}.toml"), port, backoff);
        let (o, report) = run(
            &[path.to_str().unwrap()],
            &dir.path().join(format!("out-{name}")),
        );
        let r = report.unwrap_or_else(|| panic!("{name}: no report: {}", text(&o.stderr)));
        let https = transport_row(&r, "https");
        let (started, backed_off) = (
            https["attempts_started"].as_u64().unwrap(),
            https["backed_off"].as_u64().unwrap(),
        );
        assert_eq!(
            https["outcomes"]["throttled"].as_u64(),
            Some(started),
            "{name}: every attempt sent was throttled: {https}"
        );
        // Every scheduled attempt was sent, skipped by the backoff, or missed.
        let missed = r["throughput"]["missed"].as_u64().unwrap();
        assert_eq!(started + backed_off + missed, 150, "{name}: {https}");
        let caps = &r["safety"]["caps"];
        if name == "off" {
            assert_eq!(backed_off, 0);
            assert!(caps["backoff_base_s"].is_null() && caps["backoff_max_s"].is_null());
        } else {
            assert!(backed_off > 0, "{https}");
            assert_eq!(
                (
                    caps["backoff_base_s"].as_f64(),
                    caps["backoff_max_s"].as_f64()
                ),
                (Some(0.5), Some(4.0))
            );
        }
        reached.push(invoked.load(Ordering::SeqCst) - before);
    }
    let (off, on) = (reached[0], reached[1]);
    assert!(
        off >= 140,
        "without a backoff nearly every attempt reaches the function: {off}"
    );
    assert!(on * 3 < off, "with a backoff far fewer do: {on} of {off}");
}

/// A stand-in MQTT 5 server that answers every CONNECT with CONNACK 0x97 (quota exceeded, AWS's throttle) and
/// closes; returns its port and its CONNECT counter.
fn throttling_broker() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let counter = counter.clone();
            std::thread::spawn(move || {
                // The CONNECT: a fixed-header byte, the remaining length (varint), the rest.
                let mut byte = [0u8; 1];
                if stream.read_exact(&mut byte).is_err() || byte[0] >> 4 != 1 {
                    return;
                }
                let (mut len, mut shift) = (0usize, 0);
                loop {
                    if stream.read_exact(&mut byte).is_err() {
                        return;
                    }
                    len |= usize::from(byte[0] & 0x7f) << shift;
                    shift += 7;
                    if byte[0] & 0x80 == 0 {
                        break;
                    }
                }
                let mut rest = vec![0; len];
                if stream.read_exact(&mut rest).is_err() {
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                // CONNACK: no session present, reason 0x97, no properties.
                let _ = stream.write_all(&[0x20, 0x03, 0x00, 0x97, 0x00]);
                let _ = stream.read(&mut [0u8; 64]);
            });
        }
    });
    (port, count)
}

#[test]
fn a_backoff_after_throttled_connacks_holds_the_next_connects() {
    let dir = crate::support::tempdir();
    let (port, connects) = throttling_broker();
    let mut reached = Vec::new();
    for (name, backoff) in [
        ("off", "backoff = false"),
        (
            "on",
            "backoff = true\nbackoff_base_s = 0.5\nbackoff_max_s = 4.0",
        ),
    ] {
        let before = connects.load(Ordering::SeqCst);
        let body = format!(
            "[run]\nduration_s = 3.0\n[devices]\ncount = 4\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
             [mqtt]\nprotocol = \"5\"\nconnects_per_s = 100.0\n\
             [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n\
             [target]\nkind = \"external\"\nmqtt_addr = \"127.0.0.1:{port}\"\n\
             [safety]\nclient_id_gap_s = 0.05\n{backoff}\n"
        );
        let path = write_scenario(dir.path(), &format!("mqtt-{name}.toml"), &body);
        let (o, report) = run(
            &[path.to_str().unwrap()],
            &dir.path().join(format!("out-mqtt-{name}")),
        );
        let r = report.unwrap_or_else(|| panic!("{name}: no report: {}", text(&o.stderr)));
        let row = transport_row(&r, "mqtt");
        let (started, backed_off) = (
            row["attempts_started"].as_u64().unwrap(),
            row["backed_off"].as_u64().unwrap(),
        );
        assert_eq!(
            row["outcomes"]["throttled"].as_u64(),
            Some(started),
            "{name}: {row}"
        );
        if name == "off" {
            assert_eq!(backed_off, 0, "{row}");
        } else {
            // Every throttled CONNECT but those at the very end held the device's next one.
            assert!(backed_off > 0 && backed_off <= started, "{row}");
        }
        reached.push(connects.load(Ordering::SeqCst) - before);
    }
    let (off, on) = (reached[0], reached[1]);
    assert!(
        off >= 100,
        "without a backoff each device reconnects every 50 ms: {off}"
    );
    assert!(
        on * 3 < off,
        "with a backoff far fewer CONNECTs: {on} of {off}"
    );
}
