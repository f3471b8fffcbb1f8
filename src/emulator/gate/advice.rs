//! What to tell a user about a refusal: why a signature string is not base64, why a decoded signature cannot be
//! for a key, and what to change for each rule. Advice only: the verdict itself is the gate's
//! ([`super::check_traced`]); these read the values the gate already judged.

use crate::contract::GateRejection;
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::token::verify::MAX_SIGNATURE_CHARS;
use crate::wire::settings::{GateSettings, QueryPlus};

/// Why `sig` (already refused as not base64) is not base64 in AWS's sense: the first cause found.
pub fn not_base64(sig: &str, settings: &GateSettings) -> String {
    let bad: Vec<char> = sig
        .chars()
        .filter(|c| !c.is_ascii_alphanumeric() && !matches!(c, '+' | '/' | '='))
        .collect();
    if sig.contains(['-', '_']) {
        "it uses the base64url alphabet ('-' and '_'); AWS wants standard base64 ('+' and '/')"
            .into()
    } else if sig.contains(' ') && settings.query_plus == QueryPlus::Space {
        "it holds a space: a '+' sent raw in a query string was read as a space (gate.query_plus = space); \
         percent-encode '+' as %2B"
            .into()
    } else if sig.contains(['\n', '\r']) {
        "it holds a line break: `openssl base64` wraps every 64 characters (use `openssl base64 -A`)".into()
    } else if sig.contains(char::is_whitespace) {
        "it holds whitespace".into()
    } else if sig.contains('%') {
        "it is still percent-encoded after decoding: it was encoded twice".into()
    } else if !bad.is_empty() {
        format!(
            "it holds characters outside A-Z a-z 0-9 + / = ({:?})",
            bad.iter().take(3).collect::<String>()
        )
    } else if !sig.len().is_multiple_of(4) {
        format!(
            "its length ({}) is not a multiple of 4: the '=' padding is missing, or it was cut",
            sig.len()
        )
    } else {
        "its '=' padding is not where base64 puts it".into()
    }
}

/// Why `got` decoded bytes cannot be a signature by an RSA key whose signatures are `want` bytes.
pub fn wrong_length(got: usize, want: usize) -> String {
    let what = match got {
        32 => " (32 bytes is a SHA-256 digest, not a signature)".to_string(),
        128 | 256 | 384 | 512 if got != want => format!(" (a signature by a {}-bit key)", got * 8),
        _ if got < want => " (cut short?)".into(),
        _ => " (bytes appended?)".into(),
    };
    format!("{got} bytes, but this key's signatures are {want} bytes{what}")
}

/// What to change, for each rule. `token_key_name` and `authorizers` make it concrete.
pub fn fix(rule: GateRejection, token_key_name: Option<&str>, authorizers: &[&str]) -> String {
    use GateRejection as R;
    let key = token_key_name.unwrap_or("<tokenKeyName>");
    match rule {
        R::MissingToken => format!(
            "send the token under the authorizer's tokenKeyName {key:?}, exactly (a header, a query parameter, or \
             a parameter of the MQTT username's query; not the body, not the MQTT password)"
        ),
        R::MissingSignature => "send x-amz-customauthorizer-signature (header, query parameter or MQTT username \
             parameter, under exactly that name) holding the base64 RSA SHA-256 signature of the token"
            .into(),
        R::NotBase64 => "send the signature as standard base64 with padding, on one line \
             (`openssl dgst -sha256 -sign key.pem token.txt | openssl base64 -A`), and percent-encode it in a query \
             string ('+' %2B, '/' %2F, '=' %3D), once"
            .into(),
        R::TooLong => format!(
            "send only the signature: at most {MAX_SIGNATURE_CHARS} characters (a 2048-bit key's is 344)"
        ),
        R::WrongLength => "sign with the private key of one of the authorizer's tokenSigningPublicKeys, and send \
             the whole signature (a 2048-bit key gives 256 bytes, 344 base64 characters)"
            .into(),
        R::SignatureMismatch => "sign exactly the token bytes that are sent (no trailing newline: `echo -n` or \
             `printf`), with `openssl dgst -sha256 -sign` (not `pkeyutl` over a hex digest), by the private key \
             of one of the authorizer's tokenSigningPublicKeys"
            .into(),
        R::UnknownAuthorizer => format!(
            "name a configured authorizer in x-amz-customauthorizer-name (configured: {authorizers:?})"
        ),
        R::NoDefaultAuthorizer => "name the authorizer in x-amz-customauthorizer-name, or make it the account's \
             default (`aws iot set-default-authorizer`)"
            .into(),
        R::InactiveAuthorizer => "activate the authorizer (`aws iot update-authorizer --authorizer-name NAME \
             --status ACTIVE`) or name an active one"
            .into(),
        R::TokenTooLong => format!("keep the token within {MAX_TOKEN_CHARS} characters"),
        R::MalformedUsername => "keep one '?' in the MQTT username: free text, '?', then the parameters joined \
             with '&' (an SDK that appends '?SDK=…' itself makes a second one: give the custom-auth parameters \
             through the SDK's custom-authorizer options instead)"
            .into(),
        R::DuplicatedParameter => "send each credential parameter once (headers, query string and MQTT username \
             count together)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_causes_are_named() {
        let d = GateSettings::default();
        let space = GateSettings {
            query_plus: QueryPlus::Space,
            ..d
        };
        assert!(not_base64("ab-_", &d).contains("base64url"));
        assert!(not_base64("ab c", &space).contains("query_plus"));
        assert!(not_base64("ab\ncd", &d).contains("-A"));
        assert!(not_base64("ab%2B", &d).contains("twice"));
        assert!(not_base64("abc", &d).contains("multiple of 4"));
        assert!(not_base64("ab!d", &d).contains("outside"));
        assert!(wrong_length(32, 256).contains("digest"));
        assert!(wrong_length(512, 256).contains("4096-bit"));
        for r in GateRejection::ALL {
            assert!(!fix(r, Some("k"), &["A"]).is_empty());
        }
    }
}
