//! The planned HTTPS attempts of a bounded plan, enumerated without sockets or clocks: what the lanes would
//! send, attempt by attempt (id, class with its forged variant, replay victim, credential, device), for the
//! whole plan or one shard of it ([`super::shard`]). The lanes decide the same way at run time; this is how the
//! partition is checked (the shards' attempts together are exactly the unsharded plan's) and how a later
//! `merge` can reason about what each shard was meant to do.
//!
//! It walks the same pacing as [`super::run`]: the open model's one global schedule (bounded by the duration
//! and the attempt bound), or the closed model's slots with their attempt budgets (a closed plan without
//! `max_attempts` is bounded only by time: `None`). A device's own draws after each attempt (the placement
//! under `credentials_in = "mixed"`) are replayed too, so later classes come out as the lanes' do. Pooled
//! replay-resistant credentials depend on what the target allowed; they are named by their token here.

use crate::attempt::Planner;
use crate::attempt::planner::{Credentials, Cursor};

use crate::contract::{Class, Transport};
use crate::scenario::Model;

use super::pacer::{OpenSchedule, closed_slots};
use super::shard::Shard;

/// What an attempt sends, owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sent {
    /// Catalogue sets: the device's and (for a replay) the victim's.
    Catalogue { set: usize, replay_set: usize },
    /// A pooled replay-resistant token.
    Pooled(String),
    /// Nothing: the attempt ends `exhausted`.
    Exhausted,
}

/// One planned attempt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planned {
    pub id: String,
    pub class: String,
    pub device: u32,
    pub replay_from: u32,
    pub sent: Sent,
}

/// The HTTPS plan's pacing, as [`super::LoadSpec`] has it.
pub struct Bounds<'a> {
    pub model: Model,
    /// HTTPS devices (ids `0..devices`).
    pub devices: u32,
    pub duration: std::time::Duration,
    pub max_attempts: Option<u64>,
    pub ramp: Option<std::sync::Arc<super::ramp::Ramp>>,
    /// `credentials_in = "mixed"`: each attempt draws its placement after the planner.
    pub mixed: bool,
    pub planner: &'a Planner,
}

/// Every HTTPS attempt `shard` plans, in device order then attempt order; `None` when the plan is bounded by
/// time only (the closed model without `max_attempts`: how many attempts fit depends on the answers).
pub fn https(b: &Bounds<'_>, shard: Shard) -> Option<Vec<Planned>> {
    let mut out = Vec::new();
    match b.model {
        Model::Open { rate_per_s } => {
            let s = OpenSchedule::new(
                rate_per_s,
                b.ramp.clone(),
                b.devices,
                b.duration,
                b.max_attempts,
            );
            for d in (0..b.devices).filter(|&d| shard.owns(d)) {
                let mut c = b.planner.cursor(d, Transport::Https);
                for _ in 0..s.attempts_of(d) {
                    out.push(plan_one(b, &mut c));
                }
            }
        }
        Model::Closed { concurrency } => {
            let slots = closed_slots(b.devices, concurrency, Some(b.max_attempts?));
            for (j, slot) in slots.iter().enumerate() {
                if !shard.owns(j as u32) || slot.devices.is_empty() {
                    continue;
                }
                let mut cursors: Vec<Cursor> = (slot.devices.iter())
                    .map(|&d| b.planner.cursor(d, Transport::Https))
                    .collect();
                for t in 0..slot.budget.unwrap_or(0) as usize {
                    let n = cursors.len();
                    out.push(plan_one(b, &mut cursors[t % n]));
                }
            }
        }
    }
    Some(out)
}

/// The cursor's next attempt, with the lane's own draw after it.
fn plan_one(b: &Bounds<'_>, c: &mut Cursor) -> Planned {
    use rand::Rng as _;
    let a = b.planner.next(c);
    if b.mixed {
        let _ = c.rng().random_bool(0.5);
    }
    let mut id = String::new();
    b.planner.id_into(&a, &mut id);
    let sent = match a.credentials {
        Credentials::Catalogue { set, replay_set } => Sent::Catalogue { set, replay_set },
        Credentials::Pooled(cred) => Sent::Pooled(cred.token.clone()),
        Credentials::Exhausted => Sent::Exhausted,
    };
    Planned {
        id,
        class: class_label(a.class),
        device: a.device,
        replay_from: a.replay_from,
        sent,
    }
}

fn class_label(c: Class) -> String {
    c.label().to_string()
}

#[cfg(test)]
#[path = "planned_tests.rs"]
mod tests;
