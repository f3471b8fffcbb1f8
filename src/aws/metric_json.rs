//! CloudWatch's JSON protocol (awsJson1_0) bodies, pure: the `PutMetricData` and `GetMetricData` requests, the
//! `GetMetricData` answer folded into [`MetricSeries`] across pages, and AWS's error body (`__type`, `message`).
//! Timestamps travel as epoch seconds, as the protocol has them.

#![cfg_attr(not(feature = "aws"), allow(dead_code))]

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Datum, MetricQuery, MetricSeries};

/// Data points per `PutMetricData` call (AWS's limit).
pub const PUT_BATCH: usize = 1000;
/// Queries per `GetMetricData` call (AWS's limit).
pub const QUERY_BATCH: usize = 500;

fn dimensions(dims: &[(String, String)]) -> Value {
    dims.iter()
        .map(|(name, value)| json!({"Name": name, "Value": value}))
        .collect()
}

/// The `PutMetricData` body for at most [`PUT_BATCH`] points.
pub fn put_request(namespace: &str, data: &[Datum]) -> Value {
    let data: Vec<Value> = data
        .iter()
        .map(|d| {
            json!({
                "MetricName": d.metric,
                "Dimensions": dimensions(&d.dimensions),
                "Timestamp": d.unix_s,
                "Value": d.value,
                "Unit": d.unit,
            })
        })
        .collect();
    json!({"Namespace": namespace, "MetricData": data})
}

/// The `GetMetricData` body for at most [`QUERY_BATCH`] queries, continuing at `next_token`.
pub fn get_request(
    queries: &[MetricQuery],
    start: i64,
    end: i64,
    next_token: Option<&str>,
) -> Value {
    let queries: Vec<Value> = queries
        .iter()
        .map(|q| {
            json!({
                "Id": q.id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": q.namespace,
                        "MetricName": q.metric,
                        "Dimensions": dimensions(&q.dimensions),
                    },
                    "Period": q.period_s,
                    "Stat": q.stat,
                },
                "ReturnData": true,
            })
        })
        .collect();
    let mut body = json!({
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    });
    if let Some(token) = next_token {
        body["NextToken"] = json!(token);
    }
    body
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    metric_data_results: Vec<Result>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Result {
    id: String,
    #[serde(default)]
    timestamps: Vec<f64>,
    #[serde(default)]
    values: Vec<f64>,
    status_code: Option<String>,
}

/// Folds one `GetMetricData` answer page into `series` (one per query, in query order); returns the next
/// page's token.
pub fn fold_answer(body: &[u8], series: &mut [MetricSeries]) -> anyhow::Result<Option<String>> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        anyhow::anyhow!(
            "unexpected answer ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
    })?;
    for result in answer.metric_data_results {
        let Some(s) = series.iter_mut().find(|s| s.id == result.id) else {
            anyhow::bail!(
                "unexpected answer: a result for the unknown query id {:?}",
                result.id
            );
        };
        if result.timestamps.len() != result.values.len() {
            anyhow::bail!(
                "unexpected answer: {} timestamps but {} values for {:?}",
                result.timestamps.len(),
                result.values.len(),
                result.id
            );
        }
        s.points.extend(
            result
                .timestamps
                .iter()
                .zip(&result.values)
                .map(|(t, v)| (*t as i64, *v)),
        );
        s.complete &= result.status_code.as_deref() == Some("Complete");
    }
    Ok(answer.next_token.filter(|t| !t.is_empty()))
}

/// Empty series for `queries`, ready for [`fold_answer`].
pub fn empty_series(queries: &[MetricQuery]) -> Vec<MetricSeries> {
    queries
        .iter()
        .map(|q| MetricSeries {
            id: q.id.clone(),
            points: Vec::new(),
            complete: true,
        })
        .collect()
}

/// AWS's error code and message from an error answer: `__type` (its part after `#`) or the
/// `x-amzn-ErrorType` header (before `:`), and `message` / `Message`; or, from the XML answers AWS's
/// authentication layer gives every protocol, `<Code>` and `<Message>`. Falls back to the HTTP status and body.
pub fn error_text(status: u16, error_type_header: Option<&str>, body: &[u8]) -> String {
    error_parts(status, error_type_header, body).1
}

