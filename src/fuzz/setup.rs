//! What a fuzz run attacks: the emulator's authorizers and the key valid prefixes are signed with. Without a
//! scenario, the built-in fixture ([`super::targets::fixture`]: authorizer `FuzzAuthorizer`, token key `x-token`,
//! the committed throwaway key); with one, the scenario's `[authorizer]` (name, token key name, status,
//! `signing_disabled`, caching, an in-process function) and `[keys]`, so a user fuzzes the configuration they run.
//! Also the embedded emulator's configuration and start.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::exec::Endpoints;
use super::oracle;
use super::target::Target;
use super::targets::fixture;
use crate::contract::authorizer::{AuthorizerSpec, Backend, FunctionBehaviour, FunctionSpec};
use crate::emulator::config::{DEFAULT_ACCOUNT, DEFAULT_REGION};
use crate::emulator::{EmulatorConfig, RunningEmulator};
use crate::scenario::Plan;
use crate::shutdown::Shutdown;
use crate::token::PrivateKey;
use crate::wire::settings::GateSettings;

/// The authorizers the fuzz emulator serves, and how valid prefixes are made.
#[derive(Debug)]
pub struct Setup {
    pub authorizers: Vec<AuthorizerSpec>,
    /// Used when a request names no authorizer.
    pub default_authorizer: Option<String>,
    /// Names valid prefixes use (the first authorizer's).
    pub target: Target,
    /// Valid prefixes are signed with this key (registered with the first authorizer).
    pub key: Arc<PrivateKey>,
    /// The gate's unconfirmed behaviours (the scenario's `[gate]`; default for the built-in fixture).
    pub gate: GateSettings,
}

impl Setup {
    /// The built-in fixture.
    pub fn builtin() -> Self {
        let f = fixture();
        Self {
            authorizers: f.authorizers.clone(),
            default_authorizer: Some(f.target.authorizer.clone()),
            target: f.target.clone(),
            // The fixture's key, parsed again (keys are not Clone; the PEM is committed and parses).
            key: Arc::new(
                PrivateKey::from_pem(include_str!("testdata/fuzz_key.pem"), "fuzz key")
                    .expect("the committed fuzz key parses"),
            ),
            gate: GateSettings::default(),
        }
    }

    /// The scenario's authorizer (and its INACTIVE twin), keys and gate settings (valid prefixes are signed with
    /// its first key). A function that runs
    /// elsewhere (Runtime API, Invoke API) is replaced by the in-process default allow: the fuzz oracle judges
    /// what reaches the authorizer, not what it answers, and must not wait on real runtimes.
    pub fn from_plan(plan: Plan) -> anyhow::Result<Self> {
        let mut authorizers = plan.authorizer_specs();
        let spec = &mut authorizers[0];
        if spec.function.backend != Backend::InProcess {
            spec.function =
                FunctionSpec::in_process(FunctionBehaviour::default_allow(), Duration::ZERO);
        }
        let spec = spec.clone();
        let target = Target {
            authorizer: spec.name.clone(),
            token_key_name: spec.token_key_name.clone(),
            host: plan.target.endpoint_name().to_string(),
        };
        let source = plan.source.display().to_string();
        let key = plan.keys.into_iter().next().and_then(|k| k.key).ok_or_else(|| {
            anyhow::anyhow!(
                "{source}: keys: the scenario has no PEM signing key to sign valid prefixes with (fuzz does not use keys.signer)"
            )
        })?;
        Ok(Self {
            default_authorizer: Some(spec.name.clone()),
            authorizers,
            target,
            key: Arc::new(key),
            gate: plan.gate,
        })
    }

    /// The embedded emulator a fuzz run attacks: these authorizers, every data-plane listener on 127.0.0.1:0.
    pub fn emulator_config(&self, state_dir: &Path) -> EmulatorConfig {
        let any = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        EmulatorConfig {
            authorizers: self.authorizers.clone(),
            default_authorizer: self.default_authorizer.clone(),
            endpoint_names: vec![self.target.host.clone()],
            region: DEFAULT_REGION.into(),
            account_id: DEFAULT_ACCOUNT.into(),
            bind_https: any,
            bind_http: any,
            bind_admin: None,
            bind_mqtt_tls: any,
            bind_mqtt: any,
            check_host: true,
            state_dir: state_dir.to_path_buf(),
            tls: None,
            // Bounded, so resident memory is too: the fuzz oracle reads each case's entries right after it.
            ledger_capacity: 10_000,
            gate: self.gate,
            // The fuzz clients offer ALPN `mqtt` on the MQTT/TLS listener.
            mqtt_tls_alpn: Default::default(),
            cloudwatch_url: None,
            function_log: None,
        }
    }

    /// Starts the emulator (state in `run_dir/emulator`) and the endpoints that reach it.
    pub async fn start(
        &self,
        run_dir: &Path,
        shutdown: &Shutdown,
    ) -> anyhow::Result<(RunningEmulator, Endpoints)> {
        oracle::install_panic_counter();
        std::fs::create_dir_all(run_dir).map_err(|e| {
            anyhow::anyhow!("cannot create the run folder {}: {e}", run_dir.display())
        })?;
        let running = crate::emulator::start(
            self.emulator_config(&run_dir.join("emulator")),
            shutdown.clone(),
        )
        .await?;
        let ep = Endpoints::new(
            *running.addrs(),
            running.ca_cert_path(),
            self.target.clone(),
            self.key.clone(),
        )?;
        Ok((running, ep))
    }
}
