//! Endpoint URLs and `host:port` addresses from configuration (the scenario's `[target]`, function files),
//! read with `http::Uri` so IPv6 literals (`https://[::1]`), default ports and stray parts (paths, user info,
//! fragments) are read the way HTTP clients read them, not by splitting at the last `:`. Pure; an error says
//! what shape was expected and quotes the value, and the caller names the field.

use http::Uri;
use http::uri::Authority;

/// Where a URL points: host and port, with the scheme's default port when the URL gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// As written in the URL (`host` or `host:port`), for a `Host` header.
    pub authority: String,
    /// IPv6 literals keep their brackets (`[::1]`), so [`Origin::addr`] is a connectable `host:port`.
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// `host:port`, the port always present.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Why a URL or address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL of the expected scheme (or not a URL at all).
    #[error("must look like {shape} (got {value:?})")]
    Scheme { shape: &'static str, value: String },
    /// A URL of the right scheme that does not parse (bad port, bad characters, no host).
    #[error("must look like {shape} (got {value:?}: {reason})")]
    Invalid {
        shape: &'static str,
        value: String,
        reason: String,
    },
    /// A path, query, fragment or user info where only an origin is wanted.
    #[error("must be {shape} with no path (got {value:?})")]
    Extra { shape: &'static str, value: String },
}

/// `https://host[:port][/]` (port 443 by default).
pub fn https_origin(url: &str) -> Result<Origin, UrlError> {
    origin_only(url, "https", 443, "https://host[:port]")
}

/// `http://host[:port][/]` (port 80 by default): the emulator's admin listener, local Lambda Invoke APIs.
pub fn http_origin(url: &str) -> Result<Origin, UrlError> {
    origin_only(url, "http", 80, "http://host[:port]")
}

/// `wss://host[:port][/path]` → the origin (port 443 by default) and the path with its query (`/mqtt` when
/// the URL has none).
pub fn wss_endpoint(url: &str) -> Result<(Origin, String), UrlError> {
    const SHAPE: &str = "wss://host[:port]/mqtt";
    let (origin, rest) = parse(url, "wss", 443, SHAPE)?;
    let path = if rest.is_empty() { "/mqtt" } else { rest };
    Ok((origin, path.to_string()))
}

/// `host:port` with the port required (MQTT listeners have no scheme to default it from); returned as given.
pub fn host_port(value: &str) -> Result<String, UrlError> {
    const SHAPE: &str = "host:port";
    let invalid = |reason: String| UrlError::Invalid {
        shape: SHAPE,
        value: value.to_string(),
        reason,
    };
    let authority: Authority = value.parse().map_err(|e| invalid(format!("{e}")))?;
    if authority.host().is_empty() || value.contains('@') {
        return Err(invalid("no host".into()));
    }
    match port_of(&authority) {
        Ok(Some(_)) => Ok(value.to_string()),
        Ok(None) => Err(invalid("no port".into())),
        Err(e) => Err(invalid(e)),
    }
}

/// The host of a `host:port` (brackets kept on IPv6 literals); the whole value when it is not one.
pub fn host_of(authority: &str) -> String {
    authority
        .parse::<Authority>()
        .map_or_else(|_| authority.to_string(), |a| a.host().to_string())
}

/// A URL that must be an origin only: a trailing `/` is allowed, anything else after the authority is not.
fn origin_only(
    url: &str,
    scheme: &str,
    default_port: u16,
    shape: &'static str,
) -> Result<Origin, UrlError> {
    let (origin, rest) = parse(url, scheme, default_port, shape)?;
    match rest {
        "" | "/" => Ok(origin),
        _ => Err(UrlError::Extra {
            shape,
            value: url.to_string(),
        }),
    }
}

/// Parses `url` as an absolute URI of `scheme` with a host; user info and fragments are refused (`http::Uri`
/// would drop them silently). Returns the origin and the text after the authority, as written (`http::Uri`
/// reports `/` for both `https://h` and `https://h/`).
fn parse<'u>(
    url: &'u str,
    scheme: &str,
    default_port: u16,
    shape: &'static str,
) -> Result<(Origin, &'u str), UrlError> {
    let value = url.to_string();
    let prefix = format!("{scheme}://");
    if !url
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(&prefix))
    {
        return Err(UrlError::Scheme { shape, value });
    }
    let uri: Uri = url.parse().map_err(|e| UrlError::Invalid {
        shape,
        value: value.clone(),
        reason: format!("{e}"),
    })?;
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return Err(UrlError::Invalid {
            shape,
            value,
            reason: "no host".into(),
        });
    };
    if authority.as_str().contains('@') || url.contains('#') {
        return Err(UrlError::Extra { shape, value });
    }
    let port = port_of(authority).map_err(|reason| UrlError::Invalid {
        shape,
        value: value.clone(),
        reason,
    })?;
    let origin = Origin {
        authority: authority.as_str().to_string(),
        host: authority.host().to_string(),
        port: port.unwrap_or(default_port),
    };
    let rest = &url[prefix.len() + origin.authority.len()..];
    Ok((origin, rest))
}

