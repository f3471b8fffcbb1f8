//! invariant (in progress).
