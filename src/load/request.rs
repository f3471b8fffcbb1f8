//! Pre-built HTTPS publish requests: for every credential set, class and placement (headers or query string),
//! the URI and header values are encoded once at setup, and so are the request's bytes on the wire up to the
//! attempt id ([`Prepared::wire`]). The request path copies them into one buffer with the attempt id, the
//! `content-length` and the body ([`RequestBook::wire`]): what the generator's HTTP/1.1 client writes
//! ([`super::http1`]). The same request as an `http::Request` ([`RequestBook::request`]) is what the tests judge
//! by the gate; a test holds the two to the same bytes.

use bytes::Bytes;
use hyper::Uri;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
#[cfg(test)]
use hyper::{Method, Request};

use crate::attempt::forge::{
    BARE_SIGNATURE, MISNAMED_SIGNATURE, SIGNATURE_DOCS_CASE, UNKNOWN_AUTHORIZER, decoy_signature,
    second_token,
};
use crate::attempt::{Catalogue, Credential, Wire};
use crate::contract::Class;
use crate::wire::http::{ATTEMPT_ID, AUTHORIZER_NAME, SIGNATURE, publish_target};
use crate::wire::query::{encode_component, raw_plus_value, raw_query_value};

/// Where the credentials ride.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Headers = 0,
    Query = 1,
}

/// What every request shares.
#[derive(Debug, Clone)]
pub struct RequestShape {
    pub host: String,
    pub topic: String,
    pub qos: u8,
    pub authorizer_name: Option<String>,
    pub token_key_name: String,
    pub payload: Bytes,
    /// The target's INACTIVE authorizer (`forged.inactive_authorizer`).
    pub inactive_authorizer: String,
}

/// One prepared request (without the attempt id).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub uri: Uri,
    /// Header lines in order; a name may repeat (`forged.duplicated_*`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Instead of the payload (`forged.in_body`: the credentials, form-encoded).
    pub body: Option<Bytes>,
    /// `POST <uri> HTTP/1.1` and the header lines, each ending in CRLF: the wire up to the attempt id.
    pub wire: Bytes,
}

/// Every prepared request: `[set][class][placement]`. Replays use another set's valid request.
#[derive(Debug)]
pub struct RequestBook {
    prepared: Vec<Vec<[Prepared; 2]>>,
    /// For credentials prepared per attempt (replay-resistant tokens).
    shape: RequestShape,
    payload: Bytes,
    attempt_header: HeaderName,
}

/// Why a request could not be prepared (bad characters in configured names or tokens).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP request: {0}")]
pub struct PrepareError(String);

impl RequestBook {
    pub fn build(shape: &RequestShape, catalogue: &Catalogue) -> Result<Self, PrepareError> {
        let mut prepared = Vec::with_capacity(catalogue.sets().len());
        for set in catalogue.sets() {
            let mut per_class = Vec::with_capacity(Class::COUNT);
            // Only what this process holds (a shard's sets of other devices are empty or valid-only).
            for class in set.classes() {
                let cred = set.get(class);
                per_class.push([
                    prepare(shape, cred, Placement::Headers)?,
                    prepare(shape, cred, Placement::Query)?,
                ]);
            }
            prepared.push(per_class);
        }
        Ok(Self {
            prepared,
            shape: shape.clone(),
            payload: shape.payload.clone(),
            attempt_header: HeaderName::from_static(ATTEMPT_ID),
        })
    }

    /// A book with no catalogue, for credentials given one at a time ([`Self::request_with`]: calibration's
    /// probes).
    pub fn single(shape: &RequestShape) -> Self {
        Self {
            prepared: Vec::new(),
            shape: shape.clone(),
            payload: shape.payload.clone(),
            attempt_header: HeaderName::from_static(ATTEMPT_ID),
        }
    }

    /// The request for one attempt. For a replay, `replay_set` is the set whose valid pair is reused.
    #[cfg(test)]
    pub fn request(
        &self,
        set: usize,
        class: Class,
        replay_set: usize,
        placement: Placement,
        attempt_id: &str,
    ) -> Request<http_body_util::Full<Bytes>> {
        self.assemble(self.prepared(set, class, replay_set, placement), attempt_id)
    }

