//! The credential catalogue: every (token, signature) an attempt can send, computed once at setup.
//!
//! Devices that share a token and a signing key share one [`CredentialSet`]. Signing happens here only (one
//! valid, one attacker, one hex-digest and at most one other-token signature per set), spread over threads, so
//! the request path never runs an RSA private-key operation.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::forge::{ForgeInputs, Wire, forge, forged_token, needs_raw_rsa, raw_plus_pair, wire_of};
use crate::contract::{Class, Forgery};
use crate::token::{PrivateKey, encode_signature, sign_token};

/// One credential as sent: the token and the base64 signature (`None`: no signature sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub token: String,
    pub signature: Option<String>,
    /// How the credential is put on the wire (placement forgeries).
    pub wire: Wire,
}

/// The credentials of one (token, signing key): indexed by [`Class::index`]; the `Replayed` slot holds the
/// set's own valid pair (a replay sends *another* device's valid pair, see [`Catalogue::credential`]).
#[derive(Debug, Clone)]
pub struct CredentialSet {
    pub key_index: usize,
    creds: Vec<Credential>,
}

impl CredentialSet {
    pub fn get(&self, class: Class) -> &Credential {
        &self.creds[class.index()]
    }
}

/// What a device presents: its set (shared with devices of the same token and key).
#[derive(Debug, Clone)]
pub struct Catalogue {
    sets: Vec<CredentialSet>,
    device_set: Vec<u32>,
}

/// A distinct (token, signing key) pair to precompute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetSpec {
    pub token: String,
    pub key_index: usize,
}

/// What every set is built from: the specs, their valid signatures, the keys, and the crafting map.
#[derive(Clone, Copy)]
struct SetInputs<'a> {
    specs: &'a [SetSpec],
    /// `specs[i]`'s valid signature.
    valid: &'a [Vec<u8>],
    keys: &'a [&'a PrivateKey],
    attacker: &'a PrivateKey,
    seed: u64,
    /// For each set, the set whose raw-RSA forgeries it borrows (itself: it crafts them).
    crafting: &'a [usize],
}

impl SetInputs<'_> {
    /// Set `i`'s credentials, one per class (raw-RSA forgeries left empty where borrowed).
    fn set(&self, i: usize) -> CredentialSet {
        let Self {
            specs,
            valid,
            keys,
            attacker,
            seed,
            crafting,
        } = *self;
        let spec = &specs[i];
        let key = keys[spec.key_index];
        let next = (i + 1) % specs.len();
        let other_sig =
            if specs[next].token != spec.token && specs[next].key_index == spec.key_index {
                valid[next].clone()
            } else {
                sign_token(key, format!("{}.other", spec.token).as_bytes())
            };
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let inputs = ForgeInputs {
            token: spec.token.as_bytes(),
            valid_sig: &valid[i],
            attacker,
            signing_key: key,
            other_token_sig: &other_sig,
            flip_bit: rng.random_range(0..valid[i].len() * 8),
        };
        let valid_cred = Credential {
            token: spec.token.clone(),
            signature: Some(encode_signature(&valid[i])),
            wire: Wire::Standard,
        };
        let creds = Class::ALL
            .into_iter()
            .map(|c| match c {
                // Replay variants of static and per-device tokens resend the valid pair; replay-resistant
                // tokens take theirs from the device's pool (`super::pool`).
                Class::Valid | Class::Replayed | Class::ReusedNonce | Class::Expired => {
                    valid_cred.clone()
                }
                // Borrowed below from a crafting set of the same key.
                Class::Forged(f) if needs_raw_rsa(f) && crafting[i] != i => Credential {
                    token: String::new(),
                    signature: None,
                    wire: Wire::Standard,
                },
                Class::Forged(f @ Forgery::RawPlus) => {
                    let (token, signature) = raw_plus_pair(&spec.token, key, &valid[i]);
                    Credential {
                        token,
                        signature: Some(signature),
                        wire: wire_of(f),
                    }
                }
                Class::Forged(f) => Credential {
                    token: forged_token(f, &spec.token),
                    signature: forge(f, &inputs),
                    wire: wire_of(f),
                },
            })
            .collect();
        CredentialSet {
            key_index: spec.key_index,
            creds,
        }
    }
}

