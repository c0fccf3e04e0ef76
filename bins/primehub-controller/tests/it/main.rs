//! The binary's integration tests, one test binary for all of them.

mod binary;
mod fake_flow;
mod flags;
mod flow;
mod manifests;
mod real_controller;
mod real_datasets;
mod real_group_volumes;
mod real_jobs;
mod real_tier;
