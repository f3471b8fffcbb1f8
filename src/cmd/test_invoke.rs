//! `tokenstorm test-invoke`: the local counterpart of `aws iot test-invoke-authorizer` (spec §9). Checks the
//! token signature first (a refused signature exits 1 and the function never runs, as in AWS), then runs the
//! authorizer's function once — in process, or a real one through the Runtime API (`--lambda-cmd`, or
//! `runtime` in the `--config` file) or the Invoke API — judges its answer (spec §4) and prints the AWS response
//! shape: `{"isAuthenticated", "principalId", "policyDocuments": [<JSON strings>], "refreshAfterInSeconds",
//! "disconnectAfterInSeconds"}`. Exit 0: the function answered validly (allowed or not); 1: the signature was
//! refused or the function failed / answered invalidly; 2: usage.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus};
use crate::emulator::lambda::backend::StartContext;
use crate::emulator::lambda::{Invocation, LiveFunction};
use crate::emulator::response::{Authorization, Judgement, judge};
use crate::error::Exit;
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The authorizer to invoke (from --config or --authorizer-json).
    #[arg(long, value_name = "NAME")]
    pub authorizer: String,
    /// The token, as the device sends it.
    #[arg(long)]
    pub token: String,
    /// The token's base64 signature (ignored when the authorizer has signingDisabled).
    #[arg(long, value_name = "BASE64", default_value = "")]
    pub token_signature: String,
    /// `{"headers": {...}, "queryString": "?a=b"}`, as for `aws iot test-invoke-authorizer --http-context`.
    #[arg(long, value_name = "JSON")]
    pub http_context: Option<String>,
    /// `{"username": "...", "password": "<base64>", "clientId": "..."}`.
    #[arg(long, value_name = "JSON")]
    pub mqtt_context: Option<String>,
    /// `{"serverName": "..."}`.
    #[arg(long, value_name = "JSON")]
    pub tls_context: Option<String>,
    /// An authorizer as `aws iot describe-authorizer` prints it (repeatable).
    #[arg(long = "authorizer-json", value_name = "FILE")]
    pub authorizer_json: Vec<PathBuf>,
    /// Emulator configuration file (TOML) with `[[authorizer]]` tables and their functions.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Where a runtime function's record and state go (default .tokenstorm/test-invoke).
    #[arg(long, value_name = "DIR", default_value = ".tokenstorm/test-invoke")]
    pub state_dir: PathBuf,
    /// Check the returned policy against this scenario's devices (`tokenstorm policy check`); without it, against
    /// the --mqtt-context clientId. Findings go to stderr; the exit code stays the invocation's.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub lambda: super::lambda_args::LambdaArgs,
}

/// The contexts as given, checked to be JSON objects.
fn context(flag: &str, text: Option<&str>) -> anyhow::Result<Option<Map<String, Value>>> {
    let Some(text) = text else { return Ok(None) };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => {
            anyhow::bail!("{flag} must be a JSON object, e.g. {{\"serverName\": \"example.com\"}}")
        }
        Err(e) => anyhow::bail!("{flag} is not JSON: {e}"),
    }
}

/// The event the function receives (spec §3): `protocols` lists the contexts given, in the order tls, http, mqtt.
pub fn event(
    token: &str,
    signature_verified: bool,
    http: Option<Map<String, Value>>,
    mqtt: Option<Map<String, Value>>,
    tls: Option<Map<String, Value>>,
    connection_id: &str,
) -> Value {
    let mut protocols = Vec::new();
    let mut data = Map::new();
    for (name, ctx) in [("tls", tls), ("http", http), ("mqtt", mqtt)] {
        if let Some(ctx) = ctx {
            protocols.push(name);
            data.insert(name.to_string(), Value::Object(ctx));
        }
    }
    json!({
        "token": token,
        "signatureVerified": signature_verified,
        "protocols": protocols,
        "protocolData": data,
        "connectionMetadata": { "id": connection_id },
    })
}

/// The `test-invoke-authorizer` answer for a valid response.
pub fn answer(judgement: &Judgement) -> Option<Value> {
    match judgement {
        Judgement::NotAuthenticated => Some(json!({
            "isAuthenticated": false,
            "principalId": Value::Null,
            "policyDocuments": [],
            "refreshAfterInSeconds": Value::Null,
            "disconnectAfterInSeconds": Value::Null,
        })),
        Judgement::Authenticated(Authorization {
            principal_id,
            policies,
            disconnect_after_s,
            refresh_after_s,
        }) => Some(json!({
            "isAuthenticated": true,
            "principalId": principal_id,
            "policyDocuments": policies.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "refreshAfterInSeconds": refresh_after_s,
            "disconnectAfterInSeconds": disconnect_after_s,
        })),
        Judgement::Invalid(_) => None,
    }
}

