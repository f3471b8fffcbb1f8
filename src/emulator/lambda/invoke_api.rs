//! The Lambda Invoke API client: `POST {url}/2015-03-31/functions/{name}/invocations` with the event as the
//! body, as `sam local start-lambda`, LocalStack and the Runtime Interface Emulator serve it. 200 carries the
//! function's answer (with `X-Amz-Function-Error` when the function failed); 429 is a throttle; anything else
//! is an invocation failure. Every failure denies (fail closed); the whole call is bounded by the 5 s timeout.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use serde_json::Value;

use super::runtime_api::MAX_PAYLOAD;
use crate::contract::authorizer::InvokeFunction;
use crate::contract::limits::AUTHORIZER_TIMEOUT;
use crate::emulator::function::InvokeError;

/// Invokes the function once (one connection per call): its answer, or why there is none.
pub async fn invoke(f: &InvokeFunction, event: &Value) -> Result<Value, InvokeError> {
    match tokio::time::timeout(AUTHORIZER_TIMEOUT, call(f, event)).await {
        Ok(r) => r,
        Err(_) => Err(InvokeError::Timeout),
    }
}

async fn call(f: &InvokeFunction, event: &Value) -> Result<Value, InvokeError> {
    let unreachable = |what: &str, e: &dyn std::fmt::Display| {
        InvokeError::Unreachable(format!("{what} {}: {e}", f.url))
    };
    let origin =
        crate::contract::url::http_origin(&f.url).map_err(|e| unreachable("bad URL", &e))?;
    let host = origin.authority.as_str();
    let stream = tokio::net::TcpStream::connect(origin.addr())
        .await
        .map_err(|e| unreachable("cannot connect to", &e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| unreachable("HTTP handshake with", &e))?;
    let driver = tokio::spawn(conn);
    let body = serde_json::to_vec(event).unwrap_or_default();
    let request = hyper::Request::post(format!(
        "/2015-03-31/functions/{}/invocations",
        f.function_name
    ))
    .header(hyper::header::HOST, host)
    .header(hyper::header::CONTENT_TYPE, "application/json")
    .header("x-amz-invocation-type", "RequestResponse")
    .body(Full::new(Bytes::from(body)))
    .map_err(|e| unreachable("cannot build the request for", &e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable("request to", &e))?;
    let status = response.status();
    let function_error = response
        .headers()
        .get("x-amz-function-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = Limited::new(response.into_body(), MAX_PAYLOAD)
        .collect()
        .await
        .map_err(|e| unreachable("reading the answer of", &e))?
        .to_bytes();
    driver.abort();
    if status.as_u16() == 429 {
        return Err(InvokeError::Throttled);
    }
    if !status.is_success() {
        return Err(InvokeError::Unreachable(format!(
            "{} answered HTTP {}",
            f.url,
            status.as_u16()
        )));
    }
    if let Some(kind) = function_error {
        let error_type = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or(kind);
        return Err(InvokeError::FunctionError { error_type });
    }
    serde_json::from_slice(&bytes).map_err(|_| InvokeError::NotJson)
}
