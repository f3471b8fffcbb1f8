//! Remote targets without leaving the machine: a private network namespace (`unshare -n`, root) with 10.99.0.1
//! on its loopback, `tokenstorm emulate` bound there and `tokenstorm run` aimed at it. Nothing can leave the
//! namespace. Without `--allow-remote` or `[safety] authorized`, or over a cap, or a first stage shorter than
//! `[safety] ramp_s`: exit 2 and the emulator saw no
//! request; with both and within the caps the run passes and the report records the remote address.

use super::*;
use crate::support::keys;

const ADDR: &str = "10.99.0.1";
const ENDPOINT: &str = "example-ats.iot.eu-west-1.amazonaws.com";

/// `unshare` and `ip` are required (Debian util-linux and iproute2; scripts/test installs them): a missing one
/// fails the test, it is never skipped.
pub(crate) fn require_tools() {
    for tool in ["unshare", "ip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is missing: install util-linux and iproute2 (scripts/test does)"
        );
    }
}

/// A scenario aimed at the emulator on 10.99.0.1, with `extra` appended.
fn scenario(dir: &Path, name: &str, run: &str, extra: &str) -> PathBuf {
    let body = format!(
        "[run]\nduration_s = 60.0\n{run}\n\
         [devices]\ncount = 4\ntoken = \"per_device\"\n\
         [keys]\nprivate_key_files = [\"signer_private.pem\"]\n\
         [target]\nkind = \"external\"\nurl = \"https://{ADDR}:8443\"\nendpoint_name = \"{ENDPOINT}\"\n\
         admin_url = \"http://{ADDR}:9000\"\nca_file = \"state/ca.pem\"\n\
         [mix]\nvalid = 0.9\nforged = 0.1\nreplayed = 0.0\n{extra}"
    );
    write_scenario(dir, name, &body)
}

/// With a 1 s ramp (the remote default, 60 s, would make the allowed run last 16 s).
const AUTHORIZED: &str =
    "[safety]\nauthorized = \"the safety test, in its own network namespace\"\nramp_s = 1.0\n";
/// Authorized, with the remote default ramp (60 s).
const AUTHORIZED_DEFAULT_RAMP: &str =
    "[safety]\nauthorized = \"the safety test, in its own network namespace\"\n";
const WITHIN: &str = "rate_per_s = 20.0\nmax_attempts = 40";

/// The cases, in order: (name, scenario, --allow-remote).
fn cases(dir: &Path) -> Vec<(&'static str, PathBuf, bool)> {
    vec![
        (
            "no_flag",
            scenario(dir, "no_flag.toml", WITHIN, AUTHORIZED),
            false,
        ),
        (
            "no_authorized",
            scenario(dir, "no_auth.toml", WITHIN, ""),
            true,
        ),
        ("neither", scenario(dir, "neither.toml", WITHIN, ""), false),
        (
            "over_rate",
            scenario(
                dir,
                "rate.toml",
                "rate_per_s = 100.0\nmax_attempts = 40",
                AUTHORIZED,
            ),
            true,
        ),
        (
            "over_forged",
            scenario(
                dir,
                "forged.toml",
                WITHIN,
                &format!("{AUTHORIZED}max_forged_share = 0.05\n"),
            ),
            true,
        ),
        (
            "steep",
            scenario(
                dir,
                "steep.toml",
                "max_attempts = 40\n[[run.stages]]\nduration_s = 10.0\ntarget_rate_per_s = 5.0\n\
                 [[run.stages]]\nduration_s = 50.0",
                AUTHORIZED_DEFAULT_RAMP,
            ),
            true,
        ),
        (
            "allowed",
            scenario(dir, "allowed.toml", WITHIN, AUTHORIZED),
            true,
        ),
        (
            "preflight",
            scenario(dir, "preflight.toml", WITHIN, AUTHORIZED),
            true,
        ),
    ]
}

/// The script run inside the namespace: address up, emulator ready, each case's exit code, stdout and stderr
/// kept, the emulator's metrics read before the allowed run.
fn script(cases: &[(&str, PathBuf, bool)]) -> String {
    let bin = bin();
    let mut s = format!(
        "set -u\nip link set lo up && ip addr add {ADDR}/32 dev lo || exit 97\n\
         {bin} emulate --authorizer-json authorizer.json --bind-https {ADDR}:8443 --bind-admin {ADDR}:9000 \
         --state-dir state --endpoint-name {ENDPOINT} > emu.out 2> emu.err &\nEMU=$!\n\
         i=0; while [ ! -s emu.out ]; do i=$((i+1)); [ $i -gt 600 ] && {{ kill $EMU; exit 98; }}; sleep 0.1; done\n"
    );
    for (name, path, allow) in cases {
        if *name == "allowed" {
            s += &format!(
                "curl -sf http://{ADDR}:9000/metrics > metrics.before || echo unreadable > metrics.before\n"
            );
        }
        if *name == "preflight" {
            s += &format!(
                "curl -sf http://{ADDR}:9000/metrics > metrics.mid || echo unreadable > metrics.mid\n"
            );
        }
        s += &format!(
            "timeout 120 {bin} run {} --out-dir out-{name} --quiet {} {} > {name}.stdout 2> {name}.stderr; echo $? > {name}.rc\n",
            path.display(),
            if *allow { "--allow-remote" } else { "" },
            if *name == "preflight" {
                "--preflight"
            } else {
                ""
            }
        );
    }
    s + &format!(
        "curl -sf http://{ADDR}:9000/metrics > metrics.after || echo unreadable > metrics.after\n"
    ) + "kill $EMU; wait $EMU\nexit 0\n"
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))
}

