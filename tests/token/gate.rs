//! `verify_token` as the emulator's gate uses it: key rotation (the index of the key that matched), mixed key
//! sizes, and the reason for each refusal.

use tokenstorm::token::verify::{MAX_SIGNATURE_CHARS, decode_signature};
use tokenstorm::token::{PrivateKey, SignatureError, encode_signature, sign_token, verify_token};

const TOKEN: &[u8] = b"MyStringThatNeedsToBeSigned";

#[test]
fn gate_key_rotation_and_refusal_reasons() {
    let old = PrivateKey::generate(2048).expect("key");
    let new = PrivateKey::generate(4096).expect("key");
    let other = PrivateKey::generate(2048).expect("key");
    let middle = PrivateKey::generate(3072).expect("key");
    let keys = [old.public_key(), new.public_key()];
    let sign = |k: &PrivateKey, t: &[u8]| encode_signature(&sign_token(k, t));

    assert_eq!(verify_token(&keys, TOKEN, &sign(&old, TOKEN)), Ok(0));
    assert_eq!(verify_token(&keys, TOKEN, &sign(&new, TOKEN)), Ok(1));
    assert_eq!(
        verify_token(keys.iter().rev(), TOKEN, &sign(&old, TOKEN)),
        Ok(1)
    );
    // A key of the right size that is not listed, and a listed key over another token.
    assert_eq!(
        verify_token(&keys, TOKEN, &sign(&other, TOKEN)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_token(&keys, b"another", &sign(&new, TOKEN)),
        Err(SignatureError::Mismatch)
    );
    // No listed key has a 3072-bit modulus: the length alone refuses it.
    assert_eq!(
        verify_token(&keys, TOKEN, &sign(&middle, TOKEN)),
        Err(SignatureError::WrongLength)
    );
    assert_eq!(
        verify_token(&keys, TOKEN, ""),
        Err(SignatureError::WrongLength)
    );
    assert_eq!(
        verify_token(&keys, TOKEN, "%%%"),
        Err(SignatureError::NotBase64)
    );
    let none: [&tokenstorm::token::PublicKey; 0] = [];
    assert!(
        verify_token(none, TOKEN, &sign(&old, TOKEN)).is_err(),
        "no keys, no pass"
    );

    // The 2560-character limit (spec §2): at the limit the string is decoded, one past it is refused unread.
    let at_limit = "A".repeat(MAX_SIGNATURE_CHARS);
    assert_eq!(
        decode_signature(&at_limit).map(|b| b.len()),
        Ok(MAX_SIGNATURE_CHARS / 4 * 3)
    );
    assert_eq!(
        decode_signature(&format!("{at_limit}AAAA")),
        Err(SignatureError::TooLong)
    );
    // Non-canonical base64 (padding bits set) is not the standard encoding of any signature.
    let sig = sign(&old, TOKEN);
    let last = sig.trim_end_matches('=').chars().last().expect("non-empty");
    let tweaked = non_canonical(&sig, last).expect("a 2048-bit signature ends in == in base64");
    assert_eq!(
        verify_token(&keys, TOKEN, &tweaked),
        Err(SignatureError::NotBase64)
    );
    for reason in [
        SignatureError::TooLong,
        SignatureError::NotBase64,
        SignatureError::WrongLength,
        SignatureError::Mismatch,
    ] {
        assert!(
            reason
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "metric label {}",
            reason.as_str()
        );
    }
}

/// The same string with the last data character changed so that only the unused low bits differ, if possible.
fn non_canonical(sig: &str, last: char) -> Option<String> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pad = sig.len() - sig.trim_end_matches('=').len();
    if pad == 0 {
        return None; // no unused bits
    }
    // With padding, at least the lowest bit of the last data character is unused: flip it.
    let c = ALPHABET.chars().nth(ALPHABET.find(last)? ^ 1)?;
    let cut = sig.trim_end_matches('=');
    Some(format!("{}{c}{}", &cut[..cut.len() - 1], "=".repeat(pad)))
}
