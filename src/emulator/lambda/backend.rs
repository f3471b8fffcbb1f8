//! One authorizer's function, started: in process, a pool of runtime processes behind the Runtime API (one slot
//! each; a free slot or a throttle), or an Invoke API endpoint. [`LiveFunction::invoke`] always answers within
//! the 5 s authorizer timeout, with what the ledger needs for cost accounting.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::oneshot;

use super::metrics::FunctionMetrics;
use super::runtime_api::{Job, Reply, Slot, start_slot};
use super::supervisor::{ProcessSpec, lambda_env, supervise};
use crate::contract::authorizer::{Backend, FunctionSpec, InvokeFunction, RuntimeFunction};
use crate::contract::limits::AUTHORIZER_TIMEOUT;
use crate::emulator::cloudwatch::Ran;
use crate::emulator::function::{InvokeError, invoke as invoke_in_process};
use crate::emulator::replay_resistant::Nonces;
use crate::shutdown::Shutdown;

/// An invocation's result and its billing facts.
#[derive(Debug)]
pub struct Invocation {
    pub result: Result<Value, InvokeError>,
    pub cold_start: bool,
    pub throttled: bool,
    /// The in-process replay-resistant function's rule (`replayed`, `expired`, ...), when it answered.
    pub rule: Option<&'static str>,
    /// A runtime process's request id and execution environment, when the emulator publishes to CloudWatch.
    pub ran: Option<crate::emulator::cloudwatch::Ran>,
}

/// A started function.
pub enum LiveFunction {
    /// In process, with the replay-resistant function's memory (empty for the other behaviours).
    InProcess(Box<(FunctionSpec, Mutex<Nonces>)>),
    Runtime(Arc<Pool>),
    InvokeApi(InvokeFunction),
}

/// The runtime processes of one function: their slots, and which are free.
pub struct Pool {
    slots: Vec<Arc<Slot>>,
    free: Mutex<VecDeque<usize>>,
    arn: String,
}

/// Puts a slot back in the free list when the invocation ends, however it ends.
struct Taken<'a> {
    pool: &'a Pool,
    index: usize,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut free = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        free.push_back(self.index);
    }
}

impl Pool {
    fn take(&self) -> Option<Taken<'_>> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        // Last freed first: warm processes are reused, as Lambda reuses warm instances.
        free.pop_back().map(|index| Taken { pool: self, index })
    }

    async fn invoke(&self, event: &Value) -> Invocation {
        let Some(taken) = self.take() else {
            return Invocation {
                result: Err(InvokeError::Throttled),
                cold_start: false,
                throttled: true,
                rule: None,
                ran: None,
            };
        };
        let slot = &self.slots[taken.index];
        let (tx, rx) = oneshot::channel();
        let id = uuid::Uuid::new_v4().to_string();
        let ran = slot.environment().map(|environment| Ran {
            request_id: id.clone(),
            environment,
        });
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            + AUTHORIZER_TIMEOUT.as_millis() as u64;
        slot.submit(Job {
            id,
            event: bytes::Bytes::from(serde_json::to_vec(event).unwrap_or_default()),
            deadline_ms,
            arn: self.arn.clone(),
            reply: tx,
        });
        let (result, cold_start) = match tokio::time::timeout(AUTHORIZER_TIMEOUT, rx).await {
            Ok(Ok((reply, cold))) => (from_reply(reply), cold),
            Ok(Err(_)) => (
                Err(InvokeError::Crashed(
                    "the runtime dropped the invocation".into(),
                )),
                false,
            ),
            Err(_) => {
                // Lambda stops a function at its timeout; the next invocation gets a fresh process.
                slot.abandon();
                slot.recycle.notify_one();
                (Err(InvokeError::Timeout), false)
            }
        };
        drop(taken);
        Invocation {
            result,
            cold_start,
            throttled: false,
            rule: None,
            ran,
        }
    }
}

fn from_reply(reply: Reply) -> Result<Value, InvokeError> {
    match reply {
        Reply::Response(body) => serde_json::from_slice(&body).map_err(|_| InvokeError::NotJson),
        Reply::Error(error_type) => Err(InvokeError::FunctionError { error_type }),
        Reply::InitError(m) => Err(InvokeError::InitError(m)),
        Reply::Crashed(m) => Err(InvokeError::Crashed(m)),
    }
}

