//! The binary's integration tests, one test binary for all of them.

mod flags;
