//! `[[run.stages]]` end to end against the embedded emulator: a staged HTTPS run sends exactly the ramp's
//! integral (the plan's prediction), a `target_devices` ramp lets in only the devices it reaches, a required ramp
//! (`[safety] ramp_s`) refuses a steep first stage and gives an unstaged run its implicit ramp, and conflicting
//! fields or flags are scenario errors naming them.

use super::mqtt::{count, transport_row};
use super::*;

const DEVICES: &str = "[devices]\ncount = 10\n[mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n";

/// A staged scenario: `stages` are `[[run.stages]]` tables, `extra` is appended.
fn staged(dir: &Path, name: &str, stages: &str, extra: &str) -> PathBuf {
    write_scenario(
        dir,
        name,
        &format!("[run]\nseed = 7\n{stages}\n{DEVICES}{extra}"),
    )
}

/// 0 → 100/s over 1 s (50), hold 1 s (100), down to 0 over 0.5 s (25): 175 attempts.
const THREE_STAGES: &str = "[[run.stages]]\nduration_s = 1.0\ntarget_rate_per_s = 100.0\n\
     [[run.stages]]\nduration_s = 1.0\n\
     [[run.stages]]\nduration_s = 0.5\ntarget_rate_per_s = 0.0\n";

#[test]
fn a_staged_run_sends_the_ramps_integral_and_echoes_its_stages() {
    let dir = crate::support::tempdir();
    let path = staged(dir.path(), "staged.toml", THREE_STAGES, "");
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    let r = report.unwrap();
    assert_eq!(r["safety"]["predicted"]["attempts"], 175);
    assert_eq!(
        r["throughput"]["attempts_ended"], 175,
        "{}",
        r["throughput"]
    );
    assert_eq!(r["throughput"]["missed"], 0);
    let run = &r["scenario"]["resolved"]["run"];
    assert_eq!(run["duration_s"], 2.5, "the run lasts the stages' sum");
    assert_eq!(run["rate_per_s"], 100.0, "the staged peak");
    assert_eq!(run["stages"].as_array().unwrap().len(), 3);
    assert_eq!(run["stages"][0]["target_rate_per_s"], 100.0);
    assert!(r["safety"]["implicit_ramp_s"].is_null());
}

#[test]
fn a_target_devices_ramp_connects_only_the_devices_it_reaches() {
    let dir = crate::support::tempdir();
    // 6 MQTT/TLS devices; the ramp reaches 2 and comes back down: devices 0 and 1 connect once each, the others
    // never do.
    let stages = "[[run.stages]]\nduration_s = 1.0\ntarget_devices = 2\n\
                  [[run.stages]]\nduration_s = 1.0\n\
                  [[run.stages]]\nduration_s = 1.0\ntarget_devices = 0\n";
    let extra = "[transports]\nhttps = 0.0\nmqtt_tls = 1.0\n[mqtt]\npublish_interval_ms = 200\n";
    let body = format!(
        "[run]\n{stages}\n[devices]\ncount = 6\n[mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n{extra}"
    );
    let path = write_scenario(dir.path(), "devices.toml", &body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report.unwrap();
    let tls = transport_row(&r, "mqtt_tls");
    assert_eq!(tls["attempts_started"], 2, "{tls}");
    assert_eq!(count(tls, "outcomes", "allowed"), 2, "{tls}");
    assert_eq!(
        r["safety"]["predicted"]["attempts"].as_u64().map(|a| a > 0),
        Some(true)
    );
}

#[test]
fn a_required_ramp_refuses_a_steep_first_stage_and_ramps_an_unstaged_run() {
    let dir = crate::support::tempdir();
    let steep = staged(
        dir.path(),
        "steep.toml",
        THREE_STAGES,
        "[safety]\nramp_s = 5.0\n",
    );
    let (o, report) = run(&[steep.to_str().unwrap()], &dir.path().join("out-steep"));
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "run.stages[0]",
        "duration_s = 1",
        "safety.ramp_s = 5",
        "nothing was sent",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(report.is_none());

    // No stages: 0 → 100/s over 2 s (100), then 100/s for 1 s (100).
    let body =
        format!("[run]\nduration_s = 3.0\nrate_per_s = 100.0\n{DEVICES}[safety]\nramp_s = 2.0\n");
    let ramped = write_scenario(dir.path(), "ramped.toml", &body);
    let (o, report) = run(&[ramped.to_str().unwrap()], &dir.path().join("out-ramped"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report.unwrap();
    assert_eq!(r["safety"]["caps"]["ramp_s"], 2.0);
    assert_eq!(r["safety"]["implicit_ramp_s"], 2.0);
    assert_eq!(r["safety"]["predicted"]["attempts"], 200);
    assert_eq!(r["throughput"]["attempts_ended"], 200);
}

#[test]
fn fields_and_flags_the_stages_decide_are_errors_naming_them() {
    let dir = crate::support::tempdir();
    let stage = "[[run.stages]]\nduration_s = 2.0\ntarget_rate_per_s = 10.0\n";
    let cases = [
        (
            "duration.toml",
            format!("[run]\nduration_s = 30.0\n{stage}"),
            vec![],
            "run.duration_s",
        ),
        (
            "rate.toml",
            format!("[run]\nrate_per_s = 30.0\n{stage}"),
            vec![],
            "run.rate_per_s",
        ),
        (
            "closed.toml",
            format!("[run]\nmodel = \"closed\"\n{stage}"),
            vec![],
            "run.stages[0].target_rate_per_s",
        ),
        (
            "zero.toml",
            "[run]\n[[run.stages]]\nduration_s = 0.0\n".into(),
            vec![],
            "run.stages[0].duration_s",
        ),
        (
            "flag.toml",
            format!("[run]\n{stage}"),
            vec!["--duration", "5"],
            "--duration",
        ),
        (
            "rateflag.toml",
            format!("[run]\n{stage}"),
            vec!["--rate", "5"],
            "--rate",
        ),
    ];
    for (file, body, flags, needle) in cases {
        let path = write_scenario(dir.path(), file, &body);
        let mut args = vec![path.to_str().unwrap()];
        args.extend(flags);
        let (o, report) = run(&args, &dir.path().join(format!("out-{file}")));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(needle) && err.contains(file),
            "{file}: {needle:?} not in {err}"
        );
        assert!(report.is_none(), "{file}");
    }
}
