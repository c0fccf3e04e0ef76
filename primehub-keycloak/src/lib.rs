//! Keycloak for PrimeHub: everything PrimeHub keeps about people.
//!
//! PrimeHub stores users, groups, group attributes (quotas, feature flags) and the realm roles
//! that bind resources to groups in Keycloak. This crate gives integrators and tests one way to
//! talk to it (DESIGN §5, the object_store pattern):
//!
//! | piece | what it is |
//! |---|---|
//! | [`KeycloakAdmin`] | the narrow, object-safe admin trait: users, groups and subgroups (create, list, move, find by path), members, realm roles (create, update and rename, the users and groups holding one), group and user role mappings (direct, effective and available), the admin flag, default groups, offline sessions, execute-actions e-mails, credentials and TOTP removal, realm settings (display name, SMTP), client secrets and scope mappings, admin events; implemented for `Arc<T>` and `Box<T>` too, so decorators compose |
//! | [`http::HttpKeycloak`] | the real implementation over Keycloak's admin REST API (reqwest + rustls), with token caching and single-flight refresh, timeouts, bounded concurrency, safe retries and paging |
//! | [`bootstrap`] | creates PrimeHub's realm shape on a real Keycloak, idempotently |
//! | [`cache::KeycloakCache`] | the Keycloak state cache shared by the API server and the webhook: a snapshot of users, groups (attributes read), memberships, realm roles, group role mappings and the admin flag with indexes for reads; filled at start, updated by writes through it, following Keycloak's admin events (≈ 2 s staleness), resynced periodically, serving the last snapshot while Keycloak is down, its age exposed |
//! | [`counting::CountingAdmin`] | a decorator counting the calls made to Keycloak (to prove a warm read costs none) |
//! | [`faults::FaultyAdmin`] | a decorator making chosen calls fail (to prove a multi-step write rolls back) |
//! | `fake` (feature `fake`) | an in-memory Keycloak with an HTTP face: the admin REST endpoints [`http::HttpKeycloak`] and python-keycloak use (listed, with the known differences, in the `fake` module docs; unknown paths and methods answered as Keycloak answers them) plus the OIDC endpoints (discovery, token with password / client_credentials / refresh_token / authorization_code grants and offline tokens, JWKS, userinfo, introspection, revocation) and the browser side of OIDC (authorization endpoint with Keycloak's login form, SSO cookies, PKCE, end-session), issuing RS256 tokens; it records the e-mails it would send (`FakeRealm::sent_emails`) and the admin events of realms that enable them |
//! | [`token::TokenVerifier`] | checks access tokens (RS256 signature against the JWKS, `exp`/`nbf`, issuer, audience/`azp`), exchanges API tokens, and introspects, revokes and reads userinfo through the realm's OIDC endpoints |
//! | [`conformance`] | the behaviour every implementation must show; the fake, the HTTP client against the fake's face, and the HTTP client against a real Keycloak 26 all run it |
//! | `MockKeycloakAdmin` (feature `mock`) | mockall mocks for interaction assertions |
//!
//! # Example: the state cache, read without calling Keycloak
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
//! use primehub_keycloak::counting::CountingAdmin;
//! use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
//! use primehub_model::clock::SystemClock;
//!
//! let keycloak = FakeKeycloak::new()?;
//! keycloak.bootstrap_primehub("primehub", &BootstrapOptions::default()).await?;
//! let counted = Arc::new(CountingAdmin::new(keycloak.realm("primehub")?));
//! let cache = KeycloakCache::load(counted.clone(), Arc::new(SystemClock), CacheConfig::default()).await?;
//! tokio::spawn(cache.clone().run()); // follows admin events, resyncs, retries
//!
//! let before = counted.calls();
//! let snapshot = cache.snapshot();
//! let phadmin = snapshot.user_by_username("phadmin").expect("bootstrapped");
//! assert!(snapshot.is_admin(&phadmin.user.id));
//! let everyone = snapshot.everyone_group_id().expect("bootstrapped");
//! assert!(snapshot.user_group_ids(&phadmin.user.id).iter().any(|g| g == everyone));
//! assert_eq!(counted.calls(), before, "warm reads make no Keycloak call");
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```
//!
//! All errors are [`KeycloakError`]: `NotFound`, `Conflict` (with the [`ConflictField`] that
//! clashed: username, e-mail, group name, role name, client id), `Unauthorized`, `Forbidden`,
//! `Invalid` (field and rule), `Transport`, `Unexpected` (status and body), `InvalidToken`.
//!
//! # Example: a PrimeHub realm on the fake, a group with quotas, an image role, a token
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
//! use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
//! use primehub_keycloak::{KeycloakAdmin, NewGroup};
//! use primehub_model::attributes::GroupAttributes;
//! use primehub_model::quantity::Cpu;
//! use primehub_model::quota::Quota;
//! use primehub_model::roles::RoleNaming;
//!
//! // An in-memory Keycloak served on a loopback port, with PrimeHub's realm shape.
//! let keycloak = FakeKeycloak::new()?;
//! let server = keycloak.serve(tokio::net::TcpListener::bind("127.0.0.1:0").await?)?;
//! let options = BootstrapOptions { admin_password: "change-me".into(), ..Default::default() };
//! let shape = keycloak.bootstrap_primehub("primehub", &options).await?;
//! let realm = keycloak.realm("primehub")?;
//! let kc: &dyn KeycloakAdmin = &realm;
//!
//! // A group whose members may each use one CPU.
//! let mut attributes = GroupAttributes::default();
//! attributes.set_user_quota(Quota { cpu: Some(Cpu::from_millis(1000)), ..Quota::UNLIMITED });
//! let group = kc.create_group(&NewGroup { name: "team-a".into(), attributes: attributes.to_map() }).await?;
//! kc.add_member(&group, &shape.admin_user_id).await?;
//!
//! // Grant an image to the group (the bootstrap already made `base-notebook` global).
//! let role = RoleNaming::default().image("team-a-notebook");
//! kc.create_role(&role, None).await?;
//! kc.add_group_roles(&group, &[role.clone()]).await?;
//!
//! // Log in as phadmin and verify the token as PrimeHub's API would.
//! let tokens = realm.token_password("jupyterhub", Some(&shape.jupyterhub_client_secret),
//!                                   "phadmin", "change-me", None)?;
//! let issuer = format!("{}/realms/primehub", server.url().trim_end_matches('/'));
//! let verifier = TokenVerifier::new(TokenVerifierConfig::new(issuer, ["jupyterhub"]))?;
//! let who = verifier.verify(&tokens.access_token).await?;
//! assert_eq!(who.username, "phadmin");
//! assert!(who.is_admin);
//! assert!(who.realm_roles.contains(&role));
//! server.shutdown().await;
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod admin;
pub mod bootstrap;
pub mod cache;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod counting;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod faults;
pub mod http;
pub mod representation;
pub mod token;
pub mod transport;

pub use admin::KeycloakAdmin;
#[cfg(feature = "mock")]
pub use admin::MockKeycloakAdmin;
pub use error::{ConflictField, KeycloakError, Result, TokenRejection};
pub use representation::{
    AdminEvent, AdminEventAuth, AdminEventQuery, Attributes, ClientScopeMappings, CompositeRoles,
    Credential, ExecuteActionsEmail, Group, GroupUpdate, NewGroup, NewUser, OfflineSession, Page,
    RealmSettings, RealmSettingsUpdate, Role, RoleUpdate, SmtpSettings, User, UserUpdate,
};
