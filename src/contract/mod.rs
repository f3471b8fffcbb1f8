//! The vocabulary every other part shares and none owns: transports and the emulator's listeners, MQTT
//! versions, credential classes and forged variants, the attempt id, gate refusal reasons, the typed ledger
//! entry and Lambda's billing rule, the authorizer and function description (and the function table both the
//! emulator's `--config` and scenarios read), AWS's limits as named constants, the syntax of endpoint URLs
//! and `host:port` addresses read from configuration, UTC dates, and the witness line an authorizer function writes to its
//! log on a real account.
//!
//! The bottom layer: it imports nothing from the crate but `token/`. Serde names here are external formats
//! (`report.json`, `/ledger`, `/metrics`, fuzz outputs) and never change.

pub mod attempt_id;
pub mod authorizer;
pub mod class;
pub mod deny_reason;
pub mod function_file;
pub mod gate;
pub mod json_text;
pub mod lambda_file;
pub mod ledger;
pub mod limits;
pub mod mqtt;
pub mod transport;
pub mod url;
pub mod utc;
pub mod witness_line;

pub use attempt_id::AttemptId;
pub use class::{Class, Forgery};
pub use deny_reason::DenyReason;
pub use gate::GateRejection;
pub use json_text::JsonText;
pub use ledger::{BackendKind, LedgerEntry, Trigger, Verdict};
pub use mqtt::MqttVersion;
pub use transport::{Listener, Route, Transport};
pub use witness_line::WitnessLine;
