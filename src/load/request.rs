//! Pre-built HTTPS publish requests: for every credential set, class and placement (headers or query string),
//! the URI and header values are encoded once at setup. The request path clones cheap handles and adds the
//! attempt id.

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

use crate::attempt::forge::{
    MISNAMED_SIGNATURE, SIGNATURE_DOCS_CASE, UNKNOWN_AUTHORIZER, decoy_signature, second_token,
};
use crate::attempt::{Catalogue, Class, Credential, Wire};
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
    // A value an HTTP header cannot carry (the line breaks of `wrapped_64`), or a shape only a query string has
    // (a token meant to be split by a query parser, a raw `+`, a parameter name's case) rides in the query
    // string (the oracle's `Applies::Moved`).
    let placement = match placement {
        Placement::Headers
            if !header_safe(cred)
                || matches!(
                    cred.wire,
                    Wire::RawToken | Wire::RawPlus | Wire::SignatureNameCase
                ) =>
        {
            Placement::Query
        }
        p => p,
    };
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
    // (name, value) of every credential parameter after the authorizer name, in order.
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
        }
    }
    let uri = path.parse::<Uri>().map_err(|e| bad("uri", &e))?;
    Ok(Prepared { uri, headers, body })
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
            inactive_authorizer: "Off".into(),
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

    /// The emulator's gate, fed what each request carries (headers, and the query string parsed as the settings
    /// say), answers exactly what the oracle expects under every combination of the unconfirmed settings.
    #[test]
    fn every_variant_gets_the_oracles_verdict_from_the_gate_under_every_setting() {
        use crate::attempt::oracle::{self, Applies, GateVerdict};
        use crate::emulator::gate::{RequestCredentials, test_support};
        use crate::metrics::Transport;
        use crate::wire::query::parse_pairs_with;
        let (book, _) = book();
        for settings in test_support::all_settings() {
            for placement in [Placement::Headers, Placement::Query] {
                let valid = book.request(0, Class::Valid, 0, placement, "r-valid-0-0");
                let mut classes = vec![(Class::Valid, GateVerdict::Passes)];
                for f in Forgery::ALL {
                    let e = oracle::entry(f);
                    if !matches!(e.applies(Transport::Https), Applies::Skipped(_)) {
                        classes.push((Class::Forged(f), e.expected(&settings)));
                    }
                }
                for (c, want) in classes {
                    let req = book.request(0, c, 0, placement, "r-x-0-0");
                    let pairs =
                        parse_pairs_with(req.uri().query().unwrap_or(""), settings.query_plus);
                    let got = test_support::verdict(&RequestCredentials {
                        headers: req.headers(),
                        query: &pairs,
                        username: &[],
                        settings,
                    });
                    assert_eq!(got, want, "{c:?} {placement:?} {}", settings.describe());
                }
                assert!(valid.headers().get(ATTEMPT_ID).is_some());
            }
        }
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
        // Duplicates: two header lines, or two query parameters, in the order the variant says.
        let (_, h) = q(Forgery::DuplicatedToken, Placement::Headers);
        let tokens: Vec<_> = h.get_all("x-my-app-custom-key").iter().collect();
        assert_eq!(tokens, ["tok-a", "tok-a.dup"]);
        let (query, _) = q(Forgery::DuplicatedSignature, Placement::Query);
        assert_eq!(
            query.matches(&format!("{SIGNATURE}=")).count(),
            2,
            "{query}"
        );
        // A raw `+` and the docs' spelling of the name ride in the query string.
        let (query, h) = q(Forgery::RawPlus, Placement::Headers);
        assert!(h.get(SIGNATURE).is_none() && query.contains('+'), "{query}");
        let (query, _) = q(Forgery::SignatureNameCase, Placement::Headers);
        assert!(
            query.contains("&X-Amz-CustomAuthorizer-Signature="),
            "{query}"
        );
        let (query, _) = q(Forgery::SmuggledEquals, Placement::Query);
        assert!(query.contains("=tok-a=smuggled&"), "{query}");
        // In the body: neither headers nor query carry token or signature; the body does.
        let req = book.request(
            0,
            Class::Forged(Forgery::InBody),
            0,
            Placement::Headers,
            "x",
        );
        assert!(req.headers().get("x-my-app-custom-key").is_none());
        assert!(req.headers().get(SIGNATURE).is_none());
        assert_eq!(req.headers()[AUTHORIZER_NAME], "MyCustomAuthorizer");
        let (_, h) = q(Forgery::InactiveAuthorizer, Placement::Headers);
        assert_eq!(h[AUTHORIZER_NAME], "Off");
    }

    #[tokio::test]
    async fn the_in_body_variant_sends_the_form_encoded_credentials_as_its_body() {
        use http_body_util::BodyExt as _;
        let (book, cat) = book();
        let c = Class::Forged(Forgery::InBody);
        let req = book.request(0, c, 0, Placement::Query, "x");
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let pairs = parse_pairs(std::str::from_utf8(&body).unwrap());
        let cred = cat.credential(0, c, 0);
        assert_eq!(
            pairs,
            vec![
                ("X-My-App-custom-key".to_string(), cred.token.clone()),
                (SIGNATURE.to_string(), cred.signature.clone().unwrap())
            ]
        );
    }
}
