//! The real-function parts of a function table (`[authorizer.function]` in `--config`, the same table in a
//! scenario): `runtime` (processes the emulator starts, through its Lambda Runtime API) or `invoke_api` (a Lambda
//! Invoke API endpoint), plus `memory_mb` and `billed_duration_ms` (cost accounting).
//!
//! ```toml
//! [authorizer.function]
//! memory_mb = 128                 # default 128; the runtime gets AWS_LAMBDA_FUNCTION_MEMORY_SIZE
//! [authorizer.function.runtime]
//! command = ["python3", "-m", "awslambdaric", "lambda_function.lambda_handler"]
//! dir = "scenarios/lambdas/seed_python"   # relative to the file's directory
//! concurrency = 4                 # runtime processes = reserved concurrency (default 1)
//! env = { TOKENSTORM_MAX_TOKEN_AGE_S = "60" }
//! # function_name = "my-authorizer"      # default: authorizerFunctionArn's, else the authorizer's name
//! # record = "out/record.jsonl"          # TOKENSTORM_FUNCTION_RECORD (default: <state_dir>/functions/<name>.jsonl)
//! # or:
//! # [authorizer.function.invoke_api]
//! # url = "http://127.0.0.1:3001"  # sam local start-lambda, LocalStack, the Runtime Interface Emulator
//! # function_name = "MyAuthorizerFunction"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::contract::authorizer::{Backend, InvokeFunction, RuntimeFunction};

/// Most runtime processes one function may have.
pub const MAX_CONCURRENCY: usize = 256;

/// `runtime = { ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeFile {
    pub command: Vec<String>,
    pub dir: PathBuf,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "one")]
    pub concurrency: usize,
    pub function_name: Option<String>,
    pub record: Option<PathBuf>,
}

fn one() -> usize {
    1
}

/// `invoke_api = { ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeApiFile {
    pub url: String,
    pub function_name: String,
}

/// Resolves the backend; `base` resolves relative paths, `at` names the table in errors.
pub fn backend(
    runtime: Option<&RuntimeFile>,
    invoke_api: Option<&InvokeApiFile>,
    base: &Path,
    at: &str,
) -> anyhow::Result<Backend> {
    match (runtime, invoke_api) {
        (None, None) => Ok(Backend::InProcess),
        (Some(_), Some(_)) => anyhow::bail!(
            "{at}: give either runtime or invoke_api, not both (one function, one place it runs)"
        ),
        (Some(r), None) => Ok(Backend::RuntimeApi(
            runtime_function(
                program_from(r.command.clone(), base),
                base.join(&r.dir),
                r.env.clone().into_iter().collect(),
                r.concurrency,
                &format!("{at}.runtime"),
            )
            .map(|mut f| {
                f.function_name = r.function_name.clone();
                f.record = r.record.as_ref().map(|p| base.join(p));
                f
            })?,
        )),
        (None, Some(i)) => Ok(Backend::InvokeApi(invoke_function(
            &i.url,
            &i.function_name,
            &format!("{at}.invoke_api"),
        )?)),
    }
}

/// A relative program path with a `/` (e.g. `.venv/bin/python`) is taken from `base`, not from the function's
/// folder the process starts in; bare names (`python3`) are looked up on PATH.
pub fn program_from(mut command: Vec<String>, base: &Path) -> Vec<String> {
    if let Some(program) = command.first_mut() {
        let path = Path::new(program.as_str());
        if path.is_relative() && program.contains('/') {
            let joined = base.join(path);
            *program = std::path::absolute(&joined)
                .unwrap_or(joined)
                .display()
                .to_string();
        }
    }
    command
}

/// Checks a runtime function's command, directory and concurrency.
pub fn runtime_function(
    command: Vec<String>,
    dir: PathBuf,
    env: Vec<(String, String)>,
    concurrency: usize,
    at: &str,
) -> anyhow::Result<RuntimeFunction> {
    if command.first().is_none_or(|c| c.is_empty()) {
        anyhow::bail!(
            "{at}.command is empty; give the runtime command, e.g. [\"python3\", \"-m\", \"awslambdaric\", \"lambda_function.lambda_handler\"]"
        );
    }
    if !dir.is_dir() {
        anyhow::bail!(
            "{at}.dir {} is not a directory; give the function's folder (it becomes LAMBDA_TASK_ROOT)",
            dir.display()
        );
    }
    if concurrency == 0 || concurrency > MAX_CONCURRENCY {
        anyhow::bail!(
            "{at}.concurrency {concurrency} is out of range; give 1 to {MAX_CONCURRENCY} runtime processes"
        );
    }
    Ok(RuntimeFunction {
        command,
        dir,
        env,
        concurrency,
        function_name: None,
        record: None,
    })
}

