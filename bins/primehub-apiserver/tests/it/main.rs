//! The binary's integration tests, one test binary for all of them.

mod binary;
mod fake_flows;
mod flags;
mod flows;
mod manifests;
mod real_apiserver;
mod real_env;
