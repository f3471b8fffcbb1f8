//! Pre-built HTTPS publish requests: for every credential set, class and placement (headers or query string),
//! the URI and header values are encoded once at setup. The request path clones cheap handles and adds the
//! attempt id.

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

use crate::attempt::forge::{MISNAMED_SIGNATURE, UNKNOWN_AUTHORIZER};
use crate::attempt::{Catalogue, Class, Credential, Wire};
use crate::wire::http::{ATTEMPT_ID, AUTHORIZER_NAME, SIGNATURE, publish_target};
use crate::wire::query::{encode_component, raw_query_value};

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
}

/// One prepared request (without the attempt id).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub uri: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
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
            for class in Class::ALL {
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

    /// The request for one attempt. For a replay, `replay_set` is the set whose valid pair is reused.
    pub fn request(
        &self,
        set: usize,
        class: Class,
        replay_set: usize,
        placement: Placement,
        attempt_id: &str,
    ) -> Request<http_body_util::Full<Bytes>> {
        let p = match class {
            Class::Replayed => &self.prepared[replay_set][Class::Valid.index()][placement as usize],
            c => &self.prepared[set][c.index()][placement as usize],
        };
        self.assemble(p, attempt_id)
    }

    /// The request for a credential not in the catalogue (a pre-signed replay-resistant token): encoded here,
    /// which is string work only (no signing).
    pub fn request_with(
        &self,
        cred: &Credential,
        placement: Placement,
        attempt_id: &str,
    ) -> Result<Request<http_body_util::Full<Bytes>>, PrepareError> {
        let p = prepare(&self.shape, cred, placement)?;
        Ok(self.assemble(&p, attempt_id))
    }

    fn assemble(&self, p: &Prepared, attempt_id: &str) -> Request<http_body_util::Full<Bytes>> {
        let mut req = Request::new(http_body_util::Full::new(self.payload.clone()));
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
    // A value an HTTP header cannot carry (the line breaks of `wrapped_64`) or a token meant to be split by a
    // query parser (`smuggled_ampersand`) rides in the query string (the oracle's `Applies::Moved`).
    let placement = match placement {
        Placement::Headers if !header_safe(cred) || cred.wire == Wire::RawToken => Placement::Query,
        p => p,
    };
    let authorizer_name = match cred.wire {
        Wire::UnknownAuthorizer => Some(UNKNOWN_AUTHORIZER),
        _ => shape.authorizer_name.as_deref(),
    };
    let signature_name = match cred.wire {
        Wire::SignatureMisnamed => MISNAMED_SIGNATURE,
        _ => SIGNATURE,
    };
    let send_token = cred.wire != Wire::NoToken;
    let token_name = HeaderName::from_bytes(shape.token_key_name.as_bytes())
        .map_err(|e| bad("token key name", &e))?;
    match placement {
        Placement::Headers => {
            if let Some(n) = authorizer_name {
                headers.push((
                    HeaderName::from_static(AUTHORIZER_NAME),
                    HeaderValue::from_str(n).map_err(|e| bad("authorizer name", &e))?,
                ));
            }
            if send_token {
                headers.push((
                    token_name,
                    HeaderValue::from_str(&cred.token).map_err(|e| bad("token", &e))?,
                ));
            }
            if let Some(sig) = &cred.signature {
                headers.push((
                    HeaderName::from_static(signature_name),
                    HeaderValue::from_str(sig).map_err(|e| bad("signature", &e))?,
                ));
            }
        }
        Placement::Query => {
            if let Some(n) = authorizer_name {
                path.push_str(&format!("&{AUTHORIZER_NAME}={}", encode_component(n)));
            }
            if send_token {
                let token = match cred.wire {
                    Wire::RawToken => raw_query_value(&cred.token),
                    _ => encode_component(&cred.token),
                };
                path.push_str(&format!(
                    "&{}={token}",
                    encode_component(&shape.token_key_name),
                ));
            }
            if let Some(sig) = &cred.signature {
                path.push_str(&format!("&{signature_name}={}", encode_component(sig)));
            }
        }
    }
    let uri = path.parse::<Uri>().map_err(|e| bad("uri", &e))?;
    Ok(Prepared { uri, headers })
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
mod tests {
    use super::*;
    use crate::attempt::{Forgery, SetSpec, test_keys};
    use crate::wire::query::parse_pairs;

    fn book() -> (RequestBook, Catalogue) {
        let keys = vec![test_keys::signing()];
        let specs = vec![
            SetSpec {
                token: "tok-a".into(),
                key_index: 0,
            },
            SetSpec {
                token: "tok-b".into(),
                key_index: 0,
            },
        ];
        let cat = Catalogue::build(&specs, vec![0, 1], &keys, test_keys::attacker(), 3);
        let shape = RequestShape {
            host: "example-ats.iot.eu-west-1.amazonaws.com".into(),
            topic: "a b/c".into(),
            qos: 1,
            authorizer_name: Some("MyCustomAuthorizer".into()),
            token_key_name: "X-My-App-custom-key".into(),
            payload: Bytes::from_static(b"hi"),
        };
        (RequestBook::build(&shape, &cat).unwrap(), cat)
    }

    #[test]
    fn headers_carry_the_credentials_and_the_attempt_id() {
        let (book, cat) = book();
        let req = book.request(0, Class::Valid, 0, Placement::Headers, "r-valid-0-0");
        assert_eq!(req.uri().path(), "/topics/a%20b%2Fc");
        let h = req.headers();
        assert_eq!(h["x-my-app-custom-key"], "tok-a");
        assert_eq!(
            h[SIGNATURE],
            cat.credential(0, Class::Valid, 0)
                .signature
                .clone()
                .unwrap()
                .as_str()
        );
        assert_eq!(h[AUTHORIZER_NAME], "MyCustomAuthorizer");
        assert_eq!(h[ATTEMPT_ID], "r-valid-0-0");
        let missing = book.request(
            0,
            Class::Forged(Forgery::MissingSignature),
            0,
            Placement::Headers,
            "x",
        );
        assert!(missing.headers().get(SIGNATURE).is_none());
    }

    #[test]
    fn query_values_are_percent_encoded_and_replays_reuse_another_set() {
        let (book, cat) = book();
        let req = book.request(0, Class::Replayed, 1, Placement::Query, "r-replayed-0-1");
        let q = req.uri().query().unwrap();
        assert!(
            !q.contains('+') && !q[q.find("signature=").unwrap()..].contains('/'),
            "{q}"
        );
        let pairs = parse_pairs(q);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("qos").as_deref(), Some("1"));
        assert_eq!(get("X-My-App-custom-key").as_deref(), Some("tok-b"));
        assert_eq!(
            get(SIGNATURE),
            cat.credential(1, Class::Valid, 1).signature.clone()
        );
        assert!(req.headers().get(SIGNATURE).is_none());
    }

    #[test]
    fn regression_a_wrapped_signature_in_a_header_rides_in_the_query_instead_of_failing_the_build()
    {
        // A line break cannot be a header value: building the book used to fail for `wrapped_64`.
        let (book, cat) = book();
        let f = Class::Forged(Forgery::Wrapped64);
        let req = book.request(0, f, 0, Placement::Headers, "r-x-0-0");
        assert!(req.headers().get(SIGNATURE).is_none());
        let pairs = parse_pairs(req.uri().query().unwrap());
        let sig = &pairs.iter().find(|(k, _)| k == SIGNATURE).unwrap().1;
        assert_eq!(Some(sig), cat.credential(0, f, 0).signature.as_ref());
        assert!(sig.contains('\n'));
    }

    #[test]
    fn placement_forgeries_are_put_where_they_say() {
        let (book, _) = book();
        let q = |f, p| {
            let req = book.request(0, Class::Forged(f), 0, p, "r-x-0-0");
            (
                req.uri().query().unwrap_or("").to_string(),
                req.headers().clone(),
            )
        };
        let (query, _) = q(Forgery::SmuggledAmpersand, Placement::Headers);
        assert!(query.contains("=tok-a&smuggled=1&"), "{query}");
        let (_, h) = q(Forgery::UnknownAuthorizer, Placement::Headers);
        assert_eq!(
            h[AUTHORIZER_NAME],
            crate::attempt::forge::UNKNOWN_AUTHORIZER
        );
        let (_, h) = q(Forgery::SignatureMisnamed, Placement::Headers);
        assert!(h.get(SIGNATURE).is_none());
        assert!(h.get(crate::attempt::forge::MISNAMED_SIGNATURE).is_some());
        let (query, h) = q(Forgery::MissingToken, Placement::Query);
        assert!(
            !query.contains("tok-a") && h.get("x-my-app-custom-key").is_none(),
            "{query}"
        );
    }
}
