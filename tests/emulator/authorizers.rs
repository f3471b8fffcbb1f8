//! authorizers tests.
