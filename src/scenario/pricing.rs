//! The `[pricing]` section of a scenario file ([`PricingSection`]) and its resolved form ([`Pricing`]): prices as integer pico-dollars (1e-12 USD) so cost sums are exact integer
//! arithmetic ([`crate::report::cost`]). A price given with more than 12 decimal places is rounded to the
//! nearest pico-dollar once, here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Lambda on x86_64: `gb_second_usd_x86_64` per GB-second.
    #[serde(rename = "x86_64")]
    X86_64,
    /// Lambda on Graviton: `gb_second_usd_arm64` per GB-second.
    Arm64,
}

/// What the run would cost on AWS (spec §7). Defaults: us-east-1 list prices; check them for the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingSection {
    /// Which GB-second price applies.
    pub architecture: Architecture,
    /// Lambda: USD per million requests.
    pub requests_per_million_usd: f64,
    /// Lambda x86_64: USD per GB-second.
    pub gb_second_usd_x86_64: f64,
    /// Lambda arm64: USD per GB-second.
    pub gb_second_usd_arm64: f64,
    /// AWS IoT Core messaging: USD per million messages (each 5 KB of payload is one message).
    pub messages_per_million_usd: f64,
}

impl Default for PricingSection {
    fn default() -> Self {
        Self {
            architecture: Architecture::X86_64,
            requests_per_million_usd: 0.20,
            gb_second_usd_x86_64: 0.000_016_666_7,
            gb_second_usd_arm64: 0.000_013_333_4,
            messages_per_million_usd: 1.00,
        }
    }
}

/// Pico-dollars per dollar.
pub const PICO: u128 = 1_000_000_000_000;

/// Prices and the in-process function's billing, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub architecture: Architecture,
    /// Pico-dollars per million Lambda requests (0.20 USD → 200_000_000_000).
    pub requests_per_million_pusd: u128,
    /// Pico-dollars per GB-second for the chosen architecture (0.0000166667 USD → 16_666_700).
    pub gb_second_pusd: u128,
    /// Pico-dollars per million IoT Core messages.
    pub messages_per_million_pusd: u128,
}

impl Default for Pricing {
    fn default() -> Self {
        resolve(&PricingSection::default()).expect("the default prices are valid")
    }
}

fn pico(usd: f64, field: &str) -> Result<u128, (String, String)> {
    if !(usd.is_finite() && (0.0..1e6).contains(&usd)) {
        return Err((
            format!("pricing.{field}"),
            format!("must be a price in USD, ≥ 0 and < 1000000 (got {usd})"),
        ));
    }
    Ok((usd * PICO as f64).round() as u128)
}

/// Validates the section; the error is (field, problem).
pub fn resolve(p: &PricingSection) -> Result<Pricing, (String, String)> {
    let x86 = pico(p.gb_second_usd_x86_64, "gb_second_usd_x86_64")?;
    let arm = pico(p.gb_second_usd_arm64, "gb_second_usd_arm64")?;
    Ok(Pricing {
        architecture: p.architecture,
        requests_per_million_pusd: pico(p.requests_per_million_usd, "requests_per_million_usd")?,
        gb_second_pusd: match p.architecture {
            Architecture::X86_64 => x86,
            Architecture::Arm64 => arm,
        },
        messages_per_million_pusd: pico(p.messages_per_million_usd, "messages_per_million_usd")?,
    })
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_prices_in_pico_dollars() {
        let p = Pricing::default();
        assert_eq!(p.requests_per_million_pusd, 200_000_000_000);
        assert_eq!(p.gb_second_pusd, 16_666_700);
        assert_eq!(p.messages_per_million_pusd, 1_000_000_000_000);
        let arm = resolve(&PricingSection {
            architecture: Architecture::Arm64,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(arm.gb_second_pusd, 13_333_400);
    }

    #[test]
    fn bad_prices_name_the_field() {
        let bad = PricingSection {
            messages_per_million_usd: -1.0,
            ..Default::default()
        };
        assert_eq!(
            resolve(&bad).unwrap_err().0,
            "pricing.messages_per_million_usd"
        );
    }
}
