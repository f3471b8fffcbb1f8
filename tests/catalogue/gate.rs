//! Every forged variant over HTTPS, MQTT/TLS, MQTT and WSS against an emulator the run did not start: refused at
//! the gate for the oracle's reason (counted by `/metrics`, `tokenstorm_gate_rejections_total{reason}`), never
//! in the invocation ledger; replays reach the authorizer, one invocation each. The run is
//! `scenarios/ci-security.toml` itself, pointed at the external emulator and shortened.

use std::collections::BTreeMap;

use serde_json::Value;
use tokenstorm::attempt::{Forgery, oracle};
use tokenstorm::emulator::FunctionBehaviour;
use tokenstorm::metrics::Transport;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::run::{class_counts, invariant, repo, run, text, write_scenario};
use crate::support::{emulator, keys};

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn gate_rejections(metrics: &str) -> BTreeMap<String, u64> {
    let family = "tokenstorm_gate_rejections_total{reason=\"";
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix(family))
        .filter_map(|rest| {
            let (reason, n) = rest.split_once("\"} ")?;
            Some((reason.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// Attempts per (transport, forged variant), and the outcomes forged attempts ended in.
fn forged_rows(r: &Value) -> (BTreeMap<(String, String), u64>, BTreeMap<String, u64>) {
    let mut per = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    for row in r["results"].as_array().unwrap() {
        if row["class"] != "forged" {
            continue;
        }
        let n = row["count"].as_u64().unwrap();
        let key = (
            row["transport"].as_str().unwrap().to_string(),
            row["variant"].as_str().unwrap().to_string(),
        );
        *per.entry(key).or_default() += n;
        *outcomes
            .entry(row["outcome"].as_str().unwrap().to_string())
            .or_default() += n;
    }
    (per, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_forged_variant_is_refused_at_the_gate_over_every_transport() {
    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let addrs = emu.addrs();
    let admin = addrs.admin.expect("admin listener");
    let ci = std::fs::read_to_string(repo("scenarios/ci-security.toml")).unwrap();
    let generated = "[keys]\ngenerate = 1\nbits = 2048\n";
    assert!(ci.contains(generated), "ci-security.toml generates its key");
    let body = ci.replace(
        generated,
        &format!(
            "[keys]\nprivate_key_files = [{private:?}]\n\
             [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{admin}\"\n\
             ca_file = {:?}\nmqtt_tls_addr = \"{}\"\nmqtt_addr = \"{}\"\n",
            emu.https_port(),
            emu.ca_cert_path(),
            addrs.mqtt_tls.unwrap(),
            addrs.mqtt.unwrap(),
        ),
    );
    let path = write_scenario(dir.path(), "ci-security-external.toml", &body);
    let out = dir.path().join("out");
    let (o, r) = tokio::task::spawn_blocking(move || {
        run(&[path.to_str().unwrap(), "--duration", "6"], &out)
    })
    .await
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.unwrap();
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");

    // Every variant went over every transport, and none was answered 200 / CONNACK 0.
    let (per, outcomes) = forged_rows(&r);
    for t in Transport::ALL {
        for f in Forgery::ALL {
            let n = per
                .get(&(t.as_str().to_string(), f.as_str().to_string()))
                .copied()
                .unwrap_or(0);
            match oracle::entry(f).applies(t) {
                oracle::Applies::Skipped(_) => {
                    assert_eq!(n, 0, "{} {}: skipped by the oracle", t.as_str(), f.as_str())
                }
                _ => assert!(n > 0, "{} {}: no attempt sent", t.as_str(), f.as_str()),
            }
        }
    }
    // The skips are reported, with their reasons.
    let coverage = invariant(&r, "catalogue_coverage");
    assert_eq!(coverage["status"], "info");
    assert!(
        coverage["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e
                == "second_question_mark on https: skipped: HTTPS has no MQTT CONNECT username"),
        "{coverage}"
    );
    assert_eq!(outcomes.get("allowed"), None, "{outcomes:?}");

    let counts = class_counts(&r);
    // Replays reach the authorizer exactly as the replay oracle says: once per attempt.
    for row in r["invocations"]["by_class"].as_array().unwrap() {
        if row["class"] != "replayed" {
            continue;
        }
        let label = match row["variant"].as_str() {
            Some(v) => format!("replayed.{v}"),
            None => "replayed".to_string(),
        };
        let entry = oracle::replay(&label).unwrap_or_else(|| panic!("{label}: no replay row"));
        // Replays with nothing captured yet (replay-resistant tokens) are not sent: `exhausted`.
        let exhausted: u64 = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["class"] == "replayed" && x["variant"] == row["variant"])
            .filter(|x| x["outcome"] == "exhausted")
            .map(|x| x["count"].as_u64().unwrap())
            .sum();
        let want = if entry.refusal.is_none() {
            Value::from(row["attempts"].as_u64().unwrap() - exhausted)
        } else {
            Value::from(0)
        };
        assert_eq!(row["invocations"], want, "{label}: {row}");
    }
    assert!(
        counts.get("replayed.reused_nonce").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );

    // The ledger: no forged attempt id; one invocation per valid or replayed attempt sent.
    let reached: u64 = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["class"] != "forged" && x["outcome"] != "exhausted")
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    let entries = emu.ledger().entries();
    assert_eq!(entries.len() as u64, reached);
    assert!(entries.iter().all(|e| {
        e.attempt_id
            .as_deref()
            .is_some_and(|id| !id.contains("-forged."))
    }));

    // /metrics: each refusal reason counted exactly as often as the oracle predicts from what was sent.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, variant), n) in &per {
        let f = Forgery::from_name(variant).unwrap();
        *want
            .entry(oracle::entry(f).refusal.to_string())
            .or_default() += n;
    }
    let metrics = get(admin, "/metrics").await;
    let got: BTreeMap<String, u64> = gate_rejections(&metrics)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(got, want, "gate rejections by reason");
    emu.stop().await;
}
