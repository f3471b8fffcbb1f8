//! Resolving the token schemes that bring their own material: `devices.token = "jwt"` (the JWT signing key and
//! claims of `[devices.jwt]`) and `devices.token = "file"` (the rows of `devices.token_file`). Files are read
//! here, once, relative to the scenario file; errors name the field, and for rows the file and line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ScenarioError;
use super::file::{JwtSection, Scenario, TokenScheme};
use super::plan::{SigningKey, Target};
use super::target::relative_to;
use crate::attempt::Credential;
use crate::attempt::Mix;
use crate::attempt::jwt::{self, JwtIssuer};
use crate::attempt::token_file::{self, DeviceRow, DeviceRows, Devices, Form, Row};
use crate::contract::Class;
use crate::token::jws::{JwsAlg, JwsKey};
use crate::token::verify_token;

/// `devices.token = "file"`: the rows per device, and where they came from.
#[derive(Debug)]
pub struct TokenRows {
    pub path: PathBuf,
    /// Per device: the valid rows attempts take in order, and the expired row.
    pub rows: DeviceRows,
    /// Per device: the row its forged variants start from, one no valid attempt sends (a forged variant that
    /// passes the gate shows its token to the function, which may then remember its nonce or jti): the
    /// expired row, else the device's last row, kept out of `rows`.
    pub bases: Vec<Credential>,
}

impl TokenRows {
    /// The fewest valid rows any device has.
    pub fn fewest(&self) -> usize {
        self.rows.iter().map(|(v, _)| v.len()).min().unwrap_or(0)
    }

    /// Valid rows in all.
    pub fn valid(&self) -> usize {
        self.rows.iter().map(|(v, _)| v.len()).sum()
    }
}

/// The JWT issuer of a `jwt` scenario (`None` for other schemes, whose `[devices.jwt]` must stay untouched).
pub(super) fn jwt(
    s: &Scenario,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<Arc<JwtIssuer>>, ScenarioError> {
    let j: &JwtSection = &s.devices.jwt;
    if s.devices.token != TokenScheme::Jwt {
        if !j.is_default() {
            return Err(err(
                jwt::FIELD,
                format!(
                    "is set but devices.token is \"{}\": set devices.token = \"jwt\" or remove [devices.jwt]",
                    s.devices.token.as_str()
                ),
            ));
        }
        return Ok(None);
    }
    let alg = JwsAlg::parse(&j.alg).ok_or_else(|| {
        err(
            "devices.jwt.alg",
            format!("must be \"RS256\" or \"ES256\" (got {:?})", j.alg),
        )
    })?;
    if j.key_file.is_empty() {
        return Err(err(
            "devices.jwt.key_file",
            "devices.token = \"jwt\" needs the JWT signing key, a PEM private key (RS256: `openssl genrsa -out jwt.pem 2048`; ES256: `openssl ecparam -name prime256v1 -genkey -noout -out jwt.pem`)".into(),
        ));
    }
    let path = relative_to(file, Path::new(&j.key_file));
    let key = JwsKey::from_pem_file(alg, &path)
        .map_err(|e| err("devices.jwt.key_file", e.to_string()))?;
    let issuer = JwtIssuer::new(key, &j.kid, &j.sub, &j.claims, s.devices.token_max_age_s)
        .map_err(|(field, p)| err(&field, p))?;
    let last = s.devices.count.saturating_sub(1);
    let longest = format!("{}{last:06}", s.mqtt.client_id_prefix);
    issuer
        .check_length(s.devices.count, &longest)
        .map_err(|(field, p)| err(&field, p))?;
    Ok(Some(Arc::new(issuer)))
}

/// What the rows are checked against.
pub(super) struct RowChecks<'a> {
    pub mix: &'a Mix,
    pub target: &'a Target,
    pub keys: &'a [SigningKey],
}

