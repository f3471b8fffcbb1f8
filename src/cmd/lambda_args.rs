//! `--lambda-cmd "..." --lambda-dir DIR [--lambda-concurrency N] [--lambda-memory-mb M]`, shared by `emulate` and
//! `test-invoke`: runs a real function through the emulator's Lambda Runtime API for the authorizers given with
//! `--authorizer-json`, without a config file.

use std::path::PathBuf;

use crate::contract::authorizer::{Backend, FunctionBehaviour, FunctionSpec};
use crate::contract::lambda_file::{memory_mb, program_from, runtime_function};

#[derive(Debug, Clone, clap::Args)]
pub struct LambdaArgs {
    /// Run this function command under the Lambda Runtime API for the --authorizer-json authorizers, e.g.
    /// "python3 -m awslambdaric lambda_function.lambda_handler" (split on whitespace; no shell quoting).
    #[arg(long, value_name = "COMMAND", requires = "lambda_dir")]
    pub lambda_cmd: Option<String>,
    /// The function's folder (working directory and LAMBDA_TASK_ROOT).
    #[arg(long, value_name = "DIR", requires = "lambda_cmd")]
    pub lambda_dir: Option<PathBuf>,
    /// Runtime processes = the function's concurrency; more simultaneous invocations are throttled (default 1).
    #[arg(long, value_name = "N", requires = "lambda_cmd", default_value_t = 1)]
    pub lambda_concurrency: usize,
    /// The function's memory size, MB (default 128; cost accounting and AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    #[arg(
        long,
        value_name = "MB",
        requires = "lambda_cmd",
        default_value_t = 128
    )]
    pub lambda_memory_mb: u32,
}

impl LambdaArgs {
    /// The function the flags describe, or `None` without `--lambda-cmd`.
    pub fn function(&self) -> anyhow::Result<Option<FunctionSpec>> {
        let (Some(cmd), Some(dir)) = (&self.lambda_cmd, &self.lambda_dir) else {
            return Ok(None);
        };
        let command: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        let command = program_from(command, std::path::Path::new("."));
        let f = runtime_function(
            command,
            dir.clone(),
            Vec::new(),
            self.lambda_concurrency,
            "--lambda",
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut spec = FunctionSpec::in_process(FunctionBehaviour::Deny, std::time::Duration::ZERO);
        spec.backend = Backend::RuntimeApi(f);
        spec.memory_mb = memory_mb(self.lambda_memory_mb, "--lambda")?;
        Ok(Some(spec))
    }
}

/// The emulator configuration both `emulate` and `test-invoke` start from: the `--config` file (or the defaults),
/// plus one authorizer per `--authorizer-json` file, each running the `--lambda-cmd` function when one is given
/// and the default in-process function otherwise.
pub fn base_config(
    config: Option<&std::path::Path>,
    authorizer_json: &[PathBuf],
    lambda: &LambdaArgs,
) -> anyhow::Result<crate::emulator::config::EmulatorConfig> {
    use crate::emulator::authorizer_json::parse_describe_authorizer;
    use crate::emulator::file::EmulatorFile;
    use anyhow::Context as _;

    let mut resolved = match config {
        Some(path) => EmulatorFile::resolve(path)?,
        None => EmulatorFile::default().resolve_in(std::path::Path::new("."), "defaults")?,
    };
    let function = lambda.function()?;
    if function.is_some() && authorizer_json.is_empty() {
        anyhow::bail!(
            "--lambda-cmd runs the function of the --authorizer-json authorizers; give at least one --authorizer-json FILE (a --config authorizer takes its function from [authorizer.function.runtime])"
        );
    }
    for path in authorizer_json {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --authorizer-json {}", path.display()))?;
        let description = parse_describe_authorizer(&text, &path.display().to_string())?;
        let spec = function.clone().unwrap_or_else(|| {
            FunctionSpec::in_process(
                FunctionBehaviour::default_allow(),
                std::time::Duration::ZERO,
            )
        });
        resolved.authorizers.push(description.with_function(spec));
    }
    Ok(resolved)
}
