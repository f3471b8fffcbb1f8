//! The per-transport parts of the [`super::Report`]: one summary row per transport in use (devices, attempts by
//! outcome, MQTT publish counts) and the connection-phase latencies (TCP connect, TLS handshake, WebSocket
//! upgrade, CONNECT → CONNACK, publish → PUBACK, publish → receive) per transport, class and phase.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::model::Percentiles;
use crate::contract::Class;
use crate::contract::Transport;
use crate::metrics::{Outcome, Phase, PubEvent, Recorder};
use crate::scenario::Groups;

#[derive(Debug, Clone, Serialize)]
pub struct TransportRow {
    /// `https`, `mqtt_tls`, `mqtt` or `wss`.
    pub transport: String,
    pub devices: u32,
    pub attempts_started: u64,
    pub attempts_ended: u64,
    /// A backoff after a throttle (`[safety] backoff`): HTTPS attempts not sent, MQTT CONNECTs held back.
    pub backed_off: u64,
    /// Attempts per outcome (only outcomes that occurred).
    pub outcomes: BTreeMap<String, u64>,
    /// MQTT only: publish and delivery counts (`published`, `puback_ok`, `puback_denied`, `puback_timeout`,
    /// `received`, `subscribe_denied`); empty for HTTPS.
    pub messages: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub transport: String,
    pub class: String,
    pub variant: Option<String>,
    /// `tcp_connect_us`, `tls_handshake_us`, `ws_upgrade_us`, `connect_connack_us`, `publish_puback_us` or
    /// `publish_receive_us`.
    pub phase: String,
    pub latency_us: Percentiles,
}

/// One row per transport with devices or attempts; `devices` counts the devices this run ran (a shard's own,
/// [`crate::load::shard::devices_of`]).
pub fn transport_rows(
    rec: &Recorder,
    groups: &Groups,
    devices: impl Fn(Transport) -> u32,
) -> Vec<TransportRow> {
    Transport::ALL
        .into_iter()
        .filter(|&t| groups.count(t) > 0 || rec.transport_started(t) > 0)
        .map(|t| {
            let mut outcomes = BTreeMap::new();
            let mut ended = 0;
            for o in Outcome::ALL {
                let n: u64 = Class::ALL.into_iter().map(|c| rec.ended(t, c, o)).sum();
                ended += n;
                if n > 0 {
                    outcomes.insert(o.as_str().to_string(), n);
                }
            }
            let mut messages = BTreeMap::new();
            if t.is_mqtt() {
                for e in PubEvent::ALL {
                    let n: u64 = Class::ALL.into_iter().map(|c| rec.pub_count(t, c, e)).sum();
                    messages.insert(e.as_str().to_string(), n);
                }
            }
            TransportRow {
                transport: t.as_str().into(),
                devices: devices(t),
                attempts_started: rec.transport_started(t),
                attempts_ended: ended,
                backed_off: rec.backed_off(t),
                outcomes,
                messages,
            }
        })
        .collect()
}

/// One row per (transport, class, phase) with samples.
pub fn phase_rows(rec: &Recorder) -> Vec<PhaseRow> {
    let mut rows = Vec::new();
    for t in Transport::ALL {
        for c in Class::ALL {
            for p in Phase::ALL {
                if let Some(h) = rec.phase_hist(t, c, p) {
                    rows.push(PhaseRow {
                        transport: t.as_str().into(),
                        class: c.kind().into(),
                        variant: c.variant().map(str::to_string),
                        phase: p.as_str().into(),
                        latency_us: Percentiles::of(h),
                    });
                }
            }
        }
    }
    rows
}

/// One row per (transport, class kind, phase) with samples: forged variants merged (`variant` is null).
pub fn phase_kind_rows(rec: &Recorder) -> Vec<PhaseRow> {
    let mut rows = Vec::new();
    for t in Transport::ALL {
        for kind in ["valid", "forged", "replayed"] {
            for p in Phase::ALL {
                if let Some(h) = kind_phase(rec, t, kind, p) {
                    rows.push(PhaseRow {
                        transport: t.as_str().into(),
                        class: kind.into(),
                        variant: None,
                        phase: p.as_str().into(),
                        latency_us: Percentiles::of(&h),
                    });
                }
            }
        }
    }
    rows
}

/// A phase over one class kind (`valid`, `forged` = every variant, `replayed`), for the terminal.
pub fn kind_phase(rec: &Recorder, t: Transport, kind: &str, p: Phase) -> Option<Histogram<u64>> {
    let mut out: Option<Histogram<u64>> = None;
    for c in Class::ALL.into_iter().filter(|c| c.kind() == kind) {
        if let Some(h) = rec.phase_hist(t, c, p) {
            match &mut out {
                Some(acc) => {
                    let _ = acc.add(h);
                }
                None => out = Some(h.clone()),
            }
        }
    }
    out
}
