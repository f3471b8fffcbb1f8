//! The AWS clients (`tokenstorm::aws`) against moto, the local AWS API double: metrics put then read back as
//! per-period sums, log groups, streams, events and every page of `FilterLogEvents`, and the errors a user sees
//! for an unreachable endpoint, an AWS error and a denied request.

use tokenstorm::aws::{CloudWatch, Datum, Logs, MetricQuery, Settings};

use crate::support::moto::{self, Moto};

fn settings(url: &str) -> Settings {
    Settings {
        region: moto::REGION.into(),
        endpoint_url: Some(url.into()),
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn datum(function: &str, unix_s: i64, value: f64) -> Datum {
    Datum {
        metric: "Invocations".into(),
        dimensions: vec![("FunctionName".into(), function.into())],
        unix_s,
        value,
        unit: "Count",
    }
}

fn invocations(id: &str, function: &str) -> MetricQuery {
    MetricQuery {
        id: id.into(),
        namespace: "AWS/Lambda".into(),
        metric: "Invocations".into(),
        dimensions: vec![("FunctionName".into(), function.into())],
        period_s: 60,
        stat: "Sum".into(),
    }
}

#[tokio::test]
async fn metric_data_put_is_read_back_as_sums_per_period() {
    let moto = Moto::start();
    let cw = CloudWatch::connect(&settings(&moto.url())).await.unwrap();
    // Two whole minutes, ten minutes ago: partial sums within a minute add up, as the emulator relies on.
    let minute = (now_s() / 60 - 10) * 60;
    let data = [
        datum("f", minute + 1, 2.0),
        datum("f", minute + 30, 1.0),
        datum("f", minute + 61, 4.0),
        datum("g", minute + 5, 7.0),
    ];
    cw.put_metric_data("AWS/Lambda", &data).await.unwrap();
    let series = cw
        .get_metric_data(
            &[
                invocations("f", "f"),
                invocations("g", "g"),
                invocations("h", "h"),
            ],
            minute,
            minute + 120,
        )
        .await
        .unwrap();
    let points: Vec<_> = series
        .iter()
        .map(|s| (s.id.as_str(), s.points.clone()))
        .collect();
    assert_eq!(
        points,
        [
            ("f", vec![(minute, 3.0), (minute + 60, 4.0)]),
            ("g", vec![(minute, 7.0)]),
            ("h", vec![]),
        ],
        "{}",
        moto.log_text()
    );
    assert!(series.iter().all(|s| s.complete));
}

#[tokio::test]
async fn log_events_are_put_and_filtered_back_across_pages() {
    let moto = Moto::start();
    let logs = Logs::connect(&settings(&moto.url())).await.unwrap();
    let group = "/aws/lambda/f";
    let stream = "2026/12/03/[$LATEST]0123456789abcdef0123456789abcdef";
    for _ in 0..2 {
        logs.ensure_group(group).await.unwrap();
        logs.ensure_stream(group, stream).await.unwrap();
    }
    // More than moto's page (10,000 events), so both the put and the filter take two calls.
    let start_ms = (now_s() - 600) * 1000;
    let events: Vec<(i64, String)> = (0..10_050i64)
        .map(|i| {
            (
                start_ms + i,
                if i % 1000 == 7 {
                    format!("needle {i}")
                } else {
                    format!("line {i}")
                },
            )
        })
        .collect();
    logs.put_events(group, stream, &events).await.unwrap();
    let all = logs
        .filter(group, None, start_ms, start_ms + 20_000)
        .await
        .unwrap();
    assert_eq!(all.len(), events.len());
    assert_eq!(
        (all[0].unix_ms, all[0].message.as_str()),
        (start_ms, "line 0")
    );
    assert_eq!(all[10_049].message, "line 10049");
    assert!(all.iter().all(|e| e.stream == stream));
    let found = logs
        .filter(group, Some("needle"), start_ms, start_ms + 20_000)
        .await
        .unwrap();
    let found: Vec<_> = found.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(found.len(), 11, "{found:?}");
    assert!(found.iter().all(|m| m.starts_with("needle")));
}

#[tokio::test]
async fn an_unreachable_endpoint_says_so() {
    moto::set_fake_credentials();
    let port = moto::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let cw = CloudWatch::connect(&settings(&url)).await.unwrap();
    let e = cw
        .get_metric_data(&[invocations("f", "f")], 0, 60)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cannot reach CloudWatch at {url}: connection refused")
    );
    let logs = Logs::connect(&settings(&url)).await.unwrap();
    let e = format!(
        "{:#}",
        logs.filter("/aws/lambda/f", None, 0, 1).await.unwrap_err()
    );
    assert_eq!(
        e,
        format!("cannot reach CloudWatch Logs at {url}: connection refused")
    );
}

#[tokio::test]
async fn aws_errors_name_the_api_the_endpoint_and_the_code() {
    let moto = Moto::start();
    let logs = Logs::connect(&settings(&moto.url())).await.unwrap();
    let e = logs
        .put_events("/aws/lambda/missing", "s", &[(1, "x".into())])
        .await
        .unwrap_err()
        .to_string();
    let want = format!(
        "CloudWatch Logs PutLogEvents at {}: ResourceNotFoundException: ",
        moto.url()
    );
    assert!(e.starts_with(&want), "{e}");
}

#[tokio::test]
async fn a_denied_request_names_aws_code() {
    let moto = Moto::start_denying();
    let url = moto.url();
    let cw = CloudWatch::connect(&settings(&url)).await.unwrap();
    let e = cw
        .get_metric_data(&[invocations("f", "f")], 0, 60)
        .await
        .unwrap_err()
        .to_string();
    let want =
        format!("CloudWatch GetMetricData at {url}: InvalidClientTokenId: The security token");
    assert!(e.starts_with(&want), "{e}");
    let logs = Logs::connect(&settings(&url)).await.unwrap();
    let e = logs
        .filter("/aws/lambda/f", None, 0, 1)
        .await
        .unwrap_err()
        .to_string();
    let want = format!(
        "CloudWatch Logs FilterLogEvents at {url}: InvalidClientTokenId: The security token"
    );
    assert!(e.starts_with(&want), "{e}");
}
