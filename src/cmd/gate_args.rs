//! `--gate-*` flags: the signature gate's unconfirmed behaviours (`wire::settings`), shared by `emulate` (which
//! applies them) and `catalogue` (which shows the oracle's verdicts under them).

use crate::wire::settings::{Duplicates, GateSettings, QueryNames, QueryPlus};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct GateArgs {
    /// A raw `+` in a query string (unconfirmed on AWS): `literal` (default: `+` stays `+`) or `space`.
    #[arg(long, value_name = "HOW")]
    pub gate_query_plus: Option<QueryPlus>,
    /// A credential parameter given more than once (unconfirmed on AWS): `first` (default), `last` or `reject`.
    #[arg(long, value_name = "WHICH")]
    pub gate_duplicates: Option<Duplicates>,
    /// Query-string and MQTT-username parameter names (unconfirmed on AWS): `exact` (default) or
    /// `case_insensitive`.
    #[arg(long, value_name = "HOW")]
    pub gate_query_names: Option<QueryNames>,
}

impl GateArgs {
    /// `base` with the flags given applied over it.
    pub fn apply(&self, mut base: GateSettings) -> GateSettings {
        if let Some(v) = self.gate_query_plus {
            base.query_plus = v;
        }
        if let Some(v) = self.gate_duplicates {
            base.duplicates = v;
        }
        if let Some(v) = self.gate_query_names {
            base.query_names = v;
        }
        base
    }
}
