//! The AWS clients in a build without the `aws` feature: the same API, and every `connect` fails saying how to
//! rebuild. The types hold an uninhabited field, so their methods can never run.

use std::convert::Infallible;

use super::{Datum, LogEvent, MetricQuery, MetricSeries, NOT_BUILT, Settings};

pub struct CloudWatch {
    never: Infallible,
}

impl CloudWatch {
    pub async fn connect(_: &Settings) -> anyhow::Result<Self> {
        anyhow::bail!(NOT_BUILT)
    }

    pub async fn put_metric_data(&self, _: &str, _: &[Datum]) -> anyhow::Result<()> {
        match self.never {}
    }

    pub async fn get_metric_data(
        &self,
        _: &[MetricQuery],
        _: i64,
        _: i64,
    ) -> anyhow::Result<Vec<MetricSeries>> {
        match self.never {}
    }
}

pub struct Logs {
    never: Infallible,
}

impl Logs {
    pub async fn connect(_: &Settings) -> anyhow::Result<Self> {
        anyhow::bail!(NOT_BUILT)
    }

    pub async fn ensure_group(&self, _: &str) -> anyhow::Result<()> {
        match self.never {}
    }

    pub async fn ensure_stream(&self, _: &str, _: &str) -> anyhow::Result<()> {
        match self.never {}
    }

    pub async fn put_events(&self, _: &str, _: &str, _: &[(i64, String)]) -> anyhow::Result<()> {
        match self.never {}
    }

    pub async fn filter(
        &self,
        _: &str,
        _: Option<&str>,
        _: i64,
        _: i64,
    ) -> anyhow::Result<Vec<LogEvent>> {
        match self.never {}
    }
}

pub struct Kms {
    never: Infallible,
}

impl Kms {
    pub async fn connect(_: &Settings) -> anyhow::Result<Self> {
        anyhow::bail!(NOT_BUILT)
    }

    pub async fn get_public_key(&self, _: &str) -> anyhow::Result<Vec<u8>> {
        match self.never {}
    }

    pub async fn sign(&self, _: &str, _: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self.never {}
    }
}

/// No AWS error codes without AWS support.
pub fn kms_error_code(_: &anyhow::Error) -> Option<&str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_connect_says_how_to_rebuild() {
        let s = Settings {
            region: "eu-west-1".into(),
            endpoint_url: None,
        };
        for e in [
            CloudWatch::connect(&s).await.err().unwrap(),
            Logs::connect(&s).await.err().unwrap(),
            Kms::connect(&s).await.err().unwrap(),
        ] {
            assert!(e.to_string().contains("--features aws"), "{e}");
        }
    }
}
