//! Which names the emulator answers for (spec §1: Host/SNI must name a configured data endpoint). Pure.
//!
//! Allowed: the configured endpoint names (ASCII case-insensitive, a trailing `.` ignored), `localhost`, and IP
//! literals (so tools can connect by address). A TLS client that sends no SNI is allowed (IP connections send
//! none); an HTTP request without a `Host` header is allowed too. Everything else is refused: on TLS the
//! handshake fails with a fatal `access_denied` alert (rustls's answer when no certificate is offered for the
//! name), on HTTP the request gets `421 Misdirected Request` before any credential is read. With
//! `check_host = false` (config file) every name is accepted.

use std::net::IpAddr;

/// The names a listener answers for.
#[derive(Debug, Clone)]
pub struct HostRule {
    names: Vec<String>,
    enforce: bool,
}

impl HostRule {
    pub fn new(endpoint_names: &[String], enforce: bool) -> Self {
        Self {
            names: endpoint_names.iter().map(|n| normalise(n)).collect(),
            enforce,
        }
    }

    /// Whether a TLS SNI value (or an HTTP `Host` without its port) is served.
    pub fn allows(&self, name: &str) -> bool {
        if !self.enforce {
            return true;
        }
        let name = normalise(name);
        name == "localhost" || name.parse::<IpAddr>().is_ok() || self.names.contains(&name)
    }

    /// Whether an HTTP `Host` header value (`name`, `name:port`, `[v6]:port`) is served; `None` (no header) is.
    pub fn allows_host_header(&self, host: Option<&str>) -> bool {
        match host {
            None => true,
            Some(h) => self.allows(strip_port(h)),
        }
    }
}

fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `host:port` → `host`; `[::1]:443` → `::1`; a bare IPv6 literal is kept whole.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_localhost_and_ip_literals_only() {
        let rule = HostRule::new(&["Example-ATS.iot.eu-west-1.amazonaws.com".into()], true);
        for ok in [
            "example-ats.iot.eu-west-1.amazonaws.com",
            "EXAMPLE-ATS.iot.eu-west-1.amazonaws.com.",
            "localhost",
            "127.0.0.7",
            "::1",
        ] {
            assert!(rule.allows(ok), "{ok}");
        }
        for bad in [
            "other-ats.iot.eu-west-1.amazonaws.com",
            "",
            "example-ats",
            "evil.com",
        ] {
            assert!(!rule.allows(bad), "{bad}");
        }
        assert!(HostRule::new(&[], false).allows("evil.com"));
    }

    #[test]
    fn host_headers_drop_their_port() {
        let rule = HostRule::new(&["e.example".into()], true);
        for ok in [
            "e.example:443",
            "e.example",
            "[::1]:8443",
            "127.0.0.1:1",
            "localhost:80",
        ] {
            assert!(rule.allows_host_header(Some(ok)), "{ok}");
        }
        assert!(rule.allows_host_header(None));
        assert!(!rule.allows_host_header(Some("x.example:443")));
        assert!(!rule.allows_host_header(Some("[x.example]:443")));
    }
}
