//! CloudWatch metrics over the JSON protocol (`application/x-amz-json-1.0`, `X-Amz-Target:
//! GraniteServiceVersion20100801.<Op>`) through the hand-signed [`JsonApi`] (service `monitoring`). The official
//! CloudWatch crate is not used: it speaks RPC-v2 CBOR, which the local double (moto) does not serve.

use super::json_api::{Api, JsonApi};
use super::metric_json::{self, PUT_BATCH, QUERY_BATCH};
use super::{Datum, MetricQuery, MetricSeries, Settings};

const API: Api = Api {
    name: "CloudWatch",
    service: "monitoring",
    content_type: "application/x-amz-json-1.0",
    target_prefix: "GraniteServiceVersion20100801",
};

/// A CloudWatch client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct CloudWatch {
    api: JsonApi,
}

impl CloudWatch {
    /// Reads the configuration and credentials (so a missing credential fails here, not at the first call).
    pub async fn connect(s: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            api: JsonApi::connect(API, s).await?,
        })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        self.api.url()
    }

    /// Puts `data` under `namespace`, in batches of AWS's limit.
    pub async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> anyhow::Result<()> {
        for batch in data.chunks(PUT_BATCH) {
            let body = metric_json::put_request(namespace, batch);
            self.api.call("PutMetricData", &body).await?;
        }
        Ok(())
    }

    /// Reads every query's statistic per period over `[start, end)` (unix seconds), all pages.
    pub async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start_unix_s: i64,
        end_unix_s: i64,
    ) -> anyhow::Result<Vec<MetricSeries>> {
        let mut all = Vec::with_capacity(queries.len());
        for batch in queries.chunks(QUERY_BATCH) {
            let mut series = metric_json::empty_series(batch);
            let mut token: Option<String> = None;
            loop {
                let body =
                    metric_json::get_request(batch, start_unix_s, end_unix_s, token.as_deref());
                let answer = self.api.call("GetMetricData", &body).await?;
                token = metric_json::fold_answer(&answer, &mut series).map_err(|e| {
                    anyhow::anyhow!("{} GetMetricData at {}: {e}", API.name, self.url())
                })?;
                if token.is_none() {
                    break;
                }
            }
            all.extend(series);
        }
        Ok(all)
    }
}
