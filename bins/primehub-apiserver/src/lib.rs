//! `primehub-apiserver`: PrimeHub's GraphQL API server on a real Keycloak and a real Kubernetes
//! cluster, as a library so its wiring can be tested.
//!
//! Wiring and flags only: [`cli`] parses the flags, [`settings`] checks them and reads the
//! secret files, [`app`] builds the backends (Keycloak's admin API with the `admin-ui` client's
//! service account, the token verifier, the Kubernetes client) and serves
//! [`primehub_graphql::server::start`]'s router. The API itself is `primehub-graphql`; what
//! every PrimeHub service shares (connection flags and clients, the start with retries, the
//! listener, signals, logging) is `primehub-service`.

pub mod app;
pub mod cli;
pub mod settings;

/// Logging, shared by every PrimeHub service.
pub use primehub_service::logging;
