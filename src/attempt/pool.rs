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
//! The tokens are rendered through a [`TokenFormat`]: a [`TokenTemplate`] (the `v1` format is one fixed
//! template, [`replay_resistant_template`]; `devices.token = "template"` brings the user's own) or a JWT
//! issuer (`devices.token = "jwt"`, [`super::jwt`]). `devices.token = "file"` fills the pool with the user's
//! own pre-signed rows instead ([`TokenPool::from_rows`], [`super::token_file`]): devices may then hold
//! different numbers of tokens, and a device without an expired row has no `replayed.expired` token.
//! All schemes share this pool; [`signed`] is the one place a rendered token gets its custom-auth signature.
//!
//! Which tokens were answered is the only state shared between lanes and MQTT devices (one pool across
//! transports, see [`super::planner`]): one atomic counter per device.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::Credential;
use super::jwt::JwtIssuer;
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

/// How pooled tokens are written.
#[derive(Debug, Clone)]
pub enum TokenFormat {
    Template(TokenTemplate),
    /// Shared: the issuer holds the JWT signing key.
    Jwt(Arc<JwtIssuer>),
}

impl TokenFormat {
    fn render(&self, v: &Values<'_>) -> String {
        match self {
            Self::Template(t) => t.render(v),
            Self::Jwt(j) => j.render(v),
        }
    }

    /// Whether tokens show a uuid (a JWT's `jti` is one).
    fn uses_uuid(&self) -> bool {
        match self {
            Self::Template(t) => t.uses(Placeholder::Uuid),
            Self::Jwt(_) => true,
        }
    }
}

/// Device d's well-formed token that no valid attempt sends (a nonce, uuid and seq no pool token draws): what
/// forged variants start from. A template without per-attempt placeholders renders the device's one token,
/// which its forgeries then mutate.
pub fn forgery_base(
    format: &TokenFormat,
    device: u32,
    client_id: &str,
    issued_unix_ms: u64,
) -> String {
    format.render(&Values {
        device,
        client_id,
        issued_unix_ms,
        nonce: 0xf0f0_f0f0_f0f0_f0f0,
        // Per device, so two devices' bases differ in a JWT's jti too.
        uuid: u128::from(device),
        seq: u32::MAX,
    })
}

/// What to sign.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub devices: u32,
    /// Valid tokens per device.
    pub per_device: u32,
    /// Issue time of the valid tokens (setup time), ms.
    pub issued_unix_ms: u64,
    /// Issue time of the expired tokens (older than the function's maximum age), ms.
    pub expired_unix_ms: u64,
    /// How tokens are written.
    pub format: TokenFormat,
    /// `{client_id}` of device d: this prefix + its 6-digit id (`[mqtt] client_id_prefix`).
    pub client_id_prefix: String,
    /// Nonces come from (seed, device): the same seed gives the same nonces.
    pub seed: u64,
}

/// Every device's pre-signed tokens.
#[derive(Debug)]
pub struct TokenPool {
    /// Device-major: device d's tokens are `valid[starts[d]..starts[d + 1]]`.
    starts: Vec<usize>,
    valid: Vec<Credential>,
    expired: Vec<Option<Credential>>,
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
    let uuid: u128 = if spec.format.uses_uuid() {
        rng.random()
    } else {
        0
    };
    spec.format.render(&Values {
        device: d,
        client_id,
        issued_unix_ms,
        nonce,
        uuid,
        seq,
    })
}

/// `token` with its custom-auth signature (signed in batches by [`TokenPool::build`]).
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
        Self::build_for(spec, signers, |_| true)
    }

    /// As [`TokenPool::build`], signing only the devices `runs` names (a shard's own, `run --shard`): each
    /// of their tokens is the whole pool's (rendered from the device's own seeded RNG, signed by its key); the
    /// other devices get none (none of this process's attempts asks for theirs).
    pub fn build_for<S: TokenSigner + ?Sized>(
        spec: PoolSpec,
        signers: &[&S],
        runs: impl Fn(u32) -> bool,
    ) -> Result<Self, SignError> {
        let devices: Vec<u32> = (0..spec.devices).filter(|&d| runs(d)).collect();
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
            .map(|i| devices[i / (per_device + 1)] as usize % signers.len().max(1))
            .collect();
        let sigs = sign_by_key(signers, &key_of, &tokens)?;
        let mut rows = Vec::with_capacity(spec.devices as usize);
        let mut sigs = tokens.into_iter().zip(&sigs);
        for d in 0..spec.devices {
            if !runs(d) {
                rows.push((Vec::new(), None));
                continue;
            }
            let valid: Vec<Credential> = sigs
                .by_ref()
                .take(per_device)
                .map(|(t, sig)| signed(t, sig))
                .collect();
            let expired = sigs.next().map(|(t, sig)| signed(t, sig));
            rows.push((valid, expired));
        }
        Ok(Self::from_rows(rows))
    }

    /// A pool of ready credentials: per device, its valid tokens in the order attempts take them and its
    /// expired token, if any.
    pub fn from_rows(per_device: Vec<(Vec<Credential>, Option<Credential>)>) -> Self {
        let mut starts = Vec::with_capacity(per_device.len() + 1);
        let mut valid = Vec::new();
        let mut expired = Vec::with_capacity(per_device.len());
        starts.push(0);
        for (v, e) in per_device {
            valid.extend(v);
            starts.push(valid.len());
            expired.push(e);
        }
        Self {
            answered: expired.iter().map(|_| AtomicU32::new(0)).collect(),
            starts,
            valid,
            expired,
        }
    }

    /// Valid tokens of the device that has the most.
    pub fn per_device(&self) -> usize {
        self.starts
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    pub fn devices(&self) -> usize {
        self.expired.len()
    }

    /// Device d's k-th valid token; `None` when its pool is used up.
    pub fn valid(&self, device: u32, k: u32) -> Option<&Credential> {
        let d = device as usize;
        let (start, end) = (*self.starts.get(d)?, *self.starts.get(d + 1)?);
        self.valid[start..end].get(k as usize)
    }

    /// Device d's expired token (`None`: it has none, e.g. a token file without an expired row for it).
    pub fn expired(&self, device: u32) -> Option<&Credential> {
        self.expired.get(device as usize)?.as_ref()
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
mod tests;
