//! The Lambda Runtime API (spec §10), one listener per runtime process ("slot"), so the server always knows which
//! process asks: `GET /2018-06-01/runtime/invocation/next` blocks until the slot has a job and answers it with the
//! event and the `Lambda-Runtime-*` headers; `POST .../invocation/{id}/response` and `.../invocation/{id}/error`
//! (202) complete it; `POST .../runtime/init/error` (202) reports a function that cannot start.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use crate::emulator::cloudwatch::Environment;
use crate::shutdown::Shutdown;

/// Largest response or error body taken from a runtime (Lambda's synchronous payload limit, 6 MB).
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// How an invocation ended, from the runtime's side.
#[derive(Debug)]
pub enum Reply {
    /// `/response`: the function's answer, raw.
    Response(Bytes),
    /// `/error`: the function failed; its `errorType`.
    Error(String),
    /// The function could not start (`/runtime/init/error`, or the command failed).
    InitError(String),
    /// The process exited mid-invocation.
    Crashed(String),
}

/// A job given to a slot.
pub struct Job {
    pub id: String,
    pub event: Bytes,
    pub deadline_ms: u64,
    pub arn: String,
    pub reply: oneshot::Sender<(Reply, bool)>,
}

/// The job a runtime took and is working on.
struct InFlight {
    id: String,
    cold: bool,
    reply: oneshot::Sender<(Reply, bool)>,
}

