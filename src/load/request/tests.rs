use super::*;
use crate::attempt::test_keys;
use crate::contract::Forgery;
use crate::wire::query::parse_pairs;

/// The two-device book the generator's tests (and the gate explanation's) send from.
pub(crate) fn book() -> (RequestBook, Catalogue) {
    let cat = test_keys::two_device_catalogue();
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
fn regression_a_wrapped_signature_in_a_header_rides_in_the_query_instead_of_failing_the_build() {
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
    use crate::contract::Transport;
    use crate::emulator::gate::{RequestCredentials, test_support};
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
                let pairs = parse_pairs_with(req.uri().query().unwrap_or(""), &settings);
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

/// What hyper's HTTP/1.1 client writes for `req`, read off the other end of an in-memory pipe.
async fn hyper_bytes(req: Request<http_body_util::Full<Bytes>>) -> Vec<u8> {
    use tokio::io::AsyncReadExt as _;
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(client))
            .await
            .unwrap();
    tokio::spawn(conn);
    tokio::spawn(async move {
        let _ = sender.send_request(req).await;
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = server.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head)) = parsed.parse(&got) {
            let len: usize = parsed
                .headers
                .iter()
                .find(|h| h.name == "content-length")
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            if got.len() >= head + len {
                return got;
            }
        }
    }
}

/// The generator's wire bytes are exactly what hyper wrote for the same request, for every class and variant
/// the book holds, in both placements, and for a credential prepared per attempt: the tests above, which judge
/// `request`, judge what is sent.
#[tokio::test]
async fn the_wire_bytes_are_what_hyper_writes_for_the_same_request() {
    let (book, cat) = book();
    let mut checked = 0;
    for class in cat.sets()[0].classes() {
        for placement in [Placement::Headers, Placement::Query] {
            let id = "r-x-0-0";
            let wire = book.wire(0, class, 1, placement, id);
            let hyper = hyper_bytes(book.request(0, class, 1, placement, id)).await;
            assert_eq!(
                String::from_utf8_lossy(&wire),
                String::from_utf8_lossy(&hyper),
                "{class:?} {placement:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
    let cred = cat.credential(1, Class::Valid, 0);
    let wire = book
        .wire_with(cred, Placement::Query, "r-valid-1-0")
        .unwrap();
    let hyper = hyper_bytes(
        book.request_with(cred, Placement::Query, "r-valid-1-0")
            .unwrap(),
    )
    .await;
    assert_eq!(wire, hyper);
}
