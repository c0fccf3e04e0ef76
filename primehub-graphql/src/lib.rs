//! PrimeHub's GraphQL API on our crates.
//!
//! GraphQL is PrimeHub's primary API: the console, the public `primehub-python-sdk` and
//! JupyterHub's spawner all speak it. This crate serves PrimeHub's schema — type, field,
//! argument and input names, list semantics and error codes as the original server has them —
//! on async-graphql and axum, with Keycloak state from `primehub-keycloak`'s cache and custom
//! resources from `primehub-reconcile`'s stores.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod auth;
#[cfg(feature = "fake")]
pub mod dev;
pub mod error;
pub mod guard;
pub mod list;
pub mod metrics;
pub mod resources;
pub mod router;
#[cfg(feature = "fake")]
pub mod scale;
pub mod schema;
pub mod server;
pub mod state;

pub use error::{Error, ErrorCode, Result};
