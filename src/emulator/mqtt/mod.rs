//! The MQTT front end (spec §1, §3–§7): MQTT 3.1.1 and 5 over TLS (ALPN `mqtt`, SNI), plain TCP, and
//! WebSocket (bridged to a byte stream by [`super::websocket`]).
//!
//! - [`codec`] and [`encode`]: rumqttc's `mqttbytes` v4/v5 reduced to version-neutral packets (pure).
//! - [`topics`]: the topic tree with `+` and `#` (pure).
//! - [`broker`]: client ids (a newer connection kicks the older), subscriptions, delivery queues.
//! - [`connect_packet`]: reading CONNECT by hand (binary passwords, MQTT 5 properties skipped).
//! - [`connect`]: admitting a CONNECT: username query, signature gate, authorizer, `iot:Connect`.
//! - [`dispatch`]: what a live session does with each packet and each routed message (pure: a list of effects).
//! - [`session`]: one connection's life: packets, keep-alive, refresh, disconnect, kick, shutdown; its pure
//!   protocol state (`session::state`) apart from the async shell around the socket (`session::eventloop`).

pub mod broker;
pub mod codec;
pub mod connect;
pub mod connect_packet;
pub mod dispatch;
pub mod encode;
pub mod session;
pub mod topics;

pub use connect::{Origin, Upgrade};
