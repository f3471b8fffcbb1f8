//! What backs each oracle row (the spec section that documents it, or the gate setting that decides it and its
//! default) and on which transports it is sent, moved or skipped: the constants the table in `oracle.rs` names.

use super::{Applies, Evidence};
use crate::contract::Transport;

pub(super) const SIG: Evidence =
    Evidence::Documented("spec §2: RSASSA-PKCS1-v1_5 with SHA-256, keys of at least 2048 bits");
pub(super) const B64: Evidence =
    Evidence::Documented("spec §2: standard base64 alphabet with padding");
pub(super) const LEN: Evidence = Evidence::Documented("spec §2: at most 2560 characters");
pub(super) const MISSING: Evidence =
    Evidence::Documented("spec §2: a missing token or signature fails without invoking the Lambda");
pub(super) const TOKEN_LEN: Evidence = Evidence::Documented(
    "AWS IoT quotas (issue 5): a custom-authorizer token is at most 6144 characters",
);

pub(super) const QUERY: Evidence = Evidence::Documented(
    "spec §1: query values are percent-decoded once, split on `&`, each pair on its first `=`",
);

pub(super) const ALL: [Applies; Transport::COUNT] = [Applies::Yes; Transport::COUNT];
pub(super) const RAW_PLUS: [Applies; Transport::COUNT] = [
    Applies::Moved(
        "a header value is not percent- or form-decoded: always sent in the query string",
    ),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];
pub(super) const RAW_EQUALS: [Applies; Transport::COUNT] = [
    Applies::Moved("a header value is not split on `=`: always sent in the query string"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];
pub(super) const NO_HEADER_NEWLINE: [Applies; Transport::COUNT] = [
    Applies::Moved("an HTTP header cannot carry a line break: always sent in the query string"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];

pub(super) const QUERY_ONLY: [Applies; Transport::COUNT] = [
    Applies::Moved("a header value is not split on `&`: always sent in the query string"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];
pub(super) const USERNAME_ONLY: [Applies; Transport::COUNT] = [
    Applies::Skipped("HTTPS has no MQTT CONNECT username"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];

pub(super) const HTTPS_ONLY: [Applies; Transport::COUNT] = [
    Applies::Yes,
    Applies::Skipped("MQTT has no HTTP request body"),
    Applies::Skipped("MQTT has no HTTP request body"),
    Applies::Skipped("the generator's WebSocket devices send no upgrade body"),
];
pub(super) const MQTT_ONLY: [Applies; Transport::COUNT] = [
    Applies::Skipped("HTTPS has no MQTT CONNECT password"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];
pub(super) const NO_EMPTY_HEADER_NAME: [Applies; Transport::COUNT] = [
    Applies::Moved("an HTTP header cannot have an empty name: always sent in the query string"),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];
pub(super) const NAME_CASE: [Applies; Transport::COUNT] = [
    Applies::Moved(
        "HTTP header names are case-insensitive (RFC 9110 §5.1): always sent in the query string, where case can matter",
    ),
    Applies::Yes,
    Applies::Yes,
    Applies::Yes,
];

pub(super) const PLUS: Evidence = Evidence::Unconfirmed {
    setting: "gate.query_plus",
    default: "literal: `+` stays `+`, so the raw-`+` signature is the valid one and passes",
};
pub(super) const DUPLICATES: Evidence = Evidence::Unconfirmed {
    setting: "gate.duplicates",
    default: "first: the first value counts (headers, then query, then username)",
};
pub(super) const NAMES: Evidence = Evidence::Unconfirmed {
    setting: "gate.query_names",
    default: "exact: query and username parameter names are case-sensitive",
};
pub(super) const USERNAME_QUERY: Evidence = Evidence::Unconfirmed {
    setting: "gate.username_query",
    default: "first_question_mark: a second `?` in the username is refused (spec §1); aws-c-mqtt's \
              `mqtt_iot_metrics.c` says the service uses the last one",
};
/// Refused either way; the setting decides why (spec §1 says a second `?` is refused).
pub(super) const SECOND_QUESTION_MARK: Evidence = Evidence::Unconfirmed {
    setting: "gate.username_query",
    default: "first_question_mark: the second `?` is refused as a malformed username (spec §1); under \
              last_question_mark only the authorizer name after it is read, so the token is missing",
};
pub(super) const BARE: Evidence = Evidence::Unconfirmed {
    setting: "gate.bare_params",
    default: "split: `=name` is a parameter with an empty name, ignored; aws-c-mqtt's `mqtt_iot_metrics.c` \
              says the service treats `a=`, `a` and `=a` equivalently",
};
