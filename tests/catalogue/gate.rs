//! Every forged variant over HTTPS, MQTT/TLS, MQTT and WSS against an emulator the run did not start: refused at
//! the gate for the oracle's reason (counted by `/metrics`, `tokenstorm_gate_rejections_total{reason}`), never
//! in the invocation ledger, or passing where the oracle says so under the gate settings; replays reach the
//! authorizer, one invocation each. The run is `scenarios/ci-security.toml` itself, pointed at the external
//! emulator and shortened, under the default and the other values of the unconfirmed behaviours.

use std::collections::BTreeMap;

use serde_json::Value;
use tokenstorm::attempt::forge::INACTIVE_AUTHORIZER;
use tokenstorm::attempt::oracle;
use tokenstorm::attempt::oracle::GateVerdict;
use tokenstorm::contract::Forgery;
use tokenstorm::contract::Transport;
use tokenstorm::contract::authorizer::AuthorizerStatus;
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};
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

/// Attempts per (transport, forged variant), and the outcomes of forged attempts the gate must refuse.
fn forged_rows(
    r: &Value,
    gate: &GateSettings,
) -> (BTreeMap<(String, String), u64>, BTreeMap<String, u64>) {
    let mut per = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    for row in r["results"].as_array().unwrap() {
        if row["class"] != "forged" {
            continue;
        }
        let n = row["count"].as_u64().unwrap();
        let variant = row["variant"].as_str().unwrap().to_string();
        let key = (
            row["transport"].as_str().unwrap().to_string(),
            variant.clone(),
        );
        *per.entry(key).or_default() += n;
        let f = Forgery::from_name(&variant).unwrap();
        if oracle::entry(f).refused_under(gate) {
            *outcomes
                .entry(row["outcome"].as_str().unwrap().to_string())
                .or_default() += n;
        }
    }
    (per, outcomes)
}

/// The gate settings as a scenario's `[gate]` table.
fn gate_table(g: &GateSettings) -> String {
    format!(
        "[gate]\nquery_plus = \"{}\"\nduplicates = \"{}\"\nquery_names = \"{}\"\n\
         username_query = \"{}\"\nbare_params = \"{}\"\n",
        g.query_plus.as_str(),
        g.duplicates.as_str(),
        g.query_names.as_str(),
        g.username_query.as_str(),
        g.bare_params.as_str()
    )
}

