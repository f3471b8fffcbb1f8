//! Fuzz mode, the cargo-fuzz corpus, and the emulator under attack.

mod attack;
mod corpus;
mod mode;
