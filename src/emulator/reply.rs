//! The JSON answers the data plane and the admin listener give (spec §6).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};

/// `{"message": ..., "traceId": "<uuid>"}` with the given status.
pub fn message(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body =
        serde_json::json!({ "message": message, "traceId": uuid::Uuid::new_v4().to_string() });
    json(status, body.to_string())
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