/// Checks an Invoke API endpoint.
pub fn invoke_function(url: &str, name: &str, at: &str) -> anyhow::Result<InvokeFunction> {
    use crate::contract::url::{UrlError, http_origin};
    match http_origin(url) {
        Ok(_) => {}
        Err(UrlError::Scheme { .. }) => anyhow::bail!(
            "{at}.url {url:?} must start with http:// (the local Invoke API emulators serve plain HTTP)"
        ),
        Err(UrlError::Extra { .. }) => {
            anyhow::bail!("{at}.url {url:?} must be http://host:port with no path")
        }
        Err(e) => anyhow::bail!("{at}.url {e}"),
    }
    if name.is_empty() || name.contains('/') {
        anyhow::bail!("{at}.function_name {name:?} must be a non-empty function name without '/'");
    }
    Ok(InvokeFunction {
        url: url.trim_end_matches('/').to_string(),
        function_name: name.to_string(),
    })
}

/// Checks a memory size (Lambda allows 128 to 10240 MB).
pub fn memory_mb(value: u32, at: &str) -> anyhow::Result<u32> {
    if !(128..=10240).contains(&value) {
        anyhow::bail!("{at}.memory_mb {value} is out of range; Lambda allows 128 to 10240 MB");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use crate::contract::authorizer::Backend;
    use crate::contract::function_file::FunctionFile;

    fn spec(
        text: &str,
        base: &std::path::Path,
    ) -> anyhow::Result<crate::contract::authorizer::FunctionSpec> {
        let f: FunctionFile = toml::from_str(text)?;
        f.to_spec_in(base, "e.toml")
    }

    #[test]
    fn runtime_and_invoke_api_tables_resolve_and_refuse_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fn")).unwrap();
        let s = spec(
            "memory_mb = 512\n[runtime]\ncommand = [\"python3\", \"-m\", \"awslambdaric\", \"h.handler\"]\ndir = \"fn\"\nconcurrency = 4\nenv = { A = \"1\" }\n",
            dir.path(),
        )
        .unwrap();
        let Backend::RuntimeApi(r) = &s.backend else {
            panic!("{:?}", s.backend)
        };
        assert_eq!((r.concurrency, s.memory_mb), (4, 512));
        assert_eq!(r.dir, dir.path().join("fn"));
        assert_eq!(r.env, [("A".to_string(), "1".to_string())]);
        let s = spec(
            "[invoke_api]\nurl = \"http://127.0.0.1:3001/\"\nfunction_name = \"F\"\n",
            dir.path(),
        )
        .unwrap();
        assert_eq!(s.backend.as_str(), "invoke_api");
        assert_eq!(s.memory_mb, 128);

        let err = |text: &str| spec(text, dir.path()).unwrap_err().to_string();
        assert!(err("[runtime]\ncommand = []\ndir = \"fn\"\n").contains("command is empty"));
        assert!(err("[runtime]\ncommand = [\"x\"]\ndir = \"nope\"\n").contains("not a directory"));
        assert!(
            err("[runtime]\ncommand = [\"x\"]\ndir = \"fn\"\nconcurrency = 0\n")
                .contains("1 to 256")
        );
        assert!(err("memory_mb = 64\n").contains("128 to 10240"));
        assert!(
            err("[invoke_api]\nurl = \"https://x\"\nfunction_name = \"F\"\n").contains("http://")
        );
        assert!(
            err("mode = \"deny\"\n[runtime]\ncommand = [\"x\"]\ndir = \"fn\"\n")
                .contains("in-process")
        );
        assert!(err(
            "[runtime]\ncommand = [\"x\"]\ndir = \"fn\"\n[invoke_api]\nurl = \"http://a:1\"\nfunction_name = \"F\"\n"
        )
        .contains("not both"));
    }
}
