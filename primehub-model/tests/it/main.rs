//! The crate's integration tests, one binary (one link) for all of them.

mod attributes_tests;
mod binding;
mod crd_drift;
mod crd_fixtures;
mod crd_schema;
mod job_pod;
mod names_tests;
mod notebook_pod;
mod pod_resources;
mod quantity_props;
mod quota;
mod roles_tests;
