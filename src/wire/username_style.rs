//! The CONNECT username shapes the AWS IoT Device SDKs send (`[mqtt] username_style`), so a run can present
//! exactly what a fleet of real devices presents: the order of the custom-auth parameters, which values are
//! percent-encoded and how, and the suffix each SDK appends. Taken from the SDKs' sources (fixtures in
//! `src/wire/testdata/username_styles.txt`, one line per style, each citing its source file):
//!
//! - `python_v2`: aws-iot-device-sdk-python-v2 `awsiot/mqtt_connection_builder.py` (`_with_custom_authorizer`,
//!   `_get_metrics_str`): name, signature, token; the signature through `urllib.parse.quote` (so `/` stays raw)
//!   unless it already holds `%`; name and token raw; then `SDK=PythonV2&Version=<awsiotsdk version>` (the
//!   releases before the CRT metrics).
//! - `node_v2`: aws-crt-nodejs `lib/common/aws_iot_shared.ts` (`buildMqtt5FinalUsername`, before the CRT metrics
//!   of April 2026): name, token, signature; the signature through `encodeURIComponent` unless it holds `%`;
//!   then `SDK=NodeJSv2&Version=<aws-crt version>`.
//! - `java_v2`: aws-iot-device-sdk-java-v2 `AwsIotMqtt5ClientBuilder.java` (`buildMqtt5FinalUsername`, before
//!   the SDK version moved into the CRT metrics): name, token, signature; the signature through
//!   `URLEncoder.encode` (a space becomes `+`) unless it holds `%`; then `SDK=JavaV2&Version=<aws-crt version>`.
//! - `crt_metrics`: the SDK releases whose CRT writes the metrics (awsiotsdk 1.31.0 with awscrt 0.36.1, the
//!   versions tests/requirements.txt pins: `awsiot/_iot_metrics.py`, `awscrt/aws_iot_metrics.py`, then
//!   awslabs/aws-c-mqtt `source/mqtt_iot_metrics.c` `aws_mqtt_append_sdk_metrics_to_username`): the `python_v2`
//!   parameters, then `SDK=…&Platform=…&Metadata=(k=v;…)` instead of `SDK`/`Version`, values raw (`/`, `(`, `)`,
//!   `;`, `,`, `=`). `tests/python/test_sdk_custom_auth.py` checks it byte for byte against that SDK.
//!
//! Every style keeps tokenstorm's free text, `ts-<attempt id>`, before the `?` (every SDK puts its
//! `username`/`auth_username` there), so the emulator's ledger joins each attempt whatever the style.
//!
//! An SDK sends the token (and the authorizer name) raw and leaves a signature holding `%` as it is. When that
//! would change what the gate reads back (a token with `&`, `%` or `+`, a forged signature with `%` or a space),
//! [`sdk_query`] returns `None` and the caller sends tokenstorm's fully encoded shape instead, so the oracle's
//! verdict on every credential stays what it is.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use super::http::{AUTHORIZER_NAME, SIGNATURE};
use super::mqtt::{UsernameParts, build_username, parse_username_with};
use super::settings::{GateSettings, QueryPlus};

/// Which SDK's CONNECT username shape the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameStyle {
    /// tokenstorm's own: name, token, signature, every value percent-encoded, no SDK suffix.
    #[default]
    Tokenstorm,
    PythonV2,
    NodeV2,
    JavaV2,
    CrtMetrics,
}

impl UsernameStyle {
    pub const ALL: [UsernameStyle; 5] = [
        Self::Tokenstorm,
        Self::PythonV2,
        Self::NodeV2,
        Self::JavaV2,
        Self::CrtMetrics,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tokenstorm => "tokenstorm",
            Self::PythonV2 => "python_v2",
            Self::NodeV2 => "node_v2",
            Self::JavaV2 => "java_v2",
            Self::CrtMetrics => "crt_metrics",
        }
    }
}

/// `_get_metrics_str` of the releases before the CRT metrics (the version written is the one
/// tests/requirements.txt pins, which itself sends [`CRT_METRICS_SUFFIX`]).
pub const PYTHON_V2_SUFFIX: &str = "SDK=PythonV2&Version=1.31.0";
/// `buildMqtt5FinalUsername`'s `SDK` and `Version` (`platform.crt_version()`, the aws-crt npm version).
pub const NODE_V2_SUFFIX: &str = "SDK=NodeJSv2&Version=1.33.0";
/// `buildMqtt5FinalUsername`'s `SDK` and `Version` (`new PackageInfo().version`, the aws-crt-java version).
pub const JAVA_V2_SUFFIX: &str = "SDK=JavaV2&Version=0.38.1";
/// aws-c-mqtt's `SDK`, `Platform` and `Metadata` as the pinned Python SDK fills them for MQTT 3.1.1 over TLS
/// (awscrt `aws_iot_metrics.py` `create_metrics`: CRTVersion, the SDK's IoTSDKVersion, IoTSDKFeature (`F/3`:
/// protocol 3.1.1, `G/A`: the socket implementation), IoTSDKMetricsVersion), as that SDK sends it to the emulator.
pub const CRT_METRICS_SUFFIX: &str = "SDK=IoTDeviceSDK/Python&Platform=Unix&Metadata=(CRTVersion=0.36.1;\
IoTSDKVersion=1.31.0;IoTSDKFeature=F/3,G/A;IoTSDKMetricsVersion=1)";

