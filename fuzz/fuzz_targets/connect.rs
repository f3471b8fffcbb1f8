//! CONNECT handling: the emulator's MQTT decoder on raw bytes and on CONNECTs built from fields.
//! Thin: the property lives in `tokenstorm::fuzz::targets::connect`, which `cargo test` also runs over the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenstorm::fuzz::targets::connect(data));
