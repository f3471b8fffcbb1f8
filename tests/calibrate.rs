//! `tokenstorm calibrate` against the real emulator: for every combination of the gate settings
//! (`GateSettings::all()`), an emulator with that combination, calibration through the library, and the gate
//! file it writes parsed back to exactly that combination; MQTT probes; then the CLI end to end (`--out`, exit
//! codes, a scenario that loads the file with `gate_file` and runs green against the same emulator, and red
//! without it).

use std::path::Path;
use std::time::Duration;

use tokenstorm::calibrate::mqtt::MqttProbe;
use tokenstorm::calibrate::probe::{Pair, Prober, shape};
use tokenstorm::calibrate::table::{Answer, ENTRIES, Probe};
use tokenstorm::calibrate::{self, file};
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::contract::{Class, Forgery, MqttVersion, Transport};
use tokenstorm::load::Connector;
use tokenstorm::load::connect::{client_config, server_name};
use tokenstorm::load::link::LinkSpec;
use tokenstorm::load::username::UsernameShape;
use tokenstorm::scenario::file::UsernameMode;
use tokenstorm::wire::gate_file;
use tokenstorm::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};

use crate::run::{bin, run, text, write_scenario};
use crate::support::{emulator, keys};

#[cfg(feature = "aws")]
mod aws;
mod remote;

/// An emulator with the seed authorizer (allowing every valid request) and the gate `gate`.
async fn seed_emulator(gate: GateSettings) -> emulator::Handle {
    let mut config = emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    );
    config.gate = gate;
    emulator::start(config).await
}

/// HTTPS probes to the emulator, as the seed authorizer's devices publish.
fn https_prober(emu: &emulator::Handle, run: &str) -> Prober {
    let connector = Connector::new(
        emu.addrs().https.unwrap(),
        DEFAULT_ENDPOINT,
        Some(emu.ca_cert_path()),
        false,
        true,
    )
    .unwrap();
    let shape = shape(
        DEFAULT_ENDPOINT,
        keys::SEED_TOPIC,
        Some(keys::SEED_AUTHORIZER),
        keys::SEED_TOKEN_KEY_NAME,
    );
    let pair = Pair::with_plus(keys::SEED_TOKEN, keys::signing_key());
    Prober::new(
        connector,
        &shape,
        pair,
        Duration::from_secs(10),
        Duration::ZERO,
        run,
    )
}

/// MQTT probes to the emulator's MQTT/TLS listener, as the seed authorizer's devices connect.
fn mqtt_probe(emu: &emulator::Handle) -> MqttProbe {
    let tls = client_config(Some(emu.ca_cert_path()), false, true, &[b"mqtt"]).unwrap();
    MqttProbe {
        link: LinkSpec {
            transport: Transport::MqttTls,
            addr: emu.addrs().mqtt_tls.unwrap(),
            server_name: server_name(DEFAULT_ENDPOINT).unwrap(),
            host: DEFAULT_ENDPOINT.into(),
            tls: Some(std::sync::Arc::new(tls)),
            path: String::new(),
            sources: Default::default(),
            resumption: false,
        },
        shape: UsernameShape {
            mode: UsernameMode::CustomAuthorizer,
            authorizer_name: Some(keys::SEED_AUTHORIZER.into()),
            token_key_name: keys::SEED_TOKEN_KEY_NAME.into(),
            username: String::new(),
            password: None,
            inactive_authorizer: String::new(),
            style: Default::default(),
        },
        version: MqttVersion::V5,
        client_id_prefix: "tokenstorm-".into(),
    }
}

