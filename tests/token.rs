//! token tests.
