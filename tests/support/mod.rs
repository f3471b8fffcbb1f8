//! Shared test helpers: temp dirs, keys, starting the emulator on port 0.
