//! The JSON answers the data plane and the admin listener give (spec §6).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};

/// `{"message": ..., "traceId": "<uuid>"}` with the given status. Written directly (every refusal at the gate
/// answers this, so no map of values is built per request); the trace id, a version 4 UUID, comes from rand's
/// thread-local generator, not a system call per answer.
pub fn message(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut body = String::with_capacity(40 + message.len() + 36);
    body.push_str("{\"message\":");
    // A &str always serializes.
    body.push_str(&serde_json::to_string(message).unwrap_or_else(|_| "\"\"".into()));
    body.push_str(",\"traceId\":\"");
    let trace = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    body.push_str(
        trace
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    body.push_str("\"}");
    json(status, body)
}

/// 200 `{"message":"OK","traceId":...}`.
pub fn ok() -> Response<Full<Bytes>> {
    message(StatusCode::OK, "OK")
}

/// 403 `{"message":"Forbidden","traceId":...}`: every refusal looks the same to the client.
pub fn forbidden() -> Response<Full<Bytes>> {
    message(StatusCode::FORBIDDEN, "Forbidden")
}

pub fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    with_type(status, "application/json", body)
}

pub fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// 405 with an `Allow` header.
pub fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut response = message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

pub fn not_found() -> Response<Full<Bytes>> {
    message(StatusCode::NOT_FOUND, "Not Found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn body(r: Response<Full<Bytes>>) -> Bytes {
        r.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn the_message_body_is_the_json_it_always_was() {
        for text in ["Forbidden", "OK", "say \"hi\"\n"] {
            let r = message(StatusCode::FORBIDDEN, text);
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            let body = body(r).await;
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["message"], text);
            let id = v["traceId"].as_str().unwrap();
            assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
            assert_eq!(v.as_object().unwrap().len(), 2);
            // The keys in the order serde_json's map writes them.
            let expected = serde_json::json!({"message": text, "traceId": id}).to_string();
            assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
        }
        let (a, b) = (body(ok()).await, body(ok()).await);
        assert_ne!(a, b, "every answer has its own trace id");
    }
}
