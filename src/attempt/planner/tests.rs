//! The planner without sockets: determinism from the seed, mix proportions, the draw order the engines had,
//! replays across transports, and what happens when the pool runs dry.

use std::sync::OnceLock;

use rand::Rng as _;

use super::*;
use crate::attempt::{PoolSpec, SetSpec, test_keys};
use crate::contract::Forgery;

/// Devices 0 and 1 use HTTPS, 2 and 3 MQTT/TLS; each pair shares a set, so a replay's set names the transport
/// of the device whose pair it reuses.
const HTTPS: [u32; 2] = [0, 1];
const MQTT: [u32; 2] = [2, 3];

fn transport_of(d: u32) -> Transport {
    if HTTPS.contains(&d) {
        Transport::Https
    } else {
        Transport::MqttTls
    }
}

fn catalogue() -> Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| {
        let specs: Vec<SetSpec> = ["tok-https", "tok-mqtt"]
            .into_iter()
            .map(|token| SetSpec {
                token: token.into(),
                key_index: 0,
            })
            .collect();
        Catalogue::build(
            &specs,
            vec![0, 0, 1, 1],
            &[test_keys::signing()],
            test_keys::attacker(),
            5,
        )
        .unwrap()
    })
    .clone()
}

fn pool(per_device: u32) -> Arc<TokenPool> {
    let spec = PoolSpec {
        devices: 4,
        per_device,
        issued_unix_ms: 1_800_000_000_000,
        expired_unix_ms: (1_800_000_000 - 3600) * 1000,
        format: crate::attempt::pool::TokenFormat::Template(
            crate::attempt::pool::replay_resistant_template(),
        ),
        client_id_prefix: "tokenstorm-".into(),
        seed: 11,
    };
    Arc::new(TokenPool::build(spec, &[test_keys::signing()]).unwrap())
}

/// Weights by class; every forged variant gets `forged / Forgery::COUNT`.
fn mix(valid: f64, replayed: f64, reused: f64, expired: f64, forged: f64) -> Mix {
    let mut w = [0.0; Class::COUNT];
    w[Class::Valid.index()] = valid;
    w[Class::Replayed.index()] = replayed;
    w[Class::ReusedNonce.index()] = reused;
    w[Class::Expired.index()] = expired;
    for f in Forgery::ALL {
        w[Class::Forged(f).index()] = forged / Forgery::COUNT as f64;
    }
    Mix::new(w).unwrap()
}

fn planner(seed: u64, mix: &Mix, pool: Option<Arc<TokenPool>>) -> Planner {
    Planner::new("run".into(), seed, mix, catalogue(), pool, 4)
}

/// (class, victim) of each device's first `n` attempts.
fn sequence(p: &Planner, n: usize) -> Vec<(Class, u32)> {
    let mut out = Vec::new();
    for d in 0..4 {
        let mut c = p.cursor(d, transport_of(d));
        for _ in 0..n {
            let a = p.next(&mut c);
            out.push((a.class, a.replay_from));
        }
    }
    out
}

#[test]
fn the_same_seed_plans_the_same_attempts() {
    let m = mix(60.0, 20.0, 0.0, 0.0, 20.0);
    let a = sequence(&planner(7, &m, None), 200);
    assert_eq!(a, sequence(&planner(7, &m, None), 200));
    assert_ne!(a, sequence(&planner(8, &m, None), 200));
}

#[test]
fn classes_follow_the_mix_and_the_transport_skips() {
    let m = mix(60.0, 20.0, 0.0, 0.0, 20.0);
    let p = planner(3, &m, None);
    let n = 5_000;
    let seq = sequence(&p, n);
    let share = |pred: &dyn Fn(Class) -> bool| {
        seq.iter().filter(|(c, _)| pred(*c)).count() as f64 / seq.len() as f64
    };
    assert!((share(&|c| c == Class::Valid) - 0.6).abs() < 0.03);
    assert!((share(&|c| c == Class::Replayed) - 0.2).abs() < 0.03);
    assert!((share(&|c| matches!(c, Class::Forged(_))) - 0.2).abs() < 0.03);
    // Each transport's variants are its own: HTTPS never plans an MQTT-only variant, MQTT never an HTTPS-only one.
    let https_only = Class::Forged(Forgery::InBody);
    let mqtt_only = Class::Forged(Forgery::SecondQuestionMark);
    for (i, (c, _)) in seq.iter().enumerate() {
        let d = (i / n) as u32;
        let skipped = if HTTPS.contains(&d) {
            mqtt_only
        } else {
            https_only
        };
        assert_ne!(*c, skipped, "device {d}");
    }
}

/// The lanes' draws before the planner existed (class, then the victim among HTTPS devices, then the
/// placement): a single-transport HTTPS run must plan exactly the same attempts, so its counts do not move.
#[test]
fn a_single_transport_run_keeps_the_draw_order_the_lanes_had() {
    let m = mix(80.0, 5.0, 0.0, 0.0, 15.0);
    let p = Planner::new("run".into(), 42, &m, catalogue(), None, 4);
    let https_mix = m.for_transport(Transport::Https).unwrap();
    for d in 0..4 {
        let mut old = device_rng(42, d);
        let mut c = p.cursor(d, Transport::Https);
        for k in 0..500 {
            let class = https_mix.choose_at(&mut old, d, k);
            let from = if class == Class::Replayed {
                (d + old.random_range(1..4)) % 4
            } else {
                d
            };
            let query = old.random_bool(0.5);
            let a = p.next(&mut c);
            assert_eq!((a.class, a.replay_from, a.n), (class, from, k));
            assert_eq!(c.rng().random_bool(0.5), query, "device {d} attempt {k}");
        }
    }
}

