//! What the run would cost on AWS (spec §7), from the ledger join and the measured messages, split by credential
//! class, with a projection to 24 hours at the measured rate.
//!
//! - Lambda requests: billed invocations (all but throttled ones) × the price per million.
//! - Lambda compute: Σ memory_mb × billed_ms (1 ms granularity, as the ledger reports them: a real function's
//!   measured duration, the in-process function's `billed_duration_ms` or latency) = GB-seconds × 1024 × 1000, × the GB-second
//!   price of `[pricing] architecture`.
//! - IoT Core messaging: HTTPS publishes answered 200, MQTT publishes accepted (QoS 1: PUBACK success; QoS 0:
//!   sent) and deliveries received, each counting one message per started 5 KB of payload. Token validation is
//!   free; connectivity minutes are not modelled.
//!
//! The 24 h projection scales linearly by the measured elapsed time: what ran once at the start (cold starts, the
//! first fill of an HTTP cache) is scaled too, so for short runs with caching it overstates the day.
//!
//! Arithmetic is exact integers in pico-dollars (1e-12 USD): each amount is rounded once to the nearest
//! pico-dollar (half up), and totals are the sums of the class rows. `usd` fields are those integers / 1e12.

use serde::Serialize;

use crate::contract::Class;
use crate::contract::Transport;
use crate::join::LedgerSummary;
use crate::metrics::{Outcome, PubEvent, Recorder};
use crate::scenario::Pricing;
use crate::scenario::pricing::PICO;

/// Payload bytes per billed IoT message.
pub use crate::contract::limits::MESSAGE_BYTES;
const DAY_MS: u128 = 86_400_000;

