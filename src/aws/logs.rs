//! CloudWatch Logs through the official SDK (`aws-sdk-cloudwatchlogs`, AWS JSON 1.1, which the local double
//! serves too): log groups and streams made on demand, events put in batches within AWS's limits, and
//! `FilterLogEvents` read to the last page.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use super::{LogEvent, Settings, failure, metric_json, sdk};

const API: &str = "CloudWatch Logs";
/// AWS's limits on one `PutLogEvents` call: events, bytes (each event counts its message plus 26), time span.
const MAX_EVENTS: usize = 10_000;
const MAX_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const MAX_SPAN_MS: i64 = 24 * 3600 * 1000 - 1;
/// The longest message AWS keeps (longer ones are cut, on a character boundary).
const MAX_MESSAGE: usize = 256 * 1024 - EVENT_OVERHEAD;

/// A CloudWatch Logs client; cheap to clone.
#[derive(Clone)]
pub struct Logs {
    client: Client,
    url: String,
}

impl Logs {
    /// Reads the configuration and checks that the chain has credentials.
    pub async fn connect(s: &Settings) -> anyhow::Result<Self> {
        let config = sdk::load(s).await;
        sdk::credentials(&config, API).await?;
        Ok(Self {
            client: Client::new(&config),
            url: s.url_for("logs"),
        })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates the log group unless it exists.
    pub async fn ensure_group(&self, group: &str) -> anyhow::Result<()> {
        match self
            .client
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.error("CreateLogGroup", e)),
        }
    }

    /// Creates the log stream unless it exists (the group must exist).
    pub async fn ensure_stream(&self, group: &str, stream: &str) -> anyhow::Result<()> {
        let call = self
            .client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream);
        match call.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.error("CreateLogStream", e)),
        }
    }

    /// Puts `events` (unix ms, message) to an existing stream, oldest first, in as many calls as AWS's limits
    /// need.
    pub async fn put_events(
        &self,
        group: &str,
        stream: &str,
        events: &[(i64, String)],
    ) -> anyhow::Result<()> {
        let mut sorted: Vec<&(i64, String)> = events.iter().collect();
        sorted.sort_by_key(|(t, _)| *t);
        for batch in batches(&sorted) {
            let input: Vec<InputLogEvent> = batch
                .iter()
                .map(|(t, m)| {
                    InputLogEvent::builder()
                        .timestamp(*t)
                        .message(truncate(m))
                        .build()
                })
                .collect::<Result<_, _>>()?;
            self.client
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(input))
                .send()
                .await
                .map_err(|e| self.error("PutLogEvents", e))?;
        }
        Ok(())
    }

    /// Every event of `group` in `[start, end]` (unix ms) matching `pattern` (CloudWatch filter syntax; `None`:
    /// all), every page.
    pub async fn filter(
        &self,
        group: &str,
        pattern: Option<&str>,
        start_unix_ms: i64,
        end_unix_ms: i64,
    ) -> anyhow::Result<Vec<LogEvent>> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .filter_log_events()
                .log_group_name(group)
                .set_filter_pattern(pattern.map(str::to_string))
                .start_time(start_unix_ms)
                .end_time(end_unix_ms)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("FilterLogEvents", e))?;
            events.extend(page.events().iter().map(|e| LogEvent {
                unix_ms: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_string(),
                stream: e.log_stream_name().unwrap_or_default().to_string(),
            }));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(events),
            }
        }
    }

    fn error<E>(&self, op: &str, e: SdkError<E, HttpResponse>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                failure::unreachable(API, &self.url, &e)
            }
            SdkError::ServiceError(s) => {
                let err = s.err();
                let text = match err.code() {
                    Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
                    // An answer the SDK could not parse (an XML one from an authentication layer, say).
                    None => metric_json::error_text(
                        s.raw().status().as_u16(),
                        None,
                        s.raw().body().bytes().unwrap_or_default(),
                    ),
                };
                anyhow::anyhow!("{API} {op} at {}: {text}", self.url)
            }
            _ => anyhow::anyhow!("{API} {op} at {}: {}", self.url, failure::chain(&e)),
        }
    }
}

/// Splits time-ordered events into `PutLogEvents` calls within AWS's count, size and span limits.
fn batches<'a>(sorted: &[&'a (i64, String)]) -> Vec<Vec<&'a (i64, String)>> {
    let mut out: Vec<Vec<&(i64, String)>> = Vec::new();
    let mut bytes = 0;
    for event in sorted {
        let size = truncate(&event.1).len() + EVENT_OVERHEAD;
        let fits = out.last().is_some_and(|b| {
            b.len() < MAX_EVENTS && bytes + size <= MAX_BYTES && event.0 - b[0].0 <= MAX_SPAN_MS
        });
        if !fits {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = out.last_mut() {
            batch.push(event);
        }
    }
    out
}

/// The message cut to AWS's maximum, on a character boundary.
fn truncate(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_size_and_span() {
        let many: Vec<(i64, String)> = (0..25_000).map(|i| (i, "x".into())).collect();
        let refs: Vec<&(i64, String)> = many.iter().collect();
        let sizes: Vec<usize> = batches(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_000]);

        let big: Vec<(i64, String)> = (0..10).map(|i| (i, "y".repeat(200_000))).collect();
        let refs: Vec<&(i64, String)> = big.iter().collect();
        let sizes: Vec<usize> = batches(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [5, 5]);

        let day = [
            (0, "a".to_string()),
            (MAX_SPAN_MS, "b".into()),
            (MAX_SPAN_MS + 1, "c".into()),
        ];
        let refs: Vec<&(i64, String)> = day.iter().collect();
        let sizes: Vec<usize> = batches(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_MESSAGE && cut.len() >= MAX_MESSAGE - 1);
        assert_eq!(truncate("short"), "short");
    }
}
