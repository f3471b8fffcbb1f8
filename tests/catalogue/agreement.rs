//! `rsa` (the reference) and `aws-lc-rs` (the gate's verifier) agree on every catalogue signature.

use tokenstorm::attempt::{Catalogue, SetSpec, Wire};
use tokenstorm::contract::Forgery;
use tokenstorm::token::decode_signature;
use tokenstorm::token::verify::{verify_raw, verify_reference};

use crate::support::keys::{attacker_key, public, signing_key};

#[test]
fn rsa_and_aws_lc_agree_on_every_catalogue_signature() {
    let specs: Vec<SetSpec> = ["MyStringThatNeedsToBeSigned", "device-000001", "a"]
        .iter()
        .map(|t| SetSpec {
            token: t.to_string(),
            key_index: 0,
        })
        .collect();
    let cat =
        Catalogue::build(&specs, vec![0, 1, 2], &[signing_key()], attacker_key(), 11).unwrap();
    let key = public(0);
    let mut decodable = 0;
    for set in 0..specs.len() {
        for f in Forgery::ALL {
            let c = cat.forged(set, f);
            let Some(sig) = c.signature.as_deref() else {
                continue;
            };
            // Undecodable strings never reach a verifier; their raw bytes are still compared when they decode
            // leniently (the signature bytes of the encoding variants are the valid signature's).
            let Ok(raw) = decode_signature(sig) else {
                continue;
            };
            decodable += 1;
            let fast = verify_raw(&key, c.token.as_bytes(), &raw);
            let reference = verify_reference(&key, c.token.as_bytes(), &raw);
            assert_eq!(fast, reference, "{} over set {set}", f.as_str());
            // Refused for the token's length or for where it is put: the signature itself is valid.
            let expect_valid = f == Forgery::TokenOverLong || c.wire != Wire::Standard;
            assert_eq!(fast, expect_valid, "{} over set {set}", f.as_str());
        }
    }
    // Every cryptographic variant decodes: 26 of them per set.
    assert!(decodable >= 26 * specs.len(), "{decodable}");
}
