//! `tokenstorm calibrate` against a remote target without leaving the machine: the private network namespace of
//! `tests/run/safety.rs` (`unshare -n`, root) with 10.99.0.1 on its loopback and `tokenstorm emulate` bound
//! there. Without `--allow-remote` or `[safety] authorized`: exit 2 and the emulator saw no request; with both
//! every setting is decided (one probe per second at most, as for any remote target).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{bin, text, write_scenario};
use crate::support::keys;

const ADDR: &str = "10.99.0.1";
const ENDPOINT: &str = "example-ats.iot.eu-west-1.amazonaws.com";

/// A scenario aimed at the emulator on 10.99.0.1 (HTTPS and MQTT/TLS), with `extra` appended.
fn scenario(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let body = format!(
        "[keys]\nprivate_key_files = [\"signer_private.pem\"]\n\
         [target]\nkind = \"external\"\nurl = \"https://{ADDR}:8443\"\nmqtt_tls_addr = \"{ADDR}:8883\"\n\
         endpoint_name = \"{ENDPOINT}\"\nca_file = \"state/ca.pem\"\n{extra}"
    );
    write_scenario(dir, name, &body)
}

const AUTHORIZED: &str =
    "[safety]\nauthorized = \"the calibrate test, in its own network namespace\"\n";

#[test]
fn calibrating_a_remote_target_needs_the_flag_and_the_authorization() {
    crate::run::safety::require_tools();
    let tmp = crate::support::tempdir();
    let dir = tmp.path();
    std::fs::write(
        dir.join("authorizer.json"),
        crate::emulator::process::describe_json("ACTIVE"),
    )
    .unwrap();
    keys::write_pems(keys::signing_key(), dir, "signer");
    let cases = [
        ("no_flag", scenario(dir, "no_flag.toml", AUTHORIZED), ""),
        (
            "no_authorized",
            scenario(dir, "no_auth.toml", ""),
            "--allow-remote",
        ),
        (
            "allowed",
            scenario(dir, "allowed.toml", AUTHORIZED),
            "--allow-remote",
        ),
    ];
    let bin = bin();
    let mut script = format!(
        "set -u\nip link set lo up && ip addr add {ADDR}/32 dev lo || exit 97\n\
         {bin} emulate --authorizer-json authorizer.json --bind-https {ADDR}:8443 --bind-admin {ADDR}:9000 \
         --bind-mqtt-tls {ADDR}:8883 --state-dir state --endpoint-name {ENDPOINT} --gate-duplicates last \
         --gate-username-query last_question_mark > emu.out 2> emu.err &\nEMU=$!\n\
         i=0; while [ ! -s emu.out ]; do i=$((i+1)); [ $i -gt 600 ] && {{ kill $EMU; exit 98; }}; sleep 0.1; done\n"
    );
    for (name, path, flag) in &cases {
        if *name == "allowed" {
            script += &format!(
                "curl -sf http://{ADDR}:9000/metrics > metrics.before || echo unreadable > metrics.before\n"
            );
        }
        script += &format!(
            "timeout 120 {bin} calibrate {} {flag} --out {name}.gate.toml > {name}.stdout 2> {name}.stderr; echo $? > {name}.rc\n",
            path.display()
        );
    }
    script += "kill $EMU; wait $EMU\nexit 0\n";
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .current_dir(dir)
        .output()
        .expect("cannot start unshare");
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert!(
        out.status.success(),
        "the namespace script failed ({:?}; root is needed for unshare -n): {}\nemulator: {}",
        out.status,
        text(&out.stderr),
        std::fs::read_to_string(dir.join("emu.err")).unwrap_or_default()
    );
    for (name, needle) in [
        ("no_flag", "--allow-remote"),
        ("no_authorized", "[safety] authorized"),
    ] {
        let err = read(&format!("{name}.stderr"));
        assert_eq!(read(&format!("{name}.rc")).trim(), "2", "{name}: {err}");
        assert!(
            err.contains("remote") && err.contains(needle),
            "{name}: {err}"
        );
        assert!(!dir.join(format!("{name}.gate.toml")).exists());
    }
    // The refused calibrations reached nothing.
    crate::run::safety::assert_nothing_served(&read("metrics.before"), "refused calibrations");
    // Allowed: every setting decided, the emulator's among them.
    let err = read("allowed.stderr");
    assert_eq!(read("allowed.rc").trim(), "0", "{err}");
    let gate = read("allowed.gate.toml");
    assert!(gate.contains(&format!("https://{ADDR}:8443")), "{gate}");
    let back = tokenstorm::wire::gate_file::parse(&gate, "allowed.gate.toml").unwrap();
    assert_eq!(
        back.over(Default::default()).describe(),
        "query_plus=literal, duplicates=last, query_names=exact, \
         username_query=last_question_mark, bare_params=split"
    );
}