/// Runs `scenarios/ci-security.toml`, shortened, against an emulator the run did not start, whose gate behaves
/// as `emulator_gate` while the scenario declares `declared`.
async fn ci_security_against(emulator_gate: GateSettings, declared: GateSettings) -> Judged {
    let mut inactive = emulator::seed_authorizer(FunctionBehaviour::default_allow());
    inactive.name = INACTIVE_AUTHORIZER.to_string();
    inactive.status = AuthorizerStatus::Inactive;
    let mut config = emulator::config(
        vec![
            emulator::seed_authorizer(FunctionBehaviour::default_allow()),
            inactive,
        ],
        Some(keys::SEED_AUTHORIZER),
    );
    config.gate = emulator_gate;
    let emu = emulator::start(config).await;
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
             ca_file = {:?}\nmqtt_tls_addr = \"{}\"\nmqtt_addr = \"{}\"\n{}",
            emu.https_port(),
            emu.ca_cert_path(),
            addrs.mqtt_tls.unwrap(),
            addrs.mqtt.unwrap(),
            gate_table(&declared),
        ),
    );
    let path = write_scenario(dir.path(), "ci-security-external.toml", &body);
    let out = dir.path().join("out");
    // Every (transport, variant) pair must get an attempt, and an MQTT device connects at most once a second
    // (the per-client-id limit): 14 s leave the rarest of the 50 variants' pairs a margin on a loaded 2-core
    // machine, where 10 s did not always (the same seed only adds attempts with time, so a longer run covers a
    // superset).
    let (o, r) = tokio::task::spawn_blocking(move || {
        run(&[path.to_str().unwrap(), "--duration", "14"], &out)
    })
    .await
    .unwrap();
    let r = r.unwrap_or_else(|| panic!("no report: {}{}", text(&o.stdout), text(&o.stderr)));
    let entries = emu.ledger().entries();
    let metrics = get(admin, "/metrics").await;
    let rejections = gate_rejections(&metrics)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    let invocations = metrics
        .lines()
        .filter(|l| l.starts_with("tokenstorm_authorizer_invocations_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    emu.stop().await;
    Judged {
        code: o.status.code(),
        report: r,
        entries,
        rejections,
        invocations,
    }
}

/// What a run against the external emulator left: its exit code and report, the emulator's ledger entries, and
/// its `/metrics` gate rejections by reason and authorizer invocations (all authorizers).
struct Judged {
    code: Option<i32>,
    report: Value,
    entries: Vec<tokenstorm::contract::LedgerEntry>,
    rejections: BTreeMap<String, u64>,
    invocations: u64,
}

/// Every variant over every transport, refused for the oracle's reason under `gate` or passing as it says.
async fn every_variant_as_the_oracle_says(gate: GateSettings) {
    let Judged {
        code,
        report: r,
        entries,
        rejections,
        invocations,
    } = ci_security_against(gate, gate).await;
    assert_eq!(code, Some(0), "{:#}", r["invariants"]);
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    assert_eq!(
        invariant(&r, "oracle_passes")["status"],
        "pass",
        "{:#}",
        r["invariants"]
    );

    // Every variant went over every transport, and none the gate must refuse was answered 200 / CONNACK 0.
    let (per, outcomes) = forged_rows(&r, &gate);
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
    // Replays, and the forged variants that pass under `gate`, reach the authorizer once per attempt.
    for row in r["invocations"]["by_class"].as_array().unwrap() {
        let label = crate::run::row_label(row);
        let reaches = match row["class"].as_str().unwrap() {
            "replayed" => oracle::replay(&label)
                .unwrap_or_else(|| panic!("{label}: no replay row"))
                .refusal
                .is_none(),
            "forged" => {
                let f = Forgery::from_name(row["variant"].as_str().unwrap()).unwrap();
                !oracle::entry(f).refused_under(&gate)
            }
            _ => continue,
        };
        // Attempts with no credential to send (replays before anything was captured) are `exhausted`.
        let exhausted: u64 = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["class"] == row["class"] && x["variant"] == row["variant"])
            .filter(|x| x["outcome"] == "exhausted")
            .map(|x| x["count"].as_u64().unwrap())
            .sum();
        let want = if reaches {
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

    // The ledger: no attempt id of a variant the gate must refuse; one invocation per attempt sent that passes.
    let passes = |label: &str| {
        label
            .strip_prefix("forged.")
            .is_none_or(|v| !oracle::entry(Forgery::from_name(v).unwrap()).refused_under(&gate))
    };
    let reached: u64 = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["outcome"] != "exhausted")
        .filter(|x| {
            let label = crate::run::row_label(x);
            passes(&label)
        })
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(entries.len() as u64, reached);
    // ... and /metrics counts the same invocations.
    assert_eq!(invocations, reached);
    for e in &entries {
        let id = e.attempt_id.as_deref().expect("attempt id");
        let parsed =
            tokenstorm::contract::attempt_id::parse(id).expect("one of the run's attempt ids");
        assert!(passes(parsed.class.label()), "{id} reached the authorizer");
    }

    // /metrics: each refusal reason counted exactly as often as the oracle predicts from what was sent.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, variant), n) in &per {
        let f = Forgery::from_name(variant).unwrap();
        if let GateVerdict::Refused(reason) = oracle::entry(f).expected(&gate) {
            *want.entry(reason.as_str().to_string()).or_default() += n;
        }
    }
    assert_eq!(rejections, want, "gate rejections by reason");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_forged_variant_is_judged_by_the_oracle_over_every_transport() {
    every_variant_as_the_oracle_says(GateSettings::default()).await;
}

/// The other value of every unconfirmed behaviour: `+` is a space, duplicates count last or are refused, names
/// match in any case, the username's query starts at its last `?`, `=name` is `name` with an empty value. The
/// variants that passed under the defaults are refused now (and `signature_name_case` and
/// `question_mark_in_free_text` pass; `bare_signature_before` passes under `last`, never under `reject`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unconfirmed_behaviours_are_settings_the_oracle_follows() {
    every_variant_as_the_oracle_says(GateSettings {
        query_plus: QueryPlus::Space,
        duplicates: Duplicates::Last,
        query_names: QueryNames::CaseInsensitive,
        username_query: UsernameQuery::LastQuestionMark,
        bare_params: BareParams::Equivalent,
    })
    .await;
    every_variant_as_the_oracle_says(GateSettings {
        duplicates: Duplicates::Reject,
        bare_params: BareParams::Equivalent,
        ..GateSettings::default()
    })
    .await;
}

/// A target that reads `+` as a space while the scenario declares the default: the run fails and says which
/// setting to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_differs_from_the_declared_settings_fails_the_run_naming_the_setting() {
    let space = GateSettings {
        query_plus: QueryPlus::Space,
        ..GateSettings::default()
    };
    let Judged {
        code,
        report: r,
        rejections,
        ..
    } = ci_security_against(space, GateSettings::default()).await;
    assert_eq!(code, Some(1), "{:#}", r["invariants"]);
    let v = invariant(&r, "oracle_passes");
    assert_eq!(v["status"], "fail", "{v}");
    let evidence = v["evidence"].to_string();
    assert!(evidence.contains("forged.raw_plus"), "{evidence}");
    assert!(evidence.contains("gate.query_plus"), "{evidence}");
    // The refusals were the gate's own (not_base64), and nothing forged reached the authorizer.
    assert!(rejections.get("not_base64").copied().unwrap_or(0) > 0);
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
}
