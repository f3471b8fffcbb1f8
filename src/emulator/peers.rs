//! Where connections came from: per data-plane listener, how many connections each source address opened
//! (`GET /peers` on the admin listener). AWS shows no client address in the authorizer's event (spec §3), so
//! this stays out of the event and the ledger; it is how a run with `load.source_addrs` can be seen to spread
//! its connections. Distinct addresses per listener are capped so a flood from many addresses stays bounded.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::contract::Listener;

/// Distinct source addresses kept per listener; connections from further ones are counted as `others`.
const MAX_DISTINCT: usize = 65_536;

#[derive(Debug, Default)]
pub struct Peers {
    inner: Mutex<[Counts; Listener::COUNT]>,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    by_addr: BTreeMap<IpAddr, u64>,
    others: u64,
}

impl Peers {
    /// Counts one accepted connection (one lock per accept: the accept loop is not the bottleneck).
    pub fn record(&self, listener: Listener, from: IpAddr) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut inner[listener.index()];
        let full = c.by_addr.len() >= MAX_DISTINCT;
        match c.by_addr.get_mut(&from) {
            Some(n) => *n += 1,
            None if full => c.others += 1,
            None => {
                c.by_addr.insert(from, 1);
            }
        }
    }

    /// Listener → source address → connections accepted, for the listeners that accepted any.
    pub fn by_listener(&self) -> BTreeMap<&'static str, BTreeMap<IpAddr, u64>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Listener::ALL
            .iter()
            .filter(|l| !inner[l.index()].by_addr.is_empty())
            .map(|l| (l.as_str(), inner[l.index()].by_addr.clone()))
            .collect()
    }

    /// `GET /peers`: `{"https":{"addresses":{"127.0.0.1":3},"others":0},...}`.
    pub fn to_json(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let map: serde_json::Map<String, serde_json::Value> = Listener::ALL
            .iter()
            .filter(|l| !inner[l.index()].by_addr.is_empty())
            .map(|l| {
                let c = &inner[l.index()];
                let v = serde_json::json!({ "addresses": c.by_addr, "others": c.others });
                (l.as_str().to_string(), v)
            })
            .collect();
        serde_json::Value::Object(map).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_listener_and_source_address() {
        let p = Peers::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        p.record(Listener::Https, a);
        p.record(Listener::Https, a);
        p.record(Listener::Mqtt, "127.0.0.3".parse().unwrap());
        let m = p.by_listener();
        assert_eq!(m["https"][&a], 2);
        assert_eq!(m["mqtt"].len(), 1);
        assert!(!m.contains_key("mqtt_tls"));
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["https"]["addresses"]["127.0.0.2"], 2, "{v}");
        assert_eq!(v["mqtt"]["others"], 0, "{v}");
    }
}
