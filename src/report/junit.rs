//! `junit.xml`: the run's verdicts as one JUnit `<testsuite>` (named `tokenstorm.<scenario>`) with one
//! `<testcase>` per invariant and per threshold, named by its stable name (`threshold: <expr>` for a threshold)
//! so CI tools track it across runs. A failed verdict is a `<failure>`, an inconclusive one an `<error>` (the
//! rule could not be judged: JUnit's "did not run to a result", and red in every CI viewer just as the run's
//! exit 1 is), `skipped` and `info` verdicts are `<skipped>`. Verdicts are judged after the load, so each case's
//! `time` is 0 and the suite's is the run's elapsed seconds. The properties carry the verdict and the exit code
//! (3: interrupted); an interrupted run also says so in `<system-out>`.

use std::fmt::Write as _;

use super::view::{Verdict, View};

/// The whole document.
pub fn render(v: &View) -> String {
    let suite = format!("tokenstorm.{}", v.scenario.name);
    let count = |s: &str| v.invariants.iter().filter(|i| i.status == s).count();
    let (failures, errors) = (count("fail"), count("inconclusive"));
    let skipped = count("skipped") + count("info");
    let tests = v.invariants.len();
    let time = format!("{:.3}", v.timing.elapsed_s);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tokenstorm\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"{skipped}\" time=\"{time}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{}\">",
        escape(&suite),
        escape(&v.started_at)
    );
    out.push_str("    <properties>\n");
    let stopped = v.stopped_by.as_deref().unwrap_or("");
    let exit_code = v.exit_code.to_string();
    for (name, value) in [
        ("verdict", v.verdict.as_str()),
        ("exit_code", exit_code.as_str()),
        ("interrupted", if v.interrupted { "true" } else { "false" }),
        ("stopped_by", stopped),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(value)
        );
    }
    out.push_str("    </properties>\n");
    for i in &v.invariants {
        case(&mut out, &suite, i);
    }
    if v.interrupted {
        let _ = writeln!(
            out,
            "    <system-out>INTERRUPTED (stopped by {}): the verdicts judge the part of the run that happened</system-out>",
            escape(if stopped.is_empty() {
                "a stop"
            } else {
                stopped
            })
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// One `<testcase>` with its failure, error or skip.
fn case(out: &mut String, suite: &str, i: &Verdict) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\"",
        escape(suite),
        escape(&i.name)
    );
    let tag = match i.status.as_str() {
        "fail" => "failure",
        "inconclusive" => "error",
        "skipped" | "info" => "skipped",
        _ => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&i.summary)
            );
            return;
        }
    };
    let message = i.evidence.first().unwrap_or(&i.summary);
    let mut body = i.summary.clone();
    for e in &i.evidence {
        body.push('\n');
        body.push_str(e);
    }
    let _ = writeln!(
        out,
        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
        escape(message),
        escape(&i.status),
        escape(&body)
    );
}

/// XML text and attribute escaping; characters XML 1.0 cannot hold at all (most C0 controls) become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::sample as view;

    fn verdict(name: &str, status: &str, evidence: &[&str]) -> Verdict {
        Verdict {
            name: name.into(),
            status: status.into(),
            summary: format!("{name} said <{status}> & more"),
            evidence: evidence.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}"
        );
    }

    #[test]
    fn maps_statuses_to_failure_error_skipped() {
        let xml = render(&view(
            vec![
                verdict("ok_rule", "pass", &[]),
                verdict("forged_never_invoked", "fail", &["attempt r1-7 <invoked>"]),
                verdict("answered", "inconclusive", &[]),
                verdict("aws_only", "skipped", &[]),
                verdict("note", "info", &[]),
            ],
            false,
        ));
        assert!(xml.contains(r#"<testsuite name="tokenstorm.q&quot;s" tests="5" failures="1" errors="1" skipped="2" time="1.500" timestamp="2026-12-03T16:00:00.000Z">"#), "{xml}");
        assert!(xml.contains(r#"name="forged_never_invoked" time="0.000">"#));
        assert!(
            xml.contains(r#"<failure message="attempt r1-7 &lt;invoked&gt;" type="fail">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<error message="answered said &lt;inconclusive&gt; &amp; more" type="inconclusive">"#), "{xml}");
        assert_eq!(xml.matches("<skipped ").count(), 2);
        assert!(!xml.contains("INTERRUPTED"));
    }

    #[test]
    fn an_interrupted_run_is_marked() {
        let xml = render(&view(vec![verdict("ok_rule", "pass", &[])], true));
        assert!(xml.contains(r#"<property name="interrupted" value="true"/>"#));
        assert!(xml.contains("INTERRUPTED (stopped by signal)"));
    }
}
