//! The Prometheus text exposition format (version 0.0.4), written by hand: a family's `# HELP` and `# TYPE`
//! lines, then its samples. Shared by the emulator's admin `/metrics` and the generator's (`run
//! --metrics-addr`), so both expose the same way.

use std::fmt::Write as _;

/// The `Content-Type` of a `/metrics` answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's `# HELP` and `# TYPE` lines (`kind`: counter, gauge, histogram).
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line; label values are escaped.
pub fn sample(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    value: impl std::fmt::Display,
) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape `\`, `"` and newlines.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_samples_follow_the_text_format() {
        let mut out = String::new();
        family(&mut out, "x_total", "counter", "Xs.");
        sample(&mut out, "x_total", &[("a", "q\"\\"), ("b", "2")], 3);
        sample(&mut out, "x_total", &[], 1.5);
        assert_eq!(
            out,
            "# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\",b=\"2\"} 3\nx_total 1.5\n"
        );
    }
}
