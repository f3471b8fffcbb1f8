//! What the publisher has gathered between flushes, pure: metric samples, and log lines per stream in the order
//! Lambda writes them. A runtime process's invocation is held for one more flush, so that the lines it wrote
//! (read from its pipes by another task, tagged with its request id) land between its `START` and `END` even
//! when they are read after the invocation's record arrived. Lines whose invocation never shows up within a few
//! flushes are written as they are, at the time they were read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::aggregate::{self, Outcome, Sample};
use super::lines::{self, Report};
use super::{Environment, Invoked, Record};
use crate::aws::Datum;

/// Flushes a tagged line waits for its invocation before it is written on its own.
const ORPHAN_AFTER: u64 = 5;

/// One stream's events to put: (group, stream) → (unix ms, message), in order.
pub type Events = BTreeMap<(Arc<str>, Arc<str>), Vec<(i64, String)>>;

/// What one flush sends.
#[derive(Debug, Default, PartialEq)]
pub struct Flush {
    pub metrics: Vec<Datum>,
    pub events: Events,
}

/// Lines a runtime process wrote for a request not written yet: the flush count when first seen, the process's
/// environment, and the lines (read time, text).
struct Tagged {
    since: u64,
    environment: Arc<Environment>,
    lines: Vec<(u64, String)>,
}

#[derive(Default)]
pub struct Outbox {
    flushes: u64,
    samples: Vec<Sample>,
    /// Runtime invocations waiting for late output: (flush count when received, invocation).
    held: Vec<(u64, Invoked)>,
    /// Lines tagged with a request id not written yet: request id → (flush count first seen, environment, lines).
    tagged: HashMap<String, Tagged>,
    events: Events,
}

impl Outbox {
    pub fn push(&mut self, record: Record) {
        match record {
            Record::Invocation(invoked) => self.invocation(*invoked),
            Record::Output {
                environment,
                request_id: Some(id),
                unix_ms,
                line,
            } => {
                let flushes = self.flushes;
                self.tagged
                    .entry(id)
                    .or_insert_with(|| Tagged {
                        since: flushes,
                        environment,
                        lines: Vec::new(),
                    })
                    .lines
                    .push((unix_ms, line));
            }
            Record::Output {
                environment,
                request_id: None,
                unix_ms,
                line,
            } => self.write(&environment, unix_ms, line),
        }
    }

    fn invocation(&mut self, invoked: Invoked) {
        self.samples.push(Sample {
            function: invoked.environment.function.clone(),
            unix_ms: invoked.unix_ms,
            outcome: invoked.outcome,
            duration_us: invoked.duration_us,
        });
        // A throttled invocation never ran: Lambda writes nothing for it.
        if invoked.outcome == Outcome::Throttled {
            return;
        }
        if invoked.hold {
            self.held.push((self.flushes, invoked));
        } else {
            self.write_invocation(invoked);
        }
    }

    fn write(&mut self, env: &Environment, unix_ms: u64, line: String) {
        self.events
            .entry((env.group.clone(), env.stream.clone()))
            .or_default()
            .push((unix_ms as i64, line));
    }

    /// `START`, the witness line or the lines tagged with its request id, `END`, `REPORT`: all stamped with the
    /// invocation's start, as the issue has it.
    fn write_invocation(&mut self, invoked: Invoked) {
        let mut output = Vec::new();
        if let Some((event, response)) = &invoked.witness {
            let line = crate::contract::witness_line::from_event(
                event,
                response.as_ref(),
                &invoked.request_id,
                invoked.unix_ms,
            );
            output.push(line.to_line());
        }
        if let Some(tagged) = self.tagged.remove(&invoked.request_id) {
            output.extend(tagged.lines.into_iter().map(|(_, line)| line));
        }
        let report = Report {
            duration_us: invoked.duration_us,
            billed_ms: invoked.billed_ms,
            memory_mb: invoked.memory_mb,
        };
        for line in lines::invocation(&invoked.request_id, output, report) {
            self.write(&invoked.environment, invoked.unix_ms, line);
        }
    }

