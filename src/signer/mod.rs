//! The external token signers of `[keys] signer` ([`crate::scenario::signer`]): an external command
//! ([`CommandSigner`]) and AWS KMS ([`KmsSigner`]). Both implement [`TokenSigner`], the seam the credential
//! catalogue and the token pool sign through, and run a batch with a bounded number of signatures in flight
//! on a small runtime of their own, so setup code stays synchronous. Every signature they return is checked
//! against the registered public key before it is used: a signer that signs the wrong bytes (`echo` without
//! `-n`, a hex digest) or with another key fails setup naming the token, instead of a run whose valid
//! attempts are all refused.
//!
//! All of this happens at setup; nothing here runs on the request path.

use std::future::Future;
use std::sync::Arc;

use crate::scenario::Plan;
use crate::scenario::signer::SignerPlan;
use crate::token::{PrivateKey, PublicKey, SignError, TokenSigner};

mod command;
mod kms;

pub use command::CommandSigner;
pub use kms::KmsSigner;

/// An external signer that makes one signature at a time; [`Batched`] runs a batch of them.
pub trait SignOne: Send + Sync + 'static {
    /// How errors name the signer (`keys.signer.command [...]`).
    fn what(&self) -> String;
    /// Token `i`'s signature of `message`.
    fn sign(
        &self,
        i: usize,
        message: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send;
}

/// An external signer as a [`TokenSigner`]: a batch with at most `concurrency` signatures in flight on the
/// signer's own runtime, each checked against `public` ([`run_batch`]).
pub struct Batched<S> {
    one: Arc<S>,
    public: PublicKey,
    concurrency: usize,
    /// The signer's runtime (a KMS client's pooled connections live on the one it connected on).
    runtime: tokio::runtime::Runtime,
}

impl<S: SignOne> TokenSigner for Batched<S> {
    fn sign_all(&self, tokens: &[String]) -> Result<Vec<Vec<u8>>, SignError> {
        let one = self.one.clone();
        let what = one.what();
        run_batch(
            &self.runtime,
            tokens,
            self.concurrency,
            &self.public,
            &what,
            move |i, m| {
                let one = one.clone();
                async move { one.sign(i, &m).await }
            },
        )
    }

    fn private_key(&self) -> Option<&PrivateKey> {
        None
    }

    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }
}

/// Makes the plan's external signer, if it has one. A KMS signer connects here and its key's public half
/// (`GetPublicKey`) joins `plan.keys`, so the embedded emulator registers it; the attacker's key is remade at
/// the registered key's size when they differ (forgeries crafted on it stand in for the registered key's).
pub fn connect(plan: &mut Plan) -> anyhow::Result<Option<Box<dyn TokenSigner>>> {
    let signer: Box<dyn TokenSigner> = match &plan.signer {
        SignerPlan::Pem => return Ok(None),
        SignerPlan::Command {
            argv,
            dir,
            concurrency,
            timeout,
        } => {
            let public = plan
                .keys
                .first()
                .map(|k| k.public.clone())
                .ok_or_else(|| anyhow::anyhow!("keys.public_key_files: no public key"))?;
            Box::new(CommandSigner::new(
                argv.clone(),
                dir.clone(),
                public,
                *concurrency,
                *timeout,
            )?)
        }
        SignerPlan::Kms { .. } => {
            let (signer, key) = KmsSigner::connect(&plan.signer)?;
            plan.keys.push(key);
            Box::new(signer)
        }
    };
    let bits = signer.public_key().bits();
    if plan.attacker.as_ref().is_none_or(|a| a.bits() != bits) {
        plan.attacker = Some(PrivateKey::generate(bits).map_err(|e| {
            anyhow::anyhow!("the attacker's key at the signer's key size ({bits} bits): {e}")
        })?);
    }
    Ok(Some(signer))
}

/// The signers by key index: the external one, else the plan's PEM keys.
pub fn by_key<'a>(
    plan: &'a Plan,
    external: Option<&'a dyn TokenSigner>,
) -> Vec<&'a dyn TokenSigner> {
    match external {
        Some(s) => vec![s],
        None => plan
            .keys
            .iter()
            .filter_map(|k| k.key.as_ref().map(|k| k as &dyn TokenSigner))
            .collect(),
    }
}

/// A current-thread runtime for a signer's requests (the signer keeps it: a KMS client's pooled connections
/// belong to the runtime that opened them).
pub(crate) fn runtime(what: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("{what}: cannot start a runtime: {e}"))
}

/// Runs `fut` on `runtime` from a thread of its own, so a caller inside another runtime is fine.
pub(crate) fn block_on<T: Send>(
    runtime: &tokio::runtime::Runtime,
    fut: impl Future<Output = T> + Send,
) -> T {
    std::thread::scope(|s| {
        s.spawn(|| runtime.block_on(fut))
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Runs `sign(i)` for every token index on the signer's `runtime`, at most `concurrency` at once, and checks
/// each signature against `public`. The first failure stops the batch (tasks in flight are dropped: a
/// command's child is killed).
pub(crate) fn run_batch<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    tokens: &[String],
    concurrency: usize,
    public: &PublicKey,
    what: &str,
    sign: F,
) -> Result<Vec<Vec<u8>>, SignError>
where
    F: Fn(usize, Arc<[u8]>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<u8>, SignError>> + Send + 'static,
{
    let messages: Vec<Arc<[u8]>> = tokens.iter().map(|t| Arc::from(t.as_bytes())).collect();
    // Checked as each arrives, so a signer that signs the wrong bytes stops the batch at once.
    let check = |i: usize, sig: &[u8]| {
        let b64 = crate::token::encode_signature(sig);
        crate::token::verify_token([public], tokens[i].as_bytes(), &b64).map(|_| ()).map_err(|e| {
            SignError(format!(
                "{what}: the signature of token {i} does not verify with the registered public key ({} bits, \
                 {}): {e}; it must be RSASSA-PKCS1-v1_5 SHA-256 over the exact token bytes (`openssl dgst \
                 -sha256 -sign`), by the key whose public half is registered",
                public.bits(),
                public.fingerprint()
            ))
        })
    };
    block_on(runtime, bounded(messages, concurrency, sign, check))
}

async fn bounded<F, Fut>(
    messages: Vec<Arc<[u8]>>,
    concurrency: usize,
    sign: F,
    check: impl Fn(usize, &[u8]) -> Result<(), SignError>,
) -> Result<Vec<Vec<u8>>, SignError>
where
    F: Fn(usize, Arc<[u8]>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<u8>, SignError>> + Send + 'static,
{
    let mut out = vec![Vec::new(); messages.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = messages.into_iter().enumerate();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some((i, m)) = next.next() else { break };
            let job = sign(i, m);
            tasks.spawn(async move { (i, job.await) });
        }
        let Some(done) = tasks.join_next().await else {
            return Ok(out);
        };
        let (i, sig) = done.map_err(|e| SignError(format!("a signing task failed: {e}")))?;
        let sig = sig?;
        check(i, &sig)?;
        out[i] = sig;
    }
}
