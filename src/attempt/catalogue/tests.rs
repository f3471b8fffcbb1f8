use super::*;
use crate::attempt::forge::Signed;
use crate::attempt::test_keys;
use crate::token::verify_token;

fn keys() -> Vec<&'static PrivateKey> {
    vec![test_keys::signing()]
}

#[test]
fn valid_passes_forged_fail_replays_use_another_device() {
    let keys = keys();
    let public = keys[0].public_key();
    let specs: Vec<SetSpec> = (0..3)
        .map(|d| SetSpec {
            token: format!("device-{d}"),
            key_index: 0,
        })
        .collect();
    let cat = Catalogue::build(&specs, vec![0, 1, 2], &keys, test_keys::attacker(), 1).unwrap();
    for d in 0..3 {
        let v = cat.credential(d, Class::Valid, d);
        assert_eq!(v.token, format!("device-{d}"));
        assert!(
            verify_token(
                [&public],
                v.token.as_bytes(),
                v.signature.as_deref().unwrap()
            )
            .is_ok()
        );
        for f in Forgery::ALL {
            let c = cat.credential(d, Class::Forged(f), d);
            let sig = c.signature.clone().unwrap_or_default();
            if f == Forgery::TokenOverLong || c.wire != Wire::Standard {
                // Refused for the token's length or where it is put; its signature is valid.
                assert!(c.token.len() > 6144 || c.wire == wire_of(f));
            } else {
                assert!(
                    verify_token([&public], c.token.as_bytes(), &sig).is_err(),
                    "{f:?}"
                );
            }
        }
        let r = cat.credential(d, Class::Replayed, (d + 1) % 3);
        assert_eq!(r, cat.credential((d + 1) % 3, Class::Valid, 0));
        assert_ne!(r.token, v.token);
    }
}

#[test]
fn a_static_token_shares_one_set() {
    let keys = keys();
    let specs = vec![SetSpec {
        token: "MyStringThatNeedsToBeSigned".into(),
        key_index: 0,
    }];
    let cat = Catalogue::build(&specs, vec![0; 5], &keys, test_keys::attacker(), 9).unwrap();
    assert_eq!(cat.sets().len(), 1);
    assert_eq!(cat.devices(), 5);
    let other = cat
        .forged(0, Forgery::OtherToken)
        .signature
        .clone()
        .unwrap();
    let public = keys[0].public_key();
    assert!(verify_token([&public], b"MyStringThatNeedsToBeSigned.other", &other).is_ok());
}

#[test]
fn sets_past_the_crafted_ones_send_a_crafted_pair_whole() {
    let keys = keys();
    let public = keys[0].public_key();
    let specs: Vec<SetSpec> = (0..6)
        .map(|d| SetSpec {
            token: format!("device-{d}"),
            key_index: 0,
        })
        .collect();
    let cat = Catalogue::build(&specs, (0..6).collect(), &keys, test_keys::attacker(), 2).unwrap();
    let f = Forgery::BytesAfterDigest;
    assert_eq!(cat.forged(5, f), cat.forged(1, f));
    assert_eq!(cat.forged(5, f).token, "device-1");
    assert_eq!(cat.forged(3, f).token, "device-3");
    // Forgeries that need no raw RSA stay the set's own.
    assert_eq!(cat.forged(5, Forgery::BitFlip).token, "device-5");
    let c = cat.forged(5, f);
    assert!(
        verify_token(
            [&public],
            c.token.as_bytes(),
            c.signature.as_deref().unwrap()
        )
        .is_err()
    );
}

/// A signer that holds no private key here (as a command or KMS): signs with the test key, counts what it
/// signs.
struct Remote {
    key: &'static PrivateKey,
    signed: std::sync::atomic::AtomicUsize,
}

impl TokenSigner for Remote {
    fn sign_all(&self, tokens: &[String]) -> Result<Vec<Vec<u8>>, SignError> {
        self.signed
            .fetch_add(tokens.len(), std::sync::atomic::Ordering::Relaxed);
        self.key.sign_all(tokens)
    }
    fn private_key(&self) -> Option<&PrivateKey> {
        None
    }
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

#[test]
fn an_external_signer_signs_a_bounded_number_of_forgeries_and_every_verdict_holds() {
    let remote = Remote {
        key: test_keys::signing(),
        signed: Default::default(),
    };
    let public = remote.key.public_key();
    let specs: Vec<SetSpec> = (0..20)
        .map(|d| SetSpec {
            token: format!("device-{d}"),
            key_index: 0,
        })
        .collect();
    let cat = Catalogue::build(
        &specs,
        (0..20).collect(),
        &[&remote],
        test_keys::attacker(),
        4,
    )
    .unwrap();
    // 20 valid signatures, then the signed forgeries of the crafting sets only (plus candidates at most).
    let n = remote.signed.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (20 + CRAFTED_SETS_PER_KEY * Signed::MESSAGES
            ..=20 + CRAFTED_SETS_PER_KEY * (Signed::MESSAGES + 1 + 64))
            .contains(&n),
        "{n} signatures"
    );
    let local =
        Catalogue::build(&specs, (0..20).collect(), &keys(), test_keys::attacker(), 4).unwrap();
    for set in [0, 3, 19] {
        // Valid pairs are byte-identical to a local key's (PKCS#1 v1.5 is deterministic).
        assert_eq!(
            cat.credential(set, Class::Valid, set),
            local.credential(set, Class::Valid, set)
        );
        for f in Forgery::ALL {
            let c = cat.forged(set, f);
            let sig = c.signature.clone().unwrap_or_default();
            if needs_signed(f) && set < CRAFTED_SETS_PER_KEY {
                // Validly signed over other bytes, by the signer: what a local key signs.
                assert_eq!(c, local.forged(set, f), "{f:?}");
            }
            if c.wire == Wire::Standard && f != Forgery::TokenOverLong {
                assert!(
                    verify_token([&public], c.token.as_bytes(), &sig).is_err(),
                    "{f:?} set {set}"
                );
            }
        }
    }
    // Sets past the crafting ones send a crafting set's signer-made pair whole.
    assert_eq!(
        cat.forged(19, Forgery::TokenNewline),
        cat.forged(3, Forgery::TokenNewline)
    );
    assert_eq!(cat.forged(19, Forgery::TokenNewline).token, "device-3");
}

#[test]
fn presigned_sets_derive_their_forgeries_from_the_given_signature() {
    let keys = keys();
    let specs = vec![SetSpec {
        token: "row-token".into(),
        key_index: 0,
    }];
    // A signature made elsewhere (here: openssl's equal, by the same key): the valid pair is kept as given.
    let given = crate::token::sign_token(keys[0], b"row-token");
    let cat = Catalogue::build_presigned(
        &specs,
        vec![given.clone()],
        vec![0],
        &keys,
        test_keys::attacker(),
        1,
    )
    .unwrap();
    assert_eq!(
        cat.credential(0, Class::Valid, 0).signature.as_deref(),
        Some(encode_signature(&given).as_str())
    );
    let flipped = cat.forged(0, Forgery::BitFlip).signature.clone().unwrap();
    let flipped = crate::token::decode_signature(&flipped).unwrap();
    let bits: u32 = flipped
        .iter()
        .zip(&given)
        .map(|(a, b)| (a ^ b).count_ones())
        .sum();
    assert_eq!(bits, 1, "one bit of the given signature flipped");
}
