//! Wycheproof RSASSA-PKCS1-v1_5/SHA-256 2048-bit vectors (tests/vectors/wycheproof/, Apache-2.0) through the
//! gate's verifiers: `verify_raw` (aws-lc-rs, what the emulator's gate runs), `verify_token` (the gate path:
//! base64 decoding, length check, key rotation) and `verify_reference` (RustCrypto `rsa`).
//!
//! Every `valid` case must pass and every `invalid` one fail, under all three, and the three must agree on every
//! case. `acceptable` cases (one in this file: a DigestInfo without the NULL parameters, flag `MissingNull`) are
//! legal for a verifier to accept or reject; the gate takes the strict reading, as the PKCS#1 v1.5 encoding is
//! deterministic: it rejects them, and so does the reference.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokenstorm::token::verify::{verify_raw, verify_reference};
use tokenstorm::token::{PublicKey, verify_token};

const VECTORS: &str = "tests/vectors/wycheproof/rsa_signature_2048_sha256_test.json";

/// What the gate does with Wycheproof `acceptable` cases: reject (the strict reading).
const GATE_ACCEPTS_ACCEPTABLE: bool = false;

#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    acceptable_accepted: usize,
    failures: Vec<String>,
}

#[test]
fn wycheproof_rsa_pkcs1_sha256_2048() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("the Wycheproof file is JSON");
    assert_eq!(doc["algorithm"], "RSASSA-PKCS1-v1_5");
    let groups = doc["testGroups"].as_array().expect("testGroups");

    let mut tally = Tally::default();
    for (g, group) in groups.iter().enumerate() {
        assert_eq!(group["type"], "RsassaPkcs1Verify", "group {g}");
        assert_eq!(group["sha"], "SHA-256", "group {g}");
        let key = group_key(g, group);
        for case in group["tests"].as_array().expect("tests") {
            run_case(&key, case, &mut tally);
        }
    }

    let total = tally.valid + tally.invalid + tally.acceptable;
    eprintln!(
        "wycheproof: {total} cases: {} valid accepted, {} invalid rejected, {} acceptable ({} accepted, {} rejected); \
         aws-lc-rs, the gate path and rsa agree on all",
        tally.valid,
        tally.invalid,
        tally.acceptable,
        tally.acceptable_accepted,
        tally.acceptable - tally.acceptable_accepted
    );
    assert!(
        tally.failures.is_empty(),
        "{} Wycheproof failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert_eq!(
        Some(total as u64),
        doc["numberOfTests"].as_u64(),
        "every case in the file ran"
    );
    assert!(
        tally.valid > 0 && tally.invalid > 0 && tally.acceptable > 0,
        "{tally:?}"
    );
}

/// The group's key from its SPKI PEM, loaded the way the emulator loads `tokenSigningPublicKeys`, and
/// cross-checked against the group's DER and its modulus/exponent fields.
fn group_key(g: usize, group: &Value) -> PublicKey {
    let pem = group["publicKeyPem"].as_str().expect("publicKeyPem");
    let key = PublicKey::from_pem(pem, &format!("wycheproof group {g}"))
        .unwrap_or_else(|e| panic!("group {g}: the gate cannot load the key: {e}"));
    assert_eq!(
        key.bits(),
        group["keySize"].as_u64().expect("keySize") as usize,
        "group {g}"
    );
    let der = STANDARD
        .decode(
            key.to_spki_pem()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("our SPKI PEM is base64");
    assert_eq!(
        hex(&der),
        group["publicKeyDer"].as_str().expect("publicKeyDer"),
        "group {g}: the key we loaded differs"
    );
    let modulus = group["publicKey"]["modulus"]
        .as_str()
        .expect("modulus")
        .trim_start_matches("00");
    let exponent = group["publicKey"]["publicExponent"]
        .as_str()
        .expect("publicExponent");
    let der_hex = hex(&der);
    assert!(
        der_hex.contains(modulus) && der_hex.contains(exponent),
        "group {g}: modulus or exponent not in the key"
    );
    key
}

fn run_case(key: &PublicKey, case: &Value, tally: &mut Tally) {
    let id = case["tcId"].as_u64().expect("tcId");
    let msg = unhex(case["msg"].as_str().expect("msg"));
    let sig = unhex(case["sig"].as_str().expect("sig"));
    let result = case["result"].as_str().expect("result");
    let fast = verify_raw(key, &msg, &sig);
    let gate = verify_token([key], &msg, &STANDARD.encode(&sig));
    let reference = verify_reference(key, &msg, &sig);
    let describe = || {
        format!(
            "tcId {id} ({result}, {:?}, {:?})",
            case["comment"], case["flags"]
        )
    };

    if fast != reference || fast != gate.is_ok() {
        tally.failures.push(format!(
            "{}: verifiers disagree: aws-lc {fast}, gate {gate:?}, rsa {reference}",
            describe()
        ));
    }
    let expected = match result {
        "valid" => {
            tally.valid += 1;
            true
        }
        "invalid" => {
            tally.invalid += 1;
            false
        }
        "acceptable" => {
            tally.acceptable += 1;
            tally.acceptable_accepted += usize::from(fast);
            GATE_ACCEPTS_ACCEPTABLE
        }
        other => panic!("tcId {id}: unknown result {other}"),
    };
    if fast != expected {
        tally.failures.push(format!(
            "{}: aws-lc says {fast}, expected {expected}",
            describe()
        ));
    }
    if gate.is_ok() != expected {
        tally.failures.push(format!(
            "{}: the gate says {gate:?}, expected {expected}",
            describe()
        ));
    }
    if reference != expected {
        tally.failures.push(format!(
            "{}: rsa says {reference}, expected {expected}",
            describe()
        ));
    }
    if let Ok(index) = gate {
        assert_eq!(index, 0, "one key, index 0");
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length in {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("bad hex {s}: {e}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
