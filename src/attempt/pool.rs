//! Replay-resistant tokens (`devices.token = "replay_resistant"`), in the `v1` format of
//! `scenarios/lambdas/README.md`: `v1.<device>.<unix_s>.<nonce>`. Every valid attempt needs a fresh nonce, yet
//! the request path never runs an RSA private-key operation: a pool of tokens per device is signed at setup
//! (by the scenario's signer: a PEM key spread over threads, an external command or AWS KMS), and attempts
//! take the next one.
//!
//! - valid: the device's next unused pool token. When the pool is used up the attempt is not sent and ends as
//!   `exhausted` (counted; the pool is sized from the plan, see `scenario::tokens::pool_size`).
//! - `replayed` (another device's captured pair): the victim's last pool token whose attempt was allowed (so
//!   the function has seen its nonce); `exhausted` while no device has had one allowed.
//! - `replayed.reused_nonce`: the device resends its own last allowed token (`exhausted` before it has one).
//! - `replayed.expired`: a token signed at setup with an issue time older than the function's maximum age.
//!
//! The tokens are rendered through a [`TokenTemplate`]: the `v1` format is one fixed template
//! ([`replay_resistant_template`]); `devices.token = "template"` brings the user's own. Both share this pool.
//!
//! Which tokens were answered is the only state shared between lanes and MQTT devices (one pool across
//! transports, see [`super::planner`]): one atomic counter per device.

use std::sync::atomic::{AtomicU32, Ordering};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::Credential;
use super::template::{Placeholder, TokenTemplate, Values};
use crate::token::encode_signature;
use crate::token::signer::{SignError, TokenSigner, par_map, sign_by_key};

/// The token format version.
pub const VERSION: &str = "v1";

/// The `<device>` field of device d: `device` + its 6-digit id (`[A-Za-z0-9]`, as the format requires).
pub fn device_name(device: u32) -> String {
    format!("device{device:06}")
}

/// `v1.<device>.<unix_s>.<nonce>`.
pub fn token(device: &str, issued_unix_s: u64, nonce: &str) -> String {
    format!("{VERSION}.{device}.{issued_unix_s}.{nonce}")
}

/// The `v1` format as a template (renders exactly as [`token`] with a 16-hex-digit nonce).
pub fn replay_resistant_template() -> TokenTemplate {
    TokenTemplate::parse(&format!("{VERSION}.device{{device}}.{{unix_s}}.{{nonce}}"))
        .expect("the v1 template parses")
}

/// Device d's well-formed template token that no valid attempt sends (a nonce, uuid and seq no pool token
/// draws): what forged variants start from. A template without per-attempt placeholders renders the device's
/// one token, which its forgeries then mutate.
pub fn forgery_base(
    template: &TokenTemplate,
    device: u32,
    client_id: &str,
    issued_unix_ms: u64,
) -> String {
    template.render(&Values {
        device,
        client_id,
        issued_unix_ms,
        nonce: 0xf0f0_f0f0_f0f0_f0f0,
        uuid: 0,
        seq: u32::MAX,
    })
}

/// What to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    pub devices: u32,
    /// Valid tokens per device.
    pub per_device: u32,
    /// Issue time of the valid tokens (setup time), ms.
    pub issued_unix_ms: u64,
    /// Issue time of the expired tokens (older than the function's maximum age), ms.
    pub expired_unix_ms: u64,
    /// How tokens are written.
    pub template: TokenTemplate,
    /// `{client_id}` of device d: this prefix + its 6-digit id (`[mqtt] client_id_prefix`).
    pub client_id_prefix: String,
    /// Nonces come from (seed, device): the same seed gives the same nonces.
    pub seed: u64,
}

/// Every device's pre-signed tokens.
#[derive(Debug)]
pub struct TokenPool {
    per_device: usize,
    /// Device-major: device d's tokens are `valid[d * per_device ..][.. per_device]`.
    valid: Vec<Credential>,
    expired: Vec<Credential>,
    /// Device d's first `answered[d]` tokens were sent and answered.
    answered: Vec<AtomicU32>,
}