/// [`error_text`] and the error code alone (for retry decisions).
pub fn error_parts(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> (Option<String>, String) {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = String::from_utf8_lossy(body);
    let code = parsed["__type"]
        .as_str()
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .or_else(|| error_type_header.map(|h| h.split(':').next().unwrap_or(h).to_string()))
        .or_else(|| xml_element(&text, "Code"));
    let message = parsed["message"]
        .as_str()
        .or_else(|| parsed["Message"].as_str())
        .map(str::to_string)
        .or_else(|| xml_element(&text, "Message"));
    let text = match (&code, message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => format!("{code} (HTTP {status})"),
        (None, _) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
            format!("HTTP {status}: {}", text.trim())
        }
    };
    (code, text)
}

/// The text of the first `<name>` element (CDATA unwrapped), if any.
fn xml_element(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    let inner = text[start..end].trim();
    let inner = inner
        .strip_prefix("<![CDATA[")
        .and_then(|i| i.strip_suffix("]]>"))
        .unwrap_or(inner);
    Some(inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: &str) -> MetricQuery {
        MetricQuery {
            id: id.into(),
            namespace: "AWS/Lambda".into(),
            metric: "Invocations".into(),
            dimensions: vec![("FunctionName".into(), "f".into())],
            period_s: 60,
            stat: "Sum".into(),
        }
    }

    #[test]
    fn requests_have_the_protocol_shape() {
        let put = put_request(
            "AWS/Lambda",
            &[Datum {
                metric: "Invocations".into(),
                dimensions: vec![("FunctionName".into(), "f".into())],
                unix_s: 1_796_288_400,
                value: 3.0,
                unit: "Count",
            }],
        );
        assert_eq!(
            put,
            json!({"Namespace": "AWS/Lambda", "MetricData": [{"MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Timestamp": 1_796_288_400,
                "Value": 3.0, "Unit": "Count"}]})
        );
        let get = get_request(&[query("m0")], 10, 70, Some("t"));
        assert_eq!(get["MetricDataQueries"][0]["MetricStat"]["Period"], 60);
        assert_eq!(
            get["MetricDataQueries"][0]["MetricStat"]["Metric"]["MetricName"],
            "Invocations"
        );
        assert_eq!(
            (get["StartTime"].as_i64(), get["EndTime"].as_i64()),
            (Some(10), Some(70))
        );
        assert_eq!(get["NextToken"], "t");
        assert!(get_request(&[], 0, 1, None).get("NextToken").is_none());
    }

    #[test]
    fn answers_fold_across_pages_and_keep_partial_status() {
        let queries = [query("a"), query("b")];
        let mut series = empty_series(&queries);
        let page1 = br#"{"MetricDataResults":[{"Id":"a","Label":"x","Timestamps":[60.0],"Values":[2.0],"StatusCode":"PartialData"},
            {"Id":"b","Timestamps":[],"Values":[],"StatusCode":"Complete"}],"NextToken":"n"}"#;
        assert_eq!(
            fold_answer(page1, &mut series).unwrap().as_deref(),
            Some("n")
        );
        let page2 = br#"{"MetricDataResults":[{"Id":"a","Timestamps":[120],"Values":[5],"StatusCode":"Complete"}]}"#;
        assert_eq!(fold_answer(page2, &mut series).unwrap(), None);
        assert_eq!(series[0].points, [(60, 2.0), (120, 5.0)]);
        assert!(!series[0].complete);
        assert!(series[1].points.is_empty() && series[1].complete);
        let e = fold_answer(br#"{"MetricDataResults":[{"Id":"zz"}]}"#, &mut series).unwrap_err();
        assert!(e.to_string().contains("zz"), "{e}");
        let e = fold_answer(b"<html>", &mut series).unwrap_err();
        assert!(e.to_string().contains("<html>"), "{e}");
    }

    #[test]
    fn error_text_names_the_code_and_message() {
        let body = br#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"}"#;
        assert_eq!(error_text(400, None, body), "AccessDeniedException: no");
        let body = br#"{"Message":"bad"}"#;
        assert_eq!(
            error_text(400, Some("InvalidParameterValue:http://x"), body),
            "InvalidParameterValue: bad"
        );
        assert_eq!(error_text(503, None, b" down "), "HTTP 503: down");
        let body = b"<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>\n<Message><![CDATA[The token is invalid.]]></Message></Error></Errors></ErrorResponse>";
        assert_eq!(
            error_text(403, None, body),
            "InvalidClientTokenId: The token is invalid."
        );
    }
}
