//! Token templates (`devices.token = "template"`, `devices.token_template`): the user's own token format as
//! text with placeholders, parsed once when the scenario is read and rendered at setup for every pool token
//! (never on the request path). Pure: the caller supplies every value (issue time, nonce, uuid bits), so the
//! same seed gives the same tokens.
//!
//! Placeholders: `{device}` (6-digit device id, as `per_device`), `{client_id}` (the device's MQTT client id),
//! `{unix_s}`, `{unix_ms}` (issue time), `{nonce}` (16 hex digits), `{uuid}` (v4-shaped), `{seq}` (the token's
//! index in the device's pool). `{{` and `}}` stand for literal braces. A template with none of the
//! per-attempt placeholders (`{unix_s}`, `{unix_ms}`, `{nonce}`, `{uuid}`, `{seq}`) is valid: every token of a
//! device is then the same string, which is what a static-per-device authorizer expects (see
//! [`TokenTemplate::varies_per_attempt`]).

use std::fmt;

use crate::contract::limits::MAX_TOKEN_CHARS;

/// The scenario field templates come from, named in every error.
pub const FIELD: &str = "devices.token_template";

/// One placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Device,
    ClientId,
    UnixS,
    UnixMs,
    Nonce,
    Uuid,
    Seq,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 7] = [
        ("device", Self::Device),
        ("client_id", Self::ClientId),
        ("unix_s", Self::UnixS),
        ("unix_ms", Self::UnixMs),
        ("nonce", Self::Nonce),
        ("uuid", Self::Uuid),
        ("seq", Self::Seq),
    ];

    fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
    }

    /// Whether two tokens of one device differ by this placeholder.
    fn per_attempt(self) -> bool {
        !matches!(self, Self::Device | Self::ClientId)
    }

    /// Longest rendering, chars (`client_id_chars`: the longest client id of the scenario).
    fn max_chars(self, client_id_chars: usize, devices: u32) -> usize {
        match self {
            Self::Device => device_field(devices.saturating_sub(1)).len(),
            Self::ClientId => client_id_chars,
            Self::UnixS | Self::UnixMs => u64::MAX.to_string().len(),
            Self::Nonce => 16,
            Self::Uuid => 36,
            Self::Seq => u32::MAX.to_string().len(),
        }
    }
}

/// Literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Placeholder),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTemplate {
    parts: Vec<Part>,
}

/// Why a template was refused; its message names the offending part (the caller names [`FIELD`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("empty template (devices.token = \"template\" needs one)")]
    Empty,
    #[error(
        "unknown placeholder {{{0}}} (known: {{device}}, {{client_id}}, {{unix_s}}, {{unix_ms}}, {{nonce}}, {{uuid}}, {{seq}}; write {{{{ and }}}} for literal braces)"
    )]
    Unknown(String),
    #[error("unbalanced '{{' at char {0} (no closing '}}'; write {{{{ for a literal brace)")]
    Unclosed(usize),
    #[error("unbalanced '}}' at char {0} (write }}}} for a literal brace)")]
    StrayClose(usize),
    #[error(
        "a rendered token can be {0} chars, over the custom-auth token limit of {MAX_TOKEN_CHARS}"
    )]
    TooLong(usize),
}

/// The values of one token.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub device: u32,
    pub client_id: &'a str,
    pub issued_unix_ms: u64,
    /// 64 random bits, rendered as 16 hex digits.
    pub nonce: u64,
    /// 128 random bits, rendered as a v4 uuid.
    pub uuid: u128,
    pub seq: u32,
}

/// `{device}`: the 6-digit device id (the `per_device` scheme's suffix).
pub fn device_field(device: u32) -> String {
    format!("{device:06}")
}

/// 128 random bits shaped as a version-4, RFC 4122-variant uuid.
pub fn uuid_v4(bits: u128) -> String {
    let b = (bits & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl TokenTemplate {
    /// Parses `text`: `{name}` placeholders, `{{`/`}}` literal braces.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        if text.is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match (chars[i], chars.get(i + 1)) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    lit.push(chars[i]);
                    i += 2;
                }
                ('{', _) => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}')
                        .ok_or(TemplateError::Unclosed(i))?;
                    let name: String = chars[i + 1..i + 1 + close].iter().collect();
                    if name.contains('{') {
                        return Err(TemplateError::Unclosed(i));
                    }
                    let p = Placeholder::named(&name).ok_or(TemplateError::Unknown(name))?;
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(p));
                    i += close + 2;
                }
                ('}', _) => return Err(TemplateError::StrayClose(i)),
                (c, _) => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Self { parts })
    }

    /// Parses and checks that no rendered token can exceed the custom-auth token limit, given the scenario's
    /// device count and longest client id.
    pub fn parse_checked(
        text: &str,
        devices: u32,
        client_id_chars: usize,
    ) -> Result<Self, TemplateError> {
        let t = Self::parse(text)?;
        let max = t.max_chars(devices, client_id_chars);
        if max > MAX_TOKEN_CHARS {
            return Err(TemplateError::TooLong(max));
        }
        Ok(t)
    }

    /// Longest token this template renders for `devices` devices.
    pub fn max_chars(&self, devices: u32, client_id_chars: usize) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(s) => s.chars().count(),
                Part::Field(f) => f.max_chars(client_id_chars, devices),
            })
            .sum()
    }

    /// Whether the template shows `p`.
    pub fn uses(&self, p: Placeholder) -> bool {
        self.parts.contains(&Part::Field(p))
    }

    /// The placeholder the template consists of, when it is exactly one (`"{unix_s}"`).
    pub fn only_placeholder(&self) -> Option<Placeholder> {
        match self.parts.as_slice() {
            [Part::Field(p)] => Some(*p),
            _ => None,
        }
    }

    /// Whether a device's tokens differ from one another (else every token of a device is the same).
    pub fn varies_per_attempt(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Field(f) if f.per_attempt()))
    }

    /// The token for `v`.
    pub fn render(&self, v: &Values<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(s) => out.push_str(s),
                Part::Field(f) => out.push_str(&match f {
                    Placeholder::Device => device_field(v.device),
                    Placeholder::ClientId => v.client_id.to_string(),
                    Placeholder::UnixS => (v.issued_unix_ms / 1000).to_string(),
                    Placeholder::UnixMs => v.issued_unix_ms.to_string(),
                    Placeholder::Nonce => format!("{:016x}", v.nonce),
                    Placeholder::Uuid => uuid_v4(v.uuid),
                    Placeholder::Seq => v.seq.to_string(),
                }),
            }
        }
        out
    }
}

impl fmt::Display for TokenTemplate {
    /// The template as written (escapes restored): what report.json shows instead of any token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(s) => f.write_str(&s.replace('{', "{{").replace('}', "}}"))?,
                Part::Field(x) => {
                    let name = Placeholder::ALL
                        .iter()
                        .find(|(_, p)| p == x)
                        .map_or("", |(n, _)| n);
                    write!(f, "{{{name}}}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