fn authorizers(args: &Args) -> anyhow::Result<(Vec<AuthorizerSpec>, String, String)> {
    let config = super::lambda_args::base_config(
        args.config.as_deref(),
        &args.authorizer_json,
        &args.lambda,
    )?;
    Ok((config.authorizers, config.region, config.account_id))
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let (all, region, account_id) = authorizers(&args)?;
    let Some((index, spec)) = all
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == args.authorizer)
    else {
        let known: Vec<_> = all.iter().map(|a| a.name.as_str()).collect();
        anyhow::bail!(
            "authorizer {:?} is not configured (configured: {known:?}); give --config or --authorizer-json",
            args.authorizer
        );
    };
    let http = context("--http-context", args.http_context.as_deref())?;
    let mqtt = context("--mqtt-context", args.mqtt_context.as_deref())?;
    let tls = context("--tls-context", args.tls_context.as_deref())?;
    if let Some(refusal) = gate_refusal(spec, &args) {
        eprintln!("refused: {refusal}; the function was not invoked");
        return Ok(Exit::Failed);
    }
    let connection_id = uuid::Uuid::new_v4().to_string();
    let event = event(
        &args.token,
        !spec.signing_disabled,
        http,
        mqtt,
        tls,
        &connection_id,
    );
    let invocation = invoke_once(spec, index, &region, &account_id, &args, &event)?;
    let response = match invocation.result {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "denied: the function failed ({}); AWS denies the request",
                e.reason()
            );
            return Ok(Exit::Failed);
        }
    };
    let judgement = judge(&response);
    let Some(out) = answer(&judgement) else {
        if let Judgement::Invalid(rule) = judgement {
            eprintln!("denied: invalid_response: {rule}; AWS denies the request");
        }
        return Ok(Exit::Failed);
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    if let Judgement::Authenticated(auth) = &judgement {
        eprint!("{}", dry_run(auth, &args, region, account_id)?);
    }
    Ok(Exit::Ok)
}

/// The policy dry run on the function's answer: the scenario's devices, else the `--mqtt-context` client id.
fn dry_run(
    auth: &Authorization,
    args: &Args,
    region: String,
    account_id: String,
) -> anyhow::Result<String> {
    use crate::policy_check::{Account, Device, Devices, Input};
    let (devices, (region, account)) = match &args.scenario {
        Some(path) => super::policy::scenario_devices(path)?,
        None => {
            let from = || "the emulator configuration".to_string();
            let client_id =
                context("--mqtt-context", args.mqtt_context.as_deref())?.and_then(|m| {
                    m.get("clientId")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
            let devices = client_id.map(|id| Device {
                transport: crate::contract::Transport::MqttTls,
                client_id: Some(id),
                publish: None,
                subscribe: None,
            });
            (
                Devices::Listed(devices.into_iter().collect()),
                (Some((region, from())), Some((account_id, from()))),
            )
        }
    };
    let input = Input::allowed(auth);
    let account = Account::resolve(region, account, &input.documents);
    let report = crate::policy_check::check(&input, &devices, &account);
    Ok(crate::policy_check::text(&report, false))
}

/// Why the gate refuses the request before any invocation (an INACTIVE authorizer, a signature that does not
/// verify), as AWS's test-invoke-authorizer would; `None` when the function is to be invoked.
fn gate_refusal(spec: &AuthorizerSpec, args: &Args) -> Option<String> {
    if spec.status == AuthorizerStatus::Inactive {
        return Some(format!("authorizer {:?} is INACTIVE", spec.name));
    }
    if spec.signing_disabled {
        return None;
    }
    let keys = spec.signing_keys.iter().map(|(_, k)| k);
    crate::token::verify_token(keys, args.token.as_bytes(), &args.token_signature)
        .err()
        .map(|e| {
            format!(
                "the token signature does not verify under authorizer {:?}'s tokenSigningPublicKeys ({e})",
                spec.name
            )
        })
}

/// Starts the authorizer's function (in-process, Runtime API or Invoke API) on a runtime of its own, invokes it
/// once with `event` and stops it.
fn invoke_once(
    spec: &AuthorizerSpec,
    index: usize,
    region: &str,
    account_id: &str,
    args: &Args,
    event: &serde_json::Value,
) -> anyhow::Result<Invocation> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        let mut tasks = tokio::task::JoinSet::new();
        let metrics = std::sync::Arc::new(crate::emulator::lambda::metrics::FunctionMetrics::new(
            vec![spec.name.clone()],
        ));
        let cx = StartContext {
            authorizer: &spec.name,
            authorizer_index: index,
            region,
            account_id,
            state_dir: &args.state_dir,
            metrics,
            cloudwatch: None,
            function_log: None,
            shutdown: shutdown.clone(),
        };
        let live = LiveFunction::start(&spec.function, cx, &mut tasks).await?;
        let invocation = live.invoke(event).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        anyhow::Ok(invocation)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::authorizer::FunctionBehaviour;

    #[test]
    fn event_lists_the_given_contexts_in_order() {
        let tls = context("t", Some(r#"{"serverName":"e.com"}"#)).unwrap();
        let mqtt = context("m", Some(r#"{"clientId":"c1"}"#)).unwrap();
        let e = event("tok", true, None, mqtt, tls, "id1");
        assert_eq!(e["protocols"], json!(["tls", "mqtt"]));
        assert_eq!(e["protocolData"]["tls"]["serverName"], "e.com");
        assert_eq!(e["connectionMetadata"]["id"], "id1");
        assert!(context("--http-context", Some("[1]")).is_err());
        assert!(context("--http-context", Some("{")).is_err());
    }

    #[test]
    fn policy_documents_are_printed_as_json_strings() {
        let r = crate::emulator::function::respond(&FunctionBehaviour::seed_article(), Some("t"));
        let out = answer(&judge(&r)).unwrap();
        let doc = out["policyDocuments"][0].as_str().unwrap();
        let parsed: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(parsed["Statement"][0]["Action"], "iot:Publish");
        assert_eq!(out["principalId"], "myPrincipalDevice123");
        assert_eq!(out["refreshAfterInSeconds"], 300);
    }
}
