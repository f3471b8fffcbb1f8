//! One preflight probe: planned as the load plans its attempts (the same planner, so its attempt id joins the
//! ledger), sent once through the load's own parts (the HTTPS request book and connector, or an MQTT link and
//! session), and checked against the witness.

use super::*;
use crate::attempt::planner::{Attempt, Credentials};
use crate::attempt::{Mix, Planner};

/// One probe of `class` over `t`: planned as the load plans it (its attempt id joins the ledger), sent once,
/// then the witness drained to see whether it invoked the function.
pub(super) async fn one(
    p: &Parts<'_>,
    witness: &mut Option<Box<dyn join::Witness>>,
    t: Transport,
    class: Class,
) -> anyhow::Result<Probe> {
    let plan = p.plan;
    let mut weights = [0.0; Class::COUNT];
    weights[class.index()] = 1.0;
    let mix = Mix::new(weights).map_err(|e| anyhow::anyhow!("preflight mix: {e:?}"))?;
    let planner = Planner::new(
        p.run_id.to_string(),
        plan.seed,
        &mix,
        p.catalogue.clone(),
        p.pool.clone(),
        plan.devices,
    );
    let range = plan.groups.range(t);
    // The forged probe comes from the group's second device where there is one: two CONNECTs of one client
    // id would have to wait client_id_gap_s between them.
    let device = if class == Class::Valid {
        range.start
    } else {
        (range.start + 1).min(range.end - 1)
    };
    let mut cursor = planner.cursor(device, t);
    let a = planner.next(&mut cursor);
    let mut id = String::new();
    planner.id_into(&a, &mut id);
    let before = witness.as_mut().map(|w| w.so_far().invocations);
    let sent = std::time::Instant::now();
    let (outcome, failure) = match t {
        Transport::Https => send_https(p, &a, &id).await?,
        _ => send_mqtt(p, t, &a, &id).await?,
    };
    let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
    let invoked = match (witness, before) {
        (Some(w), Some(b)) => {
            w.drain()
                .await
                .context("preflight: cannot read the ledger")?;
            Some(w.so_far().invocations > b)
        }
        _ => None,
    };
    Ok(Probe {
        transport: t.as_str(),
        class: class.label(),
        attempt_id: id,
        outcome,
        answer: answer(t, outcome, failure.as_deref()),
        latency_ms,
        invoked,
        problem: problem(class, outcome, invoked),
    })
}

/// One HTTPS publish on a fresh connection.
async fn send_https(
    p: &Parts<'_>,
    a: &Attempt<'_>,
    id: &str,
) -> anyhow::Result<(Outcome, Option<String>)> {
    let (connector, book) = p
        .https
        .as_ref()
        .context("no HTTPS endpoint for the HTTPS devices")?;
    let placement = match p.plan.http.credentials_in {
        crate::scenario::file::CredentialsIn::Query => load::request::Placement::Query,
        _ => load::request::Placement::Headers,
    };
    let req = match a.credentials {
        Credentials::Catalogue { set, replay_set } => {
            book.wire(set, a.class, replay_set, placement, id)
        }
        Credentials::Pooled(c) => book
            .wire_with(c, placement, id)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        Credentials::Exhausted => anyhow::bail!("no credential to send for {}", a.class.label()),
    };
    let (_, outcome, failure) =
        load::exchange::exchange(connector, None, None, req, p.plan.request_timeout).await;
    Ok((outcome, failure.map(|f| f.message)))
}

/// One MQTT CONNECT over `t`'s link; an accepted session is closed at once.
async fn send_mqtt(
    p: &Parts<'_>,
    t: Transport,
    a: &Attempt<'_>,
    id: &str,
) -> anyhow::Result<(Outcome, Option<String>)> {
    let (link, _) = p
        .links
        .iter()
        .find(|(l, _)| l.transport == t)
        .with_context(|| format!("no {} link for its devices", t.as_str()))?;
    let book = load::groups::username_book(p.plan, p.catalogue);
    let login = match a.credentials {
        Credentials::Catalogue { set, replay_set } => book.login(set, a.class, replay_set, id),
        Credentials::Pooled(c) => book.login_with(c, id),
        Credentials::Exhausted => anyhow::bail!("no credential to send for {}", a.class.label()),
    };
    let timeout = p.plan.request_timeout;
    let Ok(opened) = tokio::time::timeout(timeout, link.open()).await else {
        return Ok((
            Outcome::Timeout,
            Some(format!("no connection within {} ms", timeout.as_millis())),
        ));
    };
    let l = match opened.result {
        Ok(l) => l,
        Err(f) => return Ok((Outcome::TransportError, Some(f.message))),
    };
    let mqtt = &p.plan.mqtt;
    let mut s = load::session::Session::new(l, mqtt.version);
    let (outcome, failure) = s
        .connect(
            &mqtt.client_id(a.device),
            &login,
            mqtt.keep_alive_s,
            timeout,
        )
        .await;
    s.link.close().await;
    Ok((outcome, failure.map(|f| f.message)))
}
