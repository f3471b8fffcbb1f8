//! `tokenstorm run --preflight`: everything a run checks and sets up, then exactly one valid and one forged
//! (`forged.wrong_key`) attempt per transport in use instead of the load. The target is resolved with every
//! safety rule in force (a remote one needs `--allow-remote` and `[safety] authorized`, the plan must be within
//! the caps: exit 2), the plan, the caps, the abort guards and the prediction are printed, then each probe's
//! answer, and whether the witness saw an invocation where one sees them live. Exit 0 when every valid attempt
//! was allowed and every forged one refused (without an invocation, where the witness can tell), 1 otherwise,
//! naming why. The probes go out through the load's own parts (the request book and connector, the MQTT links
//! and sessions, the planner's attempt ids), and `preflight.json` is written in the run folder. Before the probes,
//! the client-side warnings of `tokenstorm explain` (ALPN, port 443 on an AWS endpoint, SNI, a second `?`, an
//! unencoded signature) are printed for what each transport's valid probe would present.

use serde::Serialize;

use super::*;
use crate::contract::{Class, Forgery};
use crate::load::link::LinkSpec;
use crate::metrics::Outcome;
use crate::safety::SafetyRecord;

mod policy;
mod probe;
mod warn;

/// The forged variant the probes send: a signature by another key, refused under every gate setting.
pub const FORGED: Forgery = Forgery::WrongKey;

/// One probe's answer (`preflight.json` `probes[]`).
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub transport: &'static str,
    /// `valid` or `forged.wrong_key`.
    pub class: &'static str,
    pub attempt_id: String,
    pub outcome: Outcome,
    /// The answer as the wire gave it (`HTTP 403`, `CONNACK 0 (accepted)`) or why none came.
    pub answer: String,
    pub latency_ms: f64,
    /// Whether the witness saw an invocation for it; null: no live witness.
    pub invoked: Option<bool>,
    /// Null when the probe answered as it must; else why not.
    pub problem: Option<String>,
}

/// `preflight.json`.
#[derive(Debug, Serialize)]
struct Record<'a> {
    scenario: String,
    run_id: &'a str,
    urls: &'a [String],
    safety: &'a SafetyRecord,
    probes: &'a [Probe],
    /// The policy dry run on the function's answer to each transport's valid probe (null: not visible).
    policy: Option<&'a [policy::Checked]>,
    /// Client-side warnings (`tokenstorm explain`'s): `{transport, rule, text}`.
    warnings: Vec<serde_json::Value>,
    passed: bool,
}

/// How a probe's answer reads on the wire (the outcome names the HTTP status or the CONNACK).
pub fn answer(t: Transport, outcome: Outcome, failure: Option<&str>) -> String {
    let https = t == Transport::Https;
    match (outcome, failure) {
        (_, Some(why)) => why.to_string(),
        (Outcome::Allowed, _) if https => "HTTP 200".into(),
        (Outcome::Allowed, _) => "CONNACK 0 (accepted)".into(),
        (Outcome::Forbidden, _) => "HTTP 403".into(),
        (Outcome::Throttled, _) if https => "HTTP 429 (throttled)".into(),
        (Outcome::Throttled, _) => "CONNACK 0x97/0x9F (throttled)".into(),
        (Outcome::OtherStatus, _) => "HTTP status other than 200/403/429".into(),
        (Outcome::Refused, _) => "CONNACK refused (non-zero code)".into(),
        (Outcome::ClosedWithoutConnack, _) => "closed without CONNACK".into(),
        (o, None) => o.as_str().into(),
    }
}

/// Why a probe did not answer as it must: a valid attempt is allowed; a forged one is refused (an answer, not
/// an error or a throttle: those cannot tell) and, where the witness can tell, never invoked the function.
pub fn problem(class: Class, outcome: Outcome, invoked: Option<bool>) -> Option<String> {
    if class == Class::Valid {
        return (outcome != Outcome::Allowed)
            .then(|| format!("the valid attempt was not allowed ({})", outcome.as_str()));
    }
    match outcome {
        Outcome::Allowed => Some("the forged attempt was allowed".into()),
        Outcome::Forbidden
        | Outcome::Refused
        | Outcome::ClosedWithoutConnack
        | Outcome::OtherStatus
            if invoked == Some(true) =>
        {
            Some("the forged attempt was refused, but it invoked the authorizer function".into())
        }
        Outcome::Forbidden
        | Outcome::Refused
        | Outcome::ClosedWithoutConnack
        | Outcome::OtherStatus => None,
        o => Some(format!(
            "the forged attempt was not answered with a refusal ({})",
            o.as_str()
        )),
    }
}

