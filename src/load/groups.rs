//! One run's load over every device group at once: the HTTPS lanes ([`super::run`], open or closed model) for
//! the HTTPS group and the MQTT [`fleet`] for the MQTT/TLS, MQTT and WSS groups, side by side on the same
//! clock, their recorders merged.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::fleet::{self, Fleet};
use super::link::LinkSpec;
use super::username::{UsernameBook, UsernameShape};
use super::{Connector, LoadResult, RequestBook, lane};
use crate::attempt::Catalogue;
use crate::contract::Transport;
use crate::metrics::Recorder;
use crate::scenario::Plan;
use crate::shutdown::Shutdown;

/// What the groups need.
pub struct Parts<'a> {
    pub plan: &'a Plan,
    pub run_id: &'a str,
    pub catalogue: &'a Catalogue,
    /// Replay-resistant tokens for HTTPS devices (see [`crate::attempt::pool`]).
    pub pool: Option<std::sync::Arc<crate::attempt::TokenPool>>,
    /// The HTTPS connector and prepared requests; `None` when no device uses HTTPS.
    pub https: Option<(Connector, RequestBook)>,
    /// One link per MQTT group with devices.
    pub links: Vec<(LinkSpec, Range<u32>)>,
    /// Progress lines on stderr once per second.
    pub progress: bool,
}

/// Runs every group until the deadline, the attempt bound (HTTPS) or `shutdown`.
pub async fn run(parts: Parts<'_>, shutdown: Shutdown) -> LoadResult {
    let spec = super::LoadSpec {
        model: parts.plan.model,
        duration: parts.plan.duration,
        max_attempts: parts.plan.max_attempts,
        warmup: parts.plan.warmup,
        progress: parts.progress,
    };
    let t0 = tokio::time::Instant::now();
    let https_devices = parts.plan.groups.count(Transport::Https);
    let https_load = async {
        let (connector, book) = parts.https?;
        Some(
            super::run(
                spec,
                |t0, deadline, warmup_end| lane::Shared {
                    run_id: parts.run_id.to_string(),
                    seed: parts.plan.seed,
                    devices: https_devices,
                    t0,
                    deadline,
                    warmup_end,
                    request_timeout: parts.plan.request_timeout,
                    // Without the variants the oracle skips on HTTPS (the plan refuses a mix left empty).
                    mix: parts
                        .plan
                        .mix
                        .for_transport(Transport::Https)
                        .unwrap_or_else(|_| parts.plan.mix.clone()),
                    credentials_in: parts.plan.http.credentials_in,
                    book,
                    catalogue: parts.catalogue.clone(),
                    pool: parts.pool.clone(),
                    connector,
                },
                shutdown.clone(),
            )
            .await,
        )
    };
    let mqtt_load = async {
        if parts.links.is_empty() {
            return None;
        }
        let fleet = Arc::new(
            Fleet::new(
                parts.run_id.to_string(),
                parts.plan.seed,
                (t0, t0 + parts.plan.duration, t0 + parts.plan.warmup),
                parts.plan.request_timeout,
                parts.plan.mix.clone(),
                parts.catalogue.clone(),
                UsernameBook::build(
                    UsernameShape {
                        mode: parts.plan.mqtt.username_mode,
                        authorizer_name: parts
                            .plan
                            .authorizer
                            .send_name
                            .then(|| parts.plan.authorizer.name.clone()),
                        token_key_name: parts.plan.authorizer.token_key_name.clone(),
                        username: parts.plan.mqtt.username.clone(),
                        password: parts.plan.mqtt.password.clone(),
                        inactive_authorizer: parts.plan.inactive_authorizer.clone(),
                    },
                    parts.catalogue,
                ),
                parts.plan.mqtt.clone(),
                parts.plan.devices,
                parts.links,
            )
            .with_pool(parts.pool.clone()),
        );
        let ticker = parts.progress.then(|| {
            let fleet = fleet.clone();
            tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
                loop {
                    let at = tick.tick().await;
                    eprintln!(
                        "  {:>5.0}s  mqtt: {:>9} connects answered, {:>7} connected",
                        (at - t0).as_secs_f64(),
                        fleet.connects.load(Ordering::Relaxed),
                        fleet.connected.load(Ordering::Relaxed)
                    );
                }
            })
        });
        let rec = fleet::run(fleet, shutdown.clone()).await;
        if let Some(t) = ticker {
            t.abort();
        }
        Some((rec, t0.elapsed()))
    };
    let (https_result, mqtt_result) = tokio::join!(https_load, mqtt_load);
    let mut result = https_result.unwrap_or(LoadResult {
        recorder: Recorder::new(),
        elapsed: Duration::ZERO,
        interrupted: false,
    });
    if let Some((rec, elapsed)) = mqtt_result {
        result.recorder.merge(&rec);
        result.elapsed = result.elapsed.max(elapsed);
    }
    result.interrupted |= shutdown.is_triggered();
    result
}
