//! Signature decoding and verification; differential check: aws-lc-rs and rsa must agree.
//! Thin: the property lives in `tokenstorm::fuzz::targets::signature`, which `cargo test` also runs over the corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenstorm::fuzz::targets::signature(data));
