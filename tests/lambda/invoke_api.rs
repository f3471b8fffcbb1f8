//! The Invoke API backend. `sam local start-lambda`, LocalStack and the Runtime Interface Emulator cannot run
//! here, so the function runs behind a small local STAND-IN server (a hyper server in this test) that answers
//! `POST /2015-03-31/functions/{name}/invocations` as the RIE does: 200 with the function's JSON, 200 with
//! `X-Amz-Function-Error: Unhandled` and the error body when it raised, 429 when throttled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::authorizer::{Backend, InvokeFunction};

use super::fixtures::{refs, seed_headers_for};
use crate::support::client::Conn;
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::keys::{SEED_AUTHORIZER, attacker_key, sign, signing_key};

/// Starts the stand-in; returns its address and its invocation counter.
async fn stand_in() -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let path_ok = req.uri().path()
                                == "/2015-03-31/functions/authorizer/invocations"
                                && req.method() == hyper::Method::POST;
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let event: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let mut r = hyper::Response::new(Full::new(Bytes::new()));
                            if !path_ok {
                                *r.status_mut() = hyper::StatusCode::NOT_FOUND;
                                return Ok::<_, std::convert::Infallible>(r);
                            }
                            counter.fetch_add(1, Ordering::SeqCst);
                            let answer = match event["token"].as_str() {
                                Some("allow") => {
                                    serde_json::json!({"isAuthenticated": true, "principalId": "dev1",
                                "disconnectAfterInSeconds": 86400, "refreshAfterInSeconds": 300,
                                "policyDocuments": ["{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"iot:Publish\",\"Effect\":\"Allow\",\"Resource\":\"*\"}]}"]})
                                }
                                Some("raise") => {
                                    r.headers_mut().insert(
                                        "x-amz-function-error",
                                        "Unhandled".parse().unwrap(),
                                    );
                                    serde_json::json!({"errorMessage": "boom", "errorType": "KeyError", "stackTrace": []})
                                }
                                Some("throttle") => {
                                    *r.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
                                    serde_json::json!({"Type": "User", "message": "Rate Exceeded."})
                                }
                                _ => serde_json::json!({"isAuthenticated": false}),
                            };
                            *r.body_mut() = Full::new(Bytes::from(answer.to_string()));
                            Ok(r)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, count)
}

#[tokio::test]
async fn invoke_api_backend_allows_denies_and_fails_closed() {
    let (addr, count) = stand_in().await;
    let mut auth = seed_authorizer(FunctionBehaviour::Deny);
    auth.function.backend = Backend::InvokeApi(InvokeFunction {
        url: format!("http://{addr}"),
        function_name: "authorizer".into(),
    });
    auth.function.memory_mb = 256;
    let emu = start(config(vec![auth], None)).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    for (token, status) in [
        ("allow", 200),
        ("deny", 403),
        ("raise", 403),
        ("throttle", 429),
    ] {
        let h = seed_headers_for(token, &sign(signing_key(), token));
        assert_eq!(
            conn.post("/topics/t", &refs(&h)).await.status,
            status,
            "{token}"
        );
    }
    let forged = seed_headers_for("allow", &sign(attacker_key(), "allow"));
    assert_eq!(conn.post("/topics/t", &refs(&forged)).await.status, 403);
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "the forged attempt never reached the function"
    );
    let ledger = emu.ledger().entries();
    let reasons: Vec<_> = ledger.iter().map(|e| e.deny_text()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("not_authenticated".to_string()),
            Some("function_error: KeyError".to_string()),
            Some("throttled".to_string())
        ]
    );
    assert!(
        ledger
            .iter()
            .all(|e| e.backend == "invoke_api" && e.memory_mb == 256)
    );
    assert_eq!(
        ledger.iter().map(|e| e.throttled).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    assert_eq!(
        emu.function_metrics()
            .results(SEED_AUTHORIZER, "function_error"),
        1
    );
    emu.stop().await;
}
