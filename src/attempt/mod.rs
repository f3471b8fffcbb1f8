//! attempt (in progress).
