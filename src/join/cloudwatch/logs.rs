//! The per-attempt witness on a real account: the witness helper's line per invocation
//! ([`crate::contract::witness_line`]) in the function's log group, read with CloudWatch Logs
//! `FilterLogEvents` (filter pattern: the run id) over the run's [`Window`], and joined by attempt id into the
//! same [`LedgerSummary`] the emulator's ledger becomes (source `cloudwatch-logs`), so the same invariants
//! judge it. The count it settles on is the number of this run's witness lines.

use crate::contract::witness_line::{self, WitnessLine};
use crate::join::{LedgerRow, LedgerSummary, Pending, Spec};

use super::{Reader, Window};

/// The join's source name in the report and the evidence.
pub const SOURCE: &str = "cloudwatch-logs";

/// Joins witness lines by attempt id (in the order they were written): `authenticated: true` is an allow,
/// anything else (false, or null when the handler raised) a deny. Lines of other runs count as foreign.
pub fn join(lines: &[WitnessLine], spec: &Spec) -> LedgerSummary {
    let mut sorted: Vec<&WitnessLine> = lines.iter().collect();
    sorted.sort_by_key(|l| l.unix_ms);
    let mut s = spec.summary(SOURCE, 0);
    s.remedy = "";
    for (i, l) in sorted.into_iter().enumerate() {
        let verdict = if l.authenticated == Some(true) {
            "allow"
        } else {
            "deny"
        };
        let mut row = LedgerRow::new(i as u64 + 1, l.attempt.as_deref(), verdict);
        row.unix_ms = l.unix_ms;
        s.absorb(row);
    }
    s
}

/// This run's witness lines among `messages` (log event messages; other lines are skipped).
pub fn lines_of_run<'a>(
    messages: impl IntoIterator<Item = &'a str>,
    run_id: &str,
) -> Vec<WitnessLine> {
    messages
        .into_iter()
        .filter_map(witness_line::parse)
        .filter(|l| l.run.as_deref() == Some(run_id))
        .collect()
}

/// Reads the function's log group for the run's lines; keeps the last read's lines for the join.
pub struct LogsReader {
    logs: crate::aws::Logs,
    group: String,
    run_id: String,
    window: Window,
    /// The lines of the last successful read.
    pub lines: Vec<WitnessLine>,
}

impl LogsReader {
    pub fn new(logs: crate::aws::Logs, group: &str, run_id: &str, window: Window) -> Self {
        Self {
            logs,
            group: group.to_string(),
            run_id: run_id.to_string(),
            window,
            lines: Vec::new(),
        }
    }
}

impl Reader for LogsReader {
    fn label(&self) -> &'static str {
        SOURCE
    }

    fn read(&mut self) -> Pending<'_, anyhow::Result<u64>> {
        Box::pin(async move {
            // The run id is 8 hex characters: a term CloudWatch matches inside the witness JSON.
            let pattern = format!("\"{}\"", self.run_id);
            let events = self
                .logs
                .filter(
                    &self.group,
                    Some(&pattern),
                    self.window.start_unix_ms(),
                    self.window.end_unix_ms(),
                )
                .await?;
            self.lines = lines_of_run(events.iter().map(|e| e.message.as_str()), &self.run_id);
            Ok(self.lines.len() as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Class, Forgery};

    fn line(attempt: &str, authenticated: Option<bool>, unix_ms: u64) -> String {
        let run = attempt.split('-').next().unwrap();
        format!(
            r#"{{"tokenstorm_witness":1,"run":"{run}","attempt":"{attempt}","protocols":["tls","http"],"signature_verified":true,"token_sha256":"0123456789abcdef","authenticated":{},"request_id":"x","unix_ms":{unix_ms}}}"#,
            authenticated.map_or("null".to_string(), |a| a.to_string())
        )
    }

    #[test]
    fn witness_lines_join_like_ledger_entries() {
        let node = format!(
            "2026-12-03T09:40:01.000Z\tabc\tINFO\t{}",
            line("r1-forged.bit_flip-3-0", Some(false), 3)
        );
        let messages = [
            "START RequestId: abc Version: $LATEST".to_string(),
            line("r1-valid-0-0", Some(true), 2),
            line("r1-valid-1-0", None, 1),
            node,
            line("r2-valid-0-0", Some(true), 4),
            "REPORT RequestId: abc\tDuration: 1.00 ms".to_string(),
        ];
        let lines = lines_of_run(messages.iter().map(String::as_str), "r1");
        assert_eq!(
            lines.len(),
            3,
            "START/REPORT and the other run's line are not ours"
        );
        let s = join(&lines, &Spec::new("r1"));
        assert_eq!(
            (s.source.as_str(), s.total, s.missed, s.ours()),
            (SOURCE, 3, 0, 3)
        );
        let v = s.class(Class::Valid);
        assert_eq!(
            (v.allowed, v.denied),
            (1, 1),
            "a handler that raised is a deny"
        );
        assert_eq!(s.class(Class::Forged(Forgery::BitFlip)).denied, 1);
        assert_eq!(
            s.forged_examples,
            vec!["r1-forged.bit_flip-3-0".to_string()]
        );
    }
}
