//! The in-process replay-resistant authorizer function (`mode = "replay_resistant"`): the checks of
//! `scenarios/lambdas/replay_resistant_python/lambda_function.py`, rule for rule, so a scenario can deny reused
//! and expired tokens with only the Rust toolchain. Tokens are `v1.<device>.<unix_s>.<nonce>`
//! (`scenarios/lambdas/README.md`); the checks, in the Python function's order:
//!
//! - `unsigned`: `signatureVerified` is not `true`;
//! - `malformed`: not the `v1` format;
//! - `refresh` (allowed): the `(device, nonce)` pair was first used by this same MQTT connection
//!   (`connectionMetadata.id`, `protocols` containing `mqtt`): AWS re-invokes the function on refresh;
//! - `replayed`: the pair was already used (by another connection, or by any HTTPS publish);
//! - `expired`: `now - unix_s > max_token_age_s`;
//! - `future`: `unix_s - now > max_clock_skew_s`;
//! - `fresh` (allowed): the pair is remembered, bound to the connection.
//!
//! Allowed tokens get principal `<device>` and the configured policies (the `allow` mode's fields). Nonces are
//! remembered per authorizer (per started emulator) and forgotten, like the Python function's, once their issue
//! time is older than `max(max_token_age_s, max_session_s)`; at most `nonce_capacity` are kept, the oldest
//! remembered first forgotten when full (a replay of a forgotten nonce is then only stopped by the age check).
//! The rule is the function's own reason, given to the ledger as `not_authenticated: <rule>` on a deny.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};

use crate::contract::authorizer::ReplayRules;

/// Why the function allowed or denied (the Python function's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unsigned,
    Malformed,
    Refresh,
    Replayed,
    Expired,
    Future,
    Fresh,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::Malformed => "malformed",
            Self::Refresh => "refresh",
            Self::Replayed => "replayed",
            Self::Expired => "expired",
            Self::Future => "future",
            Self::Fresh => "fresh",
        }
    }

    pub fn allows(self) -> bool {
        matches!(self, Self::Refresh | Self::Fresh)
    }
}

/// The fields of a `v1` token.
#[derive(Debug, PartialEq, Eq)]
struct Fields<'a> {
    device: &'a str,
    issued: u64,
    nonce: &'a str,
}

/// `^v1\.([A-Za-z0-9]{1,64})\.([0-9]{1,12})\.([A-Za-z0-9_-]{8,64})$` as Python's `re.match` reads it (`$` also
/// matches before one final newline).
fn parse(token: &str) -> Option<Fields<'_>> {
    let token = token.strip_suffix('\n').unwrap_or(token);
    let rest = token.strip_prefix("v1.")?;
    let mut parts = rest.splitn(3, '.');
    let (device, issued, nonce) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = |s: &str, min: usize, max: usize, allowed: fn(u8) -> bool| {
        (min..=max).contains(&s.len()) && s.bytes().all(allowed)
    };
    let nonce_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if !ok(device, 1, 64, |b| b.is_ascii_alphanumeric())
        || !ok(issued, 1, 12, |b| b.is_ascii_digit())
        || !ok(nonce, 8, 64, nonce_byte)
    {
        return None;
    }
    Some(Fields {
        device,
        issued: issued.parse().ok()?,
        nonce,
    })
}

/// Where a nonce was first used.
#[derive(Debug, Clone)]
struct Seen {
    issued: u64,
    connection: Option<String>,
}

/// The remembered `(device, nonce)` pairs of one authorizer, bounded.
#[derive(Debug, Default)]
pub struct Nonces {
    seen: HashMap<(String, String), Seen>,
    /// Insertion order, for forgetting.
    order: VecDeque<(String, String)>,
}