#[test]
fn remote_targets_need_the_flag_and_the_authorization_and_stay_within_the_caps() {
    require_tools();
    let tmp = crate::support::tempdir();
    let dir = tmp.path();
    std::fs::write(
        dir.join("authorizer.json"),
        crate::emulator::process::describe_json("ACTIVE"),
    )
    .unwrap();
    keys::write_pems(keys::signing_key(), dir, "signer");
    let cases = cases(dir);
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script(&cases)])
        .current_dir(dir)
        .output()
        .expect("cannot start unshare");
    assert!(
        out.status.success(),
        "the namespace script failed ({:?}; root is needed for unshare -n): {}\nemulator: {}",
        out.status,
        text(&out.stderr),
        std::fs::read_to_string(dir.join("emu.err")).unwrap_or_default()
    );
    let refused = |name: &str, needles: &[&str], absent: &[&str]| {
        let (rc, err) = (
            read(dir, &format!("{name}.rc")),
            read(dir, &format!("{name}.stderr")),
        );
        assert_eq!(rc.trim(), "2", "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: {n:?} not in {err}");
        }
        for n in absent {
            assert!(!err.contains(n), "{name}: {n:?} in {err}");
        }
        assert!(
            read(dir, &format!("{name}.stdout")).is_empty(),
            "{name} printed results"
        );
        assert!(
            report_in(&dir.join(format!("out-{name}"))).is_none(),
            "{name} wrote a report"
        );
    };
    refused("no_flag", &["remote", "--allow-remote"], &["authorized ="]);
    refused(
        "no_authorized",
        &["remote", "[safety] authorized"],
        &["--allow-remote"],
    );
    refused("neither", &["--allow-remote", "[safety] authorized"], &[]);
    refused(
        "over_rate",
        &[
            "safety.max_rate_per_s (50)",
            "100 attempts/s",
            "raise safety.max_rate_per_s",
        ],
        &[],
    );
    refused(
        "over_forged",
        &[
            "safety.max_forged_share (0.05)",
            "0.1",
            "raise safety.max_forged_share",
        ],
        &[],
    );
    refused(
        "steep",
        &["run.stages[0]", "duration_s = 10", "safety.ramp_s = 60"],
        &[],
    );
    // The emulator saw no request from the refused runs.
    assert_nothing_served(&read(dir, "metrics.before"), "the refused runs");

    let err = read(dir, "allowed.stderr");
    assert_eq!(
        read(dir, "allowed.rc").trim(),
        "0",
        "{err}\n{}",
        read(dir, "allowed.stdout")
    );
    let r = report_in(&dir.join("out-allowed")).expect("the allowed run wrote a report");
    let s = &r["safety"];
    assert_eq!(s["remote"], true);
    assert_eq!(s["addresses"], serde_json::json!([ADDR]));
    assert_eq!(
        s["authorized"],
        "the safety test, in its own network namespace"
    );
    assert_eq!(s["caps"]["max_rate_per_s"], 50.0);
    assert_eq!(s["caps"]["client_id_gap_s"], 10.0);
    assert_eq!(s["caps"]["ramp_s"], 1.0);
    assert_eq!(s["implicit_ramp_s"], 1.0, "no stages: an implicit ramp");
    assert_eq!(s["predicted"]["attempts"], 40);
    assert_eq!(s["predicted"]["invocations"], 36);
    assert!(s["aborted_by"].is_null());
    // A remote target's abort guards where [abort] leaves them unset.
    assert_eq!(s["abort"]["max_throttled_share"], 0.1);
    assert_eq!(s["abort"]["max_error_share"], 0.2);
    assert_eq!(s["abort"]["max_cost_usd"], 1.0);

    // --preflight against the remote address: exactly one valid and one forged HTTPS attempt.
    let out = read(dir, "preflight.stdout");
    assert_eq!(
        read(dir, "preflight.rc").trim(),
        "0",
        "{out}\n{}",
        read(dir, "preflight.stderr")
    );
    assert!(
        out.contains(&format!("remote target, addresses {ADDR}")),
        "{out}"
    );
    for cap in [
        "client_id_gap_s 10.0",
        "max_attempts 100000",
        "max_rate_per_s 50.0",
    ] {
        assert!(out.contains(cap), "{cap}: {out}");
    }
    assert!(
        out.contains(
            "abort guards: max_cost_usd 1.0, max_error_share 0.2, max_throttled_share 0.1"
        ),
        "{out}"
    );
    assert!(
        out.contains("predicted: 40 attempts, 36 invocations"),
        "{out}"
    );
    assert!(out.contains("preflight: PASS (exit 0)"), "{out}");
    let served = |f: &str| -> u64 {
        read(dir, f)
            .lines()
            .filter(|l| l.starts_with("tokenstorm_requests_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert_eq!(
        served("metrics.after") - served("metrics.mid"),
        2,
        "the preflight sent two attempts"
    );
}

/// The emulator's Prometheus text (read in the namespace before the allowed run) shows no request served: `who`
/// reached nothing.
pub(crate) fn assert_nothing_served(metrics: &str, who: &str) {
    assert!(
        metrics.contains("tokenstorm_"),
        "metrics unreadable: {metrics}"
    );
    let served: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("tokenstorm_requests_total") && !l.ends_with(" 0"))
        .collect();
    assert!(served.is_empty(), "{who} reached the emulator: {served:?}");
}
