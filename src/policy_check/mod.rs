//! The policy dry run (`tokenstorm policy check`, issue 12 §3): the policy documents an authorizer returns,
//! evaluated with the emulator's own evaluator ([`crate::emulator::policy`]) against what a scenario's devices
//! do — `iot:Connect` on each client id, `iot:Publish` on each topic they publish to, `iot:Subscribe` on each
//! filter and `iot:Receive` on each topic they subscribe to — so a device that AWS would disconnect is named
//! before a run, with the statement that decided. Besides the verdicts it flags the classic mistakes no
//! evaluation shows by itself (`lint`): `topic/` for a subscription, `topicfilter/` for a publish, a missing
//! `iot:Receive`, policy variables that never match, ARNs of another region or account. Pure: documents and
//! devices in, a [`Report`] out; `cmd::policy` reads the files and renders it.

mod account;
mod input;
mod lint;
mod render;

pub use account::{Account, Known};
pub use input::{Input, read_text};
pub use lint::Finding;
pub use render::text;

use serde::Serialize;

use crate::contract::Transport;
use crate::emulator::policy::{self, Decision, StatementRef, Variables};
use crate::scenario::{Groups, MqttPlan};

/// What one device does that a policy must allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub transport: Transport,
    /// `None` over HTTPS (no client id: `${iot:ClientId}` matches nothing there).
    pub client_id: Option<String>,
    /// The topic it publishes to.
    pub publish: Option<String>,
    /// The filter it subscribes to (and so the topic it receives on).
    pub subscribe: Option<String>,
}

/// The devices to check: a scenario's, or a list given by hand (`test-invoke`'s one client id).
#[derive(Debug, Clone)]
pub enum Devices {
    Scenario {
        groups: Groups,
        mqtt: Box<MqttPlan>,
        http_topic: String,
        /// Only the devices of this transport (`None`: all).
        only: Option<Transport>,
    },
    Listed(Vec<Device>),
}

impl Devices {
    /// The plan's devices (those of `only`, when given).
    pub fn from_plan(plan: &crate::scenario::Plan, only: Option<Transport>) -> Self {
        Self::Scenario {
            groups: plan.groups.clone(),
            mqtt: Box::new(plan.mqtt.clone()),
            http_topic: plan.http.topic.clone(),
            only,
        }
    }

    /// `200 https, 50 mqtt_tls` or `1 listed`.
    pub fn describe(&self) -> String {
        match self {
            Self::Scenario {
                groups,
                only: Some(t),
                ..
            } => format!("{} {}", groups.count(*t), t.as_str()),
            Self::Scenario { groups, .. } => groups.describe(),
            Self::Listed(list) => format!("{} listed", list.len()),
        }
    }

    /// Calls `f` with every device, in id order.
    fn for_each(&self, mut f: impl FnMut(Device)) {
        match self {
            Self::Listed(list) => list.iter().cloned().for_each(f),
            Self::Scenario {
                groups,
                mqtt,
                http_topic,
                only,
            } => {
                for t in groups.in_use().filter(|t| only.is_none_or(|o| o == *t)) {
                    for d in groups.range(t) {
                        f(if t == Transport::Https {
                            Device {
                                transport: t,
                                client_id: None,
                                publish: Some(http_topic.clone()),
                                subscribe: None,
                            }
                        } else {
                            let topic = mqtt.topic_of(d);
                            Device {
                                transport: t,
                                client_id: Some(mqtt.client_id(d)),
                                publish: mqtt.publish_interval.map(|_| topic.clone()),
                                subscribe: mqtt.subscribe.then_some(topic),
                            }
                        });
                    }
                }
            }
        }
    }
}

/// How many requests of one action were checked and allowed.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    pub action: &'static str,
    pub checked: u64,
    pub allowed: u64,
}

/// One device's denied request, as an example of its [`Denial`].
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub client_id: Option<String>,
    pub resource: String,
}

/// Requests of one action denied for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct Denial {
    pub action: &'static str,
    /// `document 1 statement 2 (Deny)`, `no statement allows`, or why the response denies everything.
    pub decided_by: String,
    pub requests: u64,
    /// The first few denied requests.
    pub examples: Vec<Example>,
    /// For an implicit deny: the statement that looks meant for it and why it does not match.
    pub hint: Option<String>,
    #[serde(skip)]
    statement: Option<StatementRef>,
}

/// The dry run's result: exit 0 when `denials` is empty.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub documents: usize,
    pub devices: String,
    pub account: Account,
    /// Why the response itself denies every request (not authenticated, or an invalid response).
    pub refused: Option<String>,
    pub checked: Vec<Tally>,
    pub denials: Vec<Denial>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.denials.is_empty()
    }
}

