//! Integration tests of primehub-graphql: one binary, a module per area.

mod authz;
mod bad_input;
mod dataset_children;
mod errors;
mod jobs;
mod list;
mod notebook;
mod platform;
mod resolvers;
mod router;
mod support;
