//! `tokenstorm explain`'s core: what a device sends ([`Device`]: an MQTT CONNECT, an HTTPS request, or a
//! WebSocket upgrade) against the authorizers and gate settings, explained as a checklist: the client-side
//! warnings ([`warnings`]) and every step of the signature gate ([`crate::emulator::gate::explain_gate`], which
//! runs the gate's own functions), ending with the first rule that fails and what to change. Pure; the command
//! ([`crate::cmd::explain`]) reads the flags and files, the emulator's refusal log keeps the same gate checklist.

pub mod input;
pub mod warnings;

use hyper::HeaderMap;
use serde::Serialize;

use crate::contract::Transport;
use crate::contract::authorizer::AuthorizerSpec;
use crate::emulator::gate::{GateExplanation, Presented, explain_gate};
use crate::wire::settings::GateSettings;
pub use warnings::{Connection, Warning};

/// What a device sends, as raw as it travels.
#[derive(Debug, Clone)]
pub struct Device {
    pub transport: Transport,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The URL's raw query, without `?` (HTTPS, WebSocket upgrade).
    pub query: Option<String>,
    /// HTTP headers (HTTPS, WebSocket upgrade).
    pub headers: HeaderMap,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
}

/// The whole explanation: warnings before anything is sent, then the gate's checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub transport: Transport,
    pub warnings: Vec<Warning>,
    #[serde(flatten)]
    pub gate: GateExplanation,
    /// `passes` or `refused`.
    pub verdict: &'static str,
    /// The gate settings the checklist was made under.
    pub settings: GateSettings,
}

impl Explanation {
    pub fn passes(&self) -> bool {
        self.gate.rule.is_none()
    }
}

/// Explains what `d` sends to a target with `authorizers` (`default`: the account's default authorizer).
pub fn explain(
    d: &Device,
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    settings: &GateSettings,
) -> Explanation {
    let connection = Connection {
        host: d.host.as_deref(),
        port: d.port,
        sni: d.sni.as_deref(),
        alpn: &d.alpn,
        query: d.query.as_deref(),
        username: d.username.as_deref(),
        client_id: d.client_id.as_deref(),
    };
    let presented = Presented {
        headers: &d.headers,
        query: d.query.as_deref(),
        username: d.username.as_deref(),
    };
    let gate = explain_gate(authorizers, default, settings, &presented);
    Explanation {
        transport: d.transport,
        warnings: warnings::warnings(d.transport, &connection),
        verdict: if gate.rule.is_none() {
            "passes"
        } else {
            "refused"
        },
        gate,
        settings: *settings,
    }
}

/// The checklist as the terminal shows it.
pub fn render(e: &Explanation) -> String {
    let mut out = format!(
        "explain: {} request; gate settings: {}\n",
        e.transport.as_str(),
        e.settings.describe()
    );
    for w in &e.warnings {
        out += &format!("  [warn] {} ({})\n", w.text, w.rule);
    }
    out += &render_items(&e.gate);
    out += &match (e.gate.rule, &e.gate.fix) {
        (Some(rule), Some(fix)) => format!("refused: {}\nfix: {fix}\n", rule.as_str()),
        (Some(rule), None) => format!("refused: {}\n", rule.as_str()),
        (None, _) => format!(
            "passes the gate: authorizer {:?} is invoked with this token (what it answers is up to the function)\n",
            e.gate.authorizer.as_deref().unwrap_or("?")
        ),
    };
    out
}

/// The gate's checklist lines (shared with the emulator's refusal log and run reports).
pub fn render_items(g: &GateExplanation) -> String {
    g.items
        .iter()
        .map(|i| format!("  [{:>4}] {}\n", i.status.mark(), i.text))
        .collect()
}