    /// The request for one attempt as the bytes on the wire (see [`Self::request`]).
    pub fn wire(
        &self,
        set: usize,
        class: Class,
        replay_set: usize,
        placement: Placement,
        attempt_id: &str,
    ) -> Vec<u8> {
        self.serialize(self.prepared(set, class, replay_set, placement), attempt_id)
    }

    /// The prepared request of (`set`, `class`, `placement`); a replay's is `replay_set`'s valid one.
    pub fn prepared(
        &self,
        set: usize,
        class: Class,
        replay_set: usize,
        placement: Placement,
    ) -> &Prepared {
        match class {
            Class::Replayed => &self.prepared[replay_set][Class::Valid.index()][placement as usize],
            c => &self.prepared[set][c.index()][placement as usize],
        }
    }

    /// The request for a credential not in the catalogue (a pre-signed replay-resistant token): encoded here,
    /// which is string work only (no signing).
    #[cfg(test)]
    pub fn request_with(
        &self,
        cred: &Credential,
        placement: Placement,
        attempt_id: &str,
    ) -> Result<Request<http_body_util::Full<Bytes>>, PrepareError> {
        let p = prepare(&self.shape, cred, placement)?;
        Ok(self.assemble(&p, attempt_id))
    }

    /// [`Self::request_with`] as the bytes on the wire.
    pub fn wire_with(
        &self,
        cred: &Credential,
        placement: Placement,
        attempt_id: &str,
    ) -> Result<Vec<u8>, PrepareError> {
        let p = prepare(&self.shape, cred, placement)?;
        Ok(self.serialize(&p, attempt_id))
    }

