//! One shard process: `<this binary> run SCENARIO --shard i/N --quiet --metrics-addr 127.0.0.1:0 --run-dir
//! <run folder>/shards/<i>` with the parent's overrides, in its own process group (a Ctrl-C on the terminal
//! reaches the parent only, which forwards exactly one signal: two would make a shard exit without its report),
//! its stdout (the shard's terminal table) in `stdout.txt` of its folder, its stderr read line by line into
//! `stderr.txt` there (echoed, prefixed, unless quiet) and watched for the line that says where its `/metrics`
//! listens. It must not outlive the parent: `kill_on_drop`, and `--parent-pid` makes it ask the kernel for a
//! SIGKILL when the parent dies ([`die_with_parent`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

use super::super::Args;
use crate::load::shard::Shard;

/// A started shard process.
pub struct Spawned {
    pub shard: Shard,
    pub pid: nix::unistd::Pid,
    /// Its run folder.
    pub dir: PathBuf,
    /// Where its `/metrics` listens, once it said so (it then also listens for SIGINT/SIGTERM).
    pub metrics: Arc<OnceLock<SocketAddr>>,
    /// Reads its stderr until it closes.
    pub stderr: JoinHandle<()>,
}

/// Starts shard `shard` of the run `args` describes, writing into `dir`; the process to wait for beside it.
pub fn spawn(
    args: &Args,
    shard: Shard,
    dir: &Path,
    quiet: bool,
) -> anyhow::Result<(Spawned, Child)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    let stdout = std::fs::File::create(dir.join("stdout.txt"))
        .with_context(|| format!("cannot create {}", dir.join("stdout.txt").display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(&args.scenario)
        .args(["--shard", &shard.to_string(), "--quiet"])
        .args(["--metrics-addr", "127.0.0.1:0", "--run-dir"])
        .arg(dir)
        .args(["--parent-pid", &std::process::id().to_string()])
        .args(overrides(args))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start shard {shard}"))?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(nix::unistd::Pid::from_raw)
        .context("a shard process without a pid")?;
    let metrics = Arc::new(OnceLock::new());
    let err = child.stderr.take().context("no stderr pipe")?;
    let echo = (!quiet).then(|| format!("shard {shard}: "));
    let stderr = tokio::spawn(read_stderr(
        err,
        dir.join("stderr.txt"),
        metrics.clone(),
        echo,
    ));
    let spawned = Spawned {
        shard,
        pid,
        dir: dir.to_path_buf(),
        metrics,
        stderr,
    };
    Ok((spawned, child))
}

/// The parent's overrides, passed on to every shard as given.
fn overrides(args: &Args) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut pair = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push(flag.into());
            out.push(v.into());
        }
    };
    pair("--duration", args.duration.map(|d| d.to_string()));
    pair("--attempts", args.attempts.map(|n| n.to_string()));
    pair("--seed", args.seed.map(|n| n.to_string()));
    pair("--rate", args.rate.map(|r| r.to_string()));
    if args.allow_remote {
        out.push("--allow-remote".into());
    }
    if let Some(p) = &args.stop_file {
        out.push("--stop-file".into());
        out.push(p.into());
    }
    out
}

/// Copies the shard's stderr into `file`, notes where its `/metrics` listens, echoes the rest with `echo` before
/// each line (but its `error:` lines: a setup error is quoted once, by the supervisor).
async fn read_stderr(
    err: ChildStderr,
    file: PathBuf,
    metrics: Arc<OnceLock<SocketAddr>>,
    echo: Option<String>,
) {
    let mut out = tokio::fs::File::create(&file).await.ok();
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(f) = out.as_mut() {
            let _ = f.write_all(format!("{line}\n").as_bytes()).await;
        }
        if let Some(addr) = metrics_line(&line) {
            let _ = metrics.set(addr);
        } else if let (Some(prefix), false) = (&echo, line.starts_with("error:")) {
            crate::live::logs::line(&format!("{prefix}{line}"));
        }
    }
    if let Some(mut f) = out {
        let _ = f.flush().await;
    }
}

/// `metrics: http://127.0.0.1:PORT/metrics` ([`crate::live::serve::start`]'s line) → the address.
fn metrics_line(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("metrics: http://")?
        .strip_suffix("/metrics")?
        .parse()
        .ok()
}

/// The `error:` lines of a shard's `stderr.txt`, joined (what a setup error said).
pub fn errors(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    let quoted: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .collect();
    if quoted.is_empty() {
        "(it printed no error; see its stderr.txt)".into()
    } else {
        quoted.join(" / ")
    }
}

/// `run --parent-pid PID` (a shard process of `--processes`): the kernel kills this process when the parent
/// dies, and when the parent is already gone (it died before this call) the shard does not start.
pub fn die_with_parent(parent: i32) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
            .context("--parent-pid: cannot ask to die with the parent")?;
    }
    anyhow::ensure!(
        nix::unistd::getppid().as_raw() == parent,
        "--parent-pid {parent}: the parent process is gone; not starting"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_line_gives_the_address() {
        assert_eq!(
            metrics_line("metrics: http://127.0.0.1:4321/metrics"),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(metrics_line("warning: metrics: http://x/metrics"), None);
    }
}
