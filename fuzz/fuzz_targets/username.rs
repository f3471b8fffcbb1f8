//! The MQTT CONNECT username query (wire::mqtt::parse_username / build_username).
//! Thin: the property lives in `tokenstorm::fuzz::targets::username`, which `cargo test` also runs over the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenstorm::fuzz::targets::username(data));