/// Denied examples kept per denial.
const EXAMPLES: usize = 3;

const ACTIONS: [&str; 4] = ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"];

/// Evaluates every device's requests against `input` and lints its documents.
pub fn check(input: &Input, devices: &Devices, account: &Account) -> Report {
    let mut acc = Tallies {
        checked: ACTIONS
            .iter()
            .map(|&action| Tally {
                action,
                checked: 0,
                allowed: 0,
            })
            .collect(),
        denials: Vec::new(),
        missing_receive: (0, None),
    };
    devices.for_each(|device| acc.device(input, account, device));
    let mut findings = lint::lint(&input.documents, account);
    if let (n @ 1.., Some(id)) = acc.missing_receive {
        findings.push(Finding::new(
            "missing_receive",
            String::new(),
            format!(
                "{n} device(s) may subscribe but not receive (e.g. {id}): iot:Subscribe is allowed on the filter, \
                 iot:Receive is denied on the topic, so the subscription succeeds and no message ever arrives; \
                 allow iot:Receive on arn:aws:iot:REGION:ACCOUNT:topic/<the topics>"
            ),
        ));
    }
    Report {
        documents: input.documents.len(),
        devices: devices.describe(),
        account: account.clone(),
        refused: input.refused.clone(),
        checked: acc.checked.into_iter().filter(|t| t.checked > 0).collect(),
        denials: acc.denials,
        findings,
    }
}

/// What the evaluation accumulates over the devices.
struct Tallies {
    /// Indexed like [`ACTIONS`].
    checked: Vec<Tally>,
    denials: Vec<Denial>,
    /// Devices allowed to subscribe but not to receive, and the first one's client id.
    missing_receive: (u64, Option<String>),
}

impl Tallies {
    /// One device's requests (indices into [`ACTIONS`]), each evaluated and tallied.
    fn device(&mut self, input: &Input, account: &Account, device: Device) {
        let vars = Variables {
            client_id: device.client_id.as_deref(),
        };
        let (r, a) = (account.region.as_str(), account.account_id.as_str());
        let mut requests = Vec::with_capacity(4);
        if let Some(id) = &device.client_id {
            requests.push((0, policy::client_arn(r, a, id)));
        }
        if let Some(topic) = &device.publish {
            requests.push((1, policy::topic_arn(r, a, topic)));
        }
        if let Some(filter) = &device.subscribe {
            requests.push((2, policy::topicfilter_arn(r, a, filter)));
            requests.push((3, policy::topic_arn(r, a, filter)));
        }
        let mut allowed = [false; 4];
        for (i, resource) in requests {
            let action = ACTIONS[i];
            let (decision, by) =
                policy::evaluate_explained(&input.documents, action, &resource, &vars);
            self.checked[i].checked += 1;
            if decision == Decision::Allow {
                self.checked[i].allowed += 1;
                allowed[i] = true;
            } else {
                self.deny(input, action, by, resource, &vars);
            }
        }
        if device.subscribe.is_some() && allowed[2] && !allowed[3] {
            self.missing_receive.0 += 1;
            self.missing_receive
                .1
                .get_or_insert(device.client_id.unwrap_or_default());
        }
    }

    /// Adds a denied request to the denial of its action and deciding statement.
    fn deny(
        &mut self,
        input: &Input,
        action: &'static str,
        by: Option<StatementRef>,
        resource: String,
        vars: &Variables<'_>,
    ) {
        let i = match self
            .denials
            .iter()
            .position(|d| d.action == action && d.statement == by)
        {
            Some(i) => i,
            None => {
                self.denials.push(Denial {
                    action,
                    decided_by: decided_by(input, by),
                    requests: 0,
                    examples: Vec::new(),
                    hint: by
                        .is_none()
                        .then(|| lint::hint(&input.documents, action, &resource, vars))
                        .flatten(),
                    statement: by,
                });
                self.denials.len() - 1
            }
        };
        let denial = &mut self.denials[i];
        denial.requests += 1;
        if denial.examples.len() < EXAMPLES
            && !denial.examples.iter().any(|e| e.resource == resource)
        {
            denial.examples.push(Example {
                client_id: vars.client_id.map(str::to_string),
                resource,
            });
        }
    }
}

/// The statement that decided, or why nothing allowed.
fn decided_by(input: &Input, by: Option<StatementRef>) -> String {
    match (by, &input.refused) {
        (_, Some(why)) => why.clone(),
        (Some(at), None) => format!("{} (Deny)", lint::statement_label(&input.documents, at)),
        (None, None) => "no statement allows".into(),
    }
}

#[cfg(test)]
mod tests;
