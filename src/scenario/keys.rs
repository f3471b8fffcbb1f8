//! Resolving `[keys]`: PEM files (relative to the scenario) or freshly generated keys, plus the attacker's key;
//! with an external signer (`keys.signer`), the public keys it signs for instead (a KMS key's arrives when the
//! signer connects, `crate::signer::connect`).

use std::path::{Path, PathBuf};

use super::error::ScenarioError;
use super::file::Scenario;
use super::signer::SignerPlan;
use super::target::relative_to;
use crate::token::{PrivateKey, PublicKey};

/// Where a signing key came from (for the report; never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Generated,
    File(PathBuf),
    /// Held by an external command (its program).
    Command(String),
    /// Held by AWS KMS (the key id as the scenario names it).
    Kms(String),
}

/// A key the authorizer registers, and what signs for it.
#[derive(Debug)]
pub struct SigningKey {
    /// The name in `tokenSigningPublicKeys`.
    pub name: String,
    /// `None`: an external signer holds it (`Plan::signer`).
    pub key: Option<PrivateKey>,
    pub public: PublicKey,
    pub source: KeySource,
}

pub(super) fn resolve_keys(
    s: &Scenario,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(Vec<SigningKey>, PrivateKey, SignerPlan), ScenarioError> {
    let k = &s.keys;
    if ![2048, 3072, 4096].contains(&k.bits) {
        return Err(err(
            "keys.bits",
            format!("must be 2048, 3072 or 4096 (got {})", k.bits),
        ));
    }
    let signer = super::signer::resolve(k, file).map_err(|(f, p)| err(&f, p))?;
    let mut keys = Vec::new();
    if let SignerPlan::Command { argv, .. } = &signer {
        for (i, p) in k.public_key_files.iter().enumerate() {
            let path = relative_to(file, p);
            let field = format!("keys.public_key_files[{i}]");
            let public = PublicKey::from_pem_file(&path).map_err(|e| err(&field, e.to_string()))?;
            keys.push(SigningKey {
                name: stem(&path, i),
                key: None,
                public,
                source: KeySource::Command(argv[0].clone()),
            });
        }
    } else if matches!(signer, SignerPlan::Kms { .. }) {
        // Registered when the signer connects (GetPublicKey).
    } else if k.private_key_files.is_empty() {
        if k.generate == 0 || k.generate > 16 {
            return Err(err(
                "keys.generate",
                format!(
                    "must be 1–16 when keys.private_key_files is empty (got {})",
                    k.generate
                ),
            ));
        }
        for i in 0..k.generate {
            let key = PrivateKey::generate(k.bits as usize)
                .map_err(|e| err("keys.generate", e.to_string()))?;
            keys.push(SigningKey {
                name: format!("key{}", i + 1),
                public: key.public_key(),
                key: Some(key),
                source: KeySource::Generated,
            });
        }
    } else {
        for (i, p) in k.private_key_files.iter().enumerate() {
            let path = relative_to(file, p);
            let field = format!("keys.private_key_files[{i}]");
            let key = PrivateKey::from_pem_file(&path).map_err(|e| err(&field, e.to_string()))?;
            keys.push(SigningKey {
                name: stem(&path, i),
                public: key.public_key(),
                key: Some(key),
                source: KeySource::File(path),
            });
        }
    }
    // Forgeries crafted on the attacker's key stand in for the registered key's (external signers): same size.
    let bits = match (&signer, keys.first()) {
        (SignerPlan::Command { .. }, Some(first)) => first.public.bits(),
        _ => k.bits as usize,
    };
    let attacker = PrivateKey::generate(bits).map_err(|e| err("keys.bits", e.to_string()))?;
    Ok((keys, attacker, signer))
}

/// A key's name in `tokenSigningPublicKeys`: its file's stem.
fn stem(path: &Path, i: usize) -> String {
    path.file_stem().map_or(format!("key{}", i + 1), |s| {
        s.to_string_lossy().into_owned()
    })
}
