//! `--gate-*` flags: the signature gate's unconfirmed behaviours (`wire::settings`), shared by `emulate` (which
//! applies them) and `catalogue` (which shows the oracle's verdicts under them).

use crate::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct GateArgs {
    /// A gate file (`[gate]`, as `tokenstorm calibrate` writes it): its settings go over the config file's; the
    /// `--gate-*` flags go over both.
    #[arg(long, value_name = "PATH")]
    pub gate_file: Option<std::path::PathBuf>,
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
    /// Where an MQTT username's query starts (unconfirmed on AWS): `first_question_mark` (default: a second `?`
    /// is refused) or `last_question_mark` (what AWS's client code says the service does).
    #[arg(long, value_name = "WHICH")]
    pub gate_username_query: Option<UsernameQuery>,
    /// Bare parameters `a`, `a=`, `=a` (unconfirmed on AWS): `split` (default: `=a` is an empty name with the
    /// value `a`) or `equivalent` (all three are `a` with an empty value, as AWS's client code says).
    #[arg(long, value_name = "HOW")]
    pub gate_bare_params: Option<BareParams>,
}

impl GateArgs {
    /// `base` with `--gate-file`, then the `--gate-*` flags, applied over it. A gate file that cannot be read or
    /// parsed is an error naming it and the field.
    pub fn resolve(&self, base: GateSettings) -> anyhow::Result<GateSettings> {
        let base = match &self.gate_file {
            Some(path) => crate::wire::gate_file::read(path)
                .map_err(|e| anyhow::anyhow!("--gate-file {e}"))?
                .over(base),
            None => base,
        };
        Ok(self.apply(base))
    }

    /// `base` with the `--gate-*` flags given applied over it.
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
        if let Some(v) = self.gate_username_query {
            base.username_query = v;
        }
        if let Some(v) = self.gate_bare_params {
            base.bare_params = v;
        }
        base
    }
}
