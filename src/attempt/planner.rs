//! The attempt planner: the one place that decides what a device's next attempt is — its class, its forged
//! variant, the device whose captured pair a replay reuses, and the credential it sends (a catalogue set, a
//! pooled replay-resistant token, or nothing) — for every transport. It is pure: no I/O, no clock, no task; the
//! HTTPS lanes and the MQTT fleet (`crate::load`) carry out what it decides and report back which pooled tokens
//! were allowed.
//!
//! Replays have one pool across transports. A `replayed` attempt picks its victim among *every* device of the
//! run (not only those of its own transport), and with replay-resistant tokens draws on the one
//! [`TokenPool`], whose captures come from valid attempts allowed over any transport. So an HTTPS replay may
//! reuse a pair an MQTT device sent and the other way round, and a mixed-transport run's replay semantics do
//! not depend on the transport. (Before this planner the HTTPS lanes drew victims among HTTPS devices only.)
//!
//! Draw order on the device's RNG, per attempt: the class (`Mix::choose_at`), then the victim of a
//! `replayed` attempt when the run has more than one device; then whatever the transport draws itself through
//! [`Cursor::rng`] (HTTPS: the placement under `credentials_in = "mixed"`; MQTT: the first publish's phase).

use std::sync::Arc;

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;

use super::{Catalogue, Credential, Mix, TokenPool, device_rng};
use crate::contract::{Class, Transport, attempt_id as id};

/// Decides every attempt of a run (shared, read-only but for the token pool's captures).
#[derive(Debug)]
pub struct Planner {
    run_id: String,
    seed: u64,
    /// The mix per transport ([`Transport::index`]), without the variants the oracle skips there.
    mixes: Vec<Mix>,
    catalogue: Catalogue,
    /// Replay-resistant tokens (`devices.token = "replay_resistant"`): valid and replay attempts take their
    /// credentials from here instead of the catalogue.
    pool: Option<Arc<TokenPool>>,
    /// Every device of the run, over every transport: replays pick their victim in `0..devices`.
    devices: u32,
}

/// One device's place in its sequence of attempts: its seeded RNG and counters.
#[derive(Debug, Clone)]
pub struct Cursor {
    id: u32,
    transport: Transport,
    rng: ChaCha8Rng,
    /// Attempts planned so far.
    k: u64,
    /// Replay-resistant tokens: the next pool token a valid attempt sends.
    next_valid: u32,
}

impl Cursor {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Attempts planned so far.
    pub fn planned(&self) -> u64 {
        self.k
    }

    /// The device's RNG, for the transport's own draws after [`Planner::next`] (see the module comment).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// What an attempt sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'p> {
    /// From the catalogue: the device's set, and for a replay the victim's set (whose valid pair is reused).
    Catalogue { set: usize, replay_set: usize },
    /// A pre-signed replay-resistant token.
    Pooled(&'p Credential),
    /// Nothing (the device's pool is used up, or nothing was captured yet to replay): the attempt is not sent
    /// and ends `exhausted`.
    Exhausted,
}

/// A pooled valid token that was sent: once its attempt is allowed, replays may capture it
/// ([`Planner::allowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    device: u32,
    k: u32,
}

/// One planned attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'p> {
    pub device: u32,
    pub transport: Transport,
    pub class: Class,
    /// The device's attempt number (from 0): part of the attempt id.
    pub n: u64,
    /// The device whose captured pair a `replayed` attempt reuses (the device itself otherwise).
    pub replay_from: u32,
    pub credentials: Credentials<'p>,
    /// Set when a pooled valid token was taken.
    pub ticket: Option<Ticket>,
}

impl Planner {
    /// `devices`: every device of the run (all transports). The plan refuses a mix left empty on a transport in
    /// use, so a transport whose mix would be empty keeps the whole mix.
    pub fn new(
        run_id: String,
        seed: u64,
        mix: &Mix,
        catalogue: Catalogue,
        pool: Option<Arc<TokenPool>>,
        devices: u32,
    ) -> Self {
        let mixes = Transport::ALL
            .into_iter()
            .map(|t| mix.for_transport(t).unwrap_or_else(|_| mix.clone()))
            .collect();
        Self {
            run_id,
            seed,
            mixes,
            catalogue,
            pool,
            devices,
        }
    }

    /// Device `id`'s cursor, its RNG derived from (run seed, id).
    pub fn cursor(&self, id: u32, transport: Transport) -> Cursor {
        Cursor {
            id,
            transport,
            rng: device_rng(self.seed, id),
            k: 0,
            next_valid: 0,
        }
    }

    /// Plans the device's next attempt.
    pub fn next<'p>(&'p self, c: &mut Cursor) -> Attempt<'p> {
        let (d, n) = (c.id, c.k);
        let class = self.mixes[c.transport.index()].choose_at(&mut c.rng, d, n);
        let replay_from = if class == Class::Replayed && self.devices > 1 {
            (d + c.rng.random_range(1..self.devices)) % self.devices
        } else {
            d
        };
        c.k += 1;
        let mut ticket = None;
        let credentials = match (&self.pool, class) {
            (Some(pool), Class::Valid | Class::Replayed | Class::ReusedNonce | Class::Expired) => {
                let cred = match class {
                    Class::Valid => {
                        let cred = pool.valid(d, c.next_valid);
                        if cred.is_some() {
                            ticket = Some(Ticket {
                                device: d,
                                k: c.next_valid,
                            });
                            c.next_valid += 1;
                        }
                        cred
                    }
                    Class::Replayed => pool.capture_from(replay_from),
                    Class::ReusedNonce => pool.captured(d),
                    _ => pool.expired(d),
                };
                cred.map_or(Credentials::Exhausted, Credentials::Pooled)
            }
            _ => Credentials::Catalogue {
                set: self.catalogue.set_of(d as usize),
                replay_set: self.catalogue.set_of(replay_from as usize),
            },
        };
        Attempt {
            device: d,
            transport: c.transport,
            class,
            n,
            replay_from,
            credentials,
            ticket,
        }
    }

    /// The attempt's id (`<run>-<class>-<device>-<n>`, see [`id`]) into `out`, reusing its allocation.
    pub fn id_into(&self, a: &Attempt<'_>, out: &mut String) {
        id::format_into(out, &self.run_id, a.class, a.device, a.n);
    }

    /// The attempt that took `ticket` was allowed: the function has seen the token (a refusal or a 403 may be a
    /// throttle that never ran it), so replays may capture it from now on.
    pub fn allowed(&self, ticket: Ticket) {
        if let Some(pool) = &self.pool {
            pool.answered(ticket.device, ticket.k);
        }
    }
}

#[cfg(test)]
mod tests;
