//! `tokenstorm calibrate` against the real emulator: for every combination of the gate settings calibration
//! decides, an emulator with that combination, calibration through the library, and the gate file it writes
//! parsed back to exactly that combination; then the CLI end to end (`--out`, exit codes, a scenario that loads
//! the file with `gate_file` and runs green against the same emulator, and red without it).

use std::path::Path;
use std::time::Duration;

use tokenstorm::calibrate::probe::{Pair, Prober, shape};
use tokenstorm::calibrate::table::ENTRIES;
use tokenstorm::calibrate::{self, file};
use tokenstorm::contract::Forgery;
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::load::Connector;
use tokenstorm::wire::gate_file;
use tokenstorm::wire::settings::{Duplicates, GateSettings, QueryNames, QueryPlus};

use crate::run::{bin, run, text, write_scenario};
use crate::support::{emulator, keys};

/// The part of `g` calibration decides (the settings of [`ENTRIES`]); the others at their defaults.
fn decided_part(g: &GateSettings) -> GateSettings {
    let values = toml::Table::try_from(g).unwrap();
    let mut out = GateSettings::default();
    for e in &ENTRIES {
        let v = values[e.setting].as_str().unwrap();
        (e.row(v).expect("every value has a row").set)(&mut out);
    }
    out
}

