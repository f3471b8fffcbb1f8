//! `tokenstorm catalogue [--json] [--gate-* ...]`: the forged-credential catalogue and the replay catalogue as
//! the oracle (`attempt::oracle`) holds them, with each variant's expected gate verdict under the gate settings
//! given (default: the spec's), where it is sent, and what backs the verdict. Nothing is sent anywhere.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::gate_args::GateArgs;
use crate::attempt::oracle::{self, Applies, Evidence, GateVerdict};
use crate::contract::Forgery;
use crate::contract::{GateRejection, Transport};
use crate::error::Exit;
use crate::wire::settings::GateSettings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON document on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gate: GateArgs,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let gate = args.gate.resolve(GateSettings::default())?;
    let out = if args.json {
        serde_json::to_string_pretty(&document(&gate))? + "\n"
    } else {
        table(&gate)
    };
    print!("{out}");
    Ok(Exit::Ok)
}

fn applies(a: Applies) -> (&'static str, Option<&'static str>) {
    match a {
        Applies::Yes => ("yes", None),
        Applies::Moved(why) => ("moved", Some(why)),
        Applies::Skipped(why) => ("skipped", Some(why)),
    }
}

fn evidence(e: Evidence) -> Value {
    match e {
        Evidence::Documented(source) => json!({"documented": source}),
        Evidence::Unconfirmed { setting, default } => {
            json!({"unconfirmed": {"setting": setting, "default": default}})
        }
    }
}

/// The catalogue as JSON: `gate`, `forged[]` (one object per variant, in catalogue order) and `replayed[]`.
pub fn document(gate: &GateSettings) -> Value {
    let forged: Vec<Value> = Forgery::ALL
        .iter()
        .map(|&f| {
            let e = oracle::entry(f);
            let verdict = e.expected(gate);
            let transports: serde_json::Map<String, Value> = Transport::ALL
                .iter()
                .map(|&t| {
                    let (how, why) = applies(e.applies(t));
                    (t.as_str().to_string(), json!({"sent": how, "why": why}))
                })
                .collect();
            json!({
                "variant": f.as_str(),
                "label": f.label(),
                "family": e.family.as_str(),
                "what": e.what(),
                "verdict": verdict.as_str(),
                "refused": verdict.is_refused(),
                "evidence": evidence(e.evidence),
                "transports": transports,
            })
        })
        .collect();
    let replayed: Vec<Value> = oracle::REPLAYS
        .iter()
        .map(|r| {
            json!({
                "label": r.label,
                "what": r.what,
                "verdict": r.refusal.map_or(GateVerdict::Passes, GateVerdict::Refused).as_str(),
                "evidence": evidence(r.evidence),
            })
        })
        .collect();
    json!({"gate": gate, "forged": forged, "replayed": replayed})
}

/// The catalogue as a text table, then the unconfirmed rows' settings and the replays.
pub fn table(gate: &GateSettings) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "forged-credential catalogue: {} variants · gate {}",
        Forgery::COUNT,
        gate.describe()
    );
    let _ = writeln!(
        o,
        "{:<24} {:<13} {:<22} {:<8} {:<8} {:<8} {:<8} what",
        "variant", "family", "gate verdict", "https", "mqtt_tls", "mqtt", "wss"
    );
    let mut unconfirmed = Vec::new();
    for f in Forgery::ALL {
        let e = oracle::entry(f);
        let mut verdict = e.expected(gate).as_str().to_string();
        if let Evidence::Unconfirmed { setting, .. } = e.evidence {
            verdict.push_str(" †");
            unconfirmed.push((f, setting));
        }
        let t = |t: Transport| applies(e.applies(t)).0;
        let _ = writeln!(
            o,
            "{:<24} {:<13} {:<22} {:<8} {:<8} {:<8} {:<8} {}",
            f.as_str(),
            e.family.as_str(),
            verdict,
            t(Transport::Https),
            t(Transport::MqttTls),
            t(Transport::Mqtt),
            t(Transport::Wss),
            e.what()
        );
    }
    let _ = writeln!(
        o,
        "\n† unconfirmed on AWS: the verdict follows the gate setting (scenario [gate], emulate --gate-*):"
    );
    for (f, setting) in unconfirmed {
        let _ = writeln!(o, "  {:<24} {setting}", f.as_str());
    }
    let _ = writeln!(
        o,
        "\nreplays (the gate cannot tell a captured pair from the original):"
    );
    for r in &oracle::REPLAYS {
        let verdict = r.refusal.map_or("passes the gate", GateRejection::as_str);
        let _ = writeln!(o, "  {:<24} {:<22} {}", r.label, verdict, r.what);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::settings::Duplicates;

    #[test]
    fn the_document_follows_the_settings_and_lists_every_variant() {
        let d = document(&GateSettings::default());
        let forged = d["forged"].as_array().unwrap();
        assert_eq!(forged.len(), Forgery::COUNT);
        let row = |d: &Value, v: &str| {
            d["forged"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["variant"] == v)
                .unwrap()
                .clone()
        };
        assert_eq!(row(&d, "bit_flip")["verdict"], "signature_mismatch");
        assert_eq!(row(&d, "duplicated_token")["verdict"], "passes");
        assert_eq!(
            row(&d, "duplicated_token")["evidence"]["unconfirmed"]["setting"],
            "gate.duplicates"
        );
        assert_eq!(row(&d, "in_body")["transports"]["mqtt"]["sent"], "skipped");
        let reject = document(&GateSettings {
            duplicates: Duplicates::Reject,
            ..GateSettings::default()
        });
        assert_eq!(
            row(&reject, "duplicated_token")["verdict"],
            "duplicated_parameter"
        );
        assert_eq!(reject["gate"]["duplicates"], "reject");
        assert_eq!(
            d["replayed"].as_array().unwrap().len(),
            oracle::REPLAYS.len()
        );
    }

    #[test]
    fn the_table_has_a_line_per_variant_and_marks_the_unconfirmed_ones() {
        let t = table(&GateSettings::default());
        for f in Forgery::ALL {
            assert!(
                t.lines()
                    .any(|l| l.starts_with(&format!("{:<24} ", f.as_str()))),
                "{f:?}"
            );
        }
        assert_eq!(t.matches(" †").count(), 8, "{t}");
        assert!(
            t.contains("raw_plus                 gate.query_plus"),
            "{t}"
        );
    }
}
