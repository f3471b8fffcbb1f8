//! The pure pieces on the request path, one operation per iteration (criterion's elem/s is ops/s on one core):
//!
//! - `plan`: the planner's next attempt for a device (its class drawn from the mix, its credential set) and the
//!   attempt id formatted into a reused buffer; what every generator attempt starts with.
//! - `request`: the HTTPS request's bytes for an attempt (the prepared head, the attempt id, the body).
//! - `record`: one attempt's end in the recorder (counters, latency and service-time histograms).
//! - `policy`: evaluating `iot:Publish` on a topic against the seed article's policy documents.
//! - `event`: the authorizer's HTTP event (`token`, `protocolData.http.headers`, `queryString`, ...).
//!
//! `scripts/bench --crypto` runs it beside the token benchmarks (`benches/token.rs`).

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokenstorm::attempt::{Catalogue, Mix, Planner, SetSpec};
use tokenstorm::contract::{Class, Forgery, Transport};
use tokenstorm::emulator::event::{HttpEventInput, http_event};
use tokenstorm::emulator::policy::{Variables, evaluate, topic_arn};
use tokenstorm::load::request::Placement;
use tokenstorm::load::{RequestBook, RequestShape};
use tokenstorm::metrics::{Outcome, Recorder};
use tokenstorm::token::PrivateKey;

const DEVICES: u32 = 50;

fn catalogue() -> Catalogue {
    let key = PrivateKey::generate(2048).expect("a benchmark key");
    let attacker = PrivateKey::generate(2048).expect("an attacker key");
    let specs = vec![SetSpec {
        token: "MyStringThatNeedsToBeSigned".into(),
        key_index: 0,
    }];
    Catalogue::build(&specs, vec![0; DEVICES as usize], &[&key], &attacker, 7)
        .expect("the catalogue")
}

/// 80 % valid, 15 % forged (every variant alike), 5 % replayed, as the quickstart mixes them.
fn mix() -> Mix {
    let mut w = [0.0; Class::COUNT];
    w[Class::Valid.index()] = 0.80;
    w[Class::Replayed.index()] = 0.05;
    for f in Forgery::ALL {
        w[Class::Forged(f).index()] = 0.15 / Forgery::COUNT as f64;
    }
    Mix::new(w).expect("the mix")
}

fn shape() -> RequestShape {
    RequestShape {
        host: "example-ats.iot.eu-west-1.amazonaws.com".into(),
        topic: "customAuhtTestTopic".into(),
        qos: 1,
        authorizer_name: Some("MyCustomAuthorizer".into()),
        token_key_name: "X-My-App-custom-key".into(),
        payload: Bytes::from_static(b"Hello, world"),
        inactive_authorizer: "Off".into(),
    }
}

fn hot(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot");
    g.throughput(Throughput::Elements(1))
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let catalogue = catalogue();
    let book = RequestBook::build(&shape(), &catalogue).expect("the request book");
    let planner = Planner::new("bench".into(), 7, &mix(), catalogue, None, DEVICES);
    let mut cursors: Vec<_> = (0..DEVICES)
        .map(|d| planner.cursor(d, Transport::Https))
        .collect();
    let mut id = String::with_capacity(64);
    let mut d = 0;
    g.bench_function("plan", |b| {
        b.iter(|| {
            d = (d + 1) % DEVICES as usize;
            let a = planner.next(&mut cursors[d]);
            planner.id_into(&a, &mut id);
            black_box((a.class, id.len()))
        })
    });

    let classes: Vec<Class> = [Class::Valid, Class::Replayed]
        .into_iter()
        .chain(Forgery::ALL.map(Class::Forged))
        .collect();
    let mut i = 0;
    g.bench_function("request", |b| {
        b.iter(|| {
            i = (i + 1) % classes.len();
            let wire = book.wire(0, classes[i], 0, Placement::Headers, "bench-valid-12-345");
            black_box(wire.len())
        })
    });

    let mut rec = Recorder::new();
    let now = tokio::time::Instant::now();
    let mut us = 0u64;
    g.bench_function("record", |b| {
        b.iter(|| {
            us = (us + 7919) % 200_000;
            rec.start(Transport::Https, Class::Valid);
            rec.end_at(
                now,
                (Transport::Https, Class::Valid, Outcome::Allowed),
                (us + 100, us),
                true,
            );
        })
    });
    black_box(&rec);

    let documents = vec![serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "iot:Connect", "Effect": "Allow", "Resource": "*"},
            {"Action": "iot:Publish", "Effect": "Allow",
             "Resource": "arn:aws:iot:eu-west-1:123456789012:topic/customAuhtTestTopic"},
            {"Action": ["iot:Subscribe", "iot:Receive"], "Effect": "Allow",
             "Resource": "arn:aws:iot:eu-west-1:123456789012:topicfilter/tokenstorm/${iot:ClientId}"}
        ]
    })];
    let resource = topic_arn("eu-west-1", "123456789012", "customAuhtTestTopic");
    let vars = Variables { client_id: None };
    g.bench_function("policy", |b| {
        b.iter(|| black_box(evaluate(&documents, "iot:Publish", &resource, &vars)))
    });

    let mut headers = http::HeaderMap::new();
    for (k, v) in [
        ("host", "example-ats.iot.eu-west-1.amazonaws.com"),
        ("content-type", "application/octet-stream"),
        ("x-amz-customauthorizer-name", "MyCustomAuthorizer"),
        ("x-my-app-custom-key", "MyStringThatNeedsToBeSigned"),
        (
            "x-amz-customauthorizer-signature",
            "c2lnbmF0dXJlIG9mIHRoZSB0b2tlbg==",
        ),
        ("x-tokenstorm-attempt", "bench-valid-12-345"),
        ("content-length", "12"),
    ] {
        headers.insert(
            http::HeaderName::from_static(k),
            http::HeaderValue::from_static(v),
        );
    }
    g.bench_function("event", |b| {
        b.iter(|| {
            black_box(http_event(&HttpEventInput {
                token: Some("MyStringThatNeedsToBeSigned"),
                signature_verified: true,
                tls: true,
                server_name: Some("example-ats.iot.eu-west-1.amazonaws.com"),
                headers: &headers,
                query: Some("qos=1"),
                connection_id: "c-1",
            }))
        })
    });
    g.finish();
}

criterion_group!(benches, hot);
criterion_main!(benches);
