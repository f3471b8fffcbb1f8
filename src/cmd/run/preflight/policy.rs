//! The policy dry run on the function's answers (issue 12 §3): for each transport, the policy the function
//! returned to that transport's valid probe (read from the ledger, which keeps each response: the embedded
//! emulator's, or an external emulator's through its `admin_url`), evaluated against that transport's
//! devices. A request the devices make that the policy denies fails the preflight: the run's valid traffic
//! would be refused. Where the answer cannot be seen (a real account, an external target without
//! `admin_url`) it says how to check it instead.

use super::Probe;
use crate::contract::{Class, JsonText, LedgerEntry};
use crate::emulator::Ledger;
use crate::emulator::response::{Judgement, judge};
use crate::policy_check::{self, Account, Devices, Input, Report};
use crate::scenario::Plan;
use crate::scenario::Target;

/// One transport's check, for `preflight.json`.
#[derive(Debug, serde::Serialize)]
pub struct Checked {
    pub transport: &'static str,
    pub report: Report,
}

/// The ledger entries the probes' answers are in: the embedded emulator's ledger, or the newest entries of an
/// external emulator's (`admin_url`); `None` where no ledger is visible (a real account, no `admin_url`).
pub(super) async fn answers(plan: &Plan, ledger: Option<&Ledger>) -> Option<Vec<LedgerEntry>> {
    if let Some(ledger) = ledger {
        return Some(ledger.entries());
    }
    let Target::External {
        admin_url: Some(url),
        aws: None,
        ..
    } = &plan.target
    else {
        return None;
    };
    // A few more than the probes, in case other clients use the emulator meanwhile.
    let newest = async { crate::join::admin::AdminLedger::new(url)?.newest(64).await };
    match newest.await {
        Ok(entries) => Some(entries),
        Err(e) => {
            println!("policy check: cannot read the function's answers from {url}: {e:#}");
            None
        }
    }
}

/// Checks and prints each transport's answer; `None` when no answer could be read.
pub(super) fn check(
    plan: &Plan,
    entries: Option<&[LedgerEntry]>,
    probes: &[Probe],
) -> Option<Vec<Checked>> {
    let Some(entries) = entries else {
        println!(
            "policy check: the function's answers are not visible from here; check them with `tokenstorm \
             test-invoke --scenario {0}` or `aws iot test-invoke-authorizer ... | tokenstorm policy check \
             --scenario {0} -`",
            plan.source.display()
        );
        return None;
    };
    let mut out = Vec::new();
    for t in plan.groups.in_use() {
        let valid = probes
            .iter()
            .find(|p| p.transport == t.as_str() && p.class == Class::Valid.label());
        let response = valid.and_then(|p| {
            entries
                .iter()
                .rev()
                .find(|e| e.attempt_id.as_deref() == Some(p.attempt_id.as_str()))
                .and_then(|e| e.response.as_ref().map(JsonText::value))
        });
        let Some(response) = response else {
            println!(
                "policy check ({}): no answer from the function to its valid probe",
                t.as_str()
            );
            continue;
        };
        let input = match judge(&response) {
            Judgement::Authenticated(auth) => Input::allowed(&auth),
            // The probe's own verdict already says so.
            _ => continue,
        };
        let (region, account) = Account::of_scenario(&plan.scenario);
        let account = Account::resolve(region, account, &input.documents);
        let report = policy_check::check(&input, &Devices::from_plan(plan, Some(t)), &account);
        print!(
            "policy check of the function's answer to the {} probe:\n{}",
            t.as_str(),
            policy_check::text(&report, false)
        );
        out.push(Checked {
            transport: t.as_str(),
            report,
        });
    }
    Some(out)
}

/// Requests the checked policies deny, over every transport.
pub(super) fn denied(checked: &[Checked]) -> u64 {
    checked
        .iter()
        .flat_map(|c| &c.report.denials)
        .map(|d| d.requests)
        .sum()
}
