//! The credential catalogue: every (token, signature) an attempt can send, computed once at setup.
//!
//! Devices that share a token and a signing key share one [`CredentialSet`]. Signing happens here only, in
//! batches per [`TokenSigner`] (one valid signature per set, and the few signatures of other bytes some
//! forgeries send), so the request path never runs an RSA private-key operation.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::forge::{
    ForgeInputs, Signed, Wire, forge, forged_token, needs_raw_rsa, needs_signed, pick_raw_plus,
    plus_candidates, wire_of,
};
use crate::contract::{Class, Forgery};
use crate::token::signer::{SignError, TokenSigner, par_map, sign_by_key};
use crate::token::{PrivateKey, PublicKey, encode_signature};

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
    /// The set's credential for `class`; an empty one (no token, no signature) for a class this process does
    /// not hold ([`Hold`]): none of its attempts sends it.
    pub fn get(&self, class: Class) -> &Credential {
        static NOT_HELD: Credential = Credential {
            token: String::new(),
            signature: None,
            wire: Wire::Standard,
        };
        self.creds.get(class.index()).unwrap_or(&NOT_HELD)
    }

    /// The classes this process holds of the set, in [`Class::index`] order (all of them, the valid one, or
    /// none).
    pub fn classes(&self) -> impl Iterator<Item = Class> + use<> {
        Class::ALL.into_iter().take(self.creds.len())
    }

    /// What this process holds of the set ([`Catalogue::build_held`]).
    pub fn held(&self) -> Hold {
        match self.creds.len() {
            0 => Hold::None,
            1 => Hold::Valid,
            _ => Hold::All,
        }
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

/// What every set is built from: the specs, their valid signatures, the keys, and the borrowing maps.
#[derive(Clone, Copy)]
struct SetInputs<'a> {
    specs: &'a [SetSpec],
    /// `specs[i]`'s valid signature.
    valid: &'a [Vec<u8>],
    /// Per key index: the registered public key, and the key raw-RSA forgeries are crafted on.
    publics: &'a [PublicKey],
    crafting_keys: &'a [&'a PrivateKey],
    attacker: &'a PrivateKey,
    seed: u64,
    /// For each set, the set whose raw-RSA forgeries it borrows (itself: it crafts them).
    crafting: &'a [usize],
    /// For each set, the set whose signer-made forgeries ([`needs_signed`]) it borrows (itself: its own).
    signing: &'a [usize],
    /// Per set: the signer's signatures for its forgeries (empty where borrowed).
    signed: &'a [SignedSet],
}

/// One set's signer-made signatures: the [`Signed`] messages and, when its own signature has no `+`, the
/// signed [`plus_candidates`].
#[derive(Debug, Clone, Default)]
struct SignedSet {
    signed: Signed,
    plus: Vec<(String, Vec<u8>)>,
}