impl Nonces {
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets the oldest remembered pairs whose issue time is older than `keep_s` (Python's `_forget_old`,
    /// walking in insertion order), and any beyond `capacity - 1`.
    fn forget(&mut self, now: u64, keep_s: u64, capacity: usize) {
        while let Some(key) = self.order.front() {
            let old = self
                .seen
                .get(key)
                .is_none_or(|s| now.saturating_sub(s.issued) > keep_s);
            if !old && self.seen.len() < capacity.max(1) {
                break;
            }
            if let Some(key) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
    }

    fn remember(&mut self, key: (String, String), seen: Seen) {
        self.order.push_back(key.clone());
        self.seen.insert(key, seen);
    }
}

/// The function's answer to an event at `now_unix_s`, and its rule. Pure but for `nonces`.
pub fn respond(rules: &ReplayRules, nonces: &mut Nonces, event: &Value, now: u64) -> (Value, Rule) {
    let rule = check(rules, nonces, event, now);
    let response = match (rule.allows(), event.get("token").and_then(Value::as_str)) {
        (true, Some(token)) => match parse(token) {
            Some(f) => json!({
                "isAuthenticated": true,
                "principalId": f.device,
                "disconnectAfterInSeconds": rules.disconnect_after_s,
                "refreshAfterInSeconds": rules.refresh_after_s,
                "policyDocuments": rules.policy_documents,
            }),
            None => json!({ "isAuthenticated": false }),
        },
        _ => json!({ "isAuthenticated": false }),
    };
    (response, rule)
}

fn check(rules: &ReplayRules, nonces: &mut Nonces, event: &Value, now: u64) -> Rule {
    if event.get("signatureVerified") != Some(&Value::Bool(true)) {
        return Rule::Unsigned;
    }
    let Some(f) = event.get("token").and_then(Value::as_str).and_then(parse) else {
        return Rule::Malformed;
    };
    let connection = event
        .get("connectionMetadata")
        .and_then(|m| m.get("id"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty());
    let mqtt = event
        .get("protocols")
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|x| x == "mqtt"));
    let keep = rules.max_token_age_s.max(rules.max_session_s);
    nonces.forget(now, keep, usize::MAX);
    let key = (f.device.to_string(), f.nonce.to_string());
    if let Some(seen) = nonces.seen.get(&key) {
        let same = connection.is_some() && seen.connection.as_deref() == connection;
        return if same && mqtt {
            Rule::Refresh
        } else {
            Rule::Replayed
        };
    }
    if now.saturating_sub(f.issued) > rules.max_token_age_s {
        return Rule::Expired;
    }
    if f.issued.saturating_sub(now) > rules.max_clock_skew_s {
        return Rule::Future;
    }
    nonces.forget(now, keep, rules.nonce_capacity);
    nonces.remember(
        key,
        Seen {
            issued: f.issued,
            connection: connection.map(str::to_string),
        },
    );
    Rule::Fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn event(token: &str, connection: &str, protocols: &[&str]) -> Value {
        json!({
            "token": token,
            "signatureVerified": true,
            "protocols": protocols,
            "connectionMetadata": { "id": connection },
        })
    }

    fn rule(rules: &ReplayRules, n: &mut Nonces, e: &Value, now: u64) -> &'static str {
        respond(rules, n, e, now).1.as_str()
    }

