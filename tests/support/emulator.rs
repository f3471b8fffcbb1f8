//! Starting the embedded emulator on 127.0.0.1 port 0 with a temporary state directory.

use std::ops::Deref;
use std::time::Duration;

use tokenstorm::contract::authorizer::{
    AuthorizerSpec, AuthorizerStatus, FunctionBehaviour, FunctionSpec,
};
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::emulator::config::{DEFAULT_ACCOUNT, DEFAULT_REGION};
use tokenstorm::emulator::{EmulatorConfig, RunningEmulator};
use tokenstorm::shutdown::Shutdown;

use super::keys::{SEED_AUTHORIZER, SEED_TOKEN_KEY_NAME, public};

/// A running emulator plus what keeps it alive; shuts it down when dropped.
pub struct Handle {
    pub running: Option<RunningEmulator>,
    pub shutdown: Shutdown,
    _state: tempfile::TempDir,
}

impl Deref for Handle {
    type Target = RunningEmulator;
    fn deref(&self) -> &RunningEmulator {
        self.running.as_ref().expect("emulator already stopped")
    }
}

impl Handle {
    /// Triggers shutdown and waits (bounded) for every task to finish.
    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(running) = self.running.take() {
            tokio::time::timeout(Duration::from_secs(10), running.join())
                .await
                .expect("emulator did not stop in 10 s");
        }
    }

    pub fn https_port(&self) -> u16 {
        self.addrs().https.expect("https listener").port()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A config with every listener on 127.0.0.1:0, no authorizers, and a placeholder state dir (replaced by
/// [`start`]).
pub fn config(
    authorizers: Vec<AuthorizerSpec>,
    default_authorizer: Option<&str>,
) -> EmulatorConfig {
    let any = Some("127.0.0.1:0".parse().expect("addr"));
    EmulatorConfig {
        authorizers,
        default_authorizer: default_authorizer.map(str::to_string),
        endpoint_names: vec![DEFAULT_ENDPOINT.to_string()],
        region: DEFAULT_REGION.to_string(),
        account_id: DEFAULT_ACCOUNT.to_string(),
        bind_https: any,
        bind_http: any,
        bind_admin: any,
        bind_mqtt_tls: any,
        bind_mqtt: any,
        check_host: true,
        state_dir: std::path::PathBuf::from("unused"),
        tls: None,
        ledger_capacity: 100_000,
        gate: Default::default(),
        mqtt_tls_alpn: Default::default(),
        cloudwatch_url: None,
        function_log: None,
    }
}

/// The seed article's authorizer (`MyCustomAuthorizer`, `X-My-App-custom-key`, signing key 0) with `behaviour`.
pub fn seed_authorizer(behaviour: FunctionBehaviour) -> AuthorizerSpec {
    authorizer(SEED_AUTHORIZER, &[0], behaviour)
}

/// An active authorizer named `name` that trusts the test keys `keys` (indices into `support::keys::key`).
pub fn authorizer(name: &str, keys: &[usize], behaviour: FunctionBehaviour) -> AuthorizerSpec {
    AuthorizerSpec {
        name: name.to_string(),
        token_key_name: SEED_TOKEN_KEY_NAME.to_string(),
        signing_keys: keys
            .iter()
            .map(|i| (format!("key{i}"), public(*i)))
            .collect(),
        status: AuthorizerStatus::Active,
        signing_disabled: false,
        enable_caching_for_http: false,
        function: FunctionSpec::in_process(behaviour, Duration::ZERO),
    }
}

/// Starts the emulator in this process with a fresh temporary state dir (the CA lands there).
pub async fn start(mut config: EmulatorConfig) -> Handle {
    let state = super::tempdir();
    config.state_dir = state.path().to_path_buf();
    let shutdown = Shutdown::new();
    let running = tokenstorm::emulator::start(config, shutdown.clone())
        .await
        .expect("emulator failed to start");
    Handle {
        running: Some(running),
        shutdown,
        _state: state,
    }
}
