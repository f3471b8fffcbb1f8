//! load (in progress).
