//! `tokenstorm calibrate` with `[target.aws]`: an emulator publishing to moto as Lambda publishes to CloudWatch
//! (no admin listener) is the endpoint, and the witness tells a gate refusal from an authorizer deny. Settle at
//! once, read every 2 s (a flush of the emulator's publisher, about every second, falls between two reads).

use std::path::{Path, PathBuf};

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::wire::gate_file;
use tokenstorm::wire::settings::GateSettings;

use super::ODD;
use crate::run::{bin, text, write_scenario};
use crate::support::moto::{self, Moto};
use crate::support::{emulator, keys};

/// An emulator whose function behaves as `behaviour`, under `gate`, publishing to `moto` (to nothing: `None`).
async fn publishing_emulator(
    moto: Option<&Moto>,
    behaviour: FunctionBehaviour,
    gate: GateSettings,
) -> emulator::Handle {
    let mut config = emulator::config(
        vec![emulator::seed_authorizer(behaviour)],
        Some(keys::SEED_AUTHORIZER),
    );
    config.gate = gate;
    config.bind_admin = None;
    config.region = moto::REGION.into();
    config.cloudwatch_url = moto.map(Moto::url);
    emulator::start(config).await
}

/// The emulator as an external target (HTTPS and MQTT/TLS), its function's CloudWatch read by `witness`.
fn scenario(dir: &Path, emu: &emulator::Handle, moto: &Moto, witness: &str) -> PathBuf {
    scenario_at(dir, emu, &moto.url(), witness)
}

/// [`scenario`] with CloudWatch at `endpoint_url`.
fn scenario_at(dir: &Path, emu: &emulator::Handle, endpoint_url: &str, witness: &str) -> PathBuf {
    let (private, _) = keys::write_pems(keys::signing_key(), dir, "signer");
    let body = format!(
        "[keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nmqtt_tls_addr = \"{}\"\nca_file = {:?}\n\
         [target.aws]\nregion = \"{}\"\nfunction_name = \"{}\"\nwitness = \"{witness}\"\n\
         endpoint_url = \"{}\"\nsettle_s = 0\npoll_s = 2\nreconcile_timeout_s = 30\n",
        emu.https_port(),
        emu.addrs().mqtt_tls.unwrap(),
        emu.ca_cert_path(),
        moto::REGION,
        keys::SEED_AUTHORIZER,
        endpoint_url,
    );
    write_scenario(dir, &format!("{witness}.toml"), &body)
}

/// `tokenstorm calibrate <scenario> <args>` with the fake credentials moto accepts.
async fn calibrate(scenario: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("calibrate")
        .arg(scenario)
        .args(args)
        .envs(moto::AWS_ENV);
    tokio::task::spawn_blocking(move || cmd.output().expect("cannot start tokenstorm"))
        .await
        .unwrap()
}

/// Every setting decided through the logs witness: every allowed probe (HTTPS and MQTT) has its witness line,
/// every refused one has none, and the file's evidence says so per probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibrate_reads_the_logs_witness_and_decides_every_setting() {
    let moto = Moto::start();
    let emu = publishing_emulator(Some(&moto), FunctionBehaviour::default_allow(), ODD).await;
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), &emu, &moto, "both");
    let out = dir.path().join("gate.toml");
    let c = calibrate(&s, &["--out", out.to_str().unwrap()]).await;
    emu.stop().await;
    let (stdout, stderr) = (text(&c.stdout), text(&c.stderr));
    assert_eq!(
        c.status.code(),
        Some(0),
        "{stderr}\nmoto: {}",
        moto.log_text()
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(stdout, written);
    let back = gate_file::parse(&written, "gate.toml").unwrap();
    assert_eq!(back.over(GateSettings::default()), ODD, "{written}");
    assert!(
        written.contains("witness cloudwatch-logs read: each probe below says"),
        "{written}"
    );
    for baseline in ["valid over https", "valid over mqtt_tls"] {
        let line = written.lines().find(|l| l.contains(baseline)).unwrap();
        assert!(
            line.ends_with("(CONNACK 0; cloudwatch-logs: invoked, allowed)")
                || line.ends_with("(HTTP 200; cloudwatch-logs: invoked, allowed)"),
            "{line}"
        );
    }
    let evidence: Vec<&str> = written.lines().filter(|l| l.starts_with("#   ")).collect();
    for l in &evidence {
        let want = if l.contains("→ refused") {
            "cloudwatch-logs: not invoked)"
        } else {
            "cloudwatch-logs: invoked, allowed)"
        };
        assert!(l.ends_with(want), "{l}");
    }
    // Under `last_question_mark` the `?` in the free text is allowed: its line names `<id>?SDK=tokenstorm`.
    let mqtt = evidence
        .iter()
        .find(|l| l.contains("free_text_question_mark over mqtt_tls"))
        .unwrap();
    assert!(
        mqtt.ends_with("→ allowed (CONNACK 0; cloudwatch-logs: invoked, allowed)"),
        "{mqtt}"
    );
    assert!(
        evidence.iter().any(|l| l.contains("→ refused")),
        "{written}"
    );
    assert!(
        stderr.contains("reading CloudWatch (logs and metrics"),
        "{stderr}"
    );
}

