//! The resolved `[pricing]` section: prices as integer pico-dollars (1e-12 USD) so cost sums are exact integer
//! arithmetic ([`crate::report::cost`]). A price given with more than 12 decimal places is rounded to the
//! nearest pico-dollar once, here.

use super::file::{Architecture, PricingSection};

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
