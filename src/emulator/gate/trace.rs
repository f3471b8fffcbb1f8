//! What the signature gate saw on the way to its verdict, step by step, for `tokenstorm explain` and the
//! emulator's refusal log. The gate's own functions record these steps as they decide ([`super::check_traced`]),
//! so an explanation is the gate's decision, never a second implementation of it. The emulator's hot path
//! passes `&mut ()`, which records nothing and allocates nothing.

use crate::token::KeyStep;
use crate::wire::settings::Duplicates;

/// Where a credential parameter was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// An HTTP header line (HTTPS, or the WebSocket upgrade).
    Header,
    /// A parameter of the URL's query string.
    Query,
    /// A parameter of the MQTT CONNECT username's query.
    Username,
}

impl Place {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Query => "query",
            Self::Username => "username",
        }
    }
}

/// One value of a parameter, where it was found and under which name as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub place: Place,
    /// The name as the request wrote it (header names as the server read them, lower case).
    pub key: String,
    /// The value after decoding (query and username values percent-decoded as the settings say).
    pub value: String,
}

/// One step of the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateStep {
    /// The CONNECT username: its free text and the query the gate reads (`None`: no `?`), or `refused` when a
    /// second `?` makes it unreadable.
    Username {
        free_text: String,
        query: Option<String>,
        refused: bool,
    },
    /// Parameter `name`: every value found, in the order the gate reads them, and which one counts under
    /// `duplicates` (`None`: none found, or refused as duplicated).
    Lookup {
        name: String,
        found: Vec<Found>,
        chosen: Option<usize>,
        duplicates: Duplicates,
        refused: bool,
    },
    /// The authorizer: the name the request gave (none: the default), and the index it resolved to.
    Authorizer {
        named: Option<String>,
        index: Option<usize>,
    },
    /// The authorizer has `signingDisabled`: no signature check.
    SigningDisabled,
    /// The token's length in characters, checked against `MAX_TOKEN_CHARS`.
    TokenLength { chars: usize },
    /// The signature's decoding and each key's verdict.
    Key(KeyStep),
}

/// Where the gate's functions record their steps.
pub trait GateTrace {
    /// Whether steps are kept (lets the hot path skip building them).
    fn enabled(&self) -> bool;
    fn record(&mut self, step: GateStep);
}

/// Records nothing: the emulator's hot path.
impl GateTrace for () {
    fn enabled(&self) -> bool {
        false
    }
    fn record(&mut self, _: GateStep) {}
}

/// Keeps every step, in order.
impl GateTrace for Vec<GateStep> {
    fn enabled(&self) -> bool {
        true
    }
    fn record(&mut self, step: GateStep) {
        self.push(step);
    }
}
