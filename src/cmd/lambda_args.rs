//! `--lambda-cmd "..." --lambda-dir DIR [--lambda-concurrency N] [--lambda-memory-mb M]`, shared by `emulate` and
//! `test-invoke`: runs a real function through the emulator's Lambda Runtime API for the authorizers given with
//! `--authorizer-json`, without a config file.

use std::path::PathBuf;

use crate::emulator::config::{Backend, FunctionBehaviour, FunctionSpec};
use crate::emulator::lambda::file::{memory_mb, program_from, runtime_function};

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
