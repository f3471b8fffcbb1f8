use super::*;
use crate::attempt::test_keys;
use crate::token::verify_token;

fn spec() -> PoolSpec {
    PoolSpec {
        devices: 3,
        per_device: 4,
        issued_unix_ms: 1_800_000_000_000,
        expired_unix_ms: (1_800_000_000 - 3600) * 1000,
        format: TokenFormat::Template(replay_resistant_template()),
        client_id_prefix: "tokenstorm-".into(),
        seed: 9,
    }
}

fn pool() -> TokenPool {
    TokenPool::build(spec(), &[test_keys::signing()]).unwrap()
}

/// A shard signed every device's pool tokens; now only its own, each the whole pool's.
#[test]
fn a_shards_pool_holds_its_own_devices_tokens_equal_to_the_whole_pools() {
    let keys = [test_keys::signing(), test_keys::attacker()];
    let whole = TokenPool::build(spec(), &keys).unwrap();
    let part = TokenPool::build_for(spec(), &keys, |d| d % 2 == 1).unwrap();
    assert_eq!(part.devices(), 3);
    for d in 0..3 {
        for k in 0..5 {
            let want = (d % 2 == 1).then(|| whole.valid(d, k)).flatten();
            assert_eq!(part.valid(d, k), want, "device {d}, token {k}");
        }
        let want = (d % 2 == 1).then(|| whole.expired(d)).flatten();
        assert_eq!(part.expired(d), want, "device {d}");
    }
    assert!(part.valid(1, 0).is_some() && part.valid(0, 0).is_none());
}

