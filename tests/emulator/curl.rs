//! curl tests.