/// The rows of a `file` scenario (`None` for other schemes, whose `devices.token_file` must stay empty).
pub(super) fn rows(
    s: &Scenario,
    file: &Path,
    checks: &RowChecks<'_>,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<TokenRows>, ScenarioError> {
    let d = &s.devices;
    let field = token_file::FIELD;
    if d.token != TokenScheme::File {
        if !d.token_file.is_empty() {
            return Err(err(
                field,
                format!(
                    "is set but devices.token is \"{}\": set devices.token = \"file\" or remove it",
                    d.token.as_str()
                ),
            ));
        }
        return Ok(None);
    }
    if d.token_file.is_empty() {
        return Err(err(
            field,
            "devices.token = \"file\" needs the rows file (.jsonl or .csv with device, token, signature)"
                .into(),
        ));
    }
    let form = Form::of(&d.token_file).map_err(|p| err(field, p))?;
    let path = relative_to(file, Path::new(&d.token_file));
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| err(field, format!("cannot read {shown}: {e}")))?;
    let devices = Devices {
        count: d.count,
        client_id_prefix: &s.mqtt.client_id_prefix,
    };
    let rows = token_file::parse(&text, form, devices)
        .map_err(|e| err(field, format!("{shown}:{}: {}", e.line, e.problem)))?;
    if matches!(checks.target, Target::Embedded { .. }) {
        verify_rows(&rows, checks.keys, &shown).map_err(|p| err(field, p))?;
    }
    let per_device = token_file::per_device(&rows, d.count);
    let (per_device, bases) =
        reserve_bases(per_device, s, checks.mix, &shown).map_err(|(f, p)| err(f, p))?;
    Ok(Some(TokenRows {
        path,
        rows: per_device,
        bases,
    }))
}

/// The embedded emulator's authorizer lists the scenario's keys only: a row they do not verify would be refused
/// at the gate, every valid attempt of its device a failure nobody asked for.
fn verify_rows(rows: &[Row], keys: &[SigningKey], shown: &str) -> Result<(), String> {
    let publics: Vec<_> = keys.iter().map(|k| &k.public).collect();
    match rows
        .iter()
        .find(|r| verify_token(publics.iter().copied(), r.token.as_bytes(), &r.signature).is_err())
    {
        Some(r) => Err(format!(
            "{shown}:{}: the signature does not verify under the scenario's signing keys; the embedded emulator's authorizer lists only those: name the key the rows were signed with in keys.private_key_files",
            r.line
        )),
        None => Ok(()),
    }
}

/// Checks every device has enough rows (and an expired one when `replayed.expired` is weighted), then takes
/// each device's forgery base out: its expired row, else its last row. Errors: (field, problem).
fn reserve_bases(
    mut per_device: DeviceRows,
    s: &Scenario,
    mix: &Mix,
    shown: &str,
) -> Result<(DeviceRows, Vec<Credential>), (&'static str, String)> {
    let count = per_device.len();
    let first_missing = |has: &dyn Fn(&DeviceRow) -> bool| {
        let m: Vec<usize> = (0..count).filter(|&i| !has(&per_device[i])).collect();
        m.first().map(|&first| (first, m.len()))
    };
    let client_id = |d: usize| format!("{}{d:06}", s.mqtt.client_id_prefix);
    // One row for the valid attempts, one for the forged variants (the expired row can be that one).
    if let Some((first, n)) = first_missing(&|(v, e)| !v.is_empty() && (v.len() > 1 || e.is_some()))
    {
        return Err((
            token_file::FIELD,
            format!(
                "{shown}: device {first} ({}) has too few rows ({n} of {count} devices do): each needs a valid row for its valid attempts, which take its rows in order, and another row for its forged variants to start from (its expired row, else its last row); add rows or lower devices.count",
                client_id(first),
            ),
        ));
    }
    if mix.share(Class::Expired) > 0.0
        && let Some((first, n)) = first_missing(&|(_, e)| e.is_some())
    {
        return Err((
            "mix.replayed_variants.expired",
            format!(
                "devices.token = \"file\": device {first} ({}) has no row with expired = true in {shown} ({n} of {count} devices have none): add one per device, a token your signing service issued already expired, or set this weight to 0",
                client_id(first),
            ),
        ));
    }
    let bases = per_device
        .iter_mut()
        .filter_map(|(valid, expired)| expired.clone().or_else(|| valid.pop()))
        .collect();
    Ok((per_device, bases))
}
