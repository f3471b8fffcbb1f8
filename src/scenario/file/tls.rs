//! `[tls]`: how the generator's TLS clients behave. `resumption` (default false) lets each device resume its own
//! TLS session when it reconnects (a TLS 1.3 ticket or 1.2 session the endpoint issued it), as a device whose
//! TLS stack keeps one does; off, every connection is a full handshake, and no device ever uses another's
//! session.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    pub resumption: bool,
}

impl TlsSection {
    /// Whether the section is all defaults (left out of the resolved scenario, so reports are unchanged).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
