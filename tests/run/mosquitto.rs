//! The generator's MQTT path against **mosquitto**, a broker nobody here wrote (Debian package, installed by
//! scripts/test), with a password file: plain username/password logins, a wrong password counted as refused,
//! QoS 1 publishes acknowledged and delivered back on the device's own subscription.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::mqtt::{count, transport_row};
use super::*;

/// A mosquitto broker on 127.0.0.1 with a password file; killed on drop.
struct Mosquitto {
    child: Child,
    port: u16,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(name: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: scripts/test installs the Debian package mosquitto");
}

/// Starts mosquitto with user `devuser` / `devpass`. The port is found by binding 127.0.0.1:0 and releasing
/// it; if mosquitto cannot take it (another process won the race), a new port is tried.
fn mosquitto(dir: &Path) -> Mosquitto {
    let passwd = dir.join("passwd");
    let st = Command::new(tool("mosquitto_passwd"))
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["devuser", "devpass"])
        .status()
        .expect("mosquitto_passwd runs");
    assert!(st.success(), "mosquitto_passwd failed");
    for attempt in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.join(format!("mosquitto-{attempt}.conf"));
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
                passwd.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(tool("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Mosquitto { child, port };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("mosquitto did not start listening on 127.0.0.1 after 5 tries");
}

#[test]
fn mosquitto_takes_our_connects_and_publishes_and_refuses_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let broker = mosquitto(dir.path());
    let body = format!(
        r#"
[run]
duration_s = 3.0
[devices]
count = 12
[transports]
https = 0.0
mqtt = 1.0
[mqtt]
username_mode = "plain"
username = "devuser"
password = "devpass"
publish_interval_ms = 200
subscribe = true
connects_per_s = 100.0
[target]
kind = "external"
mqtt_addr = "127.0.0.1:{}"
verify_tls = false
[mix]
valid = 2.0
forged = 1.0
replayed = 0.0
"#,
        broker.port
    );
    let path = write_scenario(dir.path(), "mosquitto.toml", &body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    let r = report.expect("report.json");
    let row = transport_row(&r, "mqtt");
    let accepted = count(row, "outcomes", "allowed");
    let refused = count(row, "outcomes", "refused");
    // Devices connect (at most once each: they keep the session) and every wrong password is a CONNACK refusal.
    assert_eq!(row["devices"], 12);
    assert!((1..=12).contains(&accepted), "{row}");
    assert!(refused >= 1, "some forged (wrong password) attempts: {row}");
    assert_eq!(
        accepted + refused,
        row["attempts_started"].as_u64().unwrap(),
        "no transport errors or timeouts against mosquitto: {row}"
    );
    for c in super::class_counts(&r).keys() {
        let want = if c.starts_with("forged") {
            "refused"
        } else {
            "allowed"
        };
        let rows: Vec<&Value> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["class"].as_str().is_some_and(|k| c.starts_with(k)))
            .collect();
        assert!(rows.iter().all(|x| x["outcome"] == want), "{c}: {rows:?}");
    }
    // QoS 1 publishes are acknowledged and come back on the device's own subscription.
    let published = count(row, "messages", "published");
    assert!(published >= accepted, "{row}");
    assert_eq!(count(row, "messages", "puback_ok"), published, "{row}");
    assert_eq!(count(row, "messages", "received"), published, "{row}");
    let phases: Vec<&str> = r["phases_by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["class"] == "valid")
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    for want in [
        "tcp_connect_us",
        "connect_connack_us",
        "publish_puback_us",
        "publish_receive_us",
    ] {
        assert!(phases.contains(&want), "{want} in {phases:?}");
    }
    assert!(
        !phases.contains(&"tls_handshake_us"),
        "plain TCP has no TLS"
    );
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "skipped");
    assert!(stdout.contains("per transport:"), "{stdout}");
    assert!(
        !r.to_string().contains("devpass") && !stdout.contains("devpass"),
        "the password leaked"
    );
}
