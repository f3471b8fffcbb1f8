//! One MQTT connection, whatever carries it (TLS, TCP, or a WebSocket bridged to a byte stream): wait for
//! CONNECT (bounded), admit it, then serve PUBLISH / SUBSCRIBE / UNSUBSCRIBE / PINGREQ / DISCONNECT, deliver
//! routed messages the policy lets the client receive, refresh the policy after `refreshAfterInSeconds`, close
//! after `disconnectAfterInSeconds`, after 1.5 × keep-alive of silence, when kicked by a newer connection with
//! the same client id, or at shutdown.
//!
//! Split after rumqttc: `state` is the pure protocol state (what each packet, message, refresh or failure
//! changes and sends), `eventloop` the thin async shell around the socket and the timers.

pub(super) mod eventloop;
pub(super) mod state;

use tokio::time::Duration;

pub(crate) use eventloop::run;

/// How long a client gets to send its CONNECT after the connection opens.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one packet may take to write before the connection is given up.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;
