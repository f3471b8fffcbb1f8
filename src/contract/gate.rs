//! Why the signature gate refuses a request (spec §1–§2). A refusal means the authorizer is never invoked; the
//! reason labels `tokenstorm_gate_rejections_total{reason=…}`, and the oracle names the reason it expects.

use crate::token::SignatureError;

/// Why the gate refused a request. A bounded set: it labels metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateRejection {
    MissingToken,
    MissingSignature,
    NotBase64,
    TooLong,
    WrongLength,
    SignatureMismatch,
    UnknownAuthorizer,
    NoDefaultAuthorizer,
    InactiveAuthorizer,
    TokenTooLong,
    MalformedUsername,
    /// A credential parameter given more than once, under `gate.duplicates = "reject"`.
    DuplicatedParameter,
}

impl GateRejection {
    pub const ALL: [GateRejection; 12] = [
        Self::MissingToken,
        Self::MissingSignature,
        Self::NotBase64,
        Self::TooLong,
        Self::WrongLength,
        Self::SignatureMismatch,
        Self::UnknownAuthorizer,
        Self::NoDefaultAuthorizer,
        Self::InactiveAuthorizer,
        Self::TokenTooLong,
        Self::MalformedUsername,
        Self::DuplicatedParameter,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// Stable snake_case label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MissingSignature => "missing_signature",
            Self::NotBase64 => "not_base64",
            Self::TooLong => "too_long",
            Self::WrongLength => "wrong_length",
            Self::SignatureMismatch => "signature_mismatch",
            Self::UnknownAuthorizer => "unknown_authorizer",
            Self::NoDefaultAuthorizer => "no_default_authorizer",
            Self::InactiveAuthorizer => "inactive_authorizer",
            Self::TokenTooLong => "token_too_long",
            Self::MalformedUsername => "malformed_username",
            Self::DuplicatedParameter => "duplicated_parameter",
        }
    }

    /// Position in [`Self::ALL`], for enum-indexed counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl From<SignatureError> for GateRejection {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::TooLong => Self::TooLong,
            SignatureError::NotBase64 => Self::NotBase64,
            SignatureError::WrongLength => Self::WrongLength,
            SignatureError::Mismatch => Self::SignatureMismatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable_and_indexed() {
        let names: Vec<_> = GateRejection::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "missing_token",
                "missing_signature",
                "not_base64",
                "too_long",
                "wrong_length",
                "signature_mismatch",
                "unknown_authorizer",
                "no_default_authorizer",
                "inactive_authorizer",
                "token_too_long",
                "malformed_username",
                "duplicated_parameter",
            ]
        );
        for (i, r) in GateRejection::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
