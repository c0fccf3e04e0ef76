//! Integration tests of primehub-graphql: one binary, a module per area.

mod bad_input;
mod errors;
mod list;
mod platform;
mod resolvers;
mod support;
