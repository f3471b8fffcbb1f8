//! The oracle: ONE table saying, for every forgery variant, what it is, what the signature gate must answer
//! (the refusal reason the emulator counts in `tokenstorm_gate_rejections_total{reason=…}`, or that it passes),
//! on which transports it is sent, and whether the real service's behaviour is documented or unconfirmed (then
//! the emulator setting that covers it and that setting's documented default). The invariants, the report and
//! the tests read this table; nothing else restates it.
//!
//! Most variants are refused whatever the settings. A few are what they are only under an unconfirmed
//! behaviour: `raw_plus` is a valid credential where `+` stays `+` and undecodable where it is a space;
//! `duplicated_token` passes where the first value counts; `free_text_question_mark` passes where the
//! username's query starts at its last `?`; the `bare_signature_*` pair is an empty signature (or a duplicate)
//! where `=name` reads as `name` with an empty value, and their verdicts then follow `duplicates` as well. [`Entry::expected`] gives the verdict under the
//! settings in force ([`GateSettings`]: the embedded emulator's, or what an external target is declared to do).

use crate::contract::Forgery;
use crate::contract::{GateRejection, Transport};
use crate::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};

mod describe;
mod replays;
mod sources;

pub use describe::describe;
pub use replays::{REPLAYS, ReplayEntry, replay};
use sources::*;

/// Which part of the credential a variant attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Cryptographic,
    Encoding,
    Placement,
}

impl Family {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cryptographic => "cryptographic",
            Self::Encoding => "encoding",
            Self::Placement => "placement",
        }
    }
}

/// What backs the expected verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Stated by AWS (the spec section that says so).
    Documented(&'static str),
    /// Not stated by AWS: the emulator setting that chooses the behaviour, and its documented default.
    Unconfirmed {
        setting: &'static str,
        default: &'static str,
    },
}

/// What the signature gate must do with a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    /// Refused before the authorizer, counted under this reason.
    Refused(GateRejection),
    /// Passes the gate (in effect a valid credential) and reaches the authorizer, once per attempt.
    Passes,
}

impl GateVerdict {
    pub const fn is_refused(self) -> bool {
        matches!(self, Self::Refused(_))
    }

    /// The refusal reason, or `passes`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Refused(r) => r.as_str(),
            Self::Passes => "passes",
        }
    }
}

/// Whether a variant is sent over a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Yes,
    /// Sent, but not where the mix placed it (why).
    Moved(&'static str),
    /// Not sent over this transport (why); the report lists it as skipped.
    Skipped(&'static str),
}

/// One row of the oracle.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub forgery: Forgery,
    pub family: Family,
    /// Expected gate verdict under the default settings (see [`Entry::expected`]).
    pub verdict: GateVerdict,
    pub evidence: Evidence,
    /// HTTPS, MQTT/TLS, MQTT, WSS in [`Transport::ALL`] order.
    pub transports: [Applies; Transport::COUNT],
}

impl Entry {
    pub fn applies(&self, t: Transport) -> Applies {
        self.transports[t.index()]
    }

    /// What the variant is (the doc line of its enum variant, kept in [`describe`]).
    pub fn what(&self) -> &'static str {
        describe(self.forgery)
    }

    /// The expected gate verdict under `s`: [`Self::verdict`], except for the rows whose behaviour is an
    /// unconfirmed setting.
    pub fn expected(&self, s: &GateSettings) -> GateVerdict {
        use GateVerdict::{Passes, Refused};
        match self.forgery {
            F::RawPlus => match s.query_plus {
                QueryPlus::Literal => Passes,
                QueryPlus::Space => Refused(NOT_B64),
            },
            F::DuplicatedToken => match s.duplicates {
                Duplicates::First => Passes,
                Duplicates::Last => Refused(MISMATCH),
                Duplicates::Reject => Refused(DUPLICATED),
            },
            F::DuplicatedSignature => match s.duplicates {
                Duplicates::First => Refused(MISMATCH),
                Duplicates::Last => Passes,
                Duplicates::Reject => Refused(DUPLICATED),
            },
            F::SignatureNameCase => match s.query_names {
                QueryNames::Exact => Refused(R::MissingSignature),
                QueryNames::CaseInsensitive => Passes,
            },
            // The query after the last `?` names the authorizer only: no token is seen.
            F::SecondQuestionMark => match s.username_query {
                UsernameQuery::FirstQuestionMark => Refused(R::MalformedUsername),
                UsernameQuery::LastQuestionMark => Refused(R::MissingToken),
            },
            F::FreeTextQuestionMark => match s.username_query {
                UsernameQuery::FirstQuestionMark => Refused(R::MalformedUsername),
                UsernameQuery::LastQuestionMark => Passes,
            },
            // `equivalent`: an empty signature before (or after) the valid one. The empty one is missing when it
            // counts; `reject` refuses the pair.
            F::BareSignatureBefore | F::BareSignatureAfter => {
                let empty_counts = match (self.forgery, s.duplicates) {
                    (_, Duplicates::Reject) => return bare(s, Refused(DUPLICATED)),
                    (F::BareSignatureBefore, d) => d == Duplicates::First,
                    (_, d) => d == Duplicates::Last,
                };
                bare(
                    s,
                    if empty_counts {
                        Refused(R::MissingSignature)
                    } else {
                        Passes
                    },
                )
            }
            _ => self.verdict,
        }
    }

    /// Whether the variant is refused at the gate under `s`.
    pub fn refused_under(&self, s: &GateSettings) -> bool {
        self.expected(s).is_refused()
    }
}

