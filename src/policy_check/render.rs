//! The dry run on a terminal: what was checked, what would be denied (by action, with the statement that
//! decided and a few examples), the mistakes found, and the verdict line. `--json` serializes the
//! [`Report`] instead.

use std::fmt::Write as _;

use super::Report;

/// The `denied:` section: each denial, a few examples, and the hint.
fn denials(r: &Report, out: &mut String) {
    if !r.denials.is_empty() {
        let _ = writeln!(out, "denied:");
    }
    for d in &r.denials {
        let _ = writeln!(
            out,
            "  {} denied for {} request(s): {}",
            d.action, d.requests, d.decided_by
        );
        for e in &d.examples {
            let _ = writeln!(
                out,
                "      e.g. {}{}",
                e.resource,
                e.client_id
                    .as_deref()
                    .map(|c| format!(" (client id {c})"))
                    .unwrap_or_default()
            );
        }
        if let Some(h) = &d.hint {
            let _ = writeln!(out, "      hint: {h}");
        }
    }
}

/// The report as text, ending with the verdict line (naming the exit code `policy check` gives when `exit`;
/// `run --preflight` and `test-invoke` embed it with their own exit codes).
pub fn text(r: &Report, exit: bool) -> String {
    let mut out = String::new();
    let a = &r.account;
    let from = |f: &Option<String>| {
        f.clone()
            .unwrap_or_else(|| "not known: taken from the policy".into())
    };
    let _ = writeln!(
        out,
        "policy check: {} document(s) · devices: {} · region {} ({}), account {} ({})",
        r.documents,
        r.devices,
        a.region,
        from(&a.region_from),
        a.account_id,
        from(&a.account_from)
    );
    if let Some(why) = &r.refused {
        let _ = writeln!(out, "  {why}");
    }
    for t in &r.checked {
        let _ = writeln!(
            out,
            "  {:<14} {:>8} checked {:>8} allowed",
            t.action, t.checked, t.allowed
        );
    }
    denials(r, &mut out);
    if !r.findings.is_empty() {
        let _ = writeln!(out, "findings:");
    }
    for f in &r.findings {
        let at = if f.at.is_empty() {
            String::new()
        } else {
            format!("{}: ", f.at)
        };
        let _ = writeln!(out, "  [{}] {at}{}", f.rule, f.message);
    }
    let _ = writeln!(
        out,
        "policy check: {}",
        if r.passed() {
            format!(
                "PASS{}: every request the devices make is allowed{}",
                if exit { " (exit 0)" } else { "" },
                if r.findings.is_empty() {
                    String::new()
                } else {
                    format!(" ({} finding(s) to read)", r.findings.len())
                }
            )
        } else {
            let n: u64 = r.denials.iter().map(|d| d.requests).sum();
            format!(
                "FAIL{}: {n} request(s) would be denied",
                if exit { " (exit 1)" } else { "" }
            )
        }
    );
    out
}
