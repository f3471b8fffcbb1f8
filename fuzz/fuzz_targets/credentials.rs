//! Credential extraction from an HTTP request (headers, query) and the signature gate.
//! Thin: the property lives in `tokenstorm::fuzz::targets::credentials`, which `cargo test` also runs over the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenstorm::fuzz::targets::credentials(data));