impl Catalogue {
    /// Builds the catalogue. `device_set[d]` names device d's entry in `specs`. `seed` picks the flipped bits.
    pub fn build(
        specs: &[SetSpec],
        device_set: Vec<u32>,
        keys: &[&PrivateKey],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Self {
        // Valid signatures first: other-token forgeries reuse another set's valid signature when tokens differ.
        let valid: Vec<Vec<u8>> =
            par_map(specs, |s| sign_token(keys[s.key_index], s.token.as_bytes()));
        Self::build_presigned(specs, valid, device_set, keys, attacker, seed)
    }

    /// As [`Catalogue::build`], with each set's valid signature given (`valid[i]` signs `specs[i].token`, e.g.
    /// a row of the user's token file): forgeries derive from it; those that need a private key (another
    /// token's signature, raw-RSA encodings) are made with `keys[spec.key_index]`.
    pub fn build_presigned(
        specs: &[SetSpec],
        valid: Vec<Vec<u8>>,
        device_set: Vec<u32>,
        keys: &[&PrivateKey],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Self {
        let indices: Vec<usize> = (0..specs.len()).collect();
        let crafting = crafting_sets(specs);
        let inputs = SetInputs {
            specs,
            valid: &valid,
            keys,
            attacker,
            seed,
            crafting: &crafting,
        };
        let mut sets = par_map(&indices, |&i| inputs.set(i));
        for (i, &from) in crafting.iter().enumerate() {
            if from != i {
                for f in Forgery::ALL.into_iter().filter(|&f| needs_raw_rsa(f)) {
                    let c = Class::Forged(f).index();
                    sets[i].creds[c] = sets[from].creds[c].clone();
                }
            }
        }
        Self { sets, device_set }
    }

    pub fn devices(&self) -> usize {
        self.device_set.len()
    }

    pub fn sets(&self) -> &[CredentialSet] {
        &self.sets
    }

    /// Device d's set index.
    pub fn set_of(&self, device: usize) -> usize {
        self.device_set[device] as usize
    }

    /// What `device` sends for `class`; for `Replayed`, `replay_from` is the device whose valid pair is reused.
    pub fn credential(&self, device: usize, class: Class, replay_from: usize) -> &Credential {
        match class {
            Class::Replayed => self.sets[self.set_of(replay_from)].get(Class::Valid),
            c => self.sets[self.set_of(device)].get(c),
        }
    }

    /// The forgery of one set (for tests and reports).
    pub fn forged(&self, set: usize, f: Forgery) -> &Credential {
        self.sets[set].get(Class::Forged(f))
    }
}

/// Distinct tokens per signing key whose raw-RSA forgeries are crafted (the `rsa` crate's private-key operation
/// is slow in debug builds); further sets send one of these (token and signature together, so the forgery is
/// exactly the named variant, only over another device's token).
pub const CRAFTED_SETS_PER_KEY: usize = 4;

/// For each set, the set whose raw-RSA forgeries it sends (itself for the first [`CRAFTED_SETS_PER_KEY`] sets of
/// each key).
fn crafting_sets(specs: &[SetSpec]) -> Vec<usize> {
    let mut by_key: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let list = by_key.entry(s.key_index).or_default();
            if list.len() < CRAFTED_SETS_PER_KEY {
                list.push(i);
                i
            } else {
                list[i % list.len()]
            }
        })
        .collect()
}

