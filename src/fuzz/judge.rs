//! One case, sent and judged (the async shell around [`super::oracle`]): the case's ledger entries, panics and
//! hang; minimizing a finding; and the liveness probe, which must be answered and reach the authorizer.

use std::time::Duration;

use tokio::time::Instant;

use super::exec::{Endpoints, Sent};
use super::options::Options;
use super::oracle::{FindingKind, Issued, judge_entries, panics};
use super::reduce::Reducer;
use crate::contract::Route;
use crate::emulator::Ledger;

/// The attempt id of case `index`'s valid prefix.
pub fn attempt_id(seed: u64, index: u64) -> String {
    format!("fz{seed}-{index}")
}

/// Sends one case and judges it. `None`: nothing wrong.
pub async fn judge_case(
    ep: &Endpoints,
    ledger: &Ledger,
    issued: &mut Issued,
    transport: Route,
    prefix: Option<&str>,
    bytes: &[u8],
    deadline: Duration,
) -> (Sent, Option<(FindingKind, String)>) {
    if let Some(p) = prefix {
        issued.issue(p);
    }
    let seq = ledger.recorded();
    let panics_before = panics();
    let sent = ep.send(transport, prefix, bytes, deadline).await;
    let entries = ledger.since(seq).entries;
    let verdict = if panics() > panics_before {
        Some((
            FindingKind::Panic,
            format!("{} panic(s) during the case", panics() - panics_before),
        ))
    } else if let Some(found) = judge_entries(&entries, prefix, issued) {
        // Strict on every transport: over WebSocket, `exec` sends the case's bytes only once the valid prefix
        // was answered, so its invocation is in the ledger before the case can end the connection.
        Some(found)
    } else if sent == Sent::Deadline {
        Some((
            FindingKind::Hang,
            format!(
                "the emulator kept the connection open {deadline:?} after the client closed its side"
            ),
        ))
    } else {
        None
    };
    (sent, verdict)
}

/// Shrinks `bytes` while the same kind of finding reproduces, within the time budget.
pub(super) async fn minimize(
    ep: &Endpoints,
    ledger: &Ledger,
    transport: Route,
    prefix: Option<&str>,
    bytes: &[u8],
    kind: FindingKind,
    opts: &Options,
) -> Vec<u8> {
    if kind == FindingKind::Hang {
        return bytes.to_vec(); // each try would cost a whole deadline
    }
    let stop = Instant::now() + opts.minimize_budget;
    let mut r = Reducer::new(bytes.to_vec());
    while Instant::now() < stop {
        let Some(c) = r.next_candidate() else { break };
        // Minimization re-sends the same valid prefix: each try judges its own invocations.
        let mut issued = Issued::default();
        let (_, v) = judge_case(
            ep,
            ledger,
            &mut issued,
            transport,
            prefix,
            &c,
            opts.case_deadline,
        )
        .await;
        r.report(v.is_some_and(|(k, _)| k == kind));
    }
    r.into_best()
}

/// Issues the attempt ids a probe will use (`<id>-https`, `<id>-mqtt`) and returns `id`.
pub(super) fn probe_id(issued: &mut Issued, id: &str) -> String {
    issued.issue(&format!("{id}-https"));
    issued.issue(&format!("{id}-mqtt"));
    id.to_string()
}

/// The liveness probe `id`: a valid HTTPS publish and a valid plain MQTT CONNECT, each answered within
/// `deadline` and each in the ledger (the scenario's function may deny them: an answer is what counts).
pub async fn probe(
    ep: &Endpoints,
    ledger: &Ledger,
    issued: &mut Issued,
    id: &str,
    deadline: Duration,
) -> Result<(), String> {
    let seq = ledger.recorded();
    ep.probe(&probe_id(issued, id), deadline).await?;
    let entries = ledger.since(seq).entries;
    for t in ["https", "mqtt"] {
        let want = format!("{id}-{t}");
        if !entries
            .iter()
            .any(|e| e.attempt_id.as_deref() == Some(want.as_str()))
        {
            return Err(format!(
                "the {t} probe was answered without reaching the authorizer"
            ));
        }
    }
    Ok(())
}
