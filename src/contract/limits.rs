//! AWS IoT Core's (and Lambda's) limits that the emulator enforces and the generator and scenario check
//! against, named once (spec §2, §4, §7; AWS IoT Core quotas). Where AWS states a number, it is here.

use std::time::Duration;

/// Longest custom-authorizer token (AWS IoT quotas): longer ones are refused before the authorizer.
pub const MAX_TOKEN_CHARS: usize = 6144;
/// Longest token signature string (spec §2). Owned by `token/`, which verifies signatures.
pub use crate::token::verify::MAX_SIGNATURE_CHARS;

/// Largest publish payload, HTTPS or MQTT (spec §7: 128 KB).
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;
/// Longest MQTT client id, bytes (spec §7).
pub const MAX_CLIENT_ID_BYTES: usize = 128;
/// Subscriptions per MQTT connection (spec §7).
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// MQTT keep-alive bounds (spec §7): a request for 0 gets the maximum, anything outside is clamped.
pub const MIN_KEEP_ALIVE_S: u16 = 30;
pub const MAX_KEEP_ALIVE_S: u16 = 1200;
/// CONNECTs per client id: one per second (spec §7); a faster reconnect is throttled.
pub const CONNECT_GAP_PER_CLIENT_ID: Duration = Duration::from_secs(1);

/// How long AWS waits for the authorizer before it denies (spec §4, §7).
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(5);
/// The authorizer response's limits (spec §4): `principalId` length, policy documents and their size.
pub const MAX_PRINCIPAL_CHARS: usize = 128;
pub const MAX_POLICY_DOCUMENTS: usize = 10;
pub const MAX_POLICY_CHARS: usize = 2048;
/// `refreshAfterInSeconds` and `disconnectAfterInSeconds` bounds (spec §4).
pub const MIN_PERIOD_S: i64 = 300;
pub const MAX_PERIOD_S: i64 = 86_400;
/// Payload bytes per billed IoT Core message (spec §7): each started 5 KB counts as one message.
pub const MESSAGE_BYTES: u64 = 5 * 1024;

/// Billed IoT Core messages for one message of `bytes` payload (at least one).
pub fn message_units(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(MESSAGE_BYTES).max(1)
}