/// Device d's token number `seq` issued at `issued_unix_ms`. The nonce is drawn for every token (so the `v1`
/// tokens stay as they were), the uuid's bits only when the template shows one.
fn render(
    spec: &PoolSpec,
    d: u32,
    client_id: &str,
    rng: &mut ChaCha8Rng,
    issued_unix_ms: u64,
    seq: u32,
) -> String {
    let nonce: u64 = rng.random();
    let uuid: u128 = if spec.template.uses(Placeholder::Uuid) {
        rng.random()
    } else {
        0
    };
    spec.template.render(&Values {
        device: d,
        client_id,
        issued_unix_ms,
        nonce,
        uuid,
        seq,
    })
}

fn signed(token: String, sig: &[u8]) -> Credential {
    Credential {
        token,
        signature: Some(encode_signature(sig)),
        wire: super::Wire::Standard,
    }
}

impl TokenPool {
    /// Renders every token, `per_device + 1` per device (the last one expired), then has them signed in one
    /// batch per signer ([`TokenSigner::sign_all`]): device d's by `signers[d % signers.len()]`.
    pub fn build<S: TokenSigner + ?Sized>(
        spec: PoolSpec,
        signers: &[&S],
    ) -> Result<Self, SignError> {
        let devices: Vec<u32> = (0..spec.devices).collect();
        let per_device = spec.per_device as usize;
        let rendered = par_map(&devices, |&d| {
            let client_id = format!("{}{d:06}", spec.client_id_prefix);
            let mut rng = ChaCha8Rng::seed_from_u64(
                spec.seed ^ u64::from(d).wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x706f_6f6c,
            );
            let mut tokens: Vec<String> = (0..spec.per_device)
                .map(|k| render(&spec, d, &client_id, &mut rng, spec.issued_unix_ms, k))
                .collect();
            tokens.push(render(
                &spec,
                d,
                &client_id,
                &mut rng,
                spec.expired_unix_ms,
                spec.per_device,
            ));
            tokens
        });
        let tokens: Vec<String> = rendered.into_iter().flatten().collect();
        let key_of: Vec<usize> = (0..tokens.len())
            .map(|i| (i / (per_device + 1)) % signers.len().max(1))
            .collect();
        let sigs = sign_by_key(signers, &key_of, &tokens)?;
        let mut valid = Vec::with_capacity(per_device * devices.len());
        let mut expired = Vec::with_capacity(devices.len());
        for (i, (token, sig)) in tokens.into_iter().zip(&sigs).enumerate() {
            if i % (per_device + 1) == per_device {
                expired.push(signed(token, sig));
            } else {
                valid.push(signed(token, sig));
            }
        }
        Ok(Self {
            per_device,
            valid,
            expired,
            answered: devices.iter().map(|_| AtomicU32::new(0)).collect(),
        })
    }

    pub fn per_device(&self) -> usize {
        self.per_device
    }

    pub fn devices(&self) -> usize {
        self.expired.len()
    }

    /// Device d's k-th valid token; `None` when its pool is used up.
    pub fn valid(&self, device: u32, k: u32) -> Option<&Credential> {
        if k as usize >= self.per_device {
            return None;
        }
        self.valid
            .get(device as usize * self.per_device + k as usize)
    }

    /// Device d's expired token.
    pub fn expired(&self, device: u32) -> Option<&Credential> {
        self.expired.get(device as usize)
    }

    /// Device d's k-th token was answered: replays may capture it from now on.
    pub fn answered(&self, device: u32, k: u32) {
        if let Some(a) = self.answered.get(device as usize) {
            a.fetch_max(k + 1, Ordering::Release);
        }
    }

    /// The last answered token of device d, if any.
    pub fn captured(&self, device: u32) -> Option<&Credential> {
        let n = self.answered.get(device as usize)?.load(Ordering::Acquire);
        n.checked_sub(1).and_then(|k| self.valid(device, k))
    }

