//! The credential catalogue (DESIGN.md `attempt/`): how each class's credentials are made (valid, forged
//! variants, replays), the mix that picks a class, the oracle and the token pool. The classes themselves and the
//! attempt id are shared vocabulary, in [`crate::contract`].
//!
//! Every credential is precomputed at setup ([`Catalogue`]); an attempt is a class chosen by the device's seeded
//! RNG ([`Mix`]) plus an index into the catalogue, and its id ([`crate::contract::attempt_id`]) names its class
//! so outcomes and ledger entries are attributable without per-attempt storage. The [`Planner`] makes those
//! choices for every transport; the load generator only carries them out.

mod attacker_keys;
pub mod catalogue;
pub mod forge;
pub mod jwt;
pub mod mix;
pub mod oracle;
pub mod planner;
pub mod pool;
pub mod template;
#[cfg(test)]
pub(crate) mod test_keys;
pub mod token_file;

pub use catalogue::{Catalogue, Credential, CredentialSet, SetSpec};
pub use forge::Wire;
pub use mix::{Mix, MixError};
pub use planner::{Planner, Ticket};
pub use pool::{PoolSpec, TokenPool};

/// The RNG seed of one device: derived from (run seed, device id) so each device's choices are reproducible
/// and independent of the others'.
pub fn device_rng(seed: u64, device: u32) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng as _;
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..12].copy_from_slice(&device.to_le_bytes());
    bytes[12..16].copy_from_slice(b"dev\0");
    rand_chacha::ChaCha8Rng::from_seed(bytes)
}
