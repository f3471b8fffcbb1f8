//! The partition, without sockets: for N in 1, 2, 3 and 7 the shards' planned attempts together are exactly
//! the unsharded plan's (id, class and variant, replay victim, credential, device), each device in one shard.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::attempt::{Catalogue, Mix, SetSpec, test_keys};
use crate::contract::Forgery;

const DEVICES: u32 = 20;

/// Three credential sets over the devices (device d uses set d mod 3).
fn catalogue() -> Catalogue {
    let specs: Vec<SetSpec> = ["tok-a", "tok-b", "tok-c"]
        .into_iter()
        .map(|token| SetSpec {
            token: token.into(),
            key_index: 0,
        })
        .collect();
    let sets = (0..DEVICES).map(|d| d % 3).collect();
    Catalogue::build(
        &specs,
        sets,
        &[test_keys::signing()],
        test_keys::attacker(),
        3,
    )
    .unwrap()
}

/// Every class the catalogue sends, forged variants included.
fn mix() -> Mix {
    let mut w = [0.0; Class::COUNT];
    w[Class::Valid.index()] = 0.5;
    w[Class::Replayed.index()] = 0.2;
    for f in Forgery::ALL {
        w[Class::Forged(f).index()] = 0.3 / Forgery::COUNT as f64;
    }
    Mix::new(w).unwrap()
}

fn bounds(planner: &Planner, model: Model, max: Option<u64>, ramp: Option<Ramp>) -> Bounds<'_> {
    Bounds {
        model,
        devices: DEVICES,
        duration: Duration::from_secs(10),
        max_attempts: max,
        ramp: ramp.map(Arc::new),
        mixed: true,
        planner,
    }
}

use super::super::ramp::Ramp;

/// The union of N shards equals the whole plan, and no attempt or device is in two shards.
fn partition_holds(b: &Bounds<'_>) -> usize {
    let mut whole = https(b, Shard::WHOLE).unwrap();
    whole.sort();
    assert!(!whole.is_empty());
    for count in [1, 2, 3, 7] {
        let mut union = Vec::new();
        let mut owner = std::collections::BTreeMap::new();
        for index in 0..count {
            for a in https(b, Shard { index, count }).unwrap() {
                let o = *owner.entry(a.device).or_insert(index);
                assert_eq!(o, index, "device {} is in two shards of {count}", a.device);
                union.push(a);
            }
        }
        union.sort();
        assert_eq!(union, whole, "{count} shards");
    }
    whole.len()
}

#[test]
fn n_shards_of_an_open_plan_are_exactly_the_plan() {
    let p = Planner::new("run".into(), 7, &mix(), catalogue(), None, DEVICES);
    let open = Model::Open { rate_per_s: 50.0 };
    assert_eq!(partition_holds(&bounds(&p, open, Some(173), None)), 173);
    // Bounded by the duration alone, and under a ramp: the one global schedule either way.
    assert_eq!(partition_holds(&bounds(&p, open, None, None)), 500);
    let ramp = Ramp::from_stages(&[(5.0, 40.0), (5.0, 10.0)]);
    assert_eq!(partition_holds(&bounds(&p, open, None, Some(ramp))), 225);
}

#[test]
fn n_shards_of_a_closed_plan_are_exactly_the_plan() {
    let p = Planner::new("run".into(), 9, &mix(), catalogue(), None, DEVICES);
    let closed = Model::Closed { concurrency: 6 };
    assert_eq!(partition_holds(&bounds(&p, closed, Some(101), None)), 101);
    assert!(
        https(&bounds(&p, closed, None, None), Shard::WHOLE).is_none(),
        "bounded by time only"
    );
}

#[test]
fn the_plan_is_the_seeds_and_shards_see_every_class() {
    let p = Planner::new("run".into(), 7, &mix(), catalogue(), None, DEVICES);
    let q = Planner::new("run".into(), 8, &mix(), catalogue(), None, DEVICES);
    let open = Model::Open { rate_per_s: 50.0 };
    let a = https(&bounds(&p, open, Some(173), None), Shard::WHOLE).unwrap();
    assert_eq!(
        a,
        https(&bounds(&p, open, Some(173), None), Shard::WHOLE).unwrap()
    );
    assert_ne!(
        a,
        https(&bounds(&q, open, Some(173), None), Shard::WHOLE).unwrap()
    );
    let classes: std::collections::BTreeSet<&str> = a.iter().map(|x| x.class.as_str()).collect();
    assert!(
        classes.len() > 3 && classes.contains("replayed"),
        "{classes:?}"
    );
}
