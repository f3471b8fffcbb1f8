//! `run --metrics-addr ADDR`: the generator's `GET /metrics` ([`super::exposition`]) on the address the user
//! gives (and only that one; port 0 picks a free port, the bound address is printed), served with the
//! emulator's own HTTP/1.1 connection handling ([`crate::emulator::server::serve_connection`]) until the run
//! ends: after the report is written (so a last scrape sees the final counts), or with `--linger` until
//! SIGINT/SIGTERM or the stop file.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::{Board, exposition};
use crate::emulator::reply;
use crate::emulator::server::{Limits, serve_connection};
use crate::metrics::prometheus::CONTENT_TYPE;
use crate::shutdown::Shutdown;

/// The generator's `/metrics` while the run goes.
pub struct Server {
    addr: SocketAddr,
    stop: Shutdown,
}

/// Starts serving `/metrics` from `board` on `addr`, if given, and says where on stderr; `Err` (a setup error)
/// when it cannot listen there.
pub async fn start(addr: Option<SocketAddr>, board: &Arc<Board>) -> anyhow::Result<Option<Server>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics-addr {addr}: cannot listen there"))?;
    let addr = listener.local_addr()?;
    eprintln!("metrics: http://{addr}/metrics");
    let stop = Shutdown::new();
    spawn(listener, board.clone(), stop.clone());
    Ok(Some(Server { addr, stop }))
}

impl Server {
    /// After the report: with `linger`, serves on until `until` fires (at once when it already has: a stopped
    /// run does not linger), then stops serving.
    pub async fn close(self, linger: bool, until: &Shutdown) {
        if linger && !until.is_triggered() {
            eprintln!(
                "serving http://{}/metrics until SIGINT/SIGTERM or the stop file (--linger)",
                self.addr
            );
            until.wait().await;
        }
        self.stop.trigger();
    }
}

/// Serves `/metrics` from `board` on `listener` until `shutdown`.
fn spawn(listener: TcpListener, board: Arc<Board>, shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let board = board.clone();
                        let service = service_fn(move |req: Request<Incoming>| {
                            let board = board.clone();
                            async move { Ok::<_, Infallible>(answer(&req, &board)) }
                        });
                        let io = TokioIo::new(stream);
                        connections.spawn(serve_connection(io, service, shutdown.clone(), Limits::default()));
                    }
                    Err(err) => {
                        tracing::warn!(%err, "metrics: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
            }
            while connections.try_join_next().is_some() {}
        }
        drop(listener);
        while connections.join_next().await.is_some() {}
    })
}

fn answer(
    req: &Request<Incoming>,
    board: &Board,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    if req.uri().path() != "/metrics" {
        return reply::not_found();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply::method_not_allowed("GET");
    }
    reply::with_type(
        StatusCode::OK,
        CONTENT_TYPE,
        exposition::render(&board.read()),
    )
}