    /// Everything due: invocations held since an earlier flush, orphaned lines, the metrics. `last`: the final
    /// flush, which writes everything.
    pub fn flush(&mut self, last: bool) -> Flush {
        self.flushes += 1;
        let now = self.flushes;
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(at, _)| last || *at + 2 <= now);
        self.held = kept;
        for (_, invoked) in due {
            self.write_invocation(invoked);
        }
        let orphans: Vec<String> = self
            .tagged
            .iter()
            .filter(|(_, t)| last || t.since + ORPHAN_AFTER <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in orphans {
            if let Some(t) = self.tagged.remove(&id) {
                for (unix_ms, line) in t.lines {
                    self.write(&t.environment, unix_ms, line);
                }
            }
        }
        Flush {
            metrics: aggregate::data(&std::mem::take(&mut self.samples)),
            events: std::mem::take(&mut self.events),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(stream: &str) -> Arc<Environment> {
        Arc::new(Environment {
            function: "f".into(),
            group: "/aws/lambda/f".into(),
            stream: stream.into(),
        })
    }

    fn invoked(env: &Arc<Environment>, id: &str, outcome: Outcome, hold: bool) -> Record {
        Record::Invocation(Box::new(Invoked {
            environment: env.clone(),
            request_id: id.into(),
            unix_ms: 1000,
            duration_us: 2500,
            billed_ms: 3,
            memory_mb: 128,
            outcome,
            witness: None,
            hold,
        }))
    }

    fn output(env: &Arc<Environment>, id: Option<&str>, line: &str) -> Record {
        Record::Output {
            environment: env.clone(),
            request_id: id.map(str::to_string),
            unix_ms: 900,
            line: line.into(),
        }
    }

    fn messages(flush: &Flush, stream: &str) -> Vec<(i64, String)> {
        flush
            .events
            .get(&(Arc::from("/aws/lambda/f"), Arc::from(stream)))
            .cloned()
            .unwrap_or_default()
    }

    fn texts(flush: &Flush, stream: &str) -> Vec<String> {
        messages(flush, stream)
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }

    #[test]
    fn in_process_invocations_carry_the_witness_line_at_once() {
        let mut outbox = Outbox::default();
        let e = env("s");
        let event = serde_json::json!({"token": "t", "signatureVerified": true, "protocols": ["tls", "http"],
            "protocolData": {"http": {"headers": {"x-tokenstorm-attempt": "run1-valid-0-0"}}}});
        outbox.push(Record::Invocation(Box::new(Invoked {
            witness: Some((event, Some(serde_json::json!({"isAuthenticated": true})))),
            ..match invoked(&e, "r1", Outcome::Ok, false) {
                Record::Invocation(i) => *i,
                Record::Output { .. } => unreachable!(),
            }
        })));
        let flush = outbox.flush(false);
        let lines = messages(&flush, "s");
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|(t, _)| *t == 1000));
        assert_eq!(lines[0].1, "START RequestId: r1 Version: $LATEST");
        let witness = crate::contract::witness_line::parse(&lines[1].1).expect("a witness line");
        assert_eq!(witness.attempt.as_deref(), Some("run1-valid-0-0"));
        assert_eq!((witness.request_id.as_str(), witness.unix_ms), ("r1", 1000));
        assert_eq!(lines[2].1, "END RequestId: r1");
        assert!(
            lines[3]
                .1
                .starts_with("REPORT RequestId: r1\tDuration: 2.50 ms\tBilled Duration: 3 ms")
        );
        assert_eq!(flush.metrics.len(), 4);
        assert_eq!(outbox.flush(false), Flush::default());
    }

    #[test]
    fn a_runtime_invocation_waits_a_flush_for_its_late_lines() {
        let mut outbox = Outbox::default();
        let e = env("p1");
        outbox.push(output(&e, None, "init"));
        outbox.push(output(&e, Some("r1"), "early"));
        outbox.push(invoked(&e, "r1", Outcome::Ok, true));
        let first = outbox.flush(false);
        assert_eq!(texts(&first, "p1"), ["init"]);
        assert_eq!(first.metrics[0].value, 1.0);
        outbox.push(output(&e, Some("r1"), "late"));
        let second = outbox.flush(false);
        let t = texts(&second, "p1");
        assert_eq!(
            t[..4],
            [
                "START RequestId: r1 Version: $LATEST",
                "early",
                "late",
                "END RequestId: r1"
            ]
        );
        assert!(t[4].starts_with("REPORT RequestId: r1\t"), "{t:?}");
        assert!(messages(&second, "p1").iter().all(|(t, _)| *t == 1000));
        assert!(second.metrics.is_empty());
    }

    #[test]
    fn throttles_write_no_lines_and_orphans_are_written_at_last() {
        let mut outbox = Outbox::default();
        let e = env("p");
        outbox.push(invoked(&e, "r0", Outcome::Throttled, false));
        outbox.push(output(&e, Some("gone"), "orphan"));
        let flush = outbox.flush(false);
        assert!(flush.events.is_empty());
        let throttles: Vec<_> = flush
            .metrics
            .iter()
            .map(|d| (d.metric.as_str(), d.value))
            .collect();
        assert_eq!(
            throttles,
            [("Invocations", 0.0), ("Errors", 0.0), ("Throttles", 1.0)]
        );
        for _ in 0..ORPHAN_AFTER - 2 {
            assert!(outbox.flush(false).events.is_empty());
        }
        assert_eq!(
            messages(&outbox.flush(false), "p"),
            [(900, "orphan".to_string())]
        );
        outbox.push(invoked(&e, "r2", Outcome::Error, true));
        assert_eq!(texts(&outbox.flush(true), "p").len(), 3);
    }
}
