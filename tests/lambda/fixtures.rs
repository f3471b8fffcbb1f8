//! The Python interpreter with `awslambdaric`, runtime-backed authorizers, and the functions' own records.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tokenstorm::contract::authorizer::{AuthorizerSpec, FunctionBehaviour};
use tokenstorm::contract::authorizer::{Backend, RuntimeFunction};

use crate::support::emulator::seed_authorizer;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python with `awslambdaric` (env `TOKENSTORM_PYTHON`, else `.venv/bin/python`). Without one the
/// test fails, naming what is missing and how to get it: a test that returns early passes without checking
/// anything.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let candidate = std::env::var_os("TOKENSTORM_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo().join(".venv/bin/python"));
            match std::process::Command::new(&candidate)
                .args(["-c", "import awslambdaric"])
                .output()
            {
                Ok(o) if o.status.success() => Ok(candidate),
                Ok(o) => Err(format!(
                    "{} cannot import awslambdaric: {}",
                    candidate.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Err(format!("cannot run {}: {e}", candidate.display())),
            }
        })
        .clone()
        .unwrap_or_else(|why| {
            panic!(
                "no python with awslambdaric: {why}. Run scripts/test (it builds .venv from \
                 tests/requirements.txt), or point TOKENSTORM_PYTHON at a python that has awslambdaric"
            )
        })
}

/// The seed authorizer running `handler` from `dir` under awslambdaric, `concurrency` processes, its record at
/// `record`.
pub fn python_authorizer(
    python: &Path,
    dir: &Path,
    handler: &str,
    concurrency: usize,
    record: &Path,
    env: Vec<(String, String)>,
) -> AuthorizerSpec {
    runtime_authorizer(
        vec![
            python.display().to_string(),
            "-m".into(),
            "awslambdaric".into(),
            handler.into(),
        ],
        dir,
        concurrency,
        record,
        env,
    )
}

pub fn runtime_authorizer(
    command: Vec<String>,
    dir: &Path,
    concurrency: usize,
    record: &Path,
    env: Vec<(String, String)>,
) -> AuthorizerSpec {
    let mut spec = seed_authorizer(FunctionBehaviour::Deny);
    spec.function.backend = Backend::RuntimeApi(RuntimeFunction {
        command,
        dir: dir.to_path_buf(),
        env,
        concurrency,
        function_name: None,
        record: Some(record.to_path_buf()),
    });
    spec
}

/// The test functions (`tests/lambda/functions`).
pub fn test_functions() -> PathBuf {
    repo().join("tests/lambda/functions")
}

/// The function's own record: one JSON value per invocation.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("record line is JSON"))
        .collect()
}

/// Polls `check` every 20 ms, at most 1000 times (real processes: bounded by count).
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting for {what}");
}

/// sha256 hex prefix the reference functions record instead of the token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_string()
}

/// The seed's three headers for `token` and `signature`.
pub fn seed_headers_for(token: &str, signature: &str) -> Vec<(&'static str, String)> {
    use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN_KEY_NAME};
    vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, token.to_string()),
        ("x-amz-customauthorizer-signature", signature.to_string()),
    ]
}

/// Borrowed view of owned headers, for `Conn::post`.
pub fn refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    h.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The MQTT username carrying the seed authorizer, token and signature.
pub fn mqtt_username(signature: &str) -> String {
    use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME};
    use tokenstorm::wire::mqtt::{ParamOrder, UsernameParts, build_username};
    build_username(&UsernameParts {
        attempt_id: None,
        authorizer_name: Some(SEED_AUTHORIZER),
        token_key_name: SEED_TOKEN_KEY_NAME,
        token: Some(SEED_TOKEN),
        signature: Some(signature),
        order: ParamOrder::NameSignatureToken,
        extra: &[],
    })
}