    #[test]
    fn parses_the_v1_format_as_the_python_regex_does() {
        let f = parse("v1.device000001.1800000000.0123456789abcdef").unwrap();
        assert_eq!(
            (f.device, f.issued, f.nonce),
            ("device000001", NOW, "0123456789abcdef")
        );
        assert!(
            parse("v1.d.1.abcdefgh\n").is_some(),
            "Python's $ before \\n"
        );
        for bad in [
            "v2.d.1.abcdefgh",
            "v1.d.1.abcdefg",
            "v1..1.abcdefgh",
            "v1.d-x.1.abcdefgh",
            "v1.d.1234567890123.abcdefgh",
            "v1.d.+1.abcdefgh",
            "v1.d.1.abcd.efgh",
            "v1.d.1.abcdefgh\n\n",
            "v1.d.1",
            &format!("v1.{}.1.abcdefgh", "d".repeat(65)),
            &format!("v1.d.1.{}", "n".repeat(65)),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fresh_then_replayed_expired_future_unsigned_malformed() {
        let r = ReplayRules::default();
        let mut n = Nonces::default();
        let https = ["tls", "http"];
        let t = format!("v1.dev1.{NOW}.nonce0001");
        let (resp, fresh) = respond(&r, &mut n, &event(&t, "c1", &https), NOW);
        assert_eq!(fresh, Rule::Fresh);
        assert_eq!(resp["isAuthenticated"], true);
        assert_eq!(resp["principalId"], "dev1");
        assert_eq!(resp["policyDocuments"], json!(r.policy_documents));
        // HTTPS has no refresh: the same token again, even on the same connection, is a replay.
        assert_eq!(rule(&r, &mut n, &event(&t, "c1", &https), NOW), "replayed");
        let (resp, _) = respond(&r, &mut n, &event(&t, "c2", &https), NOW);
        assert_eq!(resp, json!({"isAuthenticated": false}));
        let old = format!("v1.dev1.{}.nonce0002", NOW - 301);
        assert_eq!(rule(&r, &mut n, &event(&old, "c", &https), NOW), "expired");
        let edge = format!("v1.dev1.{}.nonce0003", NOW - 300);
        assert_eq!(rule(&r, &mut n, &event(&edge, "c", &https), NOW), "fresh");
        let ahead = format!("v1.dev1.{}.nonce0004", NOW + 31);
        assert_eq!(rule(&r, &mut n, &event(&ahead, "c", &https), NOW), "future");
        let mut unsigned = event(&format!("v1.dev1.{NOW}.nonce0005"), "c", &https);
        unsigned["signatureVerified"] = json!(false);
        assert_eq!(rule(&r, &mut n, &unsigned, NOW), "unsigned");
        unsigned["signatureVerified"] = json!("true");
        assert_eq!(rule(&r, &mut n, &unsigned, NOW), "unsigned");
        assert_eq!(
            rule(&r, &mut n, &event("hello", "c", &https), NOW),
            "malformed"
        );
        assert_eq!(
            rule(&r, &mut n, &json!({"signatureVerified": true}), NOW),
            "malformed"
        );
        // A denied (expired, future) token is not remembered: only fresh ones are.
        assert_eq!(n.len(), 2);
    }

    #[test]
    fn a_connection_refreshes_its_own_nonce_over_mqtt_only() {
        let r = ReplayRules::default();
        let mut n = Nonces::default();
        let mqtt = ["tls", "mqtt"];
        let t = format!("v1.dev2.{NOW}.nonce0001");
        assert_eq!(rule(&r, &mut n, &event(&t, "conn-a", &mqtt), NOW), "fresh");
        // Refreshes are allowed past the maximum age (no age check), for the same connection.
        let later = NOW + 3600;
        assert_eq!(
            rule(&r, &mut n, &event(&t, "conn-a", &mqtt), later),
            "refresh"
        );
        assert_eq!(
            rule(&r, &mut n, &event(&t, "conn-b", &mqtt), later),
            "replayed"
        );
        assert_eq!(rule(&r, &mut n, &event(&t, "", &mqtt), NOW), "replayed");
        // The same nonce under another device is another pair.
        let other = format!("v1.dev3.{NOW}.nonce0001");
        assert_eq!(
            rule(&r, &mut n, &event(&other, "conn-b", &mqtt), NOW),
            "fresh"
        );
    }

    #[test]
    fn nonces_are_forgotten_after_the_longest_window_and_bounded() {
        let r = ReplayRules {
            max_session_s: 100,
            max_token_age_s: 50,
            nonce_capacity: 3,
            ..ReplayRules::default()
        };
        let mut n = Nonces::default();
        let https = ["http"];
        let t = format!("v1.d.{NOW}.nonce0001");
        assert_eq!(rule(&r, &mut n, &event(&t, "c", &https), NOW), "fresh");
        assert_eq!(
            rule(&r, &mut n, &event(&t, "c", &https), NOW + 100),
            "replayed"
        );
        // Forgotten after max(age, session); the age check still refuses the token itself.
        assert_eq!(
            rule(&r, &mut n, &event(&t, "c", &https), NOW + 101),
            "expired"
        );
        assert!(n.is_empty());
        for i in 0..5 {
            let t = format!("v1.d.{NOW}.nonce100{i}");
            assert_eq!(rule(&r, &mut n, &event(&t, "c", &https), NOW), "fresh");
            assert!(n.len() <= 3, "bounded: {}", n.len());
        }
        // The two oldest were forgotten to make room; the newest three are still replays.
        let first = format!("v1.d.{NOW}.nonce1000");
        assert_eq!(rule(&r, &mut n, &event(&first, "c", &https), NOW), "fresh");
        let last = format!("v1.d.{NOW}.nonce1004");
        assert_eq!(
            rule(&r, &mut n, &event(&last, "c", &https), NOW),
            "replayed"
        );
    }
}
