//! The crate's integration tests, one binary (one link) for all of them.

mod admin_ext;
mod admin_rest_parity;
mod browser_flow;
mod cache;
mod fake_admin_http;
mod fake_bootstrap;
mod fake_conformance;
mod fake_http_conformance;
mod fake_oidc;
mod fake_realm;
mod grants;
mod mock_usage;
mod oidc_tokens;
mod primehub_replay;
mod real_keycloak;
mod token_verifier;
