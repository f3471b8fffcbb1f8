//! `tokenstorm emulate --lambda-cmd ... --lambda-dir ...` as a real process: the seed function attached to the
//! `--authorizer-json` authorizer, its processes stopped when the emulator exits on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use super::fixtures::{python, records, refs, repo, seed_headers_for};
use crate::emulator::process::describe_json;
use crate::support::client::Conn;
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOPIC, sign, signing_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_runs_the_lambda_cmd_function_for_the_authorizer_json_authorizers() {
    let py = python();
    let dir = crate::support::tempdir();
    std::fs::write(dir.path().join("authorizer.json"), describe_json("ACTIVE")).unwrap();
    let cmd = format!(
        "{} -m awslambdaric lambda_function.lambda_handler",
        py.display()
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args([
            "emulate",
            "--authorizer-json",
            "authorizer.json",
            "--bind-https",
            "off",
        ])
        .args([
            "--bind-http",
            ":0",
            "--bind-admin",
            ":0",
            "--state-dir",
            "state",
        ])
        .args([
            "--lambda-cmd",
            &cmd,
            "--lambda-concurrency",
            "3",
            "--lambda-memory-mb",
            "256",
        ])
        .arg("--lambda-dir")
        .arg(repo().join("scenarios/lambdas/seed_python"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tokenstorm emulate");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("ready line in 30 s")
        .unwrap()
        .expect("a ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let http = ready["http"].as_str().unwrap().parse().unwrap();
    let admin: std::net::SocketAddr = ready["admin"].as_str().unwrap().parse().unwrap();
    let mut conn = Conn::http(http).await;
    let good = seed_headers_for(SEED_TOKEN, &sign(signing_key(), SEED_TOKEN));
    conn.post(&format!("/topics/{SEED_TOPIC}"), &refs(&good))
        .await
        .assert_message(200, "OK");
    let record = dir
        .path()
        .join(format!("state/functions/{SEED_AUTHORIZER}.jsonl"));
    assert_eq!(records(&record).len(), 1);
    let ledger = Conn::http(admin).await.get("/ledger").await.json();
    let entry = &ledger["entries"][0];
    assert_eq!(entry["backend"], "runtime_api");
    assert_eq!(entry["memory_mb"], 256);
    assert_eq!(entry["cold_start"], true);

    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGTERM).expect("SIGTERM to the emulator");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exit within 30 s")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // The runtime processes (children of the emulator) are gone: their Runtime API pids no longer exist.
    let pids: Vec<i64> = records(&record)
        .iter()
        .filter_map(|r| r["pid"].as_i64())
        .collect();
    for p in pids {
        // No signal: only checks whether the pid exists.
        let alive = kill(Pid::from_raw(p as i32), None).is_ok();
        assert!(!alive, "runtime process {p} outlived the emulator");
    }
}
