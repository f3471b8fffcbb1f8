//! process tests.
