//! Resolving `[transports]` (device groups) and `[mqtt]`: how many devices use each transport, and the
//! validated MQTT settings. Devices are split in contiguous id ranges in [`Transport::ALL`] order (HTTPS
//! first), by largest remainder, so every group's size is reproducible from the weights alone.

use std::ops::Range;
use std::time::Duration;

use super::error::ScenarioError;
use super::file::{Scenario, UsernameMode};
use crate::contract::MqttVersion;
use crate::contract::Transport;
use crate::contract::limits::MAX_PAYLOAD_BYTES;

/// Device id ranges per transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    ranges: [Range<u32>; Transport::COUNT],
}

impl Groups {
    /// Splits `devices` by `weights` (indexed like [`Transport::ALL`]); weights are checked by the caller.
    pub fn split(devices: u32, weights: [f64; Transport::COUNT]) -> Self {
        let sum: f64 = weights.iter().sum();
        let exact: Vec<f64> = weights
            .iter()
            .map(|w| f64::from(devices) * w / sum)
            .collect();
        let mut counts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
        let mut left = devices - counts.iter().sum::<u32>();
        let mut order: Vec<usize> = (0..Transport::COUNT).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor())
                .total_cmp(&(exact[a] - exact[a].floor()))
                .then(a.cmp(&b))
        });
        for i in order.into_iter().cycle() {
            if left == 0 {
                break;
            }
            if weights[i] > 0.0 {
                counts[i] += 1;
                left -= 1;
            }
        }
        let mut start = 0;
        let ranges = std::array::from_fn(|i| {
            let r = start..start + counts[i];
            start = r.end;
            r
        });
        Self { ranges }
    }

    pub fn range(&self, t: Transport) -> Range<u32> {
        self.ranges[t.index()].clone()
    }

    pub fn count(&self, t: Transport) -> u32 {
        self.ranges[t.index()].len() as u32
    }

    /// The transports with at least one device, in [`Transport::ALL`] order.
    pub fn in_use(&self) -> impl Iterator<Item = Transport> + '_ {
        Transport::ALL.into_iter().filter(|&t| self.count(t) > 0)
    }

    /// `200 https, 50 mqtt_tls`: the devices per transport in use (progress lines).
    pub fn describe(&self) -> String {
        self.in_use()
            .map(|t| format!("{} {}", self.count(t), t.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The transport of device `d`.
    pub fn transport_of(&self, d: u32) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| self.ranges[t.index()].contains(&d))
    }

    /// Devices on any MQTT transport.
    pub fn mqtt_devices(&self) -> u32 {
        Transport::ALL
            .into_iter()
            .filter(|t| t.is_mqtt())
            .map(|t| self.count(t))
            .sum()
    }
}

/// The validated `[mqtt]` section.
#[derive(Debug, Clone)]
pub struct MqttPlan {
    pub version: MqttVersion,
    pub username_mode: UsernameMode,
    pub username_style: crate::wire::username_style::UsernameStyle,
    pub username: String,
    pub password: Option<String>,
    pub client_id_prefix: String,
    pub topic: String,
    pub qos: u8,
    /// `None`: connect only.
    pub publish_interval: Option<Duration>,
    pub payload_bytes: usize,
    pub subscribe: bool,
    pub keep_alive_s: u16,
    pub connects_per_s: f64,
    /// `None`: a device keeps its session to the end; else it reconnects after this long.
    pub session: Option<Duration>,
    /// Devices sharing one client id (`devices_per_client_id`): device d uses id number d / N.
    pub devices_per_client_id: u32,
    /// The wait before a reconnect (`[mqtt] reconnect`); `None`: at once.
    pub reconnect: Option<crate::load::backoff::BackoffSpec>,
    /// `[[mqtt.storms]]`, in time order.
    pub storms: Vec<super::reconnect::Storm>,
}

impl MqttPlan {
    pub fn client_id(&self, device: u32) -> String {
        format!(
            "{}{:06}",
            self.client_id_prefix,
            self.client_id_number(device)
        )
    }

    /// Which client id device `device` uses (devices sharing one have the same number).
    pub fn client_id_number(&self, device: u32) -> u32 {
        device / self.devices_per_client_id.max(1)
    }

    pub fn topic_of(&self, device: u32) -> String {
        self.topic
            .replace("{client_id}", &self.client_id(device))
            .replace("{device}", &device.to_string())
    }
}

pub(super) fn resolve_groups(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Groups, ScenarioError> {
    let t = &s.transports;
    let weights = [t.https, t.mqtt_tls, t.mqtt, t.wss];
    for (tr, w) in Transport::ALL.into_iter().zip(weights) {
        if !(w.is_finite() && w >= 0.0) {
            return Err(err(
                &format!("transports.{}", tr.as_str()),
                format!("weight must be ≥ 0 and finite (got {w})"),
            ));
        }
    }
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err(err(
            "transports",
            "every transport weight is 0: no device has a transport".into(),
        ));
    }
    Ok(Groups::split(s.devices.count, weights))
}

