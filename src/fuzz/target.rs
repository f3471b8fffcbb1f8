//! What a rendered case is aimed at (the names it may reuse to get past the easy checks) and how a case's
//! signature is written: shared by the HTTP/WebSocket ([`super::render`]) and MQTT ([`super::render_mqtt`])
//! renderers. Not to be confused with [`super::targets`], the cargo-fuzz entry points. Pure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::case::Signature;

/// What the rendering needs to know about the target: names a case may reuse so it gets past the easy checks.
#[derive(Debug, Clone)]
pub struct Target {
    pub authorizer: String,
    pub token_key_name: String,
    /// The Host / SNI name served.
    pub host: String,
}

/// A case's signature as it goes on the wire: base64 of its bytes (padded to 256 for a key-sized one), or its
/// text as given.
pub fn signature_text(sig: &Signature) -> String {
    match sig {
        Signature::Bytes(b) => STANDARD.encode(b),
        Signature::KeySized(b) => {
            let mut b = b.clone();
            b.resize(256, 0);
            STANDARD.encode(b)
        }
        Signature::Text(t) => t.clone(),
    }
}