/// A `bare_signature_*` variant's verdict: what `equivalent` makes of it, or a pass under `split` (the bare
/// parameter then has an empty name and is ignored).
fn bare(s: &GateSettings, equivalent: GateVerdict) -> GateVerdict {
    match s.bare_params {
        BareParams::Split => GateVerdict::Passes,
        BareParams::Equivalent => equivalent,
    }
}

const fn row(
    forgery: Forgery,
    family: Family,
    refusal: GateRejection,
    evidence: Evidence,
) -> Entry {
    Entry {
        forgery,
        family,
        verdict: GateVerdict::Refused(refusal),
        evidence,
        transports: ALL,
    }
}

/// A row whose verdict under the default settings is [`GateVerdict::Passes`].
const fn passes(forgery: Forgery, family: Family, evidence: Evidence) -> Entry {
    Entry {
        verdict: GateVerdict::Passes,
        ..row(forgery, family, R::MissingToken, evidence)
    }
}

use Family::{Cryptographic as C, Encoding as E, Placement as P};
use Forgery as F;
use GateRejection as R;

const MISMATCH: GateRejection = R::SignatureMismatch;
const WRONG_LEN: GateRejection = R::WrongLength;
const NOT_B64: GateRejection = R::NotBase64;
const DUPLICATED: GateRejection = R::DuplicatedParameter;

