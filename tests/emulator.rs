//! Emulator tests: the embedded emulator on port 0, spoken to with curl, openssl-made signatures and a hyper
//! client over real TLS; and `tokenstorm emulate` as a real process.

mod alpn;
mod authorizers;
#[cfg(feature = "aws")]
mod cloudwatch;
mod curl;
mod gate;
mod ledger;
mod mqtt;
mod mqtt_policy;
mod pipeline;
pub(crate) mod process;
mod storm;
pub(crate) mod websocket;
mod witness;

use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME};

/// The seed's three headers with `signature`.
fn seed_headers(signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN.to_string()),
        ("x-amz-customauthorizer-signature", signature.to_string()),
    ]
}

/// Borrowed view of owned headers, for `Conn::post`.
fn refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
