//! MQTT probes: one CONNECT per probe over MQTT/TLS (ALPN `mqtt`) or plain MQTT, the credentials in the username
//! exactly as a run's device puts them (the load's username builder), then the CONNACK or the close read as the
//! answer, and the connection closed. Each probe connects under its own client id, so no probe's session takes
//! over another's and one client id never connects twice.

use std::time::Duration;

use crate::attempt::Credential;
use crate::contract::MqttVersion;
use crate::load::link::LinkSpec;
use crate::load::session::Session;
use crate::load::username::{Login, UsernameShape, wire_query};
use crate::metrics::{Failure, Outcome};
use crate::wire::mqtt::ATTEMPT_PREFIX;

/// Where and how MQTT probes connect.
#[derive(Clone)]
pub struct MqttProbe {
    pub link: LinkSpec,
    /// Custom-authorizer usernames (authorizer name, token key name); the password, if any.
    pub shape: UsernameShape,
    pub version: MqttVersion,
    /// Client ids are `<prefix>calibrate-<n>`.
    pub client_id_prefix: String,
}

impl MqttProbe {
    /// The username (`ts-<attempt id>` then the credential's query, in the probe's shape) and password.
    pub fn login(&self, cred: &Credential, attempt_id: &str) -> Login {
        Login {
            username: format!(
                "{ATTEMPT_PREFIX}{attempt_id}{}",
                wire_query(&self.shape, cred)
            ),
            password: self.shape.password.clone(),
        }
    }

    /// Connects once with `cred` and reads the answer within `timeout`.
    pub async fn send(
        &self,
        cred: &Credential,
        attempt_id: &str,
        n: u64,
        timeout: Duration,
    ) -> (Outcome, Option<Failure>) {
        let opened = match tokio::time::timeout(timeout, self.link.open()).await {
            Ok(o) => o,
            Err(_) => return (Outcome::Timeout, Some(Failure::timeout(timeout))),
        };
        let link = match opened.result {
            Ok(l) => l,
            Err(f) => return (Outcome::TransportError, Some(f)),
        };
        let mut session = Session::new(link, self.version);
        let client_id = format!("{}calibrate-{n}", self.client_id_prefix);
        let answer = session
            .connect(&client_id, &self.login(cred, attempt_id), 60, timeout)
            .await;
        session.link.close().await;
        answer
    }
}
