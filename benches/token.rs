//! Token signing and verification speed: what bounds the generator's pre-signing and the emulator's gate.
//!
//! Groups (each reports one operation per iteration, so criterion's elem/s is ops/s on one core):
//! - `sign`: `sign_token` (aws-lc-rs), 2048 and 4096-bit keys.
//! - `verify`: `verify_raw` (aws-lc-rs, the gate's verifier) and `verify_reference` (RustCrypto `rsa`).
//! - `gate`: `verify_token` as the emulator runs it (base64 decode, length check, verify): a valid signature,
//!   a forged one (one bit flipped), and one that is not base64 (rejected before any RSA).
//!
//! `scripts/bench` runs this and compares it with `openssl speed rsa2048` on the same core.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use tokenstorm::token::verify::{verify_raw, verify_reference};
use tokenstorm::token::{PrivateKey, PublicKey, encode_signature, sign_token, verify_token};

const TOKEN: &[u8] = b"MyStringThatNeedsToBeSigned";

struct Fixture {
    bits: usize,
    key: PrivateKey,
    public: PublicKey,
    sig: Vec<u8>,
}

impl Fixture {
    fn new(bits: usize) -> Self {
        let key = PrivateKey::generate(bits).expect("generate a benchmark key");
        let public = key.public_key();
        let sig = sign_token(&key, TOKEN);
        assert!(verify_raw(&public, TOKEN, &sig) && verify_reference(&public, TOKEN, &sig));
        Self {
            bits,
            key,
            public,
            sig,
        }
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g
}

fn benches(c: &mut Criterion) {
    let keys = [Fixture::new(2048), Fixture::new(4096)];

    let mut g = group(c, "sign");
    for f in &keys {
        g.bench_function(format!("aws-lc/{}", f.bits), |b| {
            b.iter(|| sign_token(&f.key, black_box(TOKEN)))
        });
    }
    g.finish();

    let mut g = group(c, "verify");
    for f in &keys {
        g.bench_function(format!("aws-lc/{}", f.bits), |b| {
            b.iter(|| assert!(verify_raw(&f.public, black_box(TOKEN), black_box(&f.sig))))
        });
        g.bench_function(format!("rsa-reference/{}", f.bits), |b| {
            b.iter(|| {
                assert!(verify_reference(
                    &f.public,
                    black_box(TOKEN),
                    black_box(&f.sig)
                ))
            })
        });
    }
    g.finish();

    let f = &keys[0];
    let valid = encode_signature(&f.sig);
    let mut flipped = f.sig.clone();
    flipped[f.sig.len() / 2] ^= 0x01;
    let forged = encode_signature(&flipped);
    let not_base64 = format!("{}!", &valid[..valid.len() - 1]);
    let mut g = group(c, "gate");
    g.bench_function("verify_token/valid/2048", |b| {
        b.iter(|| {
            assert_eq!(
                verify_token([&f.public], black_box(TOKEN), black_box(&valid)),
                Ok(0)
            )
        })
    });
    g.bench_function("verify_token/forged-bitflip/2048", |b| {
        b.iter(|| assert!(verify_token([&f.public], black_box(TOKEN), black_box(&forged)).is_err()))
    });
    g.bench_function("verify_token/not-base64/2048", |b| {
        b.iter(|| {
            assert!(verify_token([&f.public], black_box(TOKEN), black_box(&not_base64)).is_err())
        })
    });
    g.finish();
}

criterion_group!(token, benches);
criterion_main!(token);
