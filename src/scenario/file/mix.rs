//! `[mix]`: the attempt mix's relative weights, with the replay and forgery variant splits. `[mix.forged_variants]`
//! is a map keyed by the catalogue's stable variant names, so it has its own (de)serializer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixSection {
    pub valid: f64,
    pub forged: f64,
    pub replayed: f64,
    /// How forged attempts split between the variants (relative weights).
    pub forged_variants: ForgedVariants,
    /// How replayed attempts split between the variants (relative weights).
    pub replayed_variants: ReplayedVariants,
}

/// Replay variants (spec §8), relative weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayedVariants {
    /// Another device's captured (token, signature) pair (`replayed`).
    pub other_device: f64,
    /// The same device resends a token it already used (`replayed.reused_nonce`).
    pub reused_nonce: f64,
    /// A token older than the function's maximum age (`replayed.expired`; replay_resistant tokens only).
    pub expired: f64,
}

impl Default for ReplayedVariants {
    fn default() -> Self {
        Self {
            other_device: 1.0,
            reused_nonce: 0.0,
            expired: 0.0,
        }
    }
}

/// `[mix.forged_variants]`: a relative weight per forgery variant, keyed by its stable name (the catalogue in
/// `attempt::oracle`). Variants left out keep their default weight 1.0; an unknown name is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct ForgedVariants([f64; crate::contract::Forgery::COUNT]);

impl Default for MixSection {
    fn default() -> Self {
        Self {
            valid: 80.0,
            forged: 15.0,
            replayed: 5.0,
            forged_variants: ForgedVariants::default(),
            replayed_variants: ReplayedVariants::default(),
        }
    }
}

impl Default for ForgedVariants {
    fn default() -> Self {
        Self([1.0; crate::contract::Forgery::COUNT])
    }
}

impl Serialize for ForgedVariants {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (f, w) in self.weights() {
            m.serialize_entry(f.as_str(), &w)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ForgedVariants {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::contract::Forgery;
        let given = std::collections::BTreeMap::<String, f64>::deserialize(d)?;
        let mut out = Self::default();
        for (name, w) in given {
            let Some(f) = Forgery::from_name(&name) else {
                let known: Vec<&str> = Forgery::ALL.iter().map(|f| f.as_str()).collect();
                return Err(serde::de::Error::custom(format!(
                    "unknown forgery variant `{name}`; the variants are: {}",
                    known.join(", ")
                )));
            };
            out.0[f.index()] = w;
        }
        Ok(out)
    }
}

impl ForgedVariants {
    /// The weights with their variants, in [`crate::contract::Forgery::ALL`] order.
    pub fn weights(&self) -> [(crate::contract::Forgery, f64); crate::contract::Forgery::COUNT] {
        std::array::from_fn(|i| (crate::contract::Forgery::ALL[i], self.0[i]))
    }

    /// Sets one variant's weight.
    pub fn set(&mut self, f: crate::contract::Forgery, weight: f64) {
        self.0[f.index()] = weight;
    }
}
