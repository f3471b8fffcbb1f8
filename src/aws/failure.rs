//! Error texts both clients share: an error's whole cause chain on one line, and the "cannot reach" wording for
//! an endpoint that does not answer (refused, unresolvable, timed out).

/// `e` and its sources, `: `-joined, repeats dropped (wrappers often repeat their source's text).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// The innermost cause, in lower case without the `(os error N)` suffix: `connection refused`.
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut err = e;
    while let Some(source) = err.source() {
        err = source;
    }
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => chain(e),
    }
}

/// `cannot reach <api> at <url>: <root cause>`.
pub fn unreachable(api: &str, url: &str, e: &dyn std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("cannot reach {api} at {url}: {}", root_cause(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_cause_reads_like_a_sentence() {
        let io = std::io::Error::from_raw_os_error(111);
        let e = anyhow::Error::new(io).context("client error (Connect)");
        let e: &dyn std::error::Error = e.as_ref();
        assert_eq!(root_cause(e), "connection refused");
        assert!(
            chain(e).starts_with("client error (Connect): Connection refused"),
            "{}",
            chain(e)
        );
        let u = unreachable("CloudWatch", "http://127.0.0.1:1", e).to_string();
        assert_eq!(
            u,
            "cannot reach CloudWatch at http://127.0.0.1:1: connection refused"
        );
    }
}
