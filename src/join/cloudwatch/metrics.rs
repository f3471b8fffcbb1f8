//! The count witness on a real account, needing no change to the function: `AWS/Lambda` `Invocations` `Sum`
//! (`Period = 60`) of the authorizer's function over the run's [`Window`], read with `GetMetricData`; with it
//! `Throttles` (throttled invocations are not in `Invocations`, so any makes the count inconclusive) and, for
//! the report only, `AWS/IoT` `Connect.*` / `PublishIn.*` by `Protocol`.

use crate::aws::{CloudWatch, MetricQuery, MetricSeries};
use crate::join::Pending;
use crate::scenario::aws::FunctionRef;

use super::{IotFigure, Reader, Window};

/// The witness's source name in the report and the evidence.
pub const SOURCE: &str = "cloudwatch-metrics";

const INVOCATIONS: &str = "invocations";
const THROTTLES: &str = "throttles";

/// The `AWS/IoT` figures the report shows: (metric, protocol).
const IOT: [(&str, &str); 6] = [
    ("Connect.AuthError", "MQTT"),
    ("Connect.Success", "MQTT"),
    ("PublishIn.AuthError", "MQTT"),
    ("PublishIn.Success", "MQTT"),
    ("PublishIn.AuthError", "HTTP"),
    ("PublishIn.Success", "HTTP"),
];

/// Every query of one read: the function's `Invocations` and `Throttles`, then the [`IOT`] figures.
pub fn queries(function: &FunctionRef) -> Vec<MetricQuery> {
    let lambda = |id: &str, metric: &str| MetricQuery {
        id: id.to_string(),
        namespace: "AWS/Lambda".into(),
        metric: metric.into(),
        dimensions: function.dimensions(),
        period_s: 60,
        stat: "Sum".into(),
    };
    let mut q = vec![
        lambda(INVOCATIONS, "Invocations"),
        lambda(THROTTLES, "Throttles"),
    ];
    q.extend(
        IOT.iter()
            .enumerate()
            .map(|(i, (metric, protocol))| MetricQuery {
                id: format!("iot{i}"),
                namespace: "AWS/IoT".into(),
                metric: (*metric).into(),
                dimensions: vec![("Protocol".into(), (*protocol).into())],
                period_s: 60,
                stat: "Sum".into(),
            }),
    );
    q
}

/// What one read said.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub invocations: u64,
    pub throttles: u64,
    pub iot: Vec<IotFigure>,
}

/// Sums each series over the window (a series without points sums to 0, or `null` for the IoT figures).
pub fn figures(series: &[MetricSeries]) -> Figures {
    let sum = |id: &str| {
        series
            .iter()
            .find(|s| s.id == id)
            .filter(|s| !s.points.is_empty())
            .map(|s| s.points.iter().map(|(_, v)| v).sum::<f64>())
    };
    // Counts are whole numbers; a sum of partial data points is too.
    let count = |id: &str| sum(id).map_or(0, |v| v.max(0.0).round() as u64);
    Figures {
        invocations: count(INVOCATIONS),
        throttles: count(THROTTLES),
        iot: IOT
            .iter()
            .enumerate()
            .map(|(i, (metric, protocol))| IotFigure {
                metric: (*metric).into(),
                protocol: (*protocol).into(),
                sum: sum(&format!("iot{i}")),
            })
            .collect(),
    }
}

/// Reads the function's metrics over the window; keeps the last read's figures.
pub struct MetricsReader {
    cloudwatch: CloudWatch,
    queries: Vec<MetricQuery>,
    window: Window,
    pub last: Option<Figures>,
}

impl MetricsReader {
    pub fn new(cloudwatch: CloudWatch, function: &FunctionRef, window: Window) -> Self {
        Self {
            cloudwatch,
            queries: queries(function),
            window,
            last: None,
        }
    }
}

impl Reader for MetricsReader {
    fn label(&self) -> &'static str {
        SOURCE
    }

    fn read(&mut self) -> Pending<'_, anyhow::Result<u64>> {
        Box::pin(async move {
            let series = self
                .cloudwatch
                .get_metric_data(
                    &self.queries,
                    self.window.start_unix_s,
                    self.window.end_unix_s,
                )
                .await?;
            let f = figures(&series);
            let n = f.invocations;
            self.last = Some(f);
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_is_read_by_its_resource_and_sums_cover_the_window() {
        let q = queries(&FunctionRef::parse("Auth:live").unwrap());
        assert_eq!(q.len(), 8);
        assert_eq!(
            (q[0].namespace.as_str(), q[0].metric.as_str()),
            ("AWS/Lambda", "Invocations")
        );
        assert_eq!(
            q[0].dimensions[1],
            ("Resource".to_string(), "Auth:live".to_string())
        );
        assert!(q.iter().all(|q| q.period_s == 60 && q.stat == "Sum"));
        assert!(
            q.iter()
                .all(|q| q.id.starts_with(|c: char| c.is_ascii_lowercase()))
        );
        let series = |id: &str, points: Vec<(i64, f64)>| MetricSeries {
            id: id.into(),
            points,
            complete: true,
        };
        let f = figures(&[
            series("invocations", vec![(0, 40.0), (60, 17.0)]),
            series("throttles", vec![]),
            series("iot0", vec![(0, 3.0)]),
        ]);
        assert_eq!((f.invocations, f.throttles), (57, 0));
        assert_eq!(f.iot[0].sum, Some(3.0));
        assert_eq!(f.iot[1].sum, None);
        assert_eq!(f.iot.len(), 6);
    }
}
