use super::*;
use crate::attempt::oracle::GateVerdict;
use crate::contract::GateRejection;
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::token::{SignatureError, verify_token};

#[test]
fn hex_digest_matches_the_seed_article() {
    assert_eq!(
        hex_digest(b"MyStringThatNeedsToBeSigned"),
        "8de411c918c5ed2896a7dfdd8f838fdc441c36a22938b024958b2546f8e7bd6a"
    );
}

/// The gate's answer for a credential, as the emulator's `gate::verify` computes it.
fn gate_verdict(token: &str, sig: Option<&str>, key: &crate::token::PublicKey) -> GateVerdict {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return GateVerdict::Refused(GateRejection::TokenTooLong);
    }
    match sig.filter(|s| !s.is_empty()) {
        None => GateVerdict::Refused(GateRejection::MissingSignature),
        Some(s) => match verify_token([key], token.as_bytes(), s) {
            Ok(_) => GateVerdict::Passes,
            Err(e) => GateVerdict::Refused(e.into()),
        },
    }
}

#[test]
fn every_forgery_is_refused_for_the_reason_the_oracle_gives() {
    let key = crate::attempt::test_keys::signing();
    let attacker = crate::attempt::test_keys::attacker();
    let public = key.public_key();
    let token = b"MyStringThatNeedsToBeSigned";
    let valid = sign_token(key, token);
    let other = sign_token(key, b"another token");
    assert_eq!(
        verify_token([&public], token, &encode_signature(&valid)),
        Ok(0)
    );
    let mut signed = Signed::with_key(key, "MyStringThatNeedsToBeSigned");
    signed.other_token = other;
    // The signing key held here, or an external signer's stand-in: raw RSA on the attacker's key.
    for (flip_bit, crafting_key) in [
        (0, key),
        (7, key),
        (4095, attacker),
        (99_999, key),
        (13, attacker),
    ] {
        let inp = ForgeInputs {
            token,
            valid_sig: &valid,
            attacker,
            public: &public,
            crafting_key,
            signed: &signed,
            flip_bit,
        };
        // Placement forgeries carry valid signatures: the wire tests (load::request, load::username) and
        // tests/catalogue check them.
        for v in Forgery::ALL
            .into_iter()
            .filter(|&v| wire_of(v) == Wire::Standard)
        {
            let sig = forge(v, &inp);
            let sent = forged_token(v, "MyStringThatNeedsToBeSigned");
            let got = gate_verdict(&sent, sig.as_deref(), &public);
            let want = crate::attempt::oracle::entry(v).verdict;
            assert_eq!(got, want, "{v:?} bit {flip_bit}");
        }
    }
}

#[test]
fn the_over_long_token_is_validly_signed_so_only_its_length_is_refused() {
    let key = crate::attempt::test_keys::signing();
    let token = b"tok";
    let valid = sign_token(key, token);
    let public = key.public_key();
    let signed = Signed::with_key(key, "tok");
    let inp = ForgeInputs {
        token,
        valid_sig: &valid,
        attacker: crate::attempt::test_keys::attacker(),
        public: &public,
        crafting_key: key,
        signed: &signed,
        flip_bit: 0,
    };
    let long = forged_token(Forgery::TokenOverLong, "tok");
    assert_eq!(long.len(), OVERLONG_TOKEN_CHARS);
    let sig = forge(Forgery::TokenOverLong, &inp).unwrap();
    assert_eq!(
        verify_token([&key.public_key()], long.as_bytes(), &sig),
        Ok(0)
    );
}

#[test]
fn the_raw_plus_pair_is_validly_signed_and_holds_a_plus() {
    let key = crate::attempt::test_keys::signing();
    for token in [
        "tok-a",
        "tok-b",
        "device-000001",
        "MyStringThatNeedsToBeSigned",
    ] {
        let valid = sign_token(key, token.as_bytes());
        let (t, sig) = raw_plus_pair(token, key, &valid);
        assert!(sig.contains('+'), "{token}: {sig}");
        assert!(t == token || t.starts_with(&format!("{token}.plus")), "{t}");
        assert_eq!(verify_token([&key.public_key()], t.as_bytes(), &sig), Ok(0));
    }
}

#[test]
fn the_decoy_signature_decodes_but_differs() {
    let key = crate::attempt::test_keys::signing();
    let sig = encode_signature(&sign_token(key, b"tok"));
    let decoy = decoy_signature(&sig);
    assert_ne!(decoy, sig);
    assert_eq!(decoy.len(), sig.len());
    assert_eq!(
        verify_token([&key.public_key()], b"tok", &decoy),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(decoy_signature("ABC"), "BBC");
    assert_eq!(second_token("t"), "t.dup");
}
