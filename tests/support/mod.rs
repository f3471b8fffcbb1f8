//! Shared test helpers: temp dirs, keys, starting the emulator in-process on port 0, and a small HTTP/1.1
//! client (plain or TLS trusting the emulator's CA) that keeps one connection open across requests.

#![allow(dead_code)]

pub mod client;
pub mod emulator;
pub mod keys;
pub mod moto;
pub mod mqtt;

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}