/// What the probes need from the run's setup.
pub(super) struct Parts<'a> {
    pub(super) plan: &'a Plan,
    pub(super) catalogue: &'a Catalogue,
    pub(super) pool: Option<Arc<TokenPool>>,
    pub(super) run_id: &'a str,
    pub(super) https: Option<(Connector, RequestBook)>,
    pub(super) links: Vec<(LinkSpec, std::ops::Range<u32>)>,
    pub(super) safety: &'a SafetyRecord,
    pub(super) urls: &'a [String],
    pub(super) run_dir: &'a Path,
}

/// Prints the plan, sends the probes, prints their answers, writes `preflight.json`, then stops the embedded
/// emulator if one was started.
pub(super) async fn run(
    p: Parts<'_>,
    emulator: Option<RunningEmulator>,
    emu_shutdown: &Shutdown,
) -> anyhow::Result<Exit> {
    // An unreadable ledger was warned about: the probes then say nothing about invocations.
    let witness = witness::witness(
        p.plan,
        emulator.as_ref(),
        p.run_id,
        None,
        &join::Origin::default(),
        false,
    )
    .await
    .ok()
    .flatten();
    let exit = probe_all(&p, witness, emulator.as_ref()).await;
    if let Some(emu) = emulator {
        stop_embedded(emu, emu_shutdown, p.run_dir, false).await;
    }
    exit
}

