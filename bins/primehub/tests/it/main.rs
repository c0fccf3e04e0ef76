//! The crate's integration tests, one binary (one link) for all of them.

mod bootstrap;
mod dev;