/// Python's `urllib.parse.quote` (safe `/`): all but `A-Za-z0-9_.-~` and `/`.
const PYTHON_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');
/// JavaScript's `encodeURIComponent`: all but `A-Za-z0-9-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');
/// Java's `URLEncoder.encode`: all but `A-Za-z0-9.-*_`, and a space is `+`.
const URL_ENCODER: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'*')
    .remove(b'_')
    .remove(b' ');

/// The credentials one username carries.
#[derive(Debug, Clone, Copy)]
pub struct StyleParts<'a> {
    pub authorizer_name: Option<&'a str>,
    pub token_key_name: &'a str,
    pub token: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The username's query part (from its `?`) in `style`'s shape, or in tokenstorm's where [`sdk_query`] gives none.
pub fn query(style: UsernameStyle, parts: &StyleParts<'_>) -> String {
    sdk_query(style, parts).unwrap_or_else(|| {
        build_username(&UsernameParts {
            authorizer_name: parts.authorizer_name,
            token_key_name: parts.token_key_name,
            token: parts.token,
            signature: parts.signature,
            ..UsernameParts::default()
        })
    })
}

/// The username's query part (from its `?`) in `style`'s shape; `None` for [`UsernameStyle::Tokenstorm`] (the
/// caller builds that one) and when the SDK's encoding would not read back as `parts` under every `query_plus`.
pub fn sdk_query(style: UsernameStyle, parts: &StyleParts<'_>) -> Option<String> {
    let sig = |set: &'static AsciiSet| {
        parts.signature.map(|s| {
            if s.contains('%') {
                s.to_string()
            } else {
                // Only Java's set leaves a space raw: `URLEncoder` writes it as `+`.
                utf8_percent_encode(s, set).to_string().replace(' ', "+")
            }
        })
    };
    let name = parts
        .authorizer_name
        .map(|n| (AUTHORIZER_NAME, n.to_string()));
    let token = parts.token.map(|t| (parts.token_key_name, t.to_string()));
    let (params, suffix) = match style {
        UsernameStyle::Tokenstorm => return None,
        UsernameStyle::PythonV2 | UsernameStyle::CrtMetrics => {
            let suffix = match style {
                UsernameStyle::PythonV2 => PYTHON_V2_SUFFIX,
                _ => CRT_METRICS_SUFFIX,
            };
            (
                [name, sig(PYTHON_QUOTE).map(|s| (SIGNATURE, s)), token],
                suffix,
            )
        }
        UsernameStyle::NodeV2 => (
            [name, token, sig(URI_COMPONENT).map(|s| (SIGNATURE, s))],
            NODE_V2_SUFFIX,
        ),
        UsernameStyle::JavaV2 => (
            [name, token, sig(URL_ENCODER).map(|s| (SIGNATURE, s))],
            JAVA_V2_SUFFIX,
        ),
    };
    let mut out = String::new();
    for (k, v) in params.into_iter().flatten() {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&v);
    }
    out.push(if out.is_empty() { '?' } else { '&' });
    out.push_str(suffix);
    reads_back(&out, parts, suffix.split('&').count()).then_some(out)
}

/// Whether the gate reads `query` as `parts` (and `suffix_pairs` more parameters), whether a raw `+` is a `+` or
/// a space.
fn reads_back(query: &str, parts: &StyleParts<'_>, suffix_pairs: usize) -> bool {
    [QueryPlus::Literal, QueryPlus::Space]
        .into_iter()
        .all(|query_plus| {
            let settings = GateSettings {
                query_plus,
                ..GateSettings::default()
            };
            parse_username_with(&format!("ts-x{query}"), &settings).is_ok_and(|p| {
                p.get(AUTHORIZER_NAME) == parts.authorizer_name
                    && p.get(parts.token_key_name) == parts.token
                    && p.signature() == parts.signature
                    && p.pairs.len() == parts_count(parts) + suffix_pairs
            })
        })
}

fn parts_count(parts: &StyleParts<'_>) -> usize {
    [
        parts.authorizer_name.is_some(),
        parts.token.is_some(),
        parts.signature.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count()
}

#[cfg(test)]
mod tests;
