//! The plan hash: one stable fingerprint of what shapes a run — the effective scenario (after the command
//! line's overrides and the plan's own resolution) with its seed — so that shards of one plan can be told
//! from shards of another (`run --shard`, and the `merge` that joins them refuses a mixture).
//!
//! It is SHA-256 over a versioned prefix and the scenario as JSON in its struct's field order (no maps: the
//! order is fixed by the code, not by a hash table). The shard index, the run id and the output folder are not
//! in it: every shard of one plan carries the same hash. Key files are in it by path, not by content.

use sha2::Digest as _;

use super::Scenario;

/// Bumped when the hashed form changes, so an old hash never matches a new one by accident.
const VERSION: &str = "tokenstorm-plan-v1";

/// `sha256:<64 hex digits>` of the effective scenario.
pub fn of(s: &Scenario) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    let mut h = sha2::Sha256::new();
    h.update(VERSION.as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quickstart() -> Scenario {
        let src = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
        crate::scenario::parse(&src, "scenarios/quickstart.toml").unwrap()
    }

    #[test]
    fn the_same_scenario_hashes_the_same_and_any_change_changes_it() {
        let s = quickstart();
        let h = of(&s);
        assert!(h.starts_with("sha256:") && h.len() == 71, "{h}");
        assert_eq!(of(&quickstart()), h);
        let mut seed = quickstart();
        seed.run.seed += 1;
        let mut rate = quickstart();
        rate.run.rate_per_s *= 2.0;
        let mut devices = quickstart();
        devices.devices.count += 1;
        for other in [seed, rate, devices] {
            assert_ne!(of(&other), h);
        }
    }
}
