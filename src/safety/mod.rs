//! Remote targets are opt-in, capped and recorded (pure). A target is remote when any address it resolves to is
//! outside 127.0.0.0/8 and ::1; a remote run needs `--allow-remote` and `[safety] authorized`, and its plan must
//! stay within the caps ([`caps`]). Why: AWS's penetration-testing policy does not list IoT Core among the
//! services testable without approval and forbids flooding, and every valid attempt is billed. The addresses are
//! resolved by the run's shell before any connection; everything here decides from them and the plan.

pub mod abort;
pub mod backoff;
pub mod caps;
pub mod planned;
pub mod ramp;

use std::net::IpAddr;

use serde::Serialize;

pub use caps::Caps;
pub use planned::Planned;

/// Whether an address leaves the machine: anything but 127.0.0.0/8 and ::1 (an IPv4-mapped loopback counts as
/// loopback).
pub fn is_remote_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => !v4.is_loopback(),
            None => !v6.is_loopback(),
        },
    }
}

/// A target is remote when any of its addresses is.
pub fn is_remote(addrs: &[IpAddr]) -> bool {
    addrs.iter().any(|&a| is_remote_addr(a))
}

/// The remote addresses among `used` (what the setup resolved again) that a run checked as local must not
/// reach; empty when the run was checked as remote (and so allowed) or `used` is all loopback.
pub fn newly_remote(checked_remote: bool, used: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    if checked_remote {
        return Vec::new();
    }
    used.into_iter().filter(|&a| is_remote_addr(a)).collect()
}

/// A remote run's two keys: `Err` names what is missing (both when both are).
pub fn authorize(remote: bool, allow_remote: bool, authorized: &str) -> Result<(), String> {
    if !remote {
        return Ok(());
    }
    let mut missing = Vec::new();
    if !allow_remote {
        missing.push("the --allow-remote flag");
    }
    if authorized.trim().is_empty() {
        missing.push("[safety] authorized = \"<who, and the approval or ticket>\" in the scenario");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the target is remote (not 127.0.0.0/8 or ::1), so the run needs {}; nothing was sent",
            missing.join(" and ")
        ))
    }
}

/// report.json `safety`: whether the target was remote, where it resolved, who authorized it, the caps in force
/// and the plan's prediction.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SafetyRecord {
    pub remote: bool,
    /// Every address the target resolved to (the embedded emulator: its loopback listener).
    pub addresses: Vec<String>,
    /// `[safety] authorized`; null when empty.
    pub authorized: Option<String>,
    /// Each cap in force; null when uncapped.
    pub caps: Caps,
    pub predicted: Predicted,
    /// The implicit ramp from 0 the run got (`caps.ramp_s`, for rates no stage sets), s; null: none.
    pub implicit_ramp_s: Option<f64>,
    /// The `[abort]` guards in force while the run ran.
    pub abort: abort::Guards,
    /// The abort guard that stopped the run; null: none did.
    pub aborted_by: Option<abort::AbortedBy>,
}

/// What the plan predicts before any traffic.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Predicted {
    /// HTTPS publishes + MQTT connects; null when unbounded (closed model without `run.max_attempts`).
    pub attempts: Option<u64>,
    /// Attempts whose class passes the gate (every one but forged).
    pub invocations: Option<u64>,
    /// Lambda requests and compute plus IoT messages, by the `[pricing]` model; null when unbounded.
    pub cost_usd: Option<f64>,
}

impl SafetyRecord {
    /// The spacing the MQTT connect pacer keeps between two CONNECTs of one client id.
    pub fn client_id_gap(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(
            self.caps
                .client_id_gap_s
                .unwrap_or(caps::LOOPBACK_CLIENT_ID_GAP_S),
        )
    }

    /// The backoff after a throttle in force; `None`: off.
    pub fn backoff(&self) -> Option<crate::load::backoff::BackoffSpec> {
        let d = std::time::Duration::from_secs_f64;
        self.caps
            .backoff_base_s
            .zip(self.caps.backoff_max_s)
            .map(|(base, max)| crate::load::backoff::BackoffSpec {
                jitter: 1.0,
                base: d(base),
                max: d(max),
            })
    }

    pub fn new(addrs: &[IpAddr], authorized: &str, caps: Caps, planned: &Planned) -> Self {
        let mut addresses: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        addresses.sort();
        addresses.dedup();
        Self {
            remote: is_remote(addrs),
            addresses,
            authorized: (!authorized.trim().is_empty()).then(|| authorized.to_string()),
            caps,
            predicted: Predicted {
                attempts: planned.attempts,
                invocations: planned.invocations,
                cost_usd: planned.cost_usd,
            },
            implicit_ramp_s: None,
            abort: abort::Guards::default(),
            aborted_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_local_run_that_resolves_remote_at_setup_is_caught() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let far: IpAddr = "10.99.0.1".parse().unwrap();
        assert_eq!(newly_remote(false, [lo, far]), vec![far]);
        assert!(newly_remote(false, [lo]).is_empty());
        assert!(
            newly_remote(true, [far]).is_empty(),
            "allowed remote runs may meet other addresses"
        );
    }

    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn loopback_v4_and_v6_are_local() {
        assert!(!is_remote(&ips(&[
            "127.0.0.1",
            "127.255.3.4",
            "::1",
            "::ffff:127.0.0.1"
        ])));
        assert!(!is_remote(&[]));
    }

    #[test]
    fn anything_else_is_remote() {
        for a in [
            "10.99.0.1",
            "0.0.0.0",
            "192.168.1.1",
            "2001:db8::1",
            "::",
            "::ffff:10.0.0.1",
            "fe80::1",
        ] {
            assert!(is_remote(&ips(&[a])), "{a}");
        }
    }

    #[test]
    fn one_remote_address_among_loopback_ones_makes_the_target_remote() {
        assert!(is_remote(&ips(&["127.0.0.1", "::1", "10.99.0.1"])));
        assert!(is_remote(&ips(&["::1", "2001:db8::2"])));
    }

    #[test]
    fn a_remote_run_names_what_is_missing() {
        assert_eq!(authorize(false, false, ""), Ok(()));
        assert_eq!(authorize(true, true, "alice, TICKET-1"), Ok(()));
        let both = authorize(true, false, " ").unwrap_err();
        assert!(
            both.contains("--allow-remote") && both.contains("authorized"),
            "{both}"
        );
        let flag = authorize(true, false, "alice").unwrap_err();
        assert!(
            flag.contains("--allow-remote") && !flag.contains("authorized ="),
            "{flag}"
        );
        let text = authorize(true, true, "").unwrap_err();
        assert!(
            !text.contains("--allow-remote") && text.contains("authorized"),
            "{text}"
        );
    }

    #[test]
    fn the_record_dedups_addresses_and_nulls_an_empty_authorization() {
        let planned = Planned::default();
        let r = SafetyRecord::new(
            &ips(&["127.0.0.1", "127.0.0.1"]),
            "",
            Caps::default(),
            &planned,
        );
        assert_eq!(r.addresses, ["127.0.0.1"]);
        assert!(!r.remote && r.authorized.is_none() && r.aborted_by.is_none());
    }
}