/// What starting a runtime function needs from the emulator.
pub struct StartContext<'a> {
    pub authorizer: &'a str,
    pub authorizer_index: usize,
    pub region: &'a str,
    pub account_id: &'a str,
    pub state_dir: &'a Path,
    pub metrics: Arc<FunctionMetrics>,
    /// Where runtime processes' output goes besides stderr (`--cloudwatch-url`).
    pub cloudwatch: Option<crate::emulator::cloudwatch::Publisher>,
    /// Where runtime processes' stdout and stderr go instead of the emulator's stderr.
    pub function_log: Option<&'a Path>,
    pub shutdown: Shutdown,
}

impl LiveFunction {
    /// Starts the function: for the Runtime API, its slots' listeners and its processes (on `tasks`).
    pub async fn start(
        spec: &FunctionSpec,
        cx: StartContext<'_>,
        tasks: &mut tokio::task::JoinSet<()>,
    ) -> anyhow::Result<Self> {
        match &spec.backend {
            Backend::InProcess => Ok(Self::in_process(spec.clone())),
            Backend::InvokeApi(f) => Ok(Self::InvokeApi(f.clone())),
            Backend::RuntimeApi(f) => Ok(Self::Runtime(start_pool(f, spec, cx, tasks).await?)),
        }
    }

    /// The in-process function, with an empty memory.
    pub fn in_process(spec: FunctionSpec) -> Self {
        Self::InProcess(Box::new((spec, Mutex::default())))
    }

    /// Invokes the function on an event (fails closed: every failure is an `Err`).
    pub async fn invoke(&self, event: &Value) -> Invocation {
        match self {
            Self::InProcess(f) => {
                let (result, rule) = invoke_in_process(&f.0, &f.1, event).await;
                Invocation {
                    result,
                    cold_start: false,
                    throttled: false,
                    rule: rule.map(|r| r.as_str()),
                    ran: None,
                }
            }
            Self::Runtime(pool) => pool.invoke(event).await,
            Self::InvokeApi(f) => {
                let result = super::invoke_api::invoke(f, event).await;
                Invocation {
                    throttled: result == Err(InvokeError::Throttled),
                    result,
                    cold_start: false,
                    rule: None,
                    ran: None,
                }
            }
        }
    }
}

async fn start_pool(
    f: &RuntimeFunction,
    spec: &FunctionSpec,
    cx: StartContext<'_>,
    tasks: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<Arc<Pool>> {
    use anyhow::Context as _;
    let memory_mb = spec.memory_mb;
    let name = spec.name(cx.authorizer);
    let record = match &f.record {
        Some(p) => p.clone(),
        None => {
            let dir = cx.state_dir.join("functions");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.join(format!("{}.jsonl", cx.authorizer.replace(['/', '\\'], "_")))
        }
    };
    let dir = std::path::absolute(&f.dir).unwrap_or_else(|_| f.dir.clone());
    let handler = f.command.last().cloned().unwrap_or_default();
    let mut env = lambda_env(
        &name,
        memory_mb,
        cx.region,
        &handler,
        &dir.display().to_string(),
        &std::path::absolute(&record)
            .unwrap_or(record.clone())
            .display()
            .to_string(),
    );
    env.extend(f.env.iter().cloned());
    let process = Arc::new(ProcessSpec {
        command: f.command.clone(),
        dir,
        env,
        authorizer: cx.authorizer.to_string(),
        authorizer_index: cx.authorizer_index,
        cloudwatch: cx.cloudwatch.clone(),
        log: cx.function_log.map(Path::to_path_buf),
    });
    let mut slots = Vec::with_capacity(f.concurrency);
    for _ in 0..f.concurrency {
        let slot = start_slot(
            Some((cx.metrics.clone(), cx.authorizer_index)),
            cx.shutdown.clone(),
            tasks,
        )
        .await?;
        tasks.spawn(supervise(
            process.clone(),
            slot.clone(),
            cx.metrics.clone(),
            cx.shutdown.clone(),
        ));
        slots.push(slot);
    }
    Ok(Arc::new(Pool {
        free: Mutex::new((0..slots.len()).collect()),
        slots,
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            cx.region, cx.account_id
        ),
    }))
}