/// The port of an authority without user info: `None` when there is none, an error when the text after the
/// host is not `:` and a number up to 65535 (`http::Uri` accepts `host:notaport` and just reports no port).
fn port_of(authority: &Authority) -> Result<Option<u16>, String> {
    match &authority.as_str()[authority.host().len()..] {
        "" => Ok(None),
        text => {
            let digits = text.strip_prefix(':').unwrap_or(text);
            match digits.parse::<u16>() {
                Ok(port) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(port)),
                _ => Err(format!("bad port {digits:?}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https(url: &str) -> (String, u16) {
        let o = https_origin(url).unwrap();
        (o.host, o.port)
    }

    #[test]
    fn https_origins_with_and_without_port() {
        assert_eq!(https("https://localhost:8443"), ("localhost".into(), 8443));
        assert_eq!(https("https://a.example/"), ("a.example".into(), 443));
        assert_eq!(https("https://[::1]:9"), ("[::1]".into(), 9));
    }

    /// `rsplit_once(':')` read `1]` as the port of `https://[::1]` and refused it.
    #[test]
    fn ipv6_literal_without_port_takes_the_default_port() {
        assert_eq!(https("https://[::1]"), ("[::1]".into(), 443));
        assert_eq!(https("https://[::1]/"), ("[::1]".into(), 443));
        assert_eq!(https_origin("https://[::1]").unwrap().addr(), "[::1]:443");
        assert_eq!(
            https("https://[2001:db8::7]:8443"),
            ("[2001:db8::7]".into(), 8443)
        );
        let (o, path) = wss_endpoint("wss://[::1]").unwrap();
        assert_eq!((o.addr().as_str(), path.as_str()), ("[::1]:443", "/mqtt"));
        let o = http_origin("http://[::1]").unwrap();
        assert_eq!(
            (o.addr().as_str(), o.authority.as_str()),
            ("[::1]:80", "[::1]")
        );
        assert_eq!(host_port("[::1]:1883").unwrap(), "[::1]:1883");
        assert_eq!(host_of("[::1]:1883"), "[::1]");
    }

    #[test]
    fn bad_urls_say_what_was_expected_and_quote_the_value() {
        for (url, want) in [
            (
                "http://x",
                "must look like https://host[:port] (got \"http://x\")",
            ),
            (
                "x:443",
                "must look like https://host[:port] (got \"x:443\")",
            ),
            (
                "https://x/path",
                "must be https://host[:port] with no path (got \"https://x/path\")",
            ),
            (
                "https://x?q",
                "must be https://host[:port] with no path (got \"https://x?q\")",
            ),
            (
                "https://u@x",
                "must be https://host[:port] with no path (got \"https://u@x\")",
            ),
            (
                "https://x#f",
                "must be https://host[:port] with no path (got \"https://x#f\")",
            ),
        ] {
            assert_eq!(https_origin(url).unwrap_err().to_string(), want, "{url}");
        }
        for url in [
            "https://x:notaport",
            "https://x:70000",
            "https://x:+1",
            "https://x:",
            "https://",
            "https://[::1",
        ] {
            let e = https_origin(url).unwrap_err().to_string();
            assert!(
                e.starts_with("must look like https://host[:port] (got ") && e.contains(url),
                "{url}: {e}"
            );
        }
        assert!(matches!(
            http_origin("https://x"),
            Err(UrlError::Scheme { .. })
        ));
        assert!(matches!(
            http_origin("http://x:1/2015-03-31"),
            Err(UrlError::Extra { .. })
        ));
    }

    #[test]
    fn wss_endpoints_keep_their_path() {
        let (o, path) = wss_endpoint("wss://a.example:8443/mqtt").unwrap();
        assert_eq!(
            (o.addr().as_str(), path.as_str()),
            ("a.example:8443", "/mqtt")
        );
        let (o, path) = wss_endpoint("wss://a.example").unwrap();
        assert_eq!(
            (o.addr().as_str(), path.as_str()),
            ("a.example:443", "/mqtt")
        );
        let (_, path) = wss_endpoint("wss://a.example/ws?x=1").unwrap();
        assert_eq!(path, "/ws?x=1");
        assert!(wss_endpoint("ws://a").is_err());
        assert!(wss_endpoint("wss://a/mqtt#f").is_err());
    }

    #[test]
    fn host_ports_need_a_port() {
        assert_eq!(host_port("127.0.0.1:1883").unwrap(), "127.0.0.1:1883");
        for bad in ["127.0.0.1", "mqtt://x:1", "u@x:1", ":1883", "x:port", "::1"] {
            let e = host_port(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("must look like host:port (got "),
                "{bad}: {e}"
            );
        }
    }
}
