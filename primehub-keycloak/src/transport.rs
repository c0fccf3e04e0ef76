//! The HTTP client every Keycloak call goes through: reqwest over rustls with the `ring`
//! provider chosen explicitly (no process-wide default provider is needed or installed, so the
//! crate coexists with kube-rs or anything else that picks one) and the platform's trust store.

use std::sync::Arc;
use std::time::Duration;

use rustls_platform_verifier::BuilderVerifierExt;

use crate::error::{KeycloakError, Result};

/// A reqwest client with rustls/ring TLS, a per-request `timeout` and a connect timeout of at
/// most 5 s. Other PrimeHub clients (the admission webhook's GraphQL quota source) use it too,
/// so every outgoing HTTPS call trusts the same roots.
pub fn build_http_client(timeout: Duration) -> Result<reqwest::Client> {
    let tls_error = |e: rustls::Error| KeycloakError::Transport {
        message: format!("cannot set up TLS: {e}"),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| KeycloakError::Transport {
            message: format!("cannot build the HTTP client: {e}"),
        })
}