/// The oracle, in [`Forgery::ALL`] order.
pub static TABLE: [Entry; Forgery::COUNT] = [
    row(F::WrongKey, C, MISMATCH, SIG),
    row(F::WrongKeyOtherSize, C, WRONG_LEN, SIG),
    row(F::ShortKey, C, WRONG_LEN, SIG),
    row(F::BitFlip, C, MISMATCH, SIG),
    row(F::Truncated, C, WRONG_LEN, SIG),
    row(F::Extended, C, WRONG_LEN, SIG),
    row(F::Empty, P, R::MissingSignature, MISSING),
    row(F::ValueZero, C, MISMATCH, SIG),
    row(F::ValueOne, C, MISMATCH, SIG),
    row(F::ValueNMinusOne, C, MISMATCH, SIG),
    row(F::ValueN, C, MISMATCH, SIG),
    row(F::ValueNPlusOne, C, MISMATCH, SIG),
    row(F::NotBase64, E, NOT_B64, B64),
    row(F::OtherToken, C, MISMATCH, SIG),
    row(F::TokenNewline, C, MISMATCH, SIG),
    row(F::MissingSignature, P, R::MissingSignature, MISSING),
    row(F::HexDigest, C, MISMATCH, SIG),
    row(F::Pss, C, MISMATCH, SIG),
    row(F::Sha1, C, MISMATCH, SIG),
    row(F::Sha384, C, MISMATCH, SIG),
    row(F::Sha512, C, MISMATCH, SIG),
    row(F::DigestInfoWrongOid, C, MISMATCH, SIG),
    row(F::DigestInfoNoNull, C, MISMATCH, SIG),
    row(F::ShortPadding, C, MISMATCH, SIG),
    row(F::BlockType02, C, MISMATCH, SIG),
    row(F::BytesAfterDigest, C, MISMATCH, SIG),
    row(F::GarbagePadding, C, MISMATCH, SIG),
    row(F::Base64Url, E, NOT_B64, B64),
    row(F::MissingPadding, E, NOT_B64, B64),
    Entry {
        transports: NO_HEADER_NEWLINE,
        ..row(F::Wrapped64, E, NOT_B64, B64)
    },
    row(F::Whitespace, E, NOT_B64, B64),
    row(F::OverLong, E, R::TooLong, LEN),
    row(F::TokenOverLong, P, R::TokenTooLong, TOKEN_LEN),
    row(F::DoublePercentEncoding, E, NOT_B64, QUERY),
    row(
        F::UnknownAuthorizer,
        P,
        R::UnknownAuthorizer,
        Evidence::Documented("spec §1: an unknown authorizer name fails without a Lambda call"),
    ),
    row(F::MissingToken, P, R::MissingToken, MISSING),
    row(F::SignatureMisnamed, P, R::MissingSignature, MISSING),
    Entry {
        transports: QUERY_ONLY,
        ..row(F::SmuggledAmpersand, P, MISMATCH, QUERY)
    },
    Entry {
        transports: USERNAME_ONLY,
        ..row(
            F::SecondQuestionMark,
            P,
            R::MalformedUsername,
            SECOND_QUESTION_MARK,
        )
    },
    Entry {
        transports: RAW_PLUS,
        ..passes(F::RawPlus, E, PLUS)
    },
    passes(F::DuplicatedToken, P, DUPLICATES),
    row(F::DuplicatedSignature, P, MISMATCH, DUPLICATES),
    Entry {
        transports: NAME_CASE,
        ..row(F::SignatureNameCase, P, R::MissingSignature, NAMES)
    },
    Entry {
        transports: RAW_EQUALS,
        ..passes(F::SmuggledEquals, P, QUERY)
    },
    Entry {
        transports: HTTPS_ONLY,
        ..row(
            F::InBody,
            P,
            R::MissingToken,
            Evidence::Documented(
                "spec §1: HTTPS credentials travel in headers or the query string, not the body",
            ),
        )
    },
    Entry {
        transports: MQTT_ONLY,
        ..row(
            F::InPassword,
            P,
            R::MissingToken,
            Evidence::Documented(
                "spec §1: MQTT credentials travel in the CONNECT username's query, not the password",
            ),
        )
    },
    row(
        F::InactiveAuthorizer,
        P,
        R::InactiveAuthorizer,
        Evidence::Documented("spec §1: an INACTIVE authorizer fails without a Lambda call"),
    ),
    Entry {
        transports: USERNAME_ONLY,
        ..row(
            F::FreeTextQuestionMark,
            P,
            R::MalformedUsername,
            USERNAME_QUERY,
        )
    },
    Entry {
        transports: NO_EMPTY_HEADER_NAME,
        ..passes(F::BareSignatureBefore, P, BARE)
    },
    Entry {
        transports: NO_EMPTY_HEADER_NAME,
        ..passes(F::BareSignatureAfter, P, BARE)
    },
];

/// Whether attempts of class `c` must never reach the authorizer under `s`: the forged variants the oracle
/// expects the gate to refuse (valid credentials and replays pass; so do the variants [`Entry::expected`] lets
/// through under `s`).
pub fn must_be_refused(c: crate::contract::Class, s: &GateSettings) -> bool {
    match c {
        crate::contract::Class::Forged(f) => entry(f).refused_under(s),
        _ => false,
    }
}

/// Every class sent over `t` with the gate verdict expected under `s`: a valid credential (passes), then each
/// forged variant the oracle does not skip on `t`, in [`Forgery::ALL`] order (what the tests of the gate and of
/// `tokenstorm explain` walk).
pub fn expected_over(t: Transport, s: &GateSettings) -> Vec<(crate::contract::Class, GateVerdict)> {
    use crate::contract::Class;
    let mut out = vec![(Class::Valid, GateVerdict::Passes)];
    for e in &TABLE {
        if !matches!(e.applies(t), Applies::Skipped(_)) {
            out.push((Class::Forged(e.forgery), e.expected(s)));
        }
    }
    out
}

/// The oracle row of a variant.
pub fn entry(f: Forgery) -> &'static Entry {
    &TABLE[f.index()]
}

#[cfg(test)]
mod tests;
