//! Runtime processes: one per slot. Starts the function's command with `AWS_LAMBDA_RUNTIME_API` pointing at the
//! slot's Runtime API and the usual Lambda environment, restarts it when it exits or after a timeout (the process
//! is recycled, as Lambda does), and stops it at shutdown (SIGTERM, then SIGKILL after 2 s; `kill_on_drop` if the
//! task is aborted). Restarts of a process that dies at once back off from 100 ms to 5 s.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::metrics::FunctionMetrics;
use super::runtime_api::Slot;
use crate::emulator::cloudwatch::{Environment, Publisher};
use crate::shutdown::Shutdown;

/// What a runtime process needs besides its slot.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub command: Vec<String>,
    pub dir: std::path::PathBuf,
    /// Everything but `AWS_LAMBDA_RUNTIME_API`.
    pub env: Vec<(String, String)>,
    /// For messages.
    pub authorizer: String,
    pub authorizer_index: usize,
    /// Where the process's output goes besides stderr (`--cloudwatch-url`): each process is one execution
    /// environment, with its own log stream.
    pub cloudwatch: Option<Publisher>,
    /// Where the process's stdout and stderr go instead of the emulator's stderr (appended); `None`: stderr.
    pub log: Option<std::path::PathBuf>,
}

/// The Lambda environment a runtime expects (awslambdaric, lambda_runtime).
pub fn lambda_env(
    function_name: &str,
    memory_mb: u32,
    region: &str,
    handler: &str,
    task_root: &str,
    record: &str,
) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "tokenstorm/[$LATEST]local".to_string(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_REGION", region.to_string()),
        ("AWS_DEFAULT_REGION", region.to_string()),
        ("AWS_EXECUTION_ENV", "tokenstorm".to_string()),
        ("_HANDLER", handler.to_string()),
        ("LAMBDA_TASK_ROOT", task_root.to_string()),
        ("LAMBDA_RUNTIME_DIR", task_root.to_string()),
        ("TZ", ":UTC".to_string()),
        ("TOKENSTORM_FUNCTION_RECORD", record.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Starts the slot's process. Its stdout and stderr go to the emulator's stderr (stdout carries the ready line);
/// when publishing to CloudWatch they are read line by line, echoed there, and shipped to its log stream.
fn spawn(spec: &ProcessSpec, slot: &Arc<Slot>) -> std::io::Result<Child> {
    let Some(publisher) = &spec.cloudwatch else {
        return command(spec, slot, false).spawn();
    };
    let environment = publisher.new_environment(spec.authorizer_index);
    let mut cmd = command(spec, slot, true);
    if let Some(env) = &environment {
        // What the function sees as `context.log_stream_name` is where its lines go.
        cmd.env("AWS_LAMBDA_LOG_STREAM_NAME", &*env.stream);
    }
    let mut child = cmd.spawn()?;
    slot.set_environment(environment.clone());
    if let Some(environment) = environment {
        if let Some(out) = child.stdout.take() {
            tokio::spawn(ship(
                out,
                publisher.clone(),
                environment.clone(),
                slot.clone(),
            ));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(ship(err, publisher.clone(), environment, slot.clone()));
        }
    }
    Ok(child)
}

fn command(spec: &ProcessSpec, slot: &Slot, piped: bool) -> Command {
    let stderr = || {
        use std::os::fd::AsFd as _;
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    };
    let output = || match &spec.log {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from)
            .unwrap_or_else(|_| stderr()),
        None => stderr(),
    };
    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", slot.addr.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if piped {
        // Line by line as the function writes them, so each lands in its invocation (Python buffers a pipe).
        if !spec.env.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
            cmd.env("PYTHONUNBUFFERED", "1");
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        // The function's logs go to the emulator's stderr (or the configured file).
        cmd.stdout(output()).stderr(output());
    }
    cmd
}

/// Echoes each line of a process's stdout or stderr to the emulator's stderr and hands it to the publisher,
/// tagged with the request the process was last given; ends when the process closes the pipe.
async fn ship(
    pipe: impl tokio::io::AsyncRead + Unpin,
    publisher: Publisher,
    environment: Arc<Environment>,
    slot: Arc<Slot>,
) {
    use tokio::io::AsyncBufReadExt as _;
    let mut reader = tokio::io::BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Not UTF-8 is no reason to stop reading (the process would block on a full pipe).
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        eprintln!("{line}");
        publisher.output(&environment, slot.last_request(), line.to_string());
    }
}

/// Runs the slot's process until `shutdown`.
pub async fn supervise(
    spec: Arc<ProcessSpec>,
    slot: Arc<Slot>,
    metrics: Arc<FunctionMetrics>,
    shutdown: Shutdown,
) {
    /// Marks the slot stopped however supervision ends (return or abort).
    struct Stopped(Arc<Slot>);
    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.mark_stopped();
        }
    }
    let _stopped = Stopped(slot.clone());
    let mut backoff = Duration::from_millis(100);
    let mut first = true;
    while !shutdown.is_triggered() {
        if !first {
            metrics.record_restart(spec.authorizer_index);
        }
        first = false;
        let started = tokio::time::Instant::now();
        let mut child = match spawn(&spec, &slot) {
            Ok(child) => child,
            Err(e) => {
                let message = format!(
                    "cannot start {:?} in {}: {e}; check the command and the function's folder",
                    spec.command,
                    spec.dir.display()
                );
                eprintln!("tokenstorm: authorizer {:?}: {message}", spec.authorizer);
                slot.fail_pending(message);
                if !pause(&shutdown, &mut backoff, true).await {
                    return;
                }
                continue;
            }
        };
        slot.process_started();
        // `recycled`: the emulator killed it (after a timeout), which is no news to the user.
        let (status, recycled) = tokio::select! {
            s = child.wait() => match s {
                Ok(s) => (s.to_string(), false),
                Err(e) => (e.to_string(), false),
            },
            _ = slot.recycle.notified() => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                ("recycled after a timeout".to_string(), true)
            }
            _ = shutdown.wait() => {
                stop(&mut child).await;
                return;
            }
        };
        if !recycled {
            eprintln!(
                "tokenstorm: authorizer {:?}: runtime process exited ({status}); restarting it",
                spec.authorizer
            );
        }
        slot.process_exited(&status);
        let quick = started.elapsed() < Duration::from_secs(1);
        if !pause(&shutdown, &mut backoff, quick).await {
            return;
        }
    }
}

/// Waits before a restart (backing off when the process died at once). False: shutdown.
async fn pause(shutdown: &Shutdown, backoff: &mut Duration, quick: bool) -> bool {
    if !quick {
        *backoff = Duration::from_millis(100);
        return !shutdown.is_triggered();
    }
    let wait = *backoff;
    *backoff = (*backoff * 2).min(Duration::from_secs(5));
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.wait() => false,
    }
}

/// SIGTERM, then SIGKILL if it is still running after 2 s.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        use nix::sys::signal::{Signal, kill};
        let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(2), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}