impl SetInputs<'_> {
    /// Whether set `i` sends another set's pair for `f` (left empty here, copied in [`Catalogue::build`]).
    fn borrows(&self, i: usize, f: Forgery) -> bool {
        (needs_raw_rsa(f) && self.crafting[i] != i) || (needs_signed(f) && self.signing[i] != i)
    }

    /// Set `i`'s valid pair alone (a replay victim held by a shard that runs none of its devices).
    fn valid_only(&self, i: usize) -> CredentialSet {
        let spec = &self.specs[i];
        CredentialSet {
            key_index: spec.key_index,
            creds: vec![Credential {
                token: spec.token.clone(),
                signature: Some(encode_signature(&self.valid[i])),
                wire: Wire::Standard,
            }],
        }
    }

    /// Set `i`'s credentials, one per class (borrowed forgeries left empty).
    fn set(&self, i: usize) -> CredentialSet {
        let spec = &self.specs[i];
        let valid = &self.valid[i];
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let inputs = ForgeInputs {
            token: spec.token.as_bytes(),
            valid_sig: valid,
            attacker: self.attacker,
            public: &self.publics[spec.key_index],
            crafting_key: self.crafting_keys[spec.key_index],
            signed: &self.signed[i].signed,
            flip_bit: rng.random_range(0..valid.len().max(1) * 8),
        };
        let valid_cred = Credential {
            token: spec.token.clone(),
            signature: Some(encode_signature(valid)),
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
                Class::Forged(f) if self.borrows(i, f) => Credential {
                    token: String::new(),
                    signature: None,
                    wire: Wire::Standard,
                },
                Class::Forged(f @ Forgery::RawPlus) => {
                    let (token, signature) =
                        pick_raw_plus(&spec.token, valid, &self.signed[i].plus);
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
    /// Builds the catalogue. `device_set[d]` names device d's entry in `specs`; `signers[k]` signs for key
    /// index k. `seed` picks the flipped bits. Every signature is made here, in batches per signer.
    pub fn build<S: TokenSigner + ?Sized>(
        specs: &[SetSpec],
        device_set: Vec<u32>,
        signers: &[&S],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Result<Self, SignError> {
        Self::build_held(specs, device_set, None, signers, attacker, seed)
    }

    /// As [`Catalogue::build`], keeping only what `held` names (one [`Hold`] per set; `None`: every set
    /// whole), with what those sets borrow ([`held`]): a shard signs its own devices' credentials only, each
    /// held set equal to the whole catalogue's.
    pub fn build_held<S: TokenSigner + ?Sized>(
        specs: &[SetSpec],
        device_set: Vec<u32>,
        held: Option<&[Hold]>,
        signers: &[&S],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Result<Self, SignError> {
        let (crafting, signing) = sources(specs, signers);
        let held = held::closure(held, &crafting, &signing);
        // Valid signatures first: other-token forgeries reuse another set's valid signature when tokens differ.
        let kept: Vec<usize> = (0..specs.len())
            .filter(|&i| held[i] != Hold::None)
            .collect();
        let key_of: Vec<usize> = kept.iter().map(|&i| specs[i].key_index).collect();
        let tokens: Vec<String> = kept.iter().map(|&i| specs[i].token.clone()).collect();
        let mut valid = vec![Vec::new(); specs.len()];
        for (i, sig) in kept
            .into_iter()
            .zip(sign_by_key(signers, &key_of, &tokens)?)
        {
            valid[i] = sig;
        }
        let sources = Sources {
            crafting,
            signing,
            held,
        };
        Self::assemble(specs, valid, device_set, sources, signers, attacker, seed)
    }

    /// As [`Catalogue::build`], with each set's valid signature given (`valid[i]` signs `specs[i].token`, e.g.
    /// a row of the user's token file): forgeries derive from it; those that need a signature of other bytes
    /// are made by `signers[spec.key_index]`, and raw-RSA encodings by its private key (or the attacker's).
    pub fn build_presigned<S: TokenSigner + ?Sized>(
        specs: &[SetSpec],
        valid: Vec<Vec<u8>>,
        device_set: Vec<u32>,
        signers: &[&S],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Result<Self, SignError> {
        let (crafting, signing) = sources(specs, signers);
        let held = vec![Hold::All; specs.len()];
        let sources = Sources {
            crafting,
            signing,
            held,
        };
        Self::assemble(specs, valid, device_set, sources, signers, attacker, seed)
    }

    /// Every held set from its valid signature (empty for a set not held), the borrowed forgeries copied in.
    fn assemble<S: TokenSigner + ?Sized>(
        specs: &[SetSpec],
        valid: Vec<Vec<u8>>,
        device_set: Vec<u32>,
        Sources {
            crafting,
            signing,
            held,
        }: Sources,
        signers: &[&S],
        attacker: &PrivateKey,
        seed: u64,
    ) -> Result<Self, SignError> {
        let signed = sign_forgeries(specs, &valid, &signing, &held, signers)?;
        let publics: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        let crafting_keys: Vec<&PrivateKey> = signers
            .iter()
            .map(|s| s.private_key().unwrap_or(attacker))
            .collect();
        let inputs = SetInputs {
            specs,
            valid: &valid,
            publics: &publics,
            crafting_keys: &crafting_keys,
            attacker,
            seed,
            crafting: &crafting,
            signing: &signing,
            signed: &signed,
        };
        let indices: Vec<usize> = (0..specs.len()).collect();
        let mut sets = par_map(&indices, |&i| match held[i] {
            Hold::All => inputs.set(i),
            Hold::Valid => inputs.valid_only(i),
            Hold::None => CredentialSet {
                key_index: specs[i].key_index,
                creds: Vec::new(),
            },
        });
        for i in (0..sets.len()).filter(|&i| held[i] == Hold::All) {
            for f in Forgery::ALL {
                let from = if needs_raw_rsa(f) {
                    crafting[i]
                } else if needs_signed(f) {
                    signing[i]
                } else {
                    i
                };
                if from != i {
                    let c = Class::Forged(f).index();
                    sets[i].creds[c] = sets[from].creds[c].clone();
                }
            }
        }
        Ok(Self { sets, device_set })
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

/// Per set: the set whose raw-RSA forgeries it sends, the set whose signer-made forgeries it sends, and what
/// this process keeps of it.
struct Sources {
    crafting: Vec<usize>,
    signing: Vec<usize>,
    held: Vec<Hold>,
}

/// Each set's crafting set, and its signing set: a local key signs every set's own forgeries; an external
/// signer only the crafting sets' (a bounded number of calls), which further sets borrow whole.
fn sources<S: TokenSigner + ?Sized>(specs: &[SetSpec], signers: &[&S]) -> (Vec<usize>, Vec<usize>) {
    let crafting = crafting_sets(specs);
    let signing = (0..specs.len())
        .map(|i| match signers[specs[i].key_index].private_key() {
            Some(_) => i,
            None => crafting[i],
        })
        .collect();
    (crafting, signing)
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

/// The signer-made forgery signatures of every set that makes its own (`signing[i] == i`), one batch per
/// signer: the [`Signed`] messages, `<token>.other` where the next set offers no other valid signature, and the
/// [`plus_candidates`] where the set's own signature has no `+`.
fn sign_forgeries<S: TokenSigner + ?Sized>(
    specs: &[SetSpec],
    valid: &[Vec<u8>],
    signing: &[usize],
    held: &[Hold],
    signers: &[&S],
) -> Result<Vec<SignedSet>, SignError> {
    let mut key_of = Vec::new();
    let mut messages = Vec::new();
    // Per set: (first message, other-token message present, plus candidates).
    let mut layout = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        if signing[i] != i || held[i] != Hold::All {
            layout.push(None);
            continue;
        }
        let next = (i + 1) % specs.len();
        let own_other =
            !(specs[next].token != spec.token && specs[next].key_index == spec.key_index);
        let plus = if encode_signature(&valid[i]).contains('+') {
            Vec::new()
        } else {
            plus_candidates(&spec.token)
        };
        let start = messages.len();
        messages.extend(Signed::messages(&spec.token));
        if own_other {
            messages.push(Signed::other_message(&spec.token));
        }
        messages.extend(plus.iter().cloned());
        key_of.resize(messages.len(), spec.key_index);
        layout.push(Some((start, own_other, plus)));
    }
    let sigs = sign_by_key(signers, &key_of, &messages)?;
    Ok(layout
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let Some((start, own_other, plus)) = l else {
                return SignedSet::default();
            };
            let fixed = start + Signed::MESSAGES;
            let (other, plus_at) = if own_other {
                (sigs[fixed].clone(), fixed + 1)
            } else {
                (valid[(i + 1) % specs.len()].clone(), fixed)
            };
            let plus = plus
                .into_iter()
                .zip(sigs[plus_at..].iter().cloned())
                .collect();
            SignedSet {
                signed: Signed::from_signatures(sigs[start..fixed].iter().cloned(), other),
                plus,
            }
        })
        .collect())
}

mod held;
pub use held::Hold;

#[cfg(test)]
mod tests;
