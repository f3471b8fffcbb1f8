//! The forged-credential catalogue against the emulator: every variant refused at the gate for the reason the
//! oracle gives, over every transport, counted by the ledger and by `/metrics`; `rsa` and `aws-lc-rs` agree on
//! every catalogue signature; `scenarios/ci-security.toml` passes end to end.

mod agreement;
mod ci;
mod gate;
mod rotation;
