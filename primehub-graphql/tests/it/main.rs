//! Integration tests of primehub-graphql: one binary, a module per area.

mod authz;
mod errors;
mod list;
mod platform;
mod router;
mod support;
