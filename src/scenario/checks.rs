//! Field value checks shared by plan resolution: each returns the problem text, and the caller names the field.

/// A finite number above 0 and below 1e9.
pub(super) fn positive(v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Ok(())
    } else {
        Err(format!("must be a number > 0 (got {v})"))
    }
}

/// 1–4096 printable ASCII bytes, no spaces: safe as an HTTP header value.
pub(super) fn header_safe(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 4096 || !v.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(format!(
            "must be 1–4096 printable ASCII characters without spaces (got {} bytes)",
            v.len()
        ));
    }
    Ok(())
}

/// An authorizer name AWS accepts: 1–128 characters of `[A-Za-z0-9_-+=,.@]`.
pub(super) fn name_ok(v: &str) -> Result<(), String> {
    if v.is_empty()
        || v.len() > 128
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-+=,.@".contains(&b))
    {
        return Err(format!(
            "must be 1–128 characters [A-Za-z0-9_-+=,.@] (got {v:?})"
        ));
    }
    Ok(())
}

/// A valid HTTP header name of 1–128 characters.
pub(super) fn header_name_ok(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 128 || hyper::header::HeaderName::from_bytes(v.as_bytes()).is_err()
    {
        return Err(format!(
            "must be a valid HTTP header name of 1–128 characters (got {v:?})"
        ));
    }
    Ok(())
}
