//! The binary's integration tests, one test binary for all of them.

mod fake_flow;
mod flags;
mod manifests;
mod real_webhook;
