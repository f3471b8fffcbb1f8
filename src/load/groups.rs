//! One run's load over every device group at once: the HTTPS lanes ([`super::run`], open or closed model) for
//! the HTTPS group and the MQTT [`fleet`] for the MQTT/TLS, MQTT and WSS groups, side by side on the same
//! clock (one `t0`), deciding their attempts with one [`Planner`] and counting what they have done so far into the
//! shared counters ([`Progress`]) for whoever watches, their recorders merged, each having fed the run's one
//! per-second store (sealed once a second here).

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use super::fleet::{self, Fleet};
use super::link::LinkSpec;
use super::progress::Progress;
use super::username::{UsernameBook, UsernameShape};
use super::{Connector, LoadResult, RequestBook, lane};
use crate::attempt::{Catalogue, Planner};
use crate::contract::Transport;
use crate::metrics::{Recorder, SeriesStore};
use crate::scenario::Plan;
use crate::shutdown::Shutdown;

/// What the groups need.
pub struct Parts<'a> {
    pub plan: &'a Plan,
    pub run_id: &'a str,
    pub catalogue: &'a Catalogue,
    /// Replay-resistant tokens for every device (see [`crate::attempt::pool`]).
    pub pool: Option<Arc<crate::attempt::TokenPool>>,
    /// The HTTPS connector and prepared requests; `None` when no device uses HTTPS.
    pub https: Option<(Connector, RequestBook)>,
    /// One link per MQTT group with devices.
    pub links: Vec<(LinkSpec, Range<u32>)>,
    /// Between two CONNECTs of one MQTT client id (`[safety] client_id_gap_s` in force).
    pub client_id_gap: std::time::Duration,
    /// The engines' live counters (the live status, `/metrics` and the abort guards read them).
    pub counters: Arc<Progress>,
    /// The backoff after a throttle (`[safety] backoff`); `None`: off.
    pub backoff: Option<super::backoff::BackoffSpec>,
    /// Drops every MQTT session at the target (`[[mqtt.storms]]`); `None`: no storms.
    pub storm: Option<(super::storm::Trigger, crate::join::Windows)>,
    /// Set to the load's start on the wall clock as it starts (the ledger join counts per second from it).
    pub origin: crate::join::Origin,
    /// The run folder: the per-second series spills its sealed seconds there; `None`: kept in memory.
    pub spill_dir: Option<&'a std::path::Path>,
}

/// Runs every group until the deadline, the attempt bound (HTTPS) or `shutdown`; attempts still in flight
/// when `drain.0` fires (a bound on the drain after a stop, `drain.1` long) are abandoned as timeouts.
pub async fn run(parts: Parts<'_>, shutdown: Shutdown, drain: (Shutdown, Duration)) -> LoadResult {
    let plan = parts.plan;
    let t0 = tokio::time::Instant::now();
    let t0_unix_ms = crate::join::cloudwatch::unix_ms_now();
    parts.origin.set(t0_unix_ms);
    let series = Arc::new(SeriesStore::new(t0, t0_unix_ms));
    if let Some(dir) = parts.spill_dir
        && let Err(e) = series.spill_to(dir)
    {
        tracing::warn!(
            "cannot spill the per-second series to {}: kept in memory ({e})",
            dir.display()
        );
    }
    let sealer = seal_every_second(series.clone());
    let clock = (t0, t0 + plan.duration, t0 + plan.warmup);
    let planner = Arc::new(Planner::new(
        parts.run_id.to_string(),
        plan.seed,
        &plan.mix,
        parts.catalogue.clone(),
        parts.pool.clone(),
        plan.devices,
    ));
    let progress = parts.counters.clone();
    let https_load = async {
        let (connector, book) = parts.https?;
        let shared = lane::Shared {
            devices: plan.groups.count(Transport::Https),
            t0,
            deadline: clock.1,
            warmup_end: clock.2,
            request_timeout: plan.request_timeout,
            planner: planner.clone(),
            credentials_in: plan.http.credentials_in,
            book,
            connector,
            abandon: drain.0.clone(),
            drain: drain.1,
            backoff: parts.backoff.map(|b| (b, plan.seed)),
            series: series.clone(),
        };
        let spec = super::LoadSpec {
            model: plan.model,
            duration: plan.duration,
            max_attempts: plan.max_attempts,
            ramp: plan.ramps.https.clone(),
            shard: plan.shard(),
        };
        Some(super::run(spec, Arc::new(shared), shutdown.clone(), progress.clone()).await)
    };
    let mqtt_load = async {
        if parts.links.is_empty() {
            return None;
        }
        let mut fleet = Fleet::new(
            planner.clone(),
            clock,
            plan.request_timeout,
            username_book(plan, parts.catalogue),
            (plan.mqtt.clone(), parts.client_id_gap, &plan.ramps),
            parts.links,
            progress.clone(),
        );
        (fleet.abandon, fleet.drain) = drain.clone();
        fleet.backoff = parts.backoff.map(|b| (b, plan.seed));
        fleet.seed = plan.seed;
        fleet.storm_trigger = parts.storm.clone();
        if plan.shard.is_some() {
            fleet.set_shard(plan.shard(), parts.client_id_gap);
        }
        fleet.attach_series(&series);
        let rec = fleet::run(Arc::new(fleet), shutdown.clone()).await;
        Some((rec, t0.elapsed()))
    };
    let (https_result, mqtt_result) = tokio::join!(https_load, mqtt_load);
    sealer.abort();
    let mut result = https_result.unwrap_or(LoadResult {
        recorder: Recorder::new(),
        elapsed: Duration::ZERO,
        interrupted: false,
        series,
    });
    if let Some((rec, elapsed)) = mqtt_result {
        result.recorder.merge(&rec);
        result.elapsed = result.elapsed.max(elapsed);
    }
    result.interrupted |= shutdown.is_triggered();
    result
}

/// Seals the series' seconds older than the last two, once a second, on a blocking thread (off the request
/// path): only they stay open in memory ([`crate::metrics::series`]). Aborted when the load ends.
fn seal_every_second(series: Arc<SeriesStore>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let at = tick.tick().await;
            let before = series.second_of(at).saturating_sub(2);
            let s = series.clone();
            let _ = tokio::task::spawn_blocking(move || s.seal_before(before)).await;
        }
    })
}

/// The MQTT usernames and passwords of every catalogue credential.
pub fn username_book(plan: &Plan, catalogue: &Catalogue) -> UsernameBook {
    UsernameBook::build(
        UsernameShape {
            mode: plan.mqtt.username_mode,
            style: plan.mqtt.username_style,
            authorizer_name: plan
                .authorizer
                .send_name
                .then(|| plan.authorizer.name.clone()),
            token_key_name: plan.authorizer.token_key_name.clone(),
            username: plan.mqtt.username.clone(),
            password: plan.mqtt.password.clone(),
            inactive_authorizer: plan.inactive_authorizer.clone(),
        },
        catalogue,
    )
}
