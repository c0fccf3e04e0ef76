//! PrimeHub's GraphQL API on our crates.
//!
//! GraphQL is PrimeHub's primary API: the console, the public `primehub-python-sdk` and
//! JupyterHub's spawner all speak it. This crate serves PrimeHub's schema — type, field,
//! argument and input names, list semantics and error codes as the original server has them —
//! on async-graphql and axum, with Keycloak state from `primehub-keycloak`'s cache and custom
//! resources from `primehub-reconcile`'s stores.
//!
//! | module | what it holds |
//! |---|---|
//! | [`schema`] | the queries and mutations, one module per area (`system`, `user`, `group`, `instance_type`, `image`, `dataset`, `secret`, `job`, `schedule`) |
//! | [`list`] | PrimeHub's list semantics: `where` filters, `orderBy`, numbered and cursor pagination, the user pages |
//! | [`auth`] | `Authorization: Bearer …` → [`auth::Caller`]: the shared secret, access tokens, API tokens |
//! | [`guard`] | PrimeHub's permission table as async-graphql guards |
//! | [`jobs`] | the PhJob (slim) and PhSchedule stores the job API reads |
//! | [`resources`] | the write side of custom resources: role → resource → grants, with rollback; PVCs |
//! | [`logs`] | the job log route (`logEndpoint`), reading the pod log through `KubeApi` |
//! | [`notebook`] | the notebook routes JupyterHub calls: `POST /api/notebook/pod` (PrimeHub's parts of a notebook pod, or why not) and `GET /api/notebook/groups` (the options form's groups with usage) |
//! | [`router`] | the axum router: JSON and form posts, GraphiQL, limits, health, readiness, metrics, `/api/token` |
//! | [`server`] | assembling a server from its backends: cache filled, stores started, background sync |
//! | `dev` (feature `fake`) | the whole platform on in-memory fakes on one listener (`primehub dev`), with the pod simulator and the notebook runner (notebook pods as local `jupyterhub-singleuser` processes) |
//! | [`error`] | PrimeHub's error codes, given to clients in `extensions.code` |
//!
//! # Example: the platform on fakes, and a `me` query
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use primehub_graphql::auth::{Caller, Identity};
//! use primehub_graphql::dev::{DevOptions, DevPlatform};
//!
//! // PrimeHub's fresh-install shape on fakes, served on a loopback port.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let platform = DevPlatform::start(listener, &DevOptions::default()).await?;
//!
//! // In process, as the administrator (over HTTP, send `Authorization: Bearer <token>`).
//! let admin = Caller::Admin(Identity {
//!     user_id: platform.realm.admin_user_id.clone(),
//!     username: "phadmin".into(),
//! });
//! let query = "{ me { username effectiveGroups { name instanceTypes { name } } } }";
//! let response = platform.api.service.execute(Arc::new(admin), query.into()).await;
//! let data = response.data.into_json()?;
//! assert_eq!(data["me"]["effectiveGroups"][0]["name"], "phusers");
//! assert_eq!(data["me"]["effectiveGroups"][0]["instanceTypes"][0]["name"], "cpu-1");
//! platform.shutdown().await?;
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod auth;
#[cfg(feature = "fake")]
pub mod dev;
pub mod error;
pub mod guard;
pub mod jobs;
pub mod launch;
pub mod list;
pub mod logs;
pub mod metrics;
pub mod notebook;
pub mod resources;
pub mod router;
#[cfg(feature = "fake")]
pub mod scale;
pub mod schema;
pub mod server;
pub mod state;
pub mod undo;

pub use error::{Error, ErrorCode, Result};
