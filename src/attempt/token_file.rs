//! Token files (`devices.token = "file"`, `devices.token_file`): `(device, token, signature)` rows the user's
//! own signing service made, read once when the scenario is resolved and put in the token pool
//! ([`super::pool::TokenPool::from_rows`]). Pure: text in, rows or an error naming the line out.
//!
//! Two forms, chosen by the file's extension:
//! - JSON Lines (`.jsonl`, `.ndjson`): one object per line, `{"device": 3, "token": "...", "signature":
//!   "...", "expired": false}`;
//! - CSV (`.csv`): a header line naming the columns (`device,token,signature[,expired]`, any order), then one
//!   row per line; a field may be double-quoted (`""` inside quotes is a quote).
//!
//! `device` is the device number (`0`…`devices.count - 1`, leading zeros allowed) or its MQTT client id
//! (`mqtt.client_id_prefix` + 6 digits). `signature` is standard base64 with padding, as `openssl dgst -sha256
//! -sign key.pem | base64 -w0` writes it. `expired` (optional, default false) marks a token the signing
//! service issued already expired: a device's first such row is its `replayed.expired` token, never sent as
//! valid. A device's other rows are its valid tokens, taken one per valid attempt in file order; blank lines are
//! skipped.

use super::Credential;
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::token::decode_signature;

/// The scenario field token files come from, named in every error.
pub const FIELD: &str = "devices.token_file";

/// The file's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    JsonLines,
    Csv,
}

impl Form {
    /// The form of a file named `name`, by its extension.
    pub fn of(name: &str) -> Result<Self, String> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl" | "ndjson") => Ok(Self::JsonLines),
            Some("csv") => Ok(Self::Csv),
            _ => Err(format!(
                "{name:?} must end in .jsonl or .ndjson (JSON Lines) or .csv"
            )),
        }
    }
}

/// One row, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    pub device: u32,
    pub token: String,
    pub signature: String,
    pub expired: bool,
}

/// A refused line: the 1-based line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub problem: String,
}

/// The scenario's devices, to resolve `device` values.
#[derive(Debug, Clone, Copy)]
pub struct Devices<'a> {
    pub count: u32,
    pub client_id_prefix: &'a str,
}

impl Devices<'_> {
    fn resolve(&self, v: &str) -> Result<u32, String> {
        let n = self.count;
        let number = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u32>().ok()
        } else {
            v.strip_prefix(self.client_id_prefix)
                .filter(|d| d.len() >= 6 && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|d| format!("{}{d:06}", self.client_id_prefix) == v)
        };
        number.filter(|&d| d < n).ok_or_else(|| {
            format!(
                "unknown device {v:?}: give a device number 0–{} or a client id {}000000…{}{:06} (devices.count = {n})",
                n.saturating_sub(1),
                self.client_id_prefix,
                self.client_id_prefix,
                n.saturating_sub(1)
            )
        })
    }
}

/// Checks the token and signature of a row.
fn row(
    line: usize,
    device: u32,
    token: String,
    signature: String,
    expired: bool,
) -> Result<Row, String> {
    if token.is_empty()
        || token.len() > MAX_TOKEN_CHARS
        || !token.bytes().all(|b| (0x21..0x7f).contains(&b))
    {
        return Err(format!(
            "token must be 1–{MAX_TOKEN_CHARS} printable ASCII characters without spaces (got {} bytes)",
            token.len()
        ));
    }
    decode_signature(&signature).map_err(|e| {
        format!(
            "signature is not standard base64 with padding ({}), as `openssl dgst -sha256 -sign key.pem | base64 -w0` writes it",
            e.as_str()
        )
    })?;
    Ok(Row {
        line,
        device,
        token,
        signature,
        expired,
    })
}