#[test]
fn valid_tokens_verify_carry_the_format_and_fresh_nonces() {
    let p = pool();
    let public = test_keys::signing().public_key();
    let mut nonces = std::collections::BTreeSet::new();
    for d in 0..3 {
        for k in 0..4 {
            let c = p.valid(d, k).unwrap();
            assert!(
                verify_token(
                    [&public],
                    c.token.as_bytes(),
                    c.signature.as_deref().unwrap()
                )
                .is_ok()
            );
            let f: Vec<&str> = c.token.split('.').collect();
            assert_eq!(f.len(), 4, "{}", c.token);
            assert_eq!(
                (f[0], f[1], f[2]),
                ("v1", device_name(d).as_str(), "1800000000")
            );
            assert!(f[3].len() >= 8 && f[3].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(f[1].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(nonces.insert(f[3].to_string()), "nonce reused: {}", c.token);
        }
        assert_eq!(p.valid(d, 4), None, "the pool has 4 tokens per device");
    }
    // Same seed, same nonces.
    assert_eq!(p.valid(1, 2), pool().valid(1, 2));
}

#[test]
fn expired_tokens_carry_the_old_issue_time_and_verify() {
    let p = pool();
    let public = test_keys::signing().public_key();
    for d in 0..3 {
        let e = p.expired(d).unwrap();
        assert_eq!(e.token.split('.').nth(2), Some("1799996400"));
        assert!(
            verify_token(
                [&public],
                e.token.as_bytes(),
                e.signature.as_deref().unwrap()
            )
            .is_ok()
        );
    }
}

#[test]
fn replays_are_byte_identical_to_answered_valid_tokens() {
    let p = pool();
    assert_eq!(p.captured(0), None);
    assert_eq!(p.capture_from(0), None, "nothing answered yet");
    p.answered(2, 0);
    // A replay aimed at device 0 finds device 2's answered token.
    assert_eq!(p.capture_from(0), p.valid(2, 0));
    p.answered(0, 1);
    p.answered(0, 0); // answers can arrive out of order: the newest stays
    let own = p.captured(0).unwrap();
    assert_eq!(own, p.valid(0, 1).unwrap());
    assert_eq!(p.capture_from(0), Some(own));
    assert_ne!(p.captured(0), p.valid(0, 2));
}

#[test]
fn a_template_pool_renders_every_placeholder_and_signs() {
    let spec = PoolSpec {
        devices: 2,
        per_device: 3,
        issued_unix_ms: 1_800_000_000_123,
        expired_unix_ms: 1_799_990_000_000,
        format: TokenFormat::Template(
            TokenTemplate::parse("{client_id}|{device}|{unix_ms}|{seq}|{uuid}").unwrap(),
        ),
        client_id_prefix: "cid-".into(),
        seed: 9,
    };
    let p = TokenPool::build(spec, &[test_keys::signing()]).unwrap();
    let public = test_keys::signing().public_key();
    let c = p.valid(1, 2).unwrap();
    let f: Vec<&str> = c.token.split('|').collect();
    assert_eq!(&f[..4], ["cid-000001", "000001", "1800000000123", "2"]);
    assert_eq!(f[4].len(), 36);
    assert!(
        verify_token(
            [&public],
            c.token.as_bytes(),
            c.signature.as_deref().unwrap()
        )
        .is_ok()
    );
    assert_ne!(p.valid(1, 1).unwrap().token, c.token);
    let e = p.expired(1).unwrap();
    assert!(
        e.token.starts_with("cid-000001|000001|1799990000000|3|"),
        "{}",
        e.token
    );
}

#[test]
fn a_fixed_template_gives_every_token_of_a_device_the_same_string() {
    let spec = PoolSpec {
        devices: 2,
        per_device: 3,
        issued_unix_ms: 1_800_000_000_000,
        expired_unix_ms: 1_799_000_000_000,
        format: TokenFormat::Template(TokenTemplate::parse("dev-{device}").unwrap()),
        client_id_prefix: String::new(),
        seed: 9,
    };
    let p = TokenPool::build(spec, &[test_keys::signing()]).unwrap();
    for k in 0..3 {
        assert_eq!(p.valid(1, k).unwrap().token, "dev-000001");
    }
    assert_eq!(p.expired(1).unwrap().token, "dev-000001");
}

#[test]
fn a_jwt_pool_signs_each_jwt_for_custom_auth_and_expires_the_expired_one() {
    use crate::token::jws::{JwsAlg, JwsKey};
    let key = JwsKey::from_pem(
        JwsAlg::Rs256,
        include_str!("../testdata/signing_key.pem"),
        "k",
    )
    .unwrap();
    let issuer = JwtIssuer::new(key, "", "{client_id}", &toml::Table::new(), 300).unwrap();
    let spec = PoolSpec {
        devices: 2,
        per_device: 2,
        issued_unix_ms: 1_800_000_000_000,
        expired_unix_ms: (1_800_000_000 - 360) * 1000,
        format: TokenFormat::Jwt(Arc::new(issuer)),
        client_id_prefix: "cid-".into(),
        seed: 9,
    };
    let p = TokenPool::build(spec, &[test_keys::signing()]).unwrap();
    let public = test_keys::signing().public_key();
    let claims = |c: &Credential| -> serde_json::Value {
        use base64::Engine as _;
        let part = c.token.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let (a, b) = (p.valid(1, 0).unwrap(), p.valid(1, 1).unwrap());
    for c in [a, b, p.expired(1).unwrap()] {
        let sig = c.signature.as_deref().unwrap();
        assert!(verify_token([&public], c.token.as_bytes(), sig).is_ok());
    }
    assert_eq!(claims(a)["sub"], "cid-000001");
    assert_eq!(claims(a)["exp"], 1_800_000_300u64);
    assert_ne!(claims(a)["jti"], claims(b)["jti"], "a fresh jti per token");
    let e = claims(p.expired(1).unwrap());
    assert_eq!(e["exp"], 1_799_999_940u64, "a minute in the past");
}

#[test]
fn a_pool_from_rows_holds_uneven_devices_and_missing_expired_tokens() {
    let cred = |t: &str| Credential {
        token: t.into(),
        signature: Some("c2ln".into()),
        wire: crate::attempt::Wire::Standard,
    };
    let p = TokenPool::from_rows(vec![
        (vec![cred("a0"), cred("a1"), cred("a2")], None),
        (vec![cred("b0")], Some(cred("bx"))),
    ]);
    assert_eq!((p.devices(), p.per_device()), (2, 3));
    assert_eq!(p.valid(0, 2).unwrap().token, "a2");
    assert_eq!(p.valid(1, 0).unwrap().token, "b0");
    assert_eq!(p.valid(1, 1), None, "device 1's rows are used up");
    assert_eq!(p.valid(2, 0), None);
    assert_eq!(p.expired(0), None);
    assert_eq!(p.expired(1).unwrap().token, "bx");
}