pub(super) fn resolve_mqtt(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<MqttPlan, ScenarioError> {
    let m = &s.mqtt;
    if m.qos > 1 {
        return Err(err("mqtt.qos", format!("must be 0 or 1 (got {})", m.qos)));
    }
    if m.payload_bytes as usize > MAX_PAYLOAD_BYTES {
        return Err(err(
            "mqtt.payload_bytes",
            format!("must be ≤ 131072, the AWS limit (got {})", m.payload_bytes),
        ));
    }
    if !(m.connects_per_s.is_finite() && m.connects_per_s > 0.0 && m.connects_per_s < 1e7) {
        return Err(err(
            "mqtt.connects_per_s",
            format!("must be a number > 0 (got {})", m.connects_per_s),
        ));
    }
    if m.client_id_prefix.len() > 100 || m.client_id_prefix.contains(['+', '#', '/']) {
        return Err(err(
            "mqtt.client_id_prefix",
            format!(
                "must be at most 100 bytes without + # / (client ids are at most 128 bytes; got {:?})",
                m.client_id_prefix
            ),
        ));
    }
    if m.topic.is_empty() || m.topic.len() > 200 || m.topic.contains(['#', '+']) {
        return Err(err(
            "mqtt.topic",
            format!("must be 1–200 bytes without + or # (got {:?})", m.topic),
        ));
    }
    if !(m.session_s.is_finite() && (0.0..=86_400.0).contains(&m.session_s)) {
        return Err(err(
            "mqtt.session_s",
            format!(
                "must be 0 (keep the session) or at most 86400 s (got {})",
                m.session_s
            ),
        ));
    }
    if m.keep_alive_s != 0 && !(30..=1200).contains(&m.keep_alive_s) {
        return Err(err(
            "mqtt.keep_alive_s",
            format!(
                "must be 0 (off) or 30–1200, the AWS range (got {})",
                m.keep_alive_s
            ),
        ));
    }
    if m.username_mode == UsernameMode::Plain && m.username.is_empty() {
        return Err(err(
            "mqtt.username",
            "username_mode = \"plain\" needs a username".into(),
        ));
    }
    Ok(MqttPlan {
        version: m.protocol,
        username_mode: m.username_mode,
        username_style: m.username_style,
        username: m.username.clone(),
        password: (!m.password.is_empty()).then(|| m.password.clone()),
        client_id_prefix: m.client_id_prefix.clone(),
        topic: m.topic.clone(),
        qos: m.qos,
        publish_interval: (m.publish_interval_ms > 0)
            .then(|| Duration::from_millis(m.publish_interval_ms)),
        payload_bytes: m.payload_bytes as usize,
        subscribe: m.subscribe,
        keep_alive_s: m.keep_alive_s,
        connects_per_s: m.connects_per_s,
        session: (m.session_s > 0.0).then(|| Duration::from_secs_f64(m.session_s)),
        devices_per_client_id: super::reconnect::resolve_sharing(m, err)?,
        reconnect: super::reconnect::resolve_backoff(m, err)?,
        // Set by the plan once the target is known (storms need an emulator).
        storms: Vec::new(),
    })
}

/// A scenario's devices alone (`[transports]`, `[mqtt]`), without the rest of its plan (keys, target...):
/// `tokenstorm policy check` needs only who connects and where they publish. `file` names it in errors.
pub fn resolve_devices(
    s: &Scenario,
    file: &std::path::Path,
) -> Result<(Groups, MqttPlan), ScenarioError> {
    let f = file.display().to_string();
    let err = |field: &str, problem: String| ScenarioError::new(f.clone(), field, problem);
    Ok((resolve_groups(s, &err)?, resolve_mqtt(s, &err)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_by_largest_remainder_in_contiguous_ranges() {
        let g = Groups::split(10, [30.0, 60.0, 0.0, 10.0]);
        assert_eq!(g.range(Transport::Https), 0..3);
        assert_eq!(g.range(Transport::MqttTls), 3..9);
        assert_eq!(g.range(Transport::Mqtt), 9..9);
        assert_eq!(g.range(Transport::Wss), 9..10);
        assert_eq!(g.transport_of(9), Some(Transport::Wss));
        assert_eq!(g.transport_of(10), None);
        assert_eq!(g.mqtt_devices(), 7);
        let odd = Groups::split(7, [1.0, 1.0, 1.0, 0.0]);
        let counts: Vec<u32> = Transport::ALL.iter().map(|&t| odd.count(t)).collect();
        assert_eq!(counts, vec![3, 2, 2, 0]);
        let only = Groups::split(5, [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(only.range(Transport::MqttTls), 0..5);
    }
}
