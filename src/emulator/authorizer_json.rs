//! Authorizers in the shape `aws iot describe-authorizer` prints (spec §9), accepted as is: the whole output
//! (`{"authorizerDescription": {...}}`) or the bare inner object. Fields the emulator does not use
//! (`authorizerArn`, dates, ...) are ignored, as are fields AWS may add later; `authorizerFunctionArn` names the
//! function (what the emulator publishes to CloudWatch under, `emulator::cloudwatch`).

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::Deserialize;

use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus, FunctionSpec};
use crate::token::PublicKey;

/// An authorizer as the control plane describes it: everything but the function that stands in for its Lambda.
#[derive(Debug, Clone)]
pub struct AuthorizerDescription {
    pub name: String,
    pub token_key_name: String,
    pub signing_keys: Vec<(String, PublicKey)>,
    pub status: AuthorizerStatus,
    pub signing_disabled: bool,
    pub enable_caching_for_http: bool,
    /// The function's name in `authorizerFunctionArn` (`arn:aws:lambda:…:function:NAME[:qualifier]`).
    pub function_name: Option<String>,
}

impl AuthorizerDescription {
    /// Completes the description with the in-process function.
    pub fn with_function(self, mut function: FunctionSpec) -> AuthorizerSpec {
        function.arn_function_name = function.arn_function_name.or(self.function_name);
        AuthorizerSpec {
            name: self.name,
            token_key_name: self.token_key_name,
            signing_keys: self.signing_keys,
            status: self.status,
            signing_disabled: self.signing_disabled,
            enable_caching_for_http: self.enable_caching_for_http,
            function,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Describe {
    authorizer_name: String,
    #[serde(default)]
    token_key_name: Option<String>,
    #[serde(default)]
    token_signing_public_keys: BTreeMap<String, String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    signing_disabled: Option<bool>,
    #[serde(default)]
    enable_caching_for_http: Option<bool>,
    #[serde(default)]
    authorizer_function_arn: Option<String>,
}

/// `NAME` in `arn:aws:lambda:<region>:<account>:function:NAME[:qualifier]`.
fn function_name_of(arn: &str) -> Option<String> {
    let rest = arn.split_once(":function:")?.1;
    let name = rest.split(':').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// Parses describe-authorizer JSON. `what` names the source (a file path) in errors.
pub fn parse_describe_authorizer(text: &str, what: &str) -> anyhow::Result<AuthorizerDescription> {
    let value: serde_json::Value = serde_json::from_str(text).with_context(|| {
        format!("{what}: not JSON (expected `aws iot describe-authorizer` output)")
    })?;
    let inner = value.get("authorizerDescription").cloned().unwrap_or(value);
    let d: Describe = serde_json::from_value(inner).with_context(|| {
        format!("{what}: not an authorizer description (authorizerName is required)")
    })?;
    let name = d.authorizer_name;
    if name.is_empty() {
        anyhow::bail!("{what}: authorizerName is empty");
    }
    let status = match d.status.as_deref() {
        None | Some("ACTIVE") => AuthorizerStatus::Active,
        Some("INACTIVE") => AuthorizerStatus::Inactive,
        Some(other) => {
            anyhow::bail!("{what}: status {other:?} is neither \"ACTIVE\" nor \"INACTIVE\"")
        }
    };
    let signing_disabled = d.signing_disabled.unwrap_or(false);
    let mut signing_keys = Vec::with_capacity(d.token_signing_public_keys.len());
    for (key_name, pem) in d.token_signing_public_keys {
        let key = PublicKey::from_pem(&pem, &format!("{what}: tokenSigningPublicKeys.{key_name}"))?;
        signing_keys.push((key_name, key));
    }
    let token_key_name = d.token_key_name.unwrap_or_default();
    if !signing_disabled {
        if token_key_name.is_empty() {
            anyhow::bail!("{what}: authorizer {name:?} has signing enabled but no tokenKeyName");
        }
        if signing_keys.is_empty() {
            anyhow::bail!(
                "{what}: authorizer {name:?} has signing enabled but no tokenSigningPublicKeys"
            );
        }
    }
    Ok(AuthorizerDescription {
        name,
        token_key_name,
        signing_keys,
        status,
        signing_disabled,
        enable_caching_for_http: d.enable_caching_for_http.unwrap_or(false),
        function_name: d
            .authorizer_function_arn
            .as_deref()
            .and_then(function_name_of),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_name_is_the_arns_last_part_before_a_qualifier() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:TestIotCustomAuthorizer";
        assert_eq!(
            function_name_of(arn).as_deref(),
            Some("TestIotCustomAuthorizer")
        );
        assert_eq!(
            function_name_of(&format!("{arn}:live")).as_deref(),
            Some("TestIotCustomAuthorizer")
        );
        assert_eq!(
            function_name_of("arn:aws:lambda:eu-west-1:1:function:"),
            None
        );
        assert_eq!(function_name_of("MyFunction"), None);
    }
    use crate::token::PrivateKey;

    fn describe(pem: &str) -> String {
        serde_json::json!({
            "authorizerDescription": {
                "authorizerName": "MyCustomAuthorizer",
                "authorizerArn": "arn:aws:iot:eu-west-1:123456789012:authorizer/MyCustomAuthorizer",
                "authorizerFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:TestIotCustomAuthorizer",
                "tokenKeyName": "X-My-App-custom-key",
                "tokenSigningPublicKeys": {"FIRST_KEY": pem, "SECOND_KEY": pem},
                "status": "ACTIVE",
                "creationDate": "2024-01-01T00:00:00+00:00",
                "lastModifiedDate": "2024-01-01T00:00:00+00:00",
                "signingDisabled": false,
                "enableCachingForHttp": true
            }
        })
        .to_string()
    }

    #[test]
    fn accepts_the_cli_output_and_the_bare_object() {
        let pem = PrivateKey::generate(2048)
            .unwrap()
            .public_key()
            .to_spki_pem();
        let full = describe(&pem);
        let d = parse_describe_authorizer(&full, "a.json").unwrap();
        assert_eq!(d.name, "MyCustomAuthorizer");
        assert_eq!(d.token_key_name, "X-My-App-custom-key");
        assert_eq!(d.signing_keys.len(), 2);
        assert_eq!(d.status, AuthorizerStatus::Active);
        assert!(d.enable_caching_for_http && !d.signing_disabled);
        let inner =
            serde_json::from_str::<serde_json::Value>(&full).unwrap()["authorizerDescription"]
                .to_string();
        assert_eq!(
            parse_describe_authorizer(&inner, "b.json").unwrap().name,
            "MyCustomAuthorizer"
        );
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = parse_describe_authorizer("{", "x.json").unwrap_err();
        assert!(format!("{err:#}").contains("x.json"));
        let bad_status = r#"{"authorizerName":"A","status":"PAUSED","signingDisabled":true}"#;
        assert!(
            format!(
                "{:#}",
                parse_describe_authorizer(bad_status, "s.json").unwrap_err()
            )
            .contains("PAUSED")
        );
        let bad_key =
            r#"{"authorizerName":"A","tokenKeyName":"k","tokenSigningPublicKeys":{"K1":"nope"}}"#;
        let msg = format!(
            "{:#}",
            parse_describe_authorizer(bad_key, "k.json").unwrap_err()
        );
        assert!(msg.contains("k.json") && msg.contains("K1"), "{msg}");
        let no_keys = r#"{"authorizerName":"A","tokenKeyName":"k"}"#;
        assert!(parse_describe_authorizer(no_keys, "n.json").is_err());
        let disabled = r#"{"authorizerName":"A","signingDisabled":true,"status":"INACTIVE"}"#;
        let d = parse_describe_authorizer(disabled, "d.json").unwrap();
        assert!(d.signing_disabled && d.status == AuthorizerStatus::Inactive);
    }
}