/// Calibrates an in-process emulator whose gate is `gate`; returns the gate file's text and what it parses to.
async fn calibrate_against(gate: GateSettings) -> (String, GateSettings, Vec<&'static str>) {
    let mut config = emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    );
    config.gate = gate;
    let emu = emulator::start(config).await;
    let addr = emu.addrs().https.unwrap();
    let connector = Connector::new(
        addr,
        DEFAULT_ENDPOINT,
        Some(emu.ca_cert_path()),
        false,
        true,
    )
    .unwrap();
    let pair = Pair::with_plus(keys::SEED_TOKEN, keys::signing_key());
    let shape = shape(
        DEFAULT_ENDPOINT,
        keys::SEED_TOPIC,
        Some(keys::SEED_AUTHORIZER),
        keys::SEED_TOKEN_KEY_NAME,
    );
    let mut prober = Prober::new(
        connector,
        &shape,
        pair,
        Duration::from_secs(10),
        Duration::ZERO,
        "sweep",
    );
    let c = calibrate::calibrate(&mut prober).await.unwrap();
    let sent = prober.sent();
    let invoked = emu.ledger().entries().len();
    emu.stop().await;
    // The baseline plus each probe, once each; the authorizer saw only those the gate let through.
    let probes: usize = ENTRIES.iter().map(|e| e.probes.len()).sum();
    assert_eq!(sent, 1 + probes as u64);
    let allowed = 1 + c
        .settings
        .iter()
        .flat_map(|s| &s.observations)
        .filter(|o| o.answer == calibrate::table::Answer::Allowed)
        .count();
    assert_eq!(invoked, allowed, "{}", gate.describe());
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    let text = file::render(
        &c,
        &file::About {
            target: &format!("https://{addr}"),
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
    let mut combos: Vec<GateSettings> = GateSettings::all().iter().map(decided_part).collect();
    combos.dedup();
    combos.sort_by_key(GateSettings::describe);
    combos.dedup();
    let distinct: usize = ENTRIES.iter().map(|e| e.rows.len()).product();
    assert_eq!(combos.len(), distinct);
    let settings: Vec<&str> = ENTRIES.iter().map(|e| e.setting).collect();
    for gate in combos {
        let (text, back, written) = calibrate_against(gate).await;
        assert_eq!(back, gate, "{}\n{text}", gate.describe());
        assert_eq!(written, settings, "{text}");
    }
}

/// An emulator's ready line values for the CLI test: space, last, case_insensitive (no default among them).
const ODD: GateSettings = GateSettings {
    query_plus: QueryPlus::Space,
    duplicates: Duplicates::Last,
    query_names: QueryNames::CaseInsensitive,
    username_query: tokenstorm::wire::settings::UsernameQuery::FirstQuestionMark,
    bare_params: tokenstorm::wire::settings::BareParams::Split,
};

/// A short HTTPS scenario against the emulator at `https` / `admin`: valid attempts and the four forged shapes
/// whose verdict depends on the gate settings, nothing else.
fn scenario(dir: &Path, https: u16, admin: &str, ca: &Path, top: &str) -> String {
    let (private, _) = keys::write_pems(keys::signing_key(), dir, "signer");
    let shapes = [
        Forgery::RawPlus,
        Forgery::DuplicatedToken,
        Forgery::DuplicatedSignature,
        Forgery::SignatureNameCase,
    ];
    let variants: String = Forgery::ALL
        .iter()
        .map(|f| {
            let w = if shapes.contains(f) { 1.0 } else { 0.0 };
            format!("{} = {w:?}\n", f.as_str())
        })
        .collect();
    format!(
        "{top}\n[run]\nduration_s = 2.0\nrate_per_s = 100.0\n\
         [devices]\ncount = 4\ntoken = \"static\"\nstatic_token = \"{}\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [authorizer]\nname = \"{}\"\ntoken_key_name = \"{}\"\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{https}\"\nadmin_url = \"http://{admin}\"\nca_file = {ca:?}\n\
         [http]\ntopic = \"{}\"\ncredentials_in = \"query\"\n\
         [mix]\nvalid = 1.0\nforged = 3.0\nreplayed = 0.0\n[mix.forged_variants]\n{variants}",
        keys::SEED_TOKEN,
        keys::SEED_AUTHORIZER,
        keys::SEED_TOKEN_KEY_NAME,
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
    let mut config = emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    );
    config.gate = ODD;
    let emu = emulator::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let (https, admin) = (emu.https_port(), emu.addrs().admin.unwrap().to_string());
    let ca = emu.ca_cert_path().to_path_buf();
    let plain = write_scenario(
        dir.path(),
        "plain.toml",
        &scenario(dir.path(), https, &admin, &ca, "name = \"plain\""),
    );
    let calibrated = write_scenario(
        dir.path(),
        "calibrated.toml",
        &scenario(
            dir.path(),
            https,
            &admin,
            &ca,
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
    assert_eq!(
        back.over(GateSettings::default()),
        decided_part(&ODD),
        "{written}"
    );

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
    assert_eq!(r["target"]["gate"]["duplicates"], "last");
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
    // The emulator knows another key: the baseline is refused, nothing is decided, exit 1, no file.
    let mut auth = emulator::seed_authorizer(FunctionBehaviour::default_allow());
    auth.signing_keys = vec![("other".into(), keys::public(1))];
    let emu = emulator::start(emulator::config(vec![auth], Some(keys::SEED_AUTHORIZER))).await;
    let dir = tempfile::tempdir().unwrap();
    let admin = emu.addrs().admin.unwrap().to_string();
    let s = write_scenario(
        dir.path(),
        "s.toml",
        &scenario(dir.path(), emu.https_port(), &admin, emu.ca_cert_path(), ""),
    );
    let out = dir.path().join("gate.toml");
    let (p, o) = (s.clone(), out.clone());
    let c = tokio::task::spawn_blocking(move || {
        calibrate_cli(&[p.to_str().unwrap(), "--out", o.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert_eq!(c.status.code(), Some(1), "{}", text(&c.stderr));
    assert!(
        text(&c.stderr)
            .contains("baseline over https: the valid token and signature were not allowed"),
        "{}",
        text(&c.stderr)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_probes_carry_the_pair_in_the_username_over_mqtt_tls() {
    use tokenstorm::calibrate::mqtt::MqttProbe;
    use tokenstorm::calibrate::table::{Answer, Probe};
    use tokenstorm::contract::{Class, MqttVersion, Transport};
    use tokenstorm::load::connect::{client_config, server_name};
    use tokenstorm::load::link::{LinkSpec, tls_connector};
    use tokenstorm::load::username::UsernameShape;
    use tokenstorm::scenario::file::UsernameMode;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let ca = emu.ca_cert_path();
    let https = Connector::new(
        emu.addrs().https.unwrap(),
        DEFAULT_ENDPOINT,
        Some(ca),
        false,
        true,
    )
    .unwrap();
    let tls = tls_connector(client_config(Some(ca), false, true, &[b"mqtt"]).unwrap());
    let mqtt = MqttProbe {
        link: LinkSpec {
            transport: Transport::MqttTls,
            addr: emu.addrs().mqtt_tls.unwrap(),
            server_name: server_name(DEFAULT_ENDPOINT).unwrap(),
            host: DEFAULT_ENDPOINT.into(),
            tls: Some(tls),
            path: String::new(),
        },
        shape: UsernameShape {
            mode: UsernameMode::CustomAuthorizer,
            authorizer_name: Some(keys::SEED_AUTHORIZER.into()),
            token_key_name: keys::SEED_TOKEN_KEY_NAME.into(),
            username: String::new(),
            password: None,
            inactive_authorizer: String::new(),
        },
        version: MqttVersion::V5,
        client_id_prefix: "tokenstorm-".into(),
    };
    let shape = shape(
        DEFAULT_ENDPOINT,
        keys::SEED_TOPIC,
        None,
        keys::SEED_TOKEN_KEY_NAME,
    );
    let pair = Pair::with_plus(keys::SEED_TOKEN, keys::signing_key());
    let mut prober = Prober::new(
        https,
        &shape,
        pair,
        Duration::from_secs(10),
        Duration::ZERO,
        "m",
    )
    .with_mqtt(mqtt);
    let valid = prober
        .send(Probe {
            class: Class::Valid,
            transport: Transport::MqttTls,
        })
        .await
        .unwrap();
    assert_eq!(
        (valid.answer, valid.detail.as_str()),
        (Answer::Allowed, "CONNACK 0")
    );
    let second = prober
        .send(Probe {
            class: Class::Forged(Forgery::SecondQuestionMark),
            transport: Transport::MqttTls,
        })
        .await
        .unwrap();
    assert_eq!(second.answer, Answer::Refused, "{}", second.detail);
    // The authorizer saw the valid probe only, under its attempt id; no probe over plain MQTT can be sent.
    let ids: Vec<_> = emu
        .ledger()
        .entries()
        .into_iter()
        .filter_map(|e| e.attempt_id)
        .collect();
    assert_eq!(ids, ["m-valid-0-0"]);
    assert!(prober.check(Transport::Mqtt).is_err());
    emu.stop().await;
}
