//! The Rust reference function on AWS's `lambda_runtime` crate, through the same Runtime API. Its crate is built
//! once per test run (`cargo build --manifest-path scenarios/lambdas/rust_lambda_runtime/Cargo.toml
//! --target-dir target/lambdas`; the first build takes a while).

use std::path::PathBuf;
use std::sync::OnceLock;

use super::fixtures::{records, refs, repo, runtime_authorizer, seed_headers_for};
use crate::support::client::Conn;
use crate::support::emulator::{config, start};
use crate::support::keys::{attacker_key, sign, signing_key};

/// Builds the crate once; the binary's path.
fn rust_authorizer() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = std::process::Command::new(cargo)
                .args(["build", "--quiet", "--manifest-path"])
                .arg(repo().join("scenarios/lambdas/rust_lambda_runtime/Cargo.toml"))
                .arg("--target-dir")
                .arg(repo().join("target/lambdas"))
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned());
            }
            Ok(repo().join("target/lambdas/debug/rust-authorizer"))
        })
        .clone()
        .unwrap_or_else(|e| panic!("building the Rust reference function failed:\n{e}"))
}

#[tokio::test]
async fn rust_lambda_runtime_function_answers_through_the_runtime_api() {
    let binary = tokio::task::spawn_blocking(rust_authorizer).await.unwrap();
    let dir = crate::support::tempdir();
    let record = dir.path().join("rust.jsonl");
    let mut auth = runtime_authorizer(
        vec![binary.display().to_string()],
        &repo().join("scenarios/lambdas/rust_lambda_runtime"),
        2,
        &record,
        vec![],
    );
    auth.function.memory_mb = 512;
    let emu = start(config(vec![auth], None)).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    for (token, key, status) in [
        ("allow-1", signing_key(), 200),
        ("nope", signing_key(), 403),
        ("allow-2", attacker_key(), 403),
        ("allow-3", signing_key(), 200),
    ] {
        let h = seed_headers_for(token, &sign(key, token));
        assert_eq!(
            conn.post("/topics/any/topic", &refs(&h)).await.status,
            status,
            "{token}"
        );
    }
    let seen = records(&record);
    assert_eq!(
        seen.len(),
        3,
        "the forged attempt never reached the function"
    );
    assert_eq!(
        seen.iter()
            .map(|r| r["authenticated"].as_bool())
            .collect::<Vec<_>>(),
        [Some(true), Some(false), Some(true)]
    );
    assert!(
        seen.iter()
            .all(|r| r["memory"] == "512" && r["protocols"] == serde_json::json!(["http"]))
    );
    let ledger = emu.ledger().entries();
    assert_eq!(ledger.len(), 3);
    assert!(
        ledger
            .iter()
            .all(|e| e.backend == "runtime_api" && e.memory_mb == 512)
    );
    assert!(ledger[0].cold_start);
    assert_eq!(ledger[1].deny_text().as_deref(), Some("not_authenticated"));
    emu.stop().await;
}
