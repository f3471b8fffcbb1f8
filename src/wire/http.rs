//! HTTPS publish credentials (spec §1): header names and where the gate looks for them.

/// Names the authorizer (header or query parameter). Absent: the default authorizer.
pub const AUTHORIZER_NAME: &str = "x-amz-customauthorizer-name";
/// Carries the base64 token signature (header or query parameter).
pub const SIGNATURE: &str = "x-amz-customauthorizer-signature";
/// Added by the generator to every attempt so the authorizer's event (and so the ledger) names the attempt it
/// served. It reaches the authorizer in `protocolData.http.headers`, as any header does on AWS.
pub const ATTEMPT_ID: &str = "x-tokenstorm-attempt";
