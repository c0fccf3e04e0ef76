//! Integration tests of primehub-graphql: one binary, a module per area.

mod errors;
mod list;
mod platform;
mod resolvers;
mod support;
