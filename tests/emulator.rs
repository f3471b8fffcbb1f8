//! emulator tests.