/// Formerly drifted: the HTTPS lanes drew a replay's victim among HTTPS devices only, the MQTT fleet among all.
#[test]
fn https_replays_reuse_pairs_of_mqtt_devices_and_mqtt_replays_those_of_https_devices() {
    let m = mix(0.0, 1.0, 0.0, 0.0, 0.0);
    let p = planner(1, &m, None);
    let mqtt_set = catalogue().set_of(MQTT[0] as usize);
    let https_set = catalogue().set_of(HTTPS[0] as usize);
    for (own, other_set) in [(HTTPS, mqtt_set), (MQTT, https_set)] {
        let mut crossed = 0;
        for d in own {
            let mut c = p.cursor(d, transport_of(d));
            for _ in 0..100 {
                let a = p.next(&mut c);
                assert_eq!(a.class, Class::Replayed);
                assert_ne!(a.replay_from, d, "a replay reuses another device's pair");
                let Credentials::Catalogue { replay_set, .. } = a.credentials else {
                    panic!("catalogue tokens");
                };
                crossed += usize::from(replay_set == other_set);
            }
        }
        // Two of the three other devices use the other transport.
        assert!((100..=170).contains(&crossed), "{own:?}: {crossed} of 200");
    }
}

#[test]
fn pooled_replays_draw_on_tokens_allowed_over_other_transports() {
    let m = mix(1.0, 0.0, 0.0, 0.0, 0.0);
    let pool = pool(3);
    let p = planner(2, &m, Some(pool.clone()));
    let replays = planner(2, &mix(0.0, 1.0, 0.0, 0.0, 0.0), Some(pool.clone()));
    let mut https = replays.cursor(HTTPS[0], Transport::Https);
    assert_eq!(
        replays.next(&mut https).credentials,
        Credentials::Exhausted,
        "nothing captured yet"
    );
    // An MQTT device's valid CONNECT is allowed: an HTTPS replay sends that very token.
    let mut mqtt = p.cursor(MQTT[1], Transport::MqttTls);
    let sent = p.next(&mut mqtt);
    let (Credentials::Pooled(token), Some(ticket)) = (sent.credentials, sent.ticket) else {
        panic!("a pooled valid token: {sent:?}");
    };
    p.allowed(ticket);
    assert_eq!(
        replays.next(&mut https).credentials,
        Credentials::Pooled(token)
    );
    // And the other way: once only an HTTPS device's token was allowed, MQTT replays send it.
    let pool = self::pool(3);
    let p = planner(2, &m, Some(pool.clone()));
    let replays = planner(2, &mix(0.0, 1.0, 0.0, 0.0, 0.0), Some(pool));
    let mut h = p.cursor(HTTPS[1], Transport::Https);
    let sent = p.next(&mut h);
    p.allowed(sent.ticket.unwrap());
    let mut mqtt = replays.cursor(MQTT[0], Transport::MqttTls);
    assert_eq!(replays.next(&mut mqtt).credentials, sent.credentials);
}

#[test]
fn a_used_up_pool_and_an_empty_capture_plan_exhausted_attempts() {
    let pool = pool(2);
    let valid = planner(4, &mix(1.0, 0.0, 0.0, 0.0, 0.0), Some(pool.clone()));
    let mut c = valid.cursor(0, Transport::Https);
    let first = valid.next(&mut c);
    let second = valid.next(&mut c);
    assert_ne!(
        first.credentials, second.credentials,
        "a fresh token each time"
    );
    assert_eq!(
        first.credentials,
        Credentials::Pooled(pool.valid(0, 0).unwrap())
    );
    let third = valid.next(&mut c);
    assert_eq!(
        (third.credentials, third.ticket, third.n),
        (Credentials::Exhausted, None, 2)
    );
    assert_eq!(c.planned(), 3);
    // Reused nonces wait for the device's own allowed token; expired tokens are always there.
    let reused = planner(4, &mix(0.0, 0.0, 1.0, 0.0, 0.0), Some(pool.clone()));
    let mut r = reused.cursor(0, Transport::Wss);
    assert_eq!(reused.next(&mut r).credentials, Credentials::Exhausted);
    valid.allowed(second.ticket.unwrap());
    assert_eq!(reused.next(&mut r).credentials, second.credentials);
    let expired = planner(4, &mix(0.0, 0.0, 0.0, 1.0, 0.0), Some(pool.clone()));
    let mut e = expired.cursor(1, Transport::Mqtt);
    assert_eq!(
        expired.next(&mut e).credentials,
        Credentials::Pooled(pool.expired(1).unwrap())
    );
    // Forged attempts always come from the catalogue.
    let forged = planner(4, &mix(0.0, 0.0, 0.0, 0.0, 1.0), Some(pool));
    let mut f = forged.cursor(3, Transport::MqttTls);
    assert!(matches!(
        forged.next(&mut f).credentials,
        Credentials::Catalogue { set: 1, .. }
    ));
}

#[test]
fn attempt_ids_name_the_run_class_device_and_number() {
    let p = planner(9, &mix(1.0, 0.0, 0.0, 0.0, 0.0), None);
    let mut c = p.cursor(3, Transport::Mqtt);
    p.next(&mut c);
    let a = p.next(&mut c);
    let mut id = String::new();
    p.id_into(&a, &mut id);
    assert_eq!(id, "run-valid-3-1");
}