/// Maps over `items` on up to `available_parallelism` threads, keeping order.
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::test_keys;
    use crate::token::verify_token;

    fn keys() -> Vec<&'static PrivateKey> {
        vec![test_keys::signing()]
    }

    #[test]
    fn valid_passes_forged_fail_replays_use_another_device() {
        let keys = keys();
        let public = keys[0].public_key();
        let specs: Vec<SetSpec> = (0..3)
            .map(|d| SetSpec {
                token: format!("device-{d}"),
                key_index: 0,
            })
            .collect();
        let cat = Catalogue::build(&specs, vec![0, 1, 2], &keys, test_keys::attacker(), 1);
        for d in 0..3 {
            let v = cat.credential(d, Class::Valid, d);
            assert_eq!(v.token, format!("device-{d}"));
            assert!(
                verify_token(
                    [&public],
                    v.token.as_bytes(),
                    v.signature.as_deref().unwrap()
                )
                .is_ok()
            );
            for f in Forgery::ALL {
                let c = cat.credential(d, Class::Forged(f), d);
                let sig = c.signature.clone().unwrap_or_default();
                if f == Forgery::TokenOverLong || c.wire != Wire::Standard {
                    // Refused for the token's length or where it is put; its signature is valid.
                    assert!(c.token.len() > 6144 || c.wire == wire_of(f));
                } else {
                    assert!(
                        verify_token([&public], c.token.as_bytes(), &sig).is_err(),
                        "{f:?}"
                    );
                }
            }
            let r = cat.credential(d, Class::Replayed, (d + 1) % 3);
            assert_eq!(r, cat.credential((d + 1) % 3, Class::Valid, 0));
            assert_ne!(r.token, v.token);
        }
    }

    #[test]
    fn a_static_token_shares_one_set() {
        let keys = keys();
        let specs = vec![SetSpec {
            token: "MyStringThatNeedsToBeSigned".into(),
            key_index: 0,
        }];
        let cat = Catalogue::build(&specs, vec![0; 5], &keys, test_keys::attacker(), 9);
        assert_eq!(cat.sets().len(), 1);
        assert_eq!(cat.devices(), 5);
        let other = cat
            .forged(0, Forgery::OtherToken)
            .signature
            .clone()
            .unwrap();
        let public = keys[0].public_key();
        assert!(verify_token([&public], b"MyStringThatNeedsToBeSigned.other", &other).is_ok());
    }

    #[test]
    fn sets_past_the_crafted_ones_send_a_crafted_pair_whole() {
        let keys = keys();
        let public = keys[0].public_key();
        let specs: Vec<SetSpec> = (0..6)
            .map(|d| SetSpec {
                token: format!("device-{d}"),
                key_index: 0,
            })
            .collect();
        let cat = Catalogue::build(&specs, (0..6).collect(), &keys, test_keys::attacker(), 2);
        let f = Forgery::BytesAfterDigest;
        assert_eq!(cat.forged(5, f), cat.forged(1, f));
        assert_eq!(cat.forged(5, f).token, "device-1");
        assert_eq!(cat.forged(3, f).token, "device-3");
        // Forgeries that need no raw RSA stay the set's own.
        assert_eq!(cat.forged(5, Forgery::BitFlip).token, "device-5");
        let c = cat.forged(5, f);
        assert!(
            verify_token(
                [&public],
                c.token.as_bytes(),
                c.signature.as_deref().unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn presigned_sets_derive_their_forgeries_from_the_given_signature() {
        let keys = keys();
        let specs = vec![SetSpec {
            token: "row-token".into(),
            key_index: 0,
        }];
        // A signature made elsewhere (here: openssl's equal, by the same key): the valid pair is kept as given.
        let given = sign_token(keys[0], b"row-token");
        let cat = Catalogue::build_presigned(
            &specs,
            vec![given.clone()],
            vec![0],
            &keys,
            test_keys::attacker(),
            1,
        );
        assert_eq!(
            cat.credential(0, Class::Valid, 0).signature.as_deref(),
            Some(encode_signature(&given).as_str())
        );
        let flipped = cat.forged(0, Forgery::BitFlip).signature.clone().unwrap();
        let flipped = crate::token::decode_signature(&flipped).unwrap();
        let bits: u32 = flipped
            .iter()
            .zip(&given)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(bits, 1, "one bit of the given signature flipped");
    }
}