/// Parses every row of `text`.
pub fn parse(text: &str, form: Form, devices: Devices<'_>) -> Result<Vec<Row>, RowError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let at = |line: usize| move |problem: String| RowError { line, problem };
    let mut rows = Vec::new();
    match form {
        Form::JsonLines => {
            for (line, l) in lines {
                rows.push(json_row(line, l, devices).map_err(at(line))?);
            }
        }
        Form::Csv => {
            let Some((line, head)) = lines.next() else {
                return Ok(rows);
            };
            let columns = Columns::of(&split_csv(head).map_err(at(line))?).map_err(at(line))?;
            for (line, l) in lines {
                rows.push(
                    columns
                        .row(line, &split_csv(l).map_err(at(line))?, devices)
                        .map_err(at(line))?,
                );
            }
        }
    }
    Ok(rows)
}

fn json_row(line: usize, l: &str, devices: Devices<'_>) -> Result<Row, String> {
    let v: serde_json::Value =
        serde_json::from_str(l).map_err(|e| format!("not a JSON object: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["device", "token", "signature", "expired"].contains(&k.as_str()))
    {
        return Err(format!(
            "unknown key {k:?} (keys: device, token, signature, expired)"
        ));
    }
    let text = |k: &str| match obj.get(k) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{k} must be a string")),
        None => Err(format!("no {k}")),
    };
    let device = match obj.get("device") {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(_) => return Err("device must be a number or a client id string".into()),
        None => return Err("no device".into()),
    };
    let expired = match obj.get("expired") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err("expired must be true or false".into()),
    };
    row(
        line,
        devices.resolve(&device)?,
        text("token")?,
        text("signature")?,
        expired,
    )
}

/// Where each CSV column is.
struct Columns {
    device: usize,
    token: usize,
    signature: usize,
    expired: Option<usize>,
    count: usize,
}

impl Columns {
    fn of(head: &[String]) -> Result<Self, String> {
        let find = |name: &str| head.iter().position(|h| h.trim() == name);
        if let Some(h) = head
            .iter()
            .find(|h| !["device", "token", "signature", "expired"].contains(&h.trim()))
        {
            return Err(format!(
                "unknown column {h:?} in the header line (columns: device, token, signature and optionally expired)"
            ));
        }
        let need = |name: &str| {
            find(name).ok_or_else(|| format!("the header line has no {name} column (it must name device, token, signature and optionally expired)"))
        };
        Ok(Self {
            device: need("device")?,
            token: need("token")?,
            signature: need("signature")?,
            expired: find("expired"),
            count: head.len(),
        })
    }

    fn row(&self, line: usize, f: &[String], devices: Devices<'_>) -> Result<Row, String> {
        if f.len() != self.count {
            return Err(format!("{} fields, the header has {}", f.len(), self.count));
        }
        let expired = match self.expired.map(|i| f[i].trim()) {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(v) => {
                return Err(format!(
                    "expired must be true, false, 1, 0 or empty (got {v:?})"
                ));
            }
        };
        let device = devices.resolve(f[self.device].trim())?;
        row(
            line,
            device,
            f[self.token].clone(),
            f[self.signature].clone(),
            expired,
        )
    }
}

/// One CSV line's fields: comma-separated, each optionally in double quotes (`""` is a quote inside them).
fn split_csv(l: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = l.chars().peekable();
    loop {
        let mut f = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        f.push('"');
                    }
                    Some('"') => break,
                    Some(c) => f.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err("text after a closing quote (quote the whole field)".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                f.push(c);
                chars.next();
            }
        }
        fields.push(f);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// One device's rows: its valid credentials in file order and its first expired one.
pub type DeviceRow = (Vec<Credential>, Option<Credential>);

/// Every device's rows.
pub type DeviceRows = Vec<DeviceRow>;

/// Groups `rows` per device (`count` devices).
pub fn per_device(rows: &[Row], count: u32) -> DeviceRows {
    let mut out: DeviceRows = (0..count).map(|_| (Vec::new(), None)).collect();
    for r in rows {
        let cred = Credential {
            token: r.token.clone(),
            signature: Some(r.signature.clone()),
            wire: super::Wire::Standard,
        };
        let slot = &mut out[r.device as usize];
        if r.expired {
            slot.1.get_or_insert(cred);
        } else {
            slot.0.push(cred);
        }
    }
    out
}

#[cfg(test)]
mod tests;