    /// A captured token for a replay aimed at `victim`: the victim's, else the next device's with one (at most
    /// 64 tried, so the request path stays cheap); `None` when none was answered yet.
    pub fn capture_from(&self, victim: u32) -> Option<&Credential> {
        let n = self.devices() as u32;
        (0..n.min(64)).find_map(|i| self.captured((victim + i) % n.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::test_keys;
    use crate::token::verify_token;

    fn pool() -> TokenPool {
        let spec = PoolSpec {
            devices: 3,
            per_device: 4,
            issued_unix_ms: 1_800_000_000_000,
            expired_unix_ms: (1_800_000_000 - 3600) * 1000,
            template: replay_resistant_template(),
            client_id_prefix: "tokenstorm-".into(),
            seed: 9,
        };
        TokenPool::build(spec, &[test_keys::signing()]).unwrap()
    }

    #[test]
    fn valid_tokens_verify_carry_the_format_and_fresh_nonces() {
        let p = pool();
        let public = test_keys::signing().public_key();
        let mut nonces = std::collections::BTreeSet::new();
        for d in 0..3 {
            for k in 0..4 {
                let c = p.valid(d, k).unwrap();
                assert!(
                    verify_token(
                        [&public],
                        c.token.as_bytes(),
                        c.signature.as_deref().unwrap()
                    )
                    .is_ok()
                );
                let f: Vec<&str> = c.token.split('.').collect();
                assert_eq!(f.len(), 4, "{}", c.token);
                assert_eq!(
                    (f[0], f[1], f[2]),
                    ("v1", device_name(d).as_str(), "1800000000")
                );
                assert!(f[3].len() >= 8 && f[3].bytes().all(|b| b.is_ascii_alphanumeric()));
                assert!(f[1].bytes().all(|b| b.is_ascii_alphanumeric()));
                assert!(nonces.insert(f[3].to_string()), "nonce reused: {}", c.token);
            }
            assert_eq!(p.valid(d, 4), None, "the pool has 4 tokens per device");
        }
        // Same seed, same nonces.
        assert_eq!(p.valid(1, 2), pool().valid(1, 2));
    }

    #[test]
    fn expired_tokens_carry_the_old_issue_time_and_verify() {
        let p = pool();
        let public = test_keys::signing().public_key();
        for d in 0..3 {
            let e = p.expired(d).unwrap();
            assert_eq!(e.token.split('.').nth(2), Some("1799996400"));
            assert!(
                verify_token(
                    [&public],
                    e.token.as_bytes(),
                    e.signature.as_deref().unwrap()
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn replays_are_byte_identical_to_answered_valid_tokens() {
        let p = pool();
        assert_eq!(p.captured(0), None);
        assert_eq!(p.capture_from(0), None, "nothing answered yet");
        p.answered(2, 0);
        // A replay aimed at device 0 finds device 2's answered token.
        assert_eq!(p.capture_from(0), p.valid(2, 0));
        p.answered(0, 1);
        p.answered(0, 0); // answers can arrive out of order: the newest stays
        let own = p.captured(0).unwrap();
        assert_eq!(own, p.valid(0, 1).unwrap());
        assert_eq!(p.capture_from(0), Some(own));
        assert_ne!(p.captured(0), p.valid(0, 2));
    }

    #[test]
    fn a_template_pool_renders_every_placeholder_and_signs() {
        let spec = PoolSpec {
            devices: 2,
            per_device: 3,
            issued_unix_ms: 1_800_000_000_123,
            expired_unix_ms: 1_799_990_000_000,
            template: TokenTemplate::parse("{client_id}|{device}|{unix_ms}|{seq}|{uuid}").unwrap(),
            client_id_prefix: "cid-".into(),
            seed: 9,
        };
        let p = TokenPool::build(spec, &[test_keys::signing()]).unwrap();
        let public = test_keys::signing().public_key();
        let c = p.valid(1, 2).unwrap();
        let f: Vec<&str> = c.token.split('|').collect();
        assert_eq!(&f[..4], ["cid-000001", "000001", "1800000000123", "2"]);
        assert_eq!(f[4].len(), 36);
        assert!(
            verify_token(
                [&public],
                c.token.as_bytes(),
                c.signature.as_deref().unwrap()
            )
            .is_ok()
        );
        assert_ne!(p.valid(1, 1).unwrap().token, c.token);
        let e = p.expired(1).unwrap();
        assert!(
            e.token.starts_with("cid-000001|000001|1799990000000|3|"),
            "{}",
            e.token
        );
    }

    #[test]
    fn a_fixed_template_gives_every_token_of_a_device_the_same_string() {
        let spec = PoolSpec {
            devices: 2,
            per_device: 3,
            issued_unix_ms: 1_800_000_000_000,
            expired_unix_ms: 1_799_000_000_000,
            template: TokenTemplate::parse("dev-{device}").unwrap(),
            client_id_prefix: String::new(),
            seed: 9,
        };
        let p = TokenPool::build(spec, &[test_keys::signing()]).unwrap();
        for k in 0..3 {
            assert_eq!(p.valid(1, k).unwrap().token, "dev-000001");
        }
        assert_eq!(p.expired(1).unwrap().token, "dev-000001");
    }
}