/// Sends and prints every probe, writes `preflight.json`; the exit code says whether each answered as it must.
async fn probe_all(
    p: &Parts<'_>,
    mut witness: Option<Box<dyn join::Witness>>,
    emulator: Option<&RunningEmulator>,
) -> anyhow::Result<Exit> {
    print!("{}", describe(p.plan, p.safety, p.urls));
    let warnings = warn::client_warnings(p);
    for (t, w) in &warnings {
        println!("  warning ({}): {} ({})", t.as_str(), w.text, w.rule);
    }
    let mut probes = Vec::new();
    for t in p.plan.groups.in_use() {
        for class in [Class::Valid, Class::Forged(FORGED)] {
            let probe = probe::one(p, &mut witness, t, class).await?;
            println!(
                "  {:<9} {:<18} {:<24} {:<34} {:>8.1} ms  invoked: {}{}",
                probe.transport,
                probe.class,
                probe.outcome.as_str(),
                probe.answer,
                probe.latency_ms,
                probe
                    .invoked
                    .map_or("(no live witness)", |i| if i { "yes" } else { "no" }),
                probe
                    .problem
                    .as_deref()
                    .map(|w| format!("  ← {w}"))
                    .unwrap_or_default()
            );
            probes.push(probe);
        }
    }
    if probes
        .iter()
        .any(|x| x.class == "valid" && x.problem.is_some())
    {
        print_refused_valid(p, emulator).await;
    }
    let answers = policy::answers(p.plan, emulator.map(|e| e.ledger())).await;
    let checked = policy::check(p.plan, answers.as_deref(), &probes);
    let denied = checked.as_deref().map_or(0, policy::denied);
    let passed = probes.iter().all(|x| x.problem.is_none()) && denied == 0;
    let record = Record {
        scenario: p.plan.source.display().to_string(),
        run_id: p.run_id,
        urls: p.urls,
        safety: p.safety,
        probes: &probes,
        policy: checked.as_deref(),
        warnings: warnings
            .iter()
            .map(|(t, w)| serde_json::json!({"transport": t.as_str(), "rule": w.rule, "text": w.text}))
            .collect(),
        passed,
    };
    let path = p.run_dir.join("preflight.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&record)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let problems = probes.iter().filter(|x| x.problem.is_some()).count();
    println!(
        "preflight: {} · {}",
        if passed {
            "PASS (exit 0): every valid attempt allowed, every forged one refused".to_string()
        } else if problems == 0 {
            format!(
                "FAIL (exit 1): the function's policy denies {denied} request(s) the devices make"
            )
        } else {
            format!("FAIL (exit 1): {problems} probe(s) did not answer as they must")
        },
        path.display()
    );
    Ok(if passed { Exit::Ok } else { Exit::Failed })
}

/// A valid probe refused at the gate: the emulator's explanation, rule and fix.
async fn print_refused_valid(p: &Parts<'_>, emulator: Option<&RunningEmulator>) {
    for a in witness::refused_valid(p.plan, emulator, p.run_id).await {
        println!("  why {} ({}): {}", a.attempt_id, a.transport, a.summary);
        if let Some(fix) = &a.fix {
            println!("    fix: {fix}");
        }
    }
}

/// The plan, the safety rules in force and the prediction, before any probe.
fn describe(plan: &Plan, s: &SafetyRecord, urls: &[String]) -> String {
    let caps = serde_json::to_value(s.caps).unwrap_or_default();
    let listed = |v: &serde_json::Value| -> String {
        let set: Vec<String> = v
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| format!("{k} {x}"))
                    .collect()
            })
            .unwrap_or_default();
        if set.is_empty() {
            "none".into()
        } else {
            set.join(", ")
        }
    };
    let guards = serde_json::to_value(s.abort).unwrap_or_default();
    let opt = |v: Option<u64>| v.map_or("unbounded".to_string(), |n| n.to_string());
    format!(
        "preflight {}: {} → {} (SNI {}); {} target, addresses {}{}\n\
         plan: {} devices ({}), HTTPS {:?}, MQTT {}/s connects, up to {:.1} s{}\n\
         caps in force: {}\n\
         abort guards: {}\n\
         predicted: {} attempts, {} invocations, {} USD\n\
         probes (one valid and one forged attempt per transport, no load):\n",
        plan.source.display(),
        plan.name,
        urls.join(" "),
        plan.target.endpoint_name(),
        if s.remote { "remote" } else { "loopback" },
        s.addresses.join(", "),
        s.authorized
            .as_deref()
            .map(|a| format!(", authorized by {a:?}"))
            .unwrap_or_default(),
        plan.devices,
        plan.groups.describe(),
        plan.model,
        plan.mqtt.connects_per_s,
        (plan.duration + plan.warmup).as_secs_f64(),
        plan.max_attempts
            .map(|m| format!(" or {m} attempts"))
            .unwrap_or_default(),
        listed(&caps),
        listed(&guards),
        opt(s.predicted.attempts),
        opt(s.predicted.invocations),
        s.predicted
            .cost_usd
            .map_or("unbounded".to_string(), |c| format!("{c:.6}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_probe_must_be_allowed_and_a_forged_one_refused_without_an_invocation() {
        let forged = Class::Forged(FORGED);
        assert_eq!(problem(Class::Valid, Outcome::Allowed, Some(true)), None);
        assert!(
            problem(Class::Valid, Outcome::Forbidden, None)
                .unwrap()
                .contains("not allowed (forbidden)")
        );
        assert_eq!(problem(forged, Outcome::Forbidden, Some(false)), None);
        assert_eq!(problem(forged, Outcome::ClosedWithoutConnack, None), None);
        assert!(
            problem(forged, Outcome::Allowed, None)
                .unwrap()
                .contains("was allowed")
        );
        assert!(
            problem(forged, Outcome::Refused, Some(true))
                .unwrap()
                .contains("invoked")
        );
        for o in [
            Outcome::Timeout,
            Outcome::TransportError,
            Outcome::Throttled,
        ] {
            assert!(
                problem(forged, o, None)
                    .unwrap()
                    .contains("not answered with a refusal"),
                "{o:?}"
            );
        }
    }

    #[test]
    fn answers_read_as_the_wire_gave_them() {
        assert_eq!(
            answer(Transport::Https, Outcome::Forbidden, None),
            "HTTP 403"
        );
        assert_eq!(
            answer(Transport::MqttTls, Outcome::Allowed, None),
            "CONNACK 0 (accepted)"
        );
        assert_eq!(
            answer(Transport::Wss, Outcome::Throttled, None),
            "CONNACK 0x97/0x9F (throttled)"
        );
        assert_eq!(
            answer(
                Transport::Https,
                Outcome::TransportError,
                Some("connect: connection refused")
            ),
            "connect: connection refused"
        );
    }
}
