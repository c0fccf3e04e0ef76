//! `primehub-apiserver`: PrimeHub's GraphQL API server on a real Keycloak and a real Kubernetes
//! cluster, as a library so its wiring can be tested.
//!
//! Wiring and flags only: [`cli`] parses the flags, [`settings`] checks them and reads the
//! secret files, [`app`] builds the backends (Keycloak's admin API with the `admin-ui` client's
//! service account, the token verifier, the Kubernetes client) and serves
//! [`primehub_graphql::server::start`]'s router. The API itself is `primehub-graphql`.

pub mod app;
pub mod cli;
pub mod logging;
pub mod settings;