    /// The prepared head, the attempt id (left out when it is no header value, as [`Self::assemble`] does), the
    /// body's length and the body: what hyper wrote for [`Self::assemble`]'s request.
    fn serialize(&self, p: &Prepared, attempt_id: &str) -> Vec<u8> {
        let body = p.body.as_ref().unwrap_or(&self.payload);
        let mut out = Vec::with_capacity(p.wire.len() + attempt_id.len() + body.len() + 64);
        out.extend_from_slice(&p.wire);
        if HeaderValue::from_str(attempt_id).is_ok() {
            out.extend_from_slice(self.attempt_header.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(attempt_id.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        out
    }

    #[cfg(test)]
    fn assemble(&self, p: &Prepared, attempt_id: &str) -> Request<http_body_util::Full<Bytes>> {
        let body = p.body.clone().unwrap_or_else(|| self.payload.clone());
        let mut req = Request::new(http_body_util::Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = p.uri.clone();
        let h = req.headers_mut();
        h.reserve(p.headers.len() + 1);
        for (k, v) in &p.headers {
            h.append(k.clone(), v.clone());
        }
        if let Ok(v) = HeaderValue::from_str(attempt_id) {
            h.insert(self.attempt_header.clone(), v);
        }
        req
    }
}

fn prepare(
    shape: &RequestShape,
    cred: &Credential,
    placement: Placement,
) -> Result<Prepared, PrepareError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| PrepareError(format!("{what}: {e}"));
    let mut path = publish_target(&shape.topic, shape.qos);
    let mut headers = vec![
        (
            HOST,
            HeaderValue::from_str(&shape.host).map_err(|e| bad("host", &e))?,
        ),
        (
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
    ];
    let placement = effective_placement(cred, placement);
    let authorizer_name = match cred.wire {
        Wire::UnknownAuthorizer => Some(UNKNOWN_AUTHORIZER),
        Wire::InactiveAuthorizer => Some(shape.inactive_authorizer.as_str()),
        _ => shape.authorizer_name.as_deref(),
    };
    let signature_name = match cred.wire {
        Wire::SignatureMisnamed => MISNAMED_SIGNATURE,
        Wire::SignatureNameCase => SIGNATURE_DOCS_CASE,
        _ => SIGNATURE,
    };
    let mut params = credential_params(shape, cred, signature_name);
    let mut body = None;
    if cred.wire == Wire::InBody {
        let form: Vec<String> = params
            .drain(..)
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(&v)))
            .collect();
        body = Some(Bytes::from(form.join("&")));
    }
    match placement {
        Placement::Headers => {
            if let Some(n) = authorizer_name {
                headers.push((
                    HeaderName::from_static(AUTHORIZER_NAME),
                    HeaderValue::from_str(n).map_err(|e| bad("authorizer name", &e))?,
                ));
            }
            for (k, v) in &params {
                headers.push((
                    HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad("header name", &e))?,
                    HeaderValue::from_str(v).map_err(|e| bad("header value", &e))?,
                ));
            }
        }
        Placement::Query => {
            if cred.wire == Wire::BareSignatureBefore {
                path.push_str(&format!("&{BARE_SIGNATURE}"));
            }
            if let Some(n) = authorizer_name {
                path.push_str(&format!("&{AUTHORIZER_NAME}={}", encode_component(n)));
            }
            for (k, v) in &params {
                let value = match cred.wire {
                    Wire::RawToken if *v == cred.token => raw_query_value(v),
                    Wire::RawPlus if *k == signature_name => raw_plus_value(v),
                    _ => encode_component(v),
                };
                path.push_str(&format!("&{}={value}", encode_component(k)));
            }
            if cred.wire == Wire::BareSignatureAfter {
                path.push_str(&format!("&{BARE_SIGNATURE}"));
            }
        }
    }
    let uri = path.parse::<Uri>().map_err(|e| bad("uri", &e))?;
    let wire = head_bytes(&uri, &headers);
    Ok(Prepared {
        uri,
        headers,
        body,
        wire,
    })
}

/// `POST <uri> HTTP/1.1` and the header lines (names lowercase, as hyper writes them), each ending in CRLF.
fn head_bytes(uri: &Uri, headers: &[(HeaderName, HeaderValue)]) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(uri.to_string().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (k, v) in headers {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    Bytes::from(out)
}

/// Where the credentials actually ride. A value an HTTP header cannot carry (the line breaks of `wrapped_64`), or a
/// shape only a query string has (a token meant to be split by a query parser, a raw `+`, a parameter name's
/// case, a bare parameter with an empty name) rides in the query string (the oracle's `Applies::Moved`).
fn effective_placement(cred: &Credential, placement: Placement) -> Placement {
    match placement {
        Placement::Headers
            if !header_safe(cred)
                || matches!(
                    cred.wire,
                    Wire::RawToken
                        | Wire::RawPlus
                        | Wire::SignatureNameCase
                        | Wire::BareSignatureBefore
                        | Wire::BareSignatureAfter
                ) =>
        {
            Placement::Query
        }
        p => p,
    }
}

/// (name, value) of every credential parameter after the authorizer name, in order: the token (twice for a
/// duplicated token), then the signature (after a decoy for a duplicated signature).
fn credential_params<'a>(
    shape: &'a RequestShape,
    cred: &Credential,
    signature_name: &'a str,
) -> Vec<(&'a str, String)> {
    let mut params: Vec<(&str, String)> = Vec::with_capacity(4);
    if cred.wire != Wire::NoToken {
        params.push((&shape.token_key_name, cred.token.clone()));
    }
    if cred.wire == Wire::DuplicateToken {
        params.push((&shape.token_key_name, second_token(&cred.token)));
    }
    if let Some(sig) = &cred.signature {
        if cred.wire == Wire::DuplicateSignature {
            params.push((signature_name, decoy_signature(sig)));
        }
        params.push((signature_name, sig.clone()));
    }
    params
}

/// Whether the token and signature are valid header values.
fn header_safe(cred: &Credential) -> bool {
    HeaderValue::from_str(&cred.token).is_ok()
        && cred
            .signature
            .as_deref()
            .is_none_or(|s| HeaderValue::from_str(s).is_ok())
}

#[cfg(test)]
pub(crate) mod tests;
