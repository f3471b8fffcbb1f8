//! `tokenstorm test-invoke`.