/// One runtime process's mailbox and state.
pub struct Slot {
    pub addr: SocketAddr,
    pending: Mutex<Option<Job>>,
    in_flight: Mutex<Option<InFlight>>,
    job_ready: Notify,
    /// Jobs taken since the process was (re)started: 0 at the next job means a cold start.
    served: AtomicU64,
    /// Set by `/runtime/init/error` until the process is restarted.
    init_error: Mutex<Option<String>>,
    /// Asks the supervisor to kill and restart the process (after a timeout).
    pub recycle: Notify,
    /// Set once a process of this slot has been started at least once.
    pub started: AtomicBool,
    /// True once the supervisor has stopped for good (its process is gone).
    stopped: tokio::sync::watch::Sender<bool>,
    /// When the current process was started, until its first `/next` (its init time, a cold start's cost).
    spawned: Mutex<Option<std::time::Instant>>,
    /// Where init times are counted: the function's metrics and the authorizer's index.
    metrics: Option<(Arc<super::metrics::FunctionMetrics>, usize)>,
    /// The current process's execution environment (its log stream), when the emulator publishes to CloudWatch.
    environment: Mutex<Option<Arc<Environment>>>,
    /// The request id the current process was last given: what its output lines belong to.
    last_request: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slot {
    /// Gives the slot a job; the runtime picks it up at its next `GET .../next`.
    pub fn submit(&self, job: Job) {
        *lock(&self.pending) = Some(job);
        self.job_ready.notify_one();
    }

    /// Forgets the current job (after a timeout): a late answer is refused.
    pub fn abandon(&self) {
        lock(&self.pending).take();
        lock(&self.in_flight).take();
    }

    /// The current process's execution environment (`None` unless publishing to CloudWatch).
    pub fn environment(&self) -> Option<Arc<Environment>> {
        lock(&self.environment).clone()
    }

    /// A new process is a new execution environment.
    pub fn set_environment(&self, environment: Option<Arc<Environment>>) {
        *lock(&self.environment) = environment;
    }

    /// The request id the current process was last given (`None` before its first).
    pub fn last_request(&self) -> Option<String> {
        lock(&self.last_request).clone()
    }

    /// A new process was started.
    pub fn process_started(&self) {
        lock(&self.last_request).take();
        self.served.store(0, Ordering::SeqCst);
        lock(&self.init_error).take();
        self.started.store(true, Ordering::SeqCst);
        *lock(&self.spawned) = Some(std::time::Instant::now());
    }

    /// The process asked for work: the first time since it started, its init is over.
    fn ready(&self) {
        let Some(spawned) = lock(&self.spawned).take() else {
            return;
        };
        if let Some((metrics, index)) = &self.metrics {
            metrics.record_init(*index, spawned.elapsed());
        }
    }

    /// The process exited: fails the job it was working on, and with an init error also the waiting one.
    pub fn process_exited(&self, status: &str) {
        let init_error = lock(&self.init_error).clone();
        if let Some(job) = lock(&self.in_flight).take() {
            let reply = match &init_error {
                Some(m) => Reply::InitError(m.clone()),
                None => Reply::Crashed(format!("runtime process exited ({status})")),
            };
            let _ = job.reply.send((reply, job.cold));
        }
        if let Some(m) = init_error {
            self.fail_pending(m);
        }
    }

    /// The supervisor is done: no process will ask again.
    pub fn mark_stopped(&self) {
        self.stopped.send_replace(true);
    }

    async fn wait_stopped(&self) {
        let mut rx = self.stopped.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Fails the waiting job with an init error (the function cannot start).
    pub fn fail_pending(&self, message: String) {
        if let Some(job) = lock(&self.pending).take() {
            let _ = job.reply.send((Reply::InitError(message), true));
        }
    }

    /// Hands the waiting job to the runtime: what `/next` answers with.
    fn take_job(&self) -> Option<(String, Bytes, u64, String)> {
        let job = lock(&self.pending).take()?;
        let cold = self.served.fetch_add(1, Ordering::SeqCst) == 0;
        let Job {
            id,
            event,
            deadline_ms,
            arn,
            reply,
        } = job;
        *lock(&self.last_request) = Some(id.clone());
        *lock(&self.in_flight) = Some(InFlight {
            id: id.clone(),
            cold,
            reply,
        });
        Some((id, event, deadline_ms, arn))
    }

    fn finish(&self, id: &str, reply: Reply) -> bool {
        let mut in_flight = lock(&self.in_flight);
        if in_flight.as_ref().is_none_or(|j| j.id != id) {
            return false;
        }
        if let Some(job) = in_flight.take() {
            let _ = job.reply.send((reply, job.cold));
        }
        true
    }
}

impl Slot {
    fn new(
        addr: SocketAddr,
        metrics: Option<(Arc<super::metrics::FunctionMetrics>, usize)>,
    ) -> Self {
        Self {
            addr,
            pending: Mutex::new(None),
            in_flight: Mutex::new(None),
            job_ready: Notify::new(),
            served: AtomicU64::new(0),
            init_error: Mutex::new(None),
            recycle: Notify::new(),
            started: AtomicBool::new(false),
            stopped: tokio::sync::watch::Sender::new(false),
            spawned: Mutex::new(None),
            metrics,
            environment: Mutex::new(None),
            last_request: Mutex::new(None),
        }
    }
}

/// Binds a slot's Runtime API on 127.0.0.1 port 0 and serves it until `shutdown`.
pub async fn start_slot(
    metrics: Option<(Arc<super::metrics::FunctionMetrics>, usize)>,
    shutdown: Shutdown,
    tasks: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<Arc<Slot>> {
    use anyhow::Context as _;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen for the Lambda Runtime API on 127.0.0.1:0")?;
    let addr = listener
        .local_addr()
        .context("Lambda Runtime API listener: no local address")?;
    let slot = Arc::new(Slot::new(addr, metrics));
    tasks.spawn(serve(listener, slot.clone(), shutdown));
    Ok(slot)
}

async fn serve(listener: TcpListener, slot: Arc<Slot>, shutdown: Shutdown) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let slot = slot.clone();
        conns.spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper::service::service_fn(move |req| {
                let slot = slot.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &slot).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
    // Keep serving the processes' open `/next` calls until the supervisor has stopped them (SIGTERM first), so a
    // runtime does not see its Runtime API vanish and log a failure; bounded in case a process ignores SIGTERM.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), slot.wait_stopped()).await;
    conns.abort_all();
}

const PREFIX: &str = "/2018-06-01/runtime/";

fn status(code: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = code;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(req: Request<Incoming>, slot: &Slot) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return status(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown path"}"#);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method().clone(), parts.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(slot).await,
        (Method::POST, ["invocation", id, what @ ("response" | "error")]) => {
            let id = id.to_string();
            let is_error = *what == "error";
            let error_type = req
                .headers()
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let Some(body) = body(req).await else {
                return status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    r#"{"errorMessage":"payload over 6 MB","errorType":"RequestEntityTooLarge"}"#,
                );
            };
            let reply = if is_error {
                Reply::Error(error_type_of(&body, error_type))
            } else {
                Reply::Response(body)
            };
            if slot.finish(&id, reply) {
                status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
            } else {
                status(
                    StatusCode::BAD_REQUEST,
                    r#"{"errorMessage":"unknown or expired request id","errorType":"InvalidRequestID"}"#,
                )
            }
        }
        (Method::POST, ["init", "error"]) => {
            let error_type = req
                .headers()
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = body(req).await.unwrap_or_default();
            let message = init_message(&body, error_type);
            eprintln!("tokenstorm: authorizer function init error: {message}");
            *lock(&slot.init_error) = Some(message.clone());
            slot.fail_pending(message);
            status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => status(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"unknown Runtime API route"}"#,
        ),
    }
}

async fn body(req: Request<Incoming>) -> Option<Bytes> {
    Limited::new(req.into_body(), MAX_PAYLOAD)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

/// `errorType` from the error body (awslambdaric, lambda_runtime), else the header, else `Unknown`.
fn error_type_of(body: &[u8], header: Option<String>) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .or(header)
        .unwrap_or_else(|| "Unknown".to_string())
}

fn init_message(body: &[u8], header: Option<String>) -> String {
    let v = serde_json::from_slice::<serde_json::Value>(body).ok();
    let field = |k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k).and_then(|t| t.as_str()).map(str::to_string))
    };
    let kind = field("errorType")
        .or(header)
        .unwrap_or_else(|| "Unknown".into());
    let message: String = field("errorMessage")
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    format!("{kind}: {message}")
}

/// `GET .../invocation/next`: waits for the slot's job.
async fn next(slot: &Slot) -> Response<Full<Bytes>> {
    slot.ready();
    loop {
        if let Some((id, event, deadline_ms, arn)) = slot.take_job() {
            let mut r = Response::new(Full::new(event));
            let h = r.headers_mut();
            let trace = format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                deadline_ms / 1000,
                &uuid::Uuid::new_v4().simple().to_string()[..24],
                &uuid::Uuid::new_v4().simple().to_string()[..16]
            );
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                ("lambda-runtime-invoked-function-arn", arn),
                ("lambda-runtime-trace-id", trace),
                ("content-type", "application/json".to_string()),
            ] {
                if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
            return r;
        }
        slot.job_ready.notified().await;
    }
}
