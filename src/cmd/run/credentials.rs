//! The run's credentials, all signed before the load starts (never on the request path): the signers connect
//! (a KMS key's public key joins the plan's keys), the catalogue of valid, forged and replayed credentials per
//! device, and the pooled tokens of the `replay_resistant`, `template` and `jwt` schemes or the rows of `file`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::attempt::pool as token_pool;
use crate::attempt::{Catalogue, PoolSpec, SetSpec, TokenPool};
use crate::scenario::Plan;
use crate::scenario::file::TokenScheme;
use crate::token::TokenSigner;

/// Signs everything the run sends (a setup error names the signer and the token); `progress` says how long it took.
pub(super) fn prepare(
    plan: &mut Plan,
    progress: bool,
) -> anyhow::Result<(Catalogue, Option<Arc<TokenPool>>)> {
    let external = crate::signer::connect(plan)?;
    let signing = std::time::Instant::now();
    let signers = crate::signer::by_key(plan, external.as_deref());
    let catalogue = catalogue(plan, &signers)?;
    let pool = pool(plan, &signers)?;
    warn_short_rows(plan);
    if progress {
        eprintln!(
            "prepared {} credential sets for {} devices ({} signing keys{}){} in {:.1} s; no signing from here on",
            catalogue.sets().len(),
            plan.devices,
            plan.keys.len(),
            match plan.signer.kind() {
                "pem" => String::new(),
                kind => format!(", signed by the {kind} signer"),
            },
            pool.as_ref()
                .map(|p| format!(", {} pre-signed pool tokens per device", p.per_device()))
                .unwrap_or_default(),
            signing.elapsed().as_secs_f64()
        );
    }
    drop(signers);
    drop(external);
    Ok((catalogue, pool))
}

/// Every credential, signed once by the plan's signers: one set per distinct (token, key).
fn catalogue(plan: &Plan, signers: &[&dyn TokenSigner]) -> anyhow::Result<Catalogue> {
    let nkeys = signers.len().max(1);
    let (specs, device_set): (Vec<SetSpec>, Vec<u32>) = match plan.tokens {
        TokenScheme::Static => {
            let used = nkeys.min(plan.devices as usize);
            let specs = (0..used)
                .map(|k| SetSpec {
                    token: plan.static_token.clone(),
                    key_index: k,
                })
                .collect();
            (specs, (0..plan.devices).map(|d| d % used as u32).collect())
        }
        TokenScheme::PerDevice => {
            let specs = (0..plan.devices)
                .map(|d| SetSpec {
                    token: plan.token_of(d),
                    key_index: d as usize % nkeys,
                })
                .collect();
            (specs, (0..plan.devices).collect())
        }
        // Forgeries start from a well-formed v1 token of the device that no valid attempt sends; valid and
        // replayed credentials come from the pool ([`pool`]).
        TokenScheme::ReplayResistant => {
            let now = unix_now();
            let specs = (0..plan.devices)
                .map(|d| SetSpec {
                    token: token_pool::token(&plan.token_of(d), now, "forgerybase"),
                    key_index: d as usize % nkeys,
                })
                .collect();
            (specs, (0..plan.devices).collect())
        }
        // As above, from the device's template token or JWT with a nonce, uuid and seq no pool token has.
        TokenScheme::Template | TokenScheme::Jwt => {
            let format = plan.token_format();
            let now_ms = unix_now() * 1000;
            let specs = (0..plan.devices)
                .map(|d| SetSpec {
                    token: token_pool::forgery_base(&format, d, &plan.mqtt.client_id(d), now_ms),
                    key_index: d as usize % nkeys,
                })
                .collect();
            (specs, (0..plan.devices).collect())
        }
        TokenScheme::File => return file_catalogue(plan, signers),
    };
    Catalogue::build(&specs, device_set, signers, attacker(plan)?, plan.seed)
        .context("signing the credentials")
}

/// `file`: forgeries derive from each device's base row (one no valid attempt sends, see
/// [`crate::scenario::token_sources::TokenRows::bases`]), its signature the user's (bit flips, truncation...);
/// those that need a private key are made with the scenario's keys, as for every scheme.
fn file_catalogue(plan: &Plan, signers: &[&dyn TokenSigner]) -> anyhow::Result<Catalogue> {
    let nkeys = plan.keys.len().max(1);
    let bases = plan.token_rows.as_ref().map_or(&[][..], |r| &r.bases[..]);
    let (specs, valid): (Vec<SetSpec>, Vec<Vec<u8>>) = bases
        .iter()
        .enumerate()
        .filter_map(|(d, base)| {
            let sig = crate::token::decode_signature(base.signature.as_deref()?).ok()?;
            let spec = SetSpec {
                token: base.token.clone(),
                key_index: d % nkeys,
            };
            Some((spec, sig))
        })
        .unzip();
    let device_set = (0..specs.len() as u32).collect();
    Catalogue::build_presigned(
        &specs,
        valid,
        device_set,
        signers,
        attacker(plan)?,
        plan.seed,
    )
    .context("signing the forgeries of the token file's rows")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Pooled tokens, all signed here (none on the request path): the user's rows (`file`), or `plan.token_pool`
/// rendered tokens per device issued now and one expired token per device issued `token_max_age_s + 60` s ago
/// (so a JWT's `exp` is a minute past).
fn pool(plan: &Plan, signers: &[&dyn TokenSigner]) -> anyhow::Result<Option<Arc<TokenPool>>> {
    if !plan.tokens.pooled() {
        return Ok(None);
    }
    if let Some(rows) = &plan.token_rows {
        return Ok(Some(Arc::new(TokenPool::from_rows(rows.rows.clone()))));
    }
    let now_ms = unix_now() * 1000;
    let pool = TokenPool::build(
        PoolSpec {
            devices: plan.devices,
            per_device: plan.token_pool,
            issued_unix_ms: now_ms,
            expired_unix_ms: now_ms.saturating_sub((plan.token_max_age_s + 60) * 1000),
            format: plan.token_format(),
            client_id_prefix: plan.mqtt.client_id_prefix.clone(),
            seed: plan.seed,
        },
        signers,
    )
    .context("signing the token pool")?;
    Ok(Some(Arc::new(pool)))
}

/// `file`: says when some device has fewer rows than the valid attempts the plan expects of it (the size a
/// rendered pool would have): its later valid attempts will end `exhausted`.
fn warn_short_rows(plan: &Plan) {
    let Some(rows) = &plan.token_rows else {
        return;
    };
    let (fewest, wanted) = (rows.fewest(), plan.token_pool as usize);
    if fewest < wanted {
        eprintln!(
            "warning: devices.token_file has {fewest} rows for some device, and the plan expects up to {wanted} valid attempts per device: once a device's rows are used up, its valid attempts are not sent and end `exhausted`"
        );
    }
}

/// The attacker's key (every plan a run resolves has one; only a merge's offline plan has none).
fn attacker(plan: &Plan) -> anyhow::Result<&crate::token::PrivateKey> {
    plan.attacker
        .as_ref()
        .context("the plan has no attacker's key (resolved offline): it cannot sign")
}
