//! What the Lambda service writes to a function's log group, pure: the group name, an execution environment's
//! stream name (`2026/12/03/[$LATEST]<32 hex>`), and the `START` / `END` / `REPORT` lines around each invocation.

use crate::contract::authorizer::AuthorizerSpec;

/// `Max Memory Used` in `REPORT` lines: the emulator does not measure a function's memory, so it writes this
/// nominal figure (capped at the function's memory size).
pub const NOMINAL_MAX_MEMORY_MB: u32 = 40;

/// The function's name as Lambda knows it ([`crate::contract::authorizer::FunctionSpec::name`]).
pub fn function_name(spec: &AuthorizerSpec) -> String {
    spec.function.name(&spec.name)
}

/// `/aws/lambda/<function>`.
pub fn log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// A new execution environment's stream: its start day (UTC) and 32 random hex digits, as Lambda names them.
pub fn stream_name(unix_ms: u64) -> String {
    let (y, m, d, ..) = crate::contract::utc::civil(unix_ms / 1000);
    format!(
        "{y:04}/{m:02}/{d:02}/[$LATEST]{}",
        uuid::Uuid::new_v4().simple()
    )
}

/// The figures of one `REPORT` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub duration_us: u64,
    pub billed_ms: u64,
    pub memory_mb: u32,
}

pub fn start(request_id: &str) -> String {
    format!("START RequestId: {request_id} Version: $LATEST")
}

pub fn end(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// `REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB`.
pub fn report(request_id: &str, r: Report) -> String {
    format!(
        "REPORT RequestId: {request_id}\tDuration: {}.{:02} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t\
         Max Memory Used: {} MB",
        r.duration_us / 1000,
        r.duration_us % 1000 / 10,
        r.billed_ms,
        r.memory_mb,
        NOMINAL_MAX_MEMORY_MB.min(r.memory_mb)
    )
}

/// One invocation's lines: `START`, what the function wrote, `END`, `REPORT`.
pub fn invocation(request_id: &str, output: Vec<String>, r: Report) -> Vec<String> {
    let mut lines = Vec::with_capacity(output.len() + 3);
    lines.push(start(request_id));
    lines.extend(output);
    lines.push(end(request_id));
    lines.push(report(request_id, r));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::authorizer::{Backend, FunctionBehaviour, FunctionSpec, InvokeFunction};

    #[test]
    fn lines_read_as_lambda_writes_them() {
        let r = Report {
            duration_us: 1234,
            billed_ms: 2,
            memory_mb: 128,
        };
        assert_eq!(
            invocation("r1", vec!["out".into()], r),
            [
                "START RequestId: r1 Version: $LATEST",
                "out",
                "END RequestId: r1",
                "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB",
            ]
        );
        let small = Report {
            duration_us: 5,
            billed_ms: 1,
            memory_mb: 32,
        };
        assert!(report("r", small).ends_with(
            "Duration: 0.00 ms\tBilled Duration: 1 ms\tMemory Size: 32 MB\tMax Memory Used: 32 MB"
        ));
    }

    #[test]
    fn streams_are_named_by_day_and_random_hex() {
        // 2026-12-03T10:00:00Z
        let name = stream_name(1_796_292_000_000);
        assert!(name.starts_with("2026/12/03/[$LATEST]"), "{name}");
        let hex = &name["2026/12/03/[$LATEST]".len()..];
        assert!(
            hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );
        assert_ne!(name, stream_name(1_796_292_000_000));
    }

    #[test]
    fn the_function_name_is_the_backends_else_the_authorizers() {
        let mut spec = AuthorizerSpec {
            name: "A".into(),
            token_key_name: "k".into(),
            signing_keys: vec![],
            status: crate::contract::authorizer::AuthorizerStatus::Active,
            signing_disabled: true,
            enable_caching_for_http: false,
            function: FunctionSpec::in_process(FunctionBehaviour::Deny, std::time::Duration::ZERO),
        };
        assert_eq!(function_name(&spec), "A");
        spec.function.arn_function_name = Some("FromArn".into());
        assert_eq!(function_name(&spec), "FromArn");
        spec.function.backend = Backend::InvokeApi(InvokeFunction {
            url: "http://127.0.0.1:1".into(),
            function_name: "Fn".into(),
        });
        assert_eq!(function_name(&spec), "Fn");
        assert_eq!(log_group("Fn"), "/aws/lambda/Fn");
    }
}
