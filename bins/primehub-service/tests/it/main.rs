//! The crate's integration tests, one test binary for all of them.

mod http;
mod settings;
mod start;
