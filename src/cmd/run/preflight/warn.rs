//! The client-side warnings of `run --preflight` (`explain::warnings`): for each transport in use, what a valid
//! probe would present (the URL's host and port, the SNI and ALPN the load's connectors send, the request's
//! query or the CONNECT username), checked before any probe goes out.

use super::*;
use crate::explain::warnings::warnings;
use crate::explain::{Connection, Warning};

/// The warnings for every transport in use, each with its transport.
pub(super) fn client_warnings(p: &Parts<'_>) -> Vec<(Transport, Warning)> {
    let mut out = Vec::new();
    for t in p.plan.groups.in_use() {
        let found = match t {
            Transport::Https => https(p),
            _ => mqtt(p, t),
        };
        out.extend(found.into_iter().map(|w| (t, w)));
    }
    out
}

fn https(p: &Parts<'_>) -> Vec<Warning> {
    let Some((_, book)) = &p.https else {
        return Vec::new();
    };
    let Some(origin) = p
        .urls
        .iter()
        .find_map(|u| crate::contract::url::https_origin(u).ok())
    else {
        return Vec::new();
    };
    let placement = match p.plan.http.credentials_in {
        crate::scenario::file::CredentialsIn::Query => load::request::Placement::Query,
        _ => load::request::Placement::Headers,
    };
    let uri = &book.prepared(0, Class::Valid, 0, placement).uri;
    warnings(
        Transport::Https,
        &Connection {
            host: Some(&origin.host),
            port: Some(origin.port),
            sni: Some(p.plan.target.endpoint_name()),
            query: uri.query(),
            ..Connection::default()
        },
    )
}

fn mqtt(p: &Parts<'_>, t: Transport) -> Vec<Warning> {
    let Some((link, range)) = p.links.iter().find(|(l, _)| l.transport == t) else {
        return Vec::new();
    };
    let login =
        load::groups::username_book(p.plan, p.catalogue).login(0, Class::Valid, 0, "preflight");
    let client_id = p.plan.mqtt.client_id(range.start);
    // The load's MQTT/TLS connector offers ALPN `mqtt`; the WebSocket one none.
    let alpn = match t {
        Transport::MqttTls => {
            vec![String::from_utf8_lossy(crate::wire::mqtt::ALPN_MQTT).into_owned()]
        }
        _ => Vec::new(),
    };
    let sni = link.server_name.to_str();
    // A link's `host` is the endpoint name it presents; on a loopback target it connects to an address, where
    // port and name rules say nothing.
    let ip = link.addr.ip().to_string();
    let host = if p.safety.remote {
        link.host.as_str()
    } else {
        ip.as_str()
    };
    warnings(
        t,
        &Connection {
            host: Some(host),
            port: Some(link.addr.port()),
            sni: link.tls.as_ref().map(|_| sni.as_ref()),
            alpn: &alpn,
            query: None,
            username: Some(&login.username),
            client_id: Some(&client_id),
        },
    )
}
