//! The terminal lines for MQTT session ends (kicks as their own count per class, with the CONNECTs they
//! caused) and storms. Only formats what [`super::sessions`] put in the report; nothing when no session was
//! dropped or kicked and no storm was planned.

use std::fmt::Write as _;

use super::model::Report;

/// Session ends per (transport, class) when any session ended otherwise than closed by the device; then one
/// line per storm.
pub fn render(o: &mut String, r: &Report, usd: fn(f64) -> String) {
    if r.sessions
        .iter()
        .any(|s| s.dropped + s.kicked + s.storm > 0)
    {
        let _ = writeln!(o, "MQTT sessions ended:");
        for s in &r.sessions {
            let label = match &s.variant {
                Some(v) => format!("{}.{v}", s.class),
                None => s.class.clone(),
            };
            let ends: Vec<String> = [
                ("closed", s.closed),
                ("dropped", s.dropped),
                ("kicked", s.kicked),
                ("storm", s.storm),
            ]
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
            let kicks = if s.reconnects_after_kick > 0 {
                format!(" · {} CONNECTs after a kick", s.reconnects_after_kick)
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "  {:<9} {:<22} {}{kicks}",
                s.transport,
                label,
                ends.join(", ")
            );
        }
        let _ = writeln!(o);
    }
    if r.storms.is_empty() {
        return;
    }
    let _ = writeln!(o, "storms:");
    for s in &r.storms {
        if !s.fired {
            let _ = writeln!(
                o,
                "  at {:.1} s: did not fire (the run ended first)",
                s.at_s
            );
            continue;
        }
        let target = s
            .target_dropped
            .map_or("no answer".to_string(), |n| n.to_string());
        let timing = s.reconnect_us.as_ref().map_or(String::new(), |p| {
            format!(
                ", back after p50 {:.2} s, max {:.2} s",
                p.p50 as f64 / 1e6,
                p.max as f64 / 1e6
            )
        });
        let cost = match (s.invocations, s.cost_usd) {
            (Some(n), Some(c)) => format!("; {n} invocations in the window, ${}", usd(c)),
            _ => "; invocations: no ledger".into(),
        };
        let _ = writeln!(
            o,
            "  at {:.1} s: {} sessions dropped (target: {target}); {} back in ({} within {} s{timing}) after {} CONNECTs{cost}",
            s.at_s,
            s.dropped,
            s.reconnected,
            s.reconnected_in_window,
            s.window_s,
            s.reconnect_attempts,
        );
    }
    let _ = writeln!(o);
}
