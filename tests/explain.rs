//! `tokenstorm explain` (the real binary) over every forged variant of the catalogue and the request-shape
//! traps: it names the rule the oracle names, exits 0 on a valid credential, 1 on a refusal, 2 on bad input;
//! and the emulator's `GET /refusals` holds the same explanations.

mod cli;
mod refusals;
