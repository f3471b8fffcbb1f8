//! `tokenstorm policy check FILE...`: the policy dry run (issue 12 §3). Reads policy documents, a list of them
//! or a whole authorizer response (as the function returns it, or as `tokenstorm test-invoke` / `aws iot
//! test-invoke-authorizer` print it; `-` reads stdin), evaluates them with the emulator's evaluator against
//! the scenario's devices (or the `--client-id`s given) and prints what would be denied and the classic
//! mistakes found. Exit 0: every request the devices make is allowed; 1: something is denied; 2: bad input.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::contract::Transport;
use crate::error::Exit;
use crate::policy_check::{self, Account, Device, Devices, Input};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Evaluate policy documents (or an authorizer response) against the scenario's devices.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy documents, lists of them, or authorizer responses (JSON); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The scenario whose devices are checked (client ids, topics, subscriptions).
    #[arg(long, value_name = "FILE", default_value = "scenarios/quickstart.toml")]
    pub scenario: PathBuf,
    /// Check these MQTT client ids instead of the scenario's devices (repeatable).
    #[arg(long = "client-id", value_name = "ID")]
    pub client_ids: Vec<String>,
    /// With --client-id: the topic each publishes to.
    #[arg(long, value_name = "TOPIC", requires = "client_ids")]
    pub topic: Option<String>,
    /// With --client-id: the filter each subscribes to (and receives on).
    #[arg(long, value_name = "FILTER", requires = "client_ids")]
    pub subscribe: Option<String>,
    /// The region the devices connect to (default: the scenario's, when it tells).
    #[arg(long)]
    pub region: Option<String>,
    /// The AWS account id of the endpoint (default: the scenario's, when it tells).
    #[arg(long)]
    pub account: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Command::Check(a) => check(a),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<Exit> {
    let mut input = Input::default();
    for f in &args.files {
        let (text, name) = if f.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read stdin")?;
            (s, "stdin".to_string())
        } else {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            (text, f.display().to_string())
        };
        input.extend(policy_check::read_text(&text, &name).map_err(anyhow::Error::msg)?);
    }
    let (devices, (region, account)) = if args.client_ids.is_empty() {
        scenario_devices(&args.scenario)?
    } else {
        (listed(&args), (None, None))
    };
    let flag = |v: &Option<String>, name: &str| v.clone().map(|v| (v, name.to_string()));
    let account = Account::resolve(
        flag(&args.region, "--region").or(region),
        flag(&args.account, "--account").or(account),
        &input.documents,
    );
    let report = policy_check::check(&input, &devices, &account);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", policy_check::text(&report, true));
    }
    Ok(if report.passed() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// A scenario's devices, and the region and account it tells (`test-invoke --scenario` uses it too).
pub fn scenario_devices(
    path: &std::path::Path,
) -> anyhow::Result<(Devices, (policy_check::Known, policy_check::Known))> {
    let s = crate::scenario::load(path)?;
    let (groups, mqtt) = crate::scenario::groups::resolve_devices(&s, path)?;
    let devices = Devices::Scenario {
        groups,
        mqtt: Box::new(mqtt),
        http_topic: s.http.topic.clone(),
        only: None,
    };
    Ok((devices, Account::of_scenario(&s)))
}

/// The `--client-id`s as MQTT/TLS devices.
fn listed(args: &CheckArgs) -> Devices {
    Devices::Listed(
        args.client_ids
            .iter()
            .map(|id| Device {
                transport: Transport::MqttTls,
                client_id: Some(id.clone()),
                publish: args.topic.clone(),
                subscribe: args.subscribe.clone(),
            })
            .collect(),
    )
}
