//! The emulator towards CloudWatch (`--cloudwatch-url`): it publishes what the Lambda service publishes for each
//! authorizer function, so a run can judge the emulator as it judges a real account. Per function and minute,
//! `AWS/Lambda` `Invocations`, `Errors`, `Throttles` and `Duration` ([`aggregate`]); per invocation, the log lines
//! Lambda writes to `/aws/lambda/<function>` ([`lines`]): `START`, what the function wrote (the in-process
//! function's witness line; a runtime process's stdout and stderr), `END`, `REPORT`, in one stream per execution
//! environment (the in-process and Invoke API functions: one per function; a runtime process: one per process).
//!
//! The request path only hands a record to a bounded channel ([`Publisher`]); the publisher task ([`task`])
//! gathers records ([`outbox`]) and flushes them about every second, and once more at shutdown. Publishing
//! never blocks or fails an invocation: a full channel drops the record, a failed call drops its batch; both are
//! counted and warned about once.

pub mod aggregate;
pub mod lines;
pub mod outbox;
mod task;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::aws::Settings;
use crate::contract::LedgerEntry;
use crate::contract::authorizer::{AuthorizerSpec, Backend};
use crate::shutdown::Shutdown;
use aggregate::Outcome;

/// Records the channel holds before new ones are dropped.
const CHANNEL: usize = 100_000;

/// One execution environment: the function it runs and its log stream.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Environment {
    pub function: Arc<str>,
    pub group: Arc<str>,
    pub stream: Arc<str>,
}

impl Environment {
    fn new(function: &Arc<str>) -> Arc<Self> {
        Arc::new(Self {
            function: function.clone(),
            group: lines::log_group(function).into(),
            stream: lines::stream_name(now_ms()).into(),
        })
    }
}

/// Where a real function's invocation ran: its request id and its environment.
#[derive(Debug, Clone)]
pub struct Ran {
    pub request_id: String,
    pub environment: Arc<Environment>,
}

/// One invocation, as the publisher needs it.
#[derive(Debug)]
pub struct Invoked {
    pub environment: Arc<Environment>,
    pub request_id: String,
    pub unix_ms: u64,
    pub duration_us: u64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub outcome: Outcome,
    /// The in-process function's event and response, for its witness line.
    pub witness: Option<(serde_json::Value, Option<serde_json::Value>)>,
    /// A runtime process's invocation: its output may still be in the pipe, so its lines wait a flush.
    pub hold: bool,
}

/// What the request path and the runtime processes send the publisher.
#[derive(Debug)]
pub enum Record {
    Invocation(Box<Invoked>),
    /// A line a runtime process wrote, tagged with the request it was last given (`None`: before its first).
    Output {
        environment: Arc<Environment>,
        request_id: Option<String>,
        unix_ms: u64,
        line: String,
    },
}

/// Publishing failures, counted.
#[derive(Debug, Default)]
pub struct Failures {
    /// Records dropped because the channel was full.
    pub dropped: AtomicU64,
    /// `PutMetricData` calls that failed.
    pub metrics: AtomicU64,
    /// Log events that could not be put.
    pub log_events: AtomicU64,
}

/// The request path's handle on the publisher; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Record>,
    /// Per authorizer (configuration order): the function's name and its shared environment.
    functions: Arc<Vec<(Arc<str>, Arc<Environment>)>>,
    failures: Arc<Failures>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("functions", &self.functions.len())
            .field("failures", &self.failures)
            .finish()
    }
}

impl Publisher {
    /// Connects to CloudWatch and CloudWatch Logs at `url` (credentials from the standard chain) and starts
    /// the publisher task on `tasks`; it ends after `shutdown`, once it has flushed.
    pub async fn start(
        url: &str,
        region: &str,
        authorizers: &[AuthorizerSpec],
        shutdown: Shutdown,
        tasks: &mut tokio::task::JoinSet<()>,
    ) -> anyhow::Result<Self> {
        let settings = Settings {
            region: region.to_string(),
            endpoint_url: Some(url.to_string()),
        };
        let with = |e: anyhow::Error| e.context(format!("--cloudwatch-url {url}"));
        let metrics = crate::aws::CloudWatch::connect(&settings)
            .await
            .map_err(with)?;
        let logs = crate::aws::Logs::connect(&settings).await.map_err(with)?;
        let (tx, rx) = mpsc::channel(CHANNEL);
        let failures = Arc::new(Failures::default());
        let functions = authorizers
            .iter()
            .map(|a| {
                let name: Arc<str> = lines::function_name(a).into();
                let env = Environment::new(&name);
                (name, env)
            })
            .collect();
        tasks.spawn(task::run(
            rx,
            task::Sink::new(metrics, logs, failures.clone()),
            shutdown,
        ));
        Ok(Self {
            tx,
            functions: Arc::new(functions),
            failures,
        })
    }

    /// A fresh execution environment (a new runtime process) of authorizer `index`'s function.
    pub fn new_environment(&self, index: usize) -> Option<Arc<Environment>> {
        self.functions
            .get(index)
            .map(|(name, _)| Environment::new(name))
    }

    /// Hands one invocation to the publisher (never waits). `sent`: the event and the function's response, as
    /// `entry` holds them in text. `ran`: a runtime process's request id and environment; others get a fresh
    /// request id and their function's shared environment.
    pub fn invocation(
        &self,
        index: usize,
        entry: &LedgerEntry,
        sent: (&serde_json::Value, Option<&serde_json::Value>),
        backend: &Backend,
        ran: Option<Ran>,
    ) {
        let Some((_, shared_env)) = self.functions.get(index) else {
            return;
        };
        let outcome = if entry.throttled {
            Outcome::Throttled
        } else if entry.response.is_none() {
            Outcome::Error
        } else {
            Outcome::Ok
        };
        let (request_id, environment, hold) = match ran {
            Some(r) => (r.request_id, r.environment, true),
            None => (uuid::Uuid::new_v4().to_string(), shared_env.clone(), false),
        };
        let witness =
            matches!(backend, Backend::InProcess).then(|| (sent.0.clone(), sent.1.cloned()));
        self.send(Record::Invocation(Box::new(Invoked {
            environment,
            request_id,
            unix_ms: entry.unix_ms,
            duration_us: entry.duration_us,
            billed_ms: entry.billed_ms,
            memory_mb: entry.memory_mb,
            outcome,
            witness,
            hold,
        })));
    }

    /// Hands one line a runtime process wrote to the publisher (never waits).
    pub fn output(&self, environment: &Arc<Environment>, request_id: Option<String>, line: String) {
        self.send(Record::Output {
            environment: environment.clone(),
            request_id,
            unix_ms: now_ms(),
            line,
        });
    }

    fn send(&self, record: Record) {
        if self.tx.try_send(record).is_err()
            && self.failures.dropped.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!(
                "CloudWatch publisher: its queue is full (CloudWatch slower than the invocations); records are \
                 dropped and counted"
            );
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    #[cfg(not(feature = "aws"))]
    #[tokio::test]
    async fn without_the_aws_feature_the_flag_says_how_to_rebuild() {
        let mut tasks = tokio::task::JoinSet::new();
        let url = "http://127.0.0.1:1";
        let shutdown = crate::shutdown::Shutdown::new();
        let e = super::Publisher::start(url, "eu-west-1", &[], shutdown, &mut tasks)
            .await
            .unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("--cloudwatch-url http://127.0.0.1:1") && e.contains("--features aws"),
            "{e}"
        );
    }
}
