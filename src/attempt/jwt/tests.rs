use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;
use crate::token::jws::JwsAlg;

const RSA: &str = include_str!("../testdata/signing_key.pem");
const EC: &str = include_str!("../../token/testdata/es256_pkcs8.pem");

fn values(seq: u32) -> Values<'static> {
    Values {
        device: 7,
        client_id: "cid-000007",
        issued_unix_ms: 1_800_000_000_500,
        nonce: 1,
        uuid: 0x1234_5678_9abc_def0_1234_5678_9abc_def0 + u128::from(seq),
        seq,
    }
}

fn claims(text: &str) -> toml::Table {
    toml::from_str(text).unwrap()
}

fn decode(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn an_rs256_jwt_carries_the_header_the_claims_and_a_verifying_signature() {
    let key = JwsKey::from_pem(JwsAlg::Rs256, RSA, "k").unwrap();
    let c = claims(
        "iss = \"tokenstorm\"\naud = [\"a\", \"dev-{device}\"]\nnbf = \"{unix_s}\"\nn = 3\n[ctx]\nclient = \"{client_id}\"\n",
    );
    let j = JwtIssuer::new(key, "key-1", "device{device}", &c, 300).unwrap();
    let token = j.render(&values(2));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(
        !token.contains(['=', '+', '/']),
        "base64url without padding"
    );
    assert_eq!(
        decode(parts[0]),
        json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"})
    );
    assert_eq!(
        decode(parts[1]),
        json!({
            "iat": 1_800_000_000u64, "exp": 1_800_000_300u64, "nbf": 1_800_000_000u64,
            "jti": uuid_v4(values(2).uuid), "sub": "device000007", "iss": "tokenstorm",
            "aud": ["a", "dev-000007"], "n": 3, "ctx": {"client": "cid-000007"}
        })
    );
    let public = crate::attempt::test_keys::signing().public_key();
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    assert!(crate::token::verify::verify_raw(
        &public,
        input.as_bytes(),
        &sig
    ));
    assert_ne!(
        decode(j.render(&values(3)).split('.').nth(1).unwrap())["jti"],
        decode(parts[1])["jti"]
    );
    assert_eq!(
        j.describe(),
        "JWT RS256 sub=device{device} claims=[aud, ctx, iss, n, nbf]"
    );
}

#[test]
fn an_es256_jwt_verifies_under_the_p256_public_key() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, KeyPair as _, UnparsedPublicKey};
    let key = JwsKey::from_pem(JwsAlg::Es256, EC, "k").unwrap();
    let JwsKey::Es256(pair) = &key else { panic!() };
    let public = pair.public_key().as_ref().to_vec();
    let j = JwtIssuer::new(key, "", "{client_id}", &toml::Table::new(), 60).unwrap();
    let token = j.render(&values(0));
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(
        decode(input.split('.').next().unwrap()),
        json!({"alg": "ES256", "typ": "JWT"})
    );
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
        .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .unwrap();
    assert_eq!(
        decode(input.split('.').nth(1).unwrap())["sub"],
        "cid-000007"
    );
}

#[test]
fn claims_tokenstorm_sets_and_bad_templates_are_refused_naming_the_field() {
    let key = || JwsKey::from_pem(JwsAlg::Es256, EC, "k").unwrap();
    let e = JwtIssuer::new(key(), "", "{client_id}", &claims("exp = 1"), 60).unwrap_err();
    assert_eq!(e.0, "devices.jwt.claims.exp");
    assert!(e.1.contains("set by tokenstorm"), "{}", e.1);
    let e = JwtIssuer::new(key(), "", "{id}", &toml::Table::new(), 60).unwrap_err();
    assert_eq!(e.0, "devices.jwt.sub");
    assert!(e.1.contains("{id}"), "{}", e.1);
    let e = JwtIssuer::new(key(), "", "x", &claims("[a]\nb = [\"{nope\"]"), 60).unwrap_err();
    assert_eq!(e.0, "devices.jwt.claims.a.b[0]");
}

#[test]
fn a_jwt_over_the_token_limit_is_refused() {
    let key = JwsKey::from_pem(JwsAlg::Es256, EC, "k").unwrap();
    let big = format!("pad = \"{}\"", "x".repeat(5000));
    let j = JwtIssuer::new(key, "", "{client_id}", &claims(&big), 60).unwrap();
    let e = j.check_length(10, "cid-000009").unwrap_err();
    assert!(e.1.contains("over the custom-auth token limit"), "{}", e.1);
    let key = JwsKey::from_pem(JwsAlg::Es256, EC, "k").unwrap();
    let j = JwtIssuer::new(key, "", "{client_id}", &toml::Table::new(), 60).unwrap();
    assert!(j.check_length(10, "cid-000009").is_ok());
}