/// Calibrates an in-process emulator whose gate is `gate`; returns the gate file's text and what it parses to.
async fn calibrate_against(gate: GateSettings) -> (String, GateSettings, Vec<&'static str>) {
    let emu = seed_emulator(gate).await;
    let mut prober = https_prober(&emu, "sweep").with_mqtt(mqtt_probe(&emu));
    let c = calibrate::calibrate(&mut prober).await.unwrap();
    let invoked = emu.ledger().entries().len();
    let target = format!("https://{}", emu.addrs().https.unwrap());
    emu.stop().await;
    // A baseline per transport plus each probe, once each; the authorizer saw only those the gate let through.
    let probes: usize = ENTRIES.iter().map(|e| e.probes.len()).sum();
    let baselines = calibrate::baselines().len();
    assert_eq!(baselines, 2, "HTTPS and MQTT");
    assert_eq!(prober.sent(), (baselines + probes) as u64);
    let allowed = c
        .baselines
        .iter()
        .chain(c.settings.iter().flat_map(|s| &s.observations))
        .filter(|o| o.answer == Answer::Allowed)
        .count();
    assert_eq!(invoked, allowed, "{}", gate.describe());
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    let text = file::render(
        &c,
        &file::About {
            target: &target,
            endpoint_name: DEFAULT_ENDPOINT,
            scenario: "sweep",
            authorizer: keys::SEED_AUTHORIZER,
            at_unix_s: 0,
        },
    );
    let back = gate_file::parse(&text, "sweep").unwrap();
    (text, back.over(GateSettings::default()), back.written())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_combination_of_the_gate_settings_is_calibrated_back_to_itself() {
    let all = GateSettings::all();
    assert_eq!(all.len(), 48);
    let settings: Vec<&str> = ENTRIES.iter().map(|e| e.setting).collect();
    for gate in all {
        let (text, back, written) = calibrate_against(gate).await;
        assert_eq!(back, gate, "{}\n{text}", gate.describe());
        assert_eq!(written, settings, "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_probes_carry_the_pair_in_the_username_over_mqtt_tls() {
    let emu = seed_emulator(GateSettings::default()).await;
    let mut prober = https_prober(&emu, "m").with_mqtt(mqtt_probe(&emu));
    let mqtt = |f: Option<Forgery>| Probe {
        class: f.map_or(Class::Valid, Class::Forged),
        transport: Transport::MqttTls,
    };
    let valid = prober.send(mqtt(None)).await.unwrap();
    assert_eq!(
        (valid.answer, valid.detail.as_str()),
        (Answer::Allowed, "CONNACK 0")
    );
    let second = prober
        .send(mqtt(Some(Forgery::FreeTextQuestionMark)))
        .await
        .unwrap();
    assert_eq!(second.answer, Answer::Refused, "{}", second.detail);
    // The authorizer saw the valid probe only, under its attempt id.
    let ids: Vec<_> = emu
        .ledger()
        .entries()
        .into_iter()
        .filter_map(|e| e.attempt_id)
        .collect();
    assert_eq!(ids, ["m-valid-0-0"]);
    // Without an MQTT address nothing MQTT can be probed, and calibration sends nothing.
    let mut https_only = https_prober(&emu, "h");
    let e = calibrate::calibrate(&mut https_only).await.unwrap_err();
    assert!(e.to_string().contains("target.mqtt_tls_addr"), "{e}");
    assert_eq!(https_only.sent(), 0);
    emu.stop().await;
}

/// Every setting at a value other than its default.
const ODD: GateSettings = GateSettings {
    query_plus: QueryPlus::Space,
    duplicates: Duplicates::Last,
    query_names: QueryNames::CaseInsensitive,
    username_query: UsernameQuery::LastQuestionMark,
    bare_params: BareParams::Equivalent,
};

/// A short HTTPS scenario against `emu`: valid attempts and the forged shapes whose verdict over HTTPS depends
/// on the gate settings, nothing else. `top` goes first (name, gate_file).
fn scenario(dir: &Path, emu: &emulator::Handle, top: &str) -> String {
    let (private, _) = keys::write_pems(keys::signing_key(), dir, "signer");
    let shapes = [
        Forgery::RawPlus,
        Forgery::DuplicatedToken,
        Forgery::DuplicatedSignature,
        Forgery::SignatureNameCase,
        Forgery::BareSignatureBefore,
        Forgery::BareSignatureAfter,
    ];
    let variants: String = Forgery::ALL
        .iter()
        .map(|f| {
            let w = if shapes.contains(f) { 1.0 } else { 0.0 };
            format!("{} = {w:?}\n", f.as_str())
        })
        .collect();
    let a = emu.addrs();
    format!(
        "{top}\n[run]\nduration_s = 2.0\nrate_per_s = 100.0\n\
         [devices]\ncount = 4\ntoken = \"static\"\nstatic_token = \"{}\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [authorizer]\nname = \"{}\"\ntoken_key_name = \"{}\"\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nmqtt_tls_addr = \"{}\"\n\
         admin_url = \"http://{}\"\nca_file = {:?}\n\
         [http]\ntopic = \"{}\"\ncredentials_in = \"query\"\n\
         [mix]\nvalid = 1.0\nforged = 3.0\nreplayed = 0.0\n[mix.forged_variants]\n{variants}",
        keys::SEED_TOKEN,
        keys::SEED_AUTHORIZER,
        keys::SEED_TOKEN_KEY_NAME,
        emu.https_port(),
        a.mqtt_tls.unwrap(),
        a.admin.unwrap(),
        emu.ca_cert_path(),
        keys::SEED_TOPIC,
    )
}

fn calibrate_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .arg("calibrate")
        .args(args)
        .output()
        .expect("cannot start tokenstorm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibrate_writes_a_gate_file_a_scenario_loads_and_runs_green_with() {
    let emu = seed_emulator(ODD).await;
    let dir = tempfile::tempdir().unwrap();
    let plain = write_scenario(
        dir.path(),
        "plain.toml",
        &scenario(dir.path(), &emu, "name = \"plain\""),
    );
    let calibrated = write_scenario(
        dir.path(),
        "calibrated.toml",
        &scenario(
            dir.path(),
            &emu,
            "name = \"calibrated\"\ngate_file = \"gate.toml\"",
        ),
    );
    let out = dir.path().join("gate.toml");
    let (p, o) = (plain.clone(), out.clone());
    let c = tokio::task::spawn_blocking(move || {
        calibrate_cli(&[p.to_str().unwrap(), "--out", o.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text(&c.stdout), written);
    let back = gate_file::parse(&written, "gate.toml").unwrap();
    assert_eq!(back.over(GateSettings::default()), ODD, "{written}");

    // The scenario that loads the file is judged by the emulator's real settings: green. Without it (the
    // defaults declared), the same traffic is judged by the wrong settings: red.
    let (d, cal) = (dir.path().to_path_buf(), calibrated.clone());
    let (o, r) =
        tokio::task::spawn_blocking(move || run(&[cal.to_str().unwrap()], &d.join("out-cal")))
            .await
            .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.expect("a report");
    assert_eq!(r["target"]["gate_file"], out.display().to_string());
    assert_eq!(r["target"]["gate"]["bare_params"], "equivalent");
    let d = dir.path().to_path_buf();
    let (o, _) =
        tokio::task::spawn_blocking(move || run(&[plain.to_str().unwrap()], &d.join("out-plain")))
            .await
            .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_baseline_or_an_embedded_target_is_no_calibration() {
    // The emulator knows another key: the baselines are refused, nothing is decided, exit 1, no file.
    let mut auth = emulator::seed_authorizer(FunctionBehaviour::default_allow());
    auth.signing_keys = vec![("other".into(), keys::public(1))];
    let emu = emulator::start(emulator::config(vec![auth], Some(keys::SEED_AUTHORIZER))).await;
    let dir = tempfile::tempdir().unwrap();
    let s = write_scenario(dir.path(), "s.toml", &scenario(dir.path(), &emu, ""));
    let out = dir.path().join("gate.toml");
    let (p, o) = (s.clone(), out.clone());
    let c = tokio::task::spawn_blocking(move || {
        calibrate_cli(&[p.to_str().unwrap(), "--out", o.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_eq!(c.status.code(), Some(1), "{}", text(&c.stderr));
    let err = text(&c.stderr);
    assert!(
        err.contains("baseline over https: the valid token and signature were not allowed")
            && err.contains("baseline over mqtt_tls: "),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(emu.ledger().entries().len(), 0);
    emu.stop().await;
    // An embedded target has nothing to measure: exit 2, naming the field.
    let e = write_scenario(dir.path(), "e.toml", "[run]\nduration_s = 1.0\n");
    let c = calibrate_cli(&[e.to_str().unwrap()]);
    assert_eq!(c.status.code(), Some(2));
    assert!(
        text(&c.stderr).contains("e.toml: target:"),
        "{}",
        text(&c.stderr)
    );
}
