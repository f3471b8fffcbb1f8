//! tokenstorm: a load and fuzz harness for AWS IoT Core custom authorizers with token signing.
//!
//! # Module map
//!
//! Bottom layer first; a module uses only those above it in this list (tests aside).
//!
//! - [`token`]: RSA keys (PEM via rustls-pki-types), signing and verification of tokens (pure; aws-lc-rs fast
//!   path, `rsa` as reference), crafted signatures, JWS signing (RS256, ES256) for JWT tokens, the
//!   [`token::TokenSigner`] seam.
//! - [`contract`]: the shared vocabulary none owns: [`contract::Transport`] and the emulator's listeners, the one
//!   MQTT version, classes and forged variants, the attempt id, gate refusals, the typed ledger entry and the
//!   billing rule, the authorizer and function description, AWS limits, endpoint URL syntax, the witness line an
//!   authorizer function writes to its log on a real account.
//! - [`wire`]: how credentials ride each transport (header and query names, usernames, the gate settings and
//!   the gate file that holds them, the AWS SDKs' username styles), shared by emulator and generator so the two
//!   cannot drift.
//! - [`shutdown`], [`error`]: the shutdown token every server and run takes; exit codes.
//! - [`attempt`]: the credential catalogue (valid, forged variants, replays), the oracle of what the gate must do
//!   with each, and the pure [`attempt::Planner`] that decides every attempt's class, variant, replay source and
//!   credential for every transport (one replay pool across transports). The pool's tokens are rendered at setup
//!   (the `v1` format, the user's template, a JWT) or read from the user's own rows (a token file).
//! - [`scenario`]: the scenario file format (serde, unknown fields rejected) and the validated, seeded
//!   [`scenario::Plan`].
//! - [`safety`]: remote targets are opt-in, capped and recorded: the remote classification of resolved
//!   addresses, `--allow-remote` + `[safety] authorized`, the caps checked against the plan, the ramp rule
//!   and the backoff settings (pure).
//! - [`metrics`]: per-task recorders (HdrHistogram + enum-indexed counters) merged at the end, each folding its
//!   current second into the run's one per-second store ([`metrics::series`]) once a second.
//! - [`aws`]: CloudWatch, CloudWatch Logs and KMS clients (behind the `aws` cargo feature; without it every
//!   `connect` fails saying how to rebuild).
//! - [`signer`]: the external token signers of `[keys] signer` (a command, AWS KMS) behind
//!   [`token::TokenSigner`], the seam the catalogue and the token pool sign through (a PEM key is one too).
//! - [`emulator`]: the AWS IoT custom-auth data plane: HTTPS publish, MQTT (pure session state apart from its
//!   event loop) and WebSocket, the signature gate, authorizer backends, response validation, policy
//!   evaluation, the invocation ledger, the refusal log (each gate refusal with the gate's own explanation,
//!   recorded by its functions as they decide), Prometheus metrics and storms (`POST /storm`).
//! - [`explain`]: `tokenstorm explain`'s core: what a device sends, the client-side warnings (ALPN, port, SNI,
//!   a second `?`, an unencoded signature), and the gate's checklist; pure.
//! - [`load`]: the generator's shell: pacers (open and closed models; ramps from `[[run.stages]]`, pure), the
//!   backoffs after throttling and before an MQTT reconnect (pure), lanes (HTTPS) and fleets of devices (MQTT,
//!   WSS) that carry out the planner's decisions, how a device comes back after a drop, a client-id kick or a
//!   storm (pure), the storms' clock, MQTT session state apart from its I/O, the live counters (one tally per lane),
//!   and what the process used while the load ran (CPU, run-queue wait, descriptors, ports) for `generator_kept_up`.
//! - [`join`]: the witnesses of authorizer invocations behind one [`join::Witness`] trait (the embedded
//!   emulator's ledger, an external emulator's admin API), joined by attempt id into the summary judged (and by
//!   time into the storms' windows); on a
//!   real account ([`join::cloudwatch`]) the function's CloudWatch logs and metrics, read once they settle.
//! - [`live`]: what a run shows while it goes: the status on stderr (an indicatif block on a terminal, a plain
//!   line every 5 s elsewhere), the generator's own Prometheus `/metrics` (`run --metrics-addr`), logs routed
//!   around the block; it reads the engines' counters and the join's live count, never judges.
//! - [`policy_check`]: the policy dry run: policy documents or an authorizer response, evaluated with the
//!   emulator's evaluator against a scenario's devices, and the classic policy mistakes (`policy check`).
//! - [`invariant`]: the rules a run is judged by (forged never invoked, counts conserve, ...).
//! - [`thresholds`]: `[thresholds]`, k6-style `NAME OP NUMBER` checks over the report's metric namespace
//!   (resolved with the plan, judged into verdict rows after the run, `abort_on_fail` ones live by the
//!   `[abort]` monitor).
//! - [`report`]: the single `Report` and its renderers (terminal, JSON); renderers only render. Also the run's
//!   last step shared by `run` and `merge` ([`report::conclude`]: judge, build, write the run folder) and the
//!   evidence every run folder keeps for a merge ([`report::evidence`]).
//! - [`compare`]: two saved runs' report.json lined up metric by metric, regressions beyond a tolerance marked
//!   (`tokenstorm compare`); pure.
//! - [`merge`]: `tokenstorm merge`'s core: shard run folders of one plan read back from their evidence
//!   (`evidence.json`, `latency.hlog`), checked (one plan hash, each shard once), added up exactly, and judged
//!   through the run's own tail ([`report::conclude`]); offline (no key, no socket).
//! - [`fuzz`]: `arbitrary`-driven attack cases against the embedded emulator, their oracle, minimized
//!   reproducers.
//! - [`calibrate`]: measures a target's gate settings with a few valid probes per setting (a table of probes and
//!   the answers each value predicts), and writes them as a gate file (`wire::gate_file` reads it back).
//! - [`cmd`]: one module per subcommand; [`cli`] parses, `main.rs` maps results to exit codes.
//!
//! # Data flow
//!
//! ```text
//! scenario.toml ─► Plan ─┬─► emulator (embedded) ─► gate ─► authorizer ─► policy ─► ledger ─┐
//!                        │                                                                  │
//!                        └─► load: pacer ─► Planner (class, variant, replay, credential)    │
//!                                  ─► lane / fleet ─► transport ─► Recorder per task        │
//!                                                                                           ▼
//!   Recorders ─► Metrics ─┬─────────────────────────────► invariants ◄─ join (Witness: drained as the run goes)
//!                         └─► Report ◄────────────────────────┘
//!                               └─► terminal / JSON
//! ```

pub mod attempt;
pub mod aws;
pub mod calibrate;
pub mod cli;
pub mod cmd;
pub mod compare;
pub mod contract;
pub mod emulator;
pub mod error;
pub mod explain;
pub mod fuzz;
pub mod invariant;
pub mod join;
pub mod lean_tls;
pub mod live;
pub mod load;
pub mod merge;
pub mod metrics;
pub mod policy_check;
pub mod report;
pub mod safety;
pub mod scenario;
pub mod shutdown;
pub mod signer;
pub mod thresholds;
pub mod token;
pub mod wire;