/// A function that denies everything: the baselines are refused. Without the witness that is "not allowed";
/// with it, the function's deny, named per transport. With the metrics witness alone, the count says so
/// (a refused probe counted, without naming which).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_denies_is_named_an_authorizer_deny() {
    let moto = Moto::start();
    let emu = publishing_emulator(
        Some(&moto),
        FunctionBehaviour::Deny,
        GateSettings::default(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let logs = scenario(dir.path(), &emu, &moto, "logs");
    let metrics = scenario(dir.path(), &emu, &moto, "metrics");
    let out = dir.path().join("gate.toml");
    let c = calibrate(&logs, &["--out", out.to_str().unwrap()]).await;
    let stderr = text(&c.stderr);
    assert_eq!(c.status.code(), Some(1), "{stderr}");
    for t in ["https", "mqtt_tls"] {
        assert!(
            stderr.contains(&format!(
                "baseline over {t}: refused after the authorizer was invoked"
            )) && stderr.contains("the function denied the valid token"),
            "{stderr}"
        );
    }
    assert!(text(&c.stdout).contains("cloudwatch-logs: invoked, denied)"));
    assert!(!out.exists());

    let c = calibrate(&metrics, &[]).await;
    let stderr = text(&c.stderr);
    assert_eq!(c.status.code(), Some(1), "{stderr}");
    assert!(
        // The count's window (whole minutes) also holds the logs calibration's two invocations.
        stderr.contains(" invocation(s) for 0 allowed probe(s): ")
            && stderr.contains("refused probe(s) invoked the authorizer"),
        "{stderr}"
    );

    let c = calibrate(&logs, &["--no-witness"]).await;
    emu.stop().await;
    let stderr = text(&c.stderr);
    assert_eq!(c.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("baseline over https: the valid token and signature were not allowed (HTTP 403; no witness read)"),
        "{stderr}"
    );
    assert!(!stderr.contains("reading CloudWatch"), "{stderr}");
}

/// CloudWatch that cannot be read (a closed port): the witness gives up after 3 failed reads and calibrate is
/// inconclusive, exit 1, no file, whatever the answers were; `--no-witness` classifies the same answers and says
/// in the file that no witness was read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_witness_is_inconclusive_unless_no_witness_is_given() {
    let emu = publishing_emulator(None, FunctionBehaviour::default_allow(), ODD).await;
    // Bound but not listening: connections are refused, and no other test can take the port meanwhile.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = format!("http://{}", reserved.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let s = scenario_at(dir.path(), &emu, &closed, "logs");
    let out = dir.path().join("gate.toml");
    let c = calibrate(&s, &["--out", out.to_str().unwrap()]).await;
    let stderr = text(&c.stderr);
    assert_eq!(c.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("inconclusive: the witness did not settle (cloudwatch-logs never settled (3 reads in a row failed")
            && stderr.contains("--no-witness"),
        "{stderr}"
    );
    assert!(!out.exists());

    let c = calibrate(&s, &["--out", out.to_str().unwrap(), "--no-witness"]).await;
    emu.stop().await;
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        gate_file::parse(&written, "gate.toml")
            .unwrap()
            .over(GateSettings::default()),
        ODD
    );
    assert!(
        written.contains("no witness read (--no-witness): a refusal is taken as the gate's")
            && written.contains("→ refused (HTTP 403; no witness read)"),
        "{written}"
    );
}