/// The class kinds costs are split by; `fuzz` is a slot for fuzzed attempts (none are sent yet).
pub const KINDS: [&str; 4] = ["valid", "replayed", "forged", "fuzz"];

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub currency: &'static str,
    pub architecture: &'static str,
    pub prices: Prices,
    /// The run's elapsed time the projection scales from, ms.
    pub elapsed_ms: u64,
    /// One row per class kind: `valid`, `replayed` (every replay variant), `forged` (reaches the function only
    /// with signing disabled), `fuzz`.
    pub by_class: Vec<CostRow>,
    /// The sum of the rows.
    pub total: CostRow,
    /// How amounts are rounded.
    pub rounding: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prices {
    pub requests_per_million_usd: f64,
    pub gb_second_usd: f64,
    pub messages_per_million_usd: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CostRow {
    pub class: String,
    pub attempts: u64,
    pub invocations: u64,
    /// Invocations billed as Lambda requests (throttled ones are not).
    pub billed_requests: u64,
    pub throttled: u64,
    pub cold_starts: u64,
    /// Σ billed duration, ms.
    pub billed_ms: u64,
    /// Σ memory × billed duration.
    pub gb_seconds: f64,
    /// IoT Core messages billed (5 KB units).
    pub messages: u64,
    pub lambda_requests_pusd: u64,
    pub lambda_compute_pusd: u64,
    pub messaging_pusd: u64,
    pub total_pusd: u64,
    pub total_usd: f64,
    /// `total_usd` if the run's rate were sustained for 24 h (`total × 86400000 / elapsed_ms`); `null` when
    /// nothing elapsed.
    pub per_24h_usd: Option<f64>,
    /// Invocations at that rate over 24 h.
    pub invocations_per_24h: Option<u64>,
}

/// `n / d` rounded to the nearest integer, half up.
pub fn div_round(n: u128, d: u128) -> u128 {
    if d == 0 { 0 } else { (2 * n + d) / (2 * d) }
}

fn usd(pusd: u128) -> f64 {
    pusd as f64 / PICO as f64
}

fn clamp(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// What some invocations cost in Lambda requests and compute, USD (rounded as the cost section rounds).
pub fn invocations_usd(inv: &crate::join::ClassInvocations, pricing: &Pricing) -> f64 {
    let req = div_round(
        u128::from(inv.billed) * pricing.requests_per_million_pusd,
        1_000_000,
    );
    let compute = div_round(inv.mb_ms * pricing.gb_second_pusd, 1024 * 1000);
    usd(req + compute)
}

/// IoT messages of one class: `(transport, payload bytes, qos)` per transport in use.
pub struct MessageShape {
    pub https_payload_bytes: usize,
    pub mqtt_payload_bytes: usize,
    pub mqtt_qos: u8,
}

fn units(bytes: usize) -> u64 {
    crate::contract::limits::message_units(bytes)
}

/// IoT Core messages billed for one class.
pub fn messages(rec: &Recorder, c: Class, shape: &MessageShape) -> u64 {
    let https = rec.ended(Transport::Https, c, Outcome::Allowed) * units(shape.https_payload_bytes);
    let accepted = if shape.mqtt_qos == 1 {
        PubEvent::PubackOk
    } else {
        PubEvent::Sent
    };
    let mqtt: u64 = Transport::ALL
        .into_iter()
        .filter(|t| t.is_mqtt())
        .map(|t| rec.pub_count(t, c, accepted) + rec.pub_count(t, c, PubEvent::Received))
        .sum();
    https + mqtt * units(shape.mqtt_payload_bytes)
}

/// One row per class kind with its counts (no prices yet), and each kind's MB-milliseconds of compute.
fn count_rows(
    rec: &Recorder,
    ledger: &LedgerSummary,
    shape: &MessageShape,
) -> (Vec<CostRow>, [u128; KINDS.len()]) {
    let mut rows: Vec<CostRow> = KINDS
        .iter()
        .map(|k| CostRow {
            class: (*k).into(),
            ..Default::default()
        })
        .collect();
    let mut mb_ms = [0u128; KINDS.len()];
    for c in Class::ALL {
        let Some(i) = KINDS.iter().position(|k| *k == c.kind()) else {
            continue;
        };
        let inv = ledger.class(c);
        let r = &mut rows[i];
        r.attempts += Transport::ALL
            .into_iter()
            .map(|t| rec.started(t, c))
            .sum::<u64>();
        r.invocations += inv.invocations;
        r.billed_requests += inv.billed;
        r.throttled += inv.throttled;
        r.cold_starts += inv.cold_starts;
        r.billed_ms += inv.billed_ms;
        r.messages += messages(rec, c, shape);
        mb_ms[i] += inv.mb_ms;
    }
    (rows, mb_ms)
}

/// The cost section.
pub fn cost(
    rec: &Recorder,
    ledger: &LedgerSummary,
    pricing: &Pricing,
    shape: &MessageShape,
    elapsed_ms: u64,
) -> Cost {
    let (mut rows, mb_ms) = count_rows(rec, ledger, shape);
    let mut total = CostRow {
        class: "total".into(),
        ..Default::default()
    };
    let mut total_mb_ms = 0u128;
    for (r, &mbms) in rows.iter_mut().zip(&mb_ms) {
        let req = div_round(
            u128::from(r.billed_requests) * pricing.requests_per_million_pusd,
            1_000_000,
        );
        let compute = div_round(mbms * pricing.gb_second_pusd, 1024 * 1000);
        let msg = div_round(
            u128::from(r.messages) * pricing.messages_per_million_pusd,
            1_000_000,
        );
        r.gb_seconds = mbms as f64 / 1_024_000.0;
        fill(r, req, compute, msg, elapsed_ms);
        total.attempts += r.attempts;
        total.invocations += r.invocations;
        total.billed_requests += r.billed_requests;
        total.throttled += r.throttled;
        total.cold_starts += r.cold_starts;
        total.billed_ms += r.billed_ms;
        total.messages += r.messages;
        total_mb_ms += mbms;
    }
    total.gb_seconds = total_mb_ms as f64 / 1_024_000.0;
    let sum = |f: fn(&CostRow) -> u64| rows.iter().map(|r| u128::from(f(r))).sum::<u128>();
    fill(
        &mut total,
        sum(|r| r.lambda_requests_pusd),
        sum(|r| r.lambda_compute_pusd),
        sum(|r| r.messaging_pusd),
        elapsed_ms,
    );
    Cost {
        currency: "USD",
        architecture: pricing.architecture.as_str(),
        prices: Prices {
            requests_per_million_usd: usd(pricing.requests_per_million_pusd),
            gb_second_usd: usd(pricing.gb_second_pusd),
            messages_per_million_usd: usd(pricing.messages_per_million_pusd),
        },
        elapsed_ms,
        by_class: rows,
        total,
        rounding: "integer pico-dollars (1e-12 USD): each amount rounded half up once; totals are sums of the class rows",
    }
}

fn fill(r: &mut CostRow, req: u128, compute: u128, msg: u128, elapsed_ms: u64) {
    r.lambda_requests_pusd = clamp(req);
    r.lambda_compute_pusd = clamp(compute);
    r.messaging_pusd = clamp(msg);
    let total = req + compute + msg;
    r.total_pusd = clamp(total);
    r.total_usd = usd(total);
    let e = u128::from(elapsed_ms);
    r.per_24h_usd = (e > 0).then(|| usd(div_round(total * DAY_MS, e)));
    r.invocations_per_24h =
        (e > 0).then(|| clamp(div_round(u128::from(r.invocations) * DAY_MS, e)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::join::LedgerRow;

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(1, 0), 0);
    }

    /// 10 valid invocations at 100 ms and 128 MB, 4 forged ones (signing disabled), 20 s elapsed.
    #[test]
    fn a_hand_computed_bill() {
        let mut rec = Recorder::new();
        let mut l = LedgerSummary::starting_after("t", "r", 0);
        let f = Class::Forged(crate::contract::Forgery::BitFlip);
        let mut seq = 0;
        for (c, n, label) in [(Class::Valid, 10, "valid"), (f, 4, "forged.bit_flip")] {
            for k in 0..n {
                rec.start(Transport::Https, c);
                rec.end(Transport::Https, c, Outcome::Allowed, 1, 1, true);
                seq += 1;
                let mut row = LedgerRow::new(seq, Some(&format!("r-{label}-0-{k}")), "allow");
                row.billed_ms = Some(100);
                row.memory_mb = Some(128);
                l.absorb(row);
            }
        }
        let shape = MessageShape {
            https_payload_bytes: 6000, // two 5 KB units
            mqtt_payload_bytes: 64,
            mqtt_qos: 1,
        };
        let c = cost(&rec, &l, &Pricing::default(), &shape, 20_000);
        let v = &c.by_class[0];
        assert_eq!(v.class, "valid");
        // 10 × 0.20 / 1e6 USD = 2e-6 USD = 2_000_000 pUSD.
        assert_eq!(v.lambda_requests_pusd, 2_000_000);
        // 10 × 128 MB × 100 ms = 128_000 MB·ms = 0.125 GB-s × 16_666_700 pUSD = 2_083_337.5 → 2_083_338.
        assert_eq!(v.lambda_compute_pusd, 2_083_338);
        assert!((v.gb_seconds - 0.125).abs() < 1e-12);
        // 10 publishes × 2 units × 1e6 pUSD per message.
        assert_eq!((v.messages, v.messaging_pusd), (20, 20_000_000));
        assert_eq!(v.total_pusd, 24_083_338);
        // × 86_400_000 / 20_000 = × 4320.
        assert_eq!(v.per_24h_usd, Some(24_083_338.0 * 4320.0 / 1e12));
        assert_eq!(v.invocations_per_24h, Some(43_200));
        let fo = &c.by_class[2];
        assert_eq!((fo.class.as_str(), fo.invocations), ("forged", 4));
        assert_eq!(fo.lambda_requests_pusd, 800_000);
        // 4 × 128 × 100 = 51_200 MB·ms × 16_666_700 / 1_024_000 = 833_335 exactly.
        assert_eq!(fo.lambda_compute_pusd, 833_335);
        assert_eq!(c.by_class[3].class, "fuzz");
        assert_eq!(
            c.total.total_pusd,
            24_083_338 + 800_000 + 833_335 + 8_000_000
        );
        assert_eq!(c.total.invocations, 14);
    }

    #[test]
    fn mqtt_messages_count_accepted_publishes_and_deliveries_per_5_kb() {
        let mut rec = Recorder::new();
        let t = Transport::MqttTls;
        for e in [
            PubEvent::Sent,
            PubEvent::Sent,
            PubEvent::Sent,
            PubEvent::PubackOk,
            PubEvent::PubackOk,
        ] {
            rec.publish(t, Class::Valid, e);
        }
        rec.publish(t, Class::Valid, PubEvent::PubackDenied);
        rec.publish(Transport::Wss, Class::Valid, PubEvent::Received);
        let shape = |qos, bytes| MessageShape {
            https_payload_bytes: 10,
            mqtt_payload_bytes: bytes,
            mqtt_qos: qos,
        };
        // QoS 1: 2 PUBACK successes + 1 delivery; QoS 0: 3 sent + 1 delivery.
        assert_eq!(messages(&rec, Class::Valid, &shape(1, 64)), 3);
        assert_eq!(messages(&rec, Class::Valid, &shape(0, 64)), 4);
        // 5121 bytes are two 5 KB units.
        assert_eq!(messages(&rec, Class::Valid, &shape(1, 5121)), 6);
        assert_eq!(messages(&rec, Class::Replayed, &shape(1, 64)), 0);
    }
}
