//! Secrets never leave in full: tokens are shortened to a prefix, their length and a hash prefix. Private keys
//! are never serialized at all (the report carries fingerprints).

use sha2::Digest as _;

/// `MyStri…(27 chars, sha256:8de411c9)`; very short tokens keep at most 2 characters.
pub fn shorten(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = if n > 12 { 6 } else { n.min(2) };
    let prefix: String = secret.chars().take(keep).collect();
    let digest = sha2::Sha256::digest(secret.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}…({n} chars, sha256:{hash})")
}

/// The effective scenario as JSON with its secrets shortened (`devices.static_token`, `mqtt.password`, function
/// table tokens).
pub fn scenario_json(s: &crate::scenario::Scenario) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or(serde_json::Value::Null);
    for at in ["/devices/static_token", "/mqtt/password"] {
        if let Some(t) = v.pointer_mut(at)
            && let Some(s) = t.as_str()
            && !s.is_empty()
        {
            *t = shorten(s).into();
        }
    }
    if let Some(serde_json::Value::Array(rows)) = v.pointer_mut("/authorizer/function/table") {
        for row in rows {
            if let Some(t) = row.get_mut("token")
                && let Some(s) = t.as_str()
            {
                *t = shorten(s).into();
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_shortened_and_hashed() {
        let s = shorten("MyStringThatNeedsToBeSigned");
        assert_eq!(s, "MyStri…(27 chars, sha256:8de411c9)");
        assert!(!shorten("abcdef").contains("abc"));
        let json = scenario_json(&crate::scenario::Scenario::default());
        let text = json.to_string();
        assert!(!text.contains("MyStringThatNeedsToBeSigned"), "{text}");
        assert!(text.contains("8de411c9"));
        let mut plain = crate::scenario::Scenario::default();
        plain.mqtt.password = "devpass-secret".into();
        let text = scenario_json(&plain).to_string();
        assert!(!text.contains("devpass-secret"), "{text}");
    }
}
