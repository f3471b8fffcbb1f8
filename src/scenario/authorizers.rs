//! The authorizers a target built from a [`Plan`] serves (the embedded emulator, the fuzz emulator).

use super::Plan;
use crate::contract::authorizer::{
    AuthorizerSpec, AuthorizerStatus, FunctionBehaviour, FunctionSpec,
};

impl Plan {
    /// The authorizer an emulator serves for this plan: `[authorizer]` with every key of `[keys]` registered.
    pub fn authorizer_spec(&self) -> AuthorizerSpec {
        let a = &self.authorizer;
        AuthorizerSpec {
            name: a.name.clone(),
            token_key_name: a.token_key_name.clone(),
            signing_keys: self
                .keys
                .iter()
                .map(|k| (k.name.clone(), k.public.clone()))
                .collect(),
            status: a.status,
            signing_disabled: a.signing_disabled,
            enable_caching_for_http: a.enable_caching_for_http,
            function: a.function.clone(),
        }
    }

    /// The authorizers a target built from this plan serves: [`Self::authorizer_spec`], then its INACTIVE twin
    /// named `target.inactive_authorizer` (same keys), which `forged.inactive_authorizer` attempts name. The twin's
    /// function is in process (no runtime processes are started for it); the gate never lets it run.
    pub fn authorizer_specs(&self) -> Vec<AuthorizerSpec> {
        let active = self.authorizer_spec();
        let inactive = AuthorizerSpec {
            name: self.inactive_authorizer.clone(),
            status: AuthorizerStatus::Inactive,
            function: FunctionSpec::in_process(FunctionBehaviour::Deny, std::time::Duration::ZERO),
            ..active.clone()
        };
        vec![active, inactive]
    }
}
