//! Who is calling: `Authorization: Bearer <credential>` → a [`Caller`].
//!
//! Three kinds of credential are accepted, as PrimeHub accepts them:
//!
//! * the **shared secret** (`SHARED_GRAPHQL_SECRET_KEY` in PrimeHub; `--shared-secret` here),
//!   compared in constant time and never logged: the caller is the server-to-server
//!   [`Caller::Client`] (JupyterHub, controllers);
//! * a Keycloak **access token** (`typ: Bearer`), verified by
//!   [`primehub_keycloak::token::TokenVerifier`]: signature against the realm's JWKS, expiry,
//!   issuer and audience (PrimeHub checks only signature and expiry). Holders of
//!   `realm-management`/`realm-admin` are [`Caller::Admin`], others [`Caller::User`];
//! * an **API token** (a Keycloak offline token, `typ: Offline`), exchanged for an access token
//!   with the `admin-ui` client through the verifier, which caches the exchange for 30 s.
//!   `revokeApiToken` drops the user's cached exchanges, so a revoked token is refused by this
//!   server at once; another replica refuses it within those 30 s.
//!
//! A verified access token is remembered until it expires (bounded memory), so a client
//! reusing one token costs one signature check, not one per request. Anything else — no header,
//! another scheme, a bad or expired token, an ID or refresh token — is [`Error::NotAuth`] with
//! the same message, so nothing about the reason is revealed to the caller (it is logged at
//! debug level).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use primehub_keycloak::token::{TokenVerifier, VerifiedToken};
use primehub_model::clock::Clock;

use crate::error::{Error, Result};

/// The message of every authentication failure.
pub const NOT_AUTHORIZED: &str = "request not authorized";

/// The identity of a user calling with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The Keycloak user id (`sub`).
    pub user_id: String,
    /// The username (`preferred_username`).
    pub username: String,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The server-to-server client holding the shared secret (PrimeHub's `CLIENT` role; its
    /// user id and name are `jupyterHub`).
    Client,
    /// A user without `realm-admin` (PrimeHub's `USER`).
    User(Identity),
    /// A user holding `realm-management`/`realm-admin` (PrimeHub's `ADMIN`).
    Admin(Identity),
}

impl Caller {
    /// The user behind the call; `None` for the shared-secret client.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Caller::Client => None,
            Caller::User(id) | Caller::Admin(id) => Some(id),
        }
    }

    /// Whether the caller is a system administrator.
    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin(_))
    }

    /// Whether the caller is the shared-secret client.
    pub fn is_client(&self) -> bool {
        matches!(self, Caller::Client)
    }

    /// PrimeHub's name of the caller's role: `CLIENT`, `USER` or `ADMIN`.
    pub fn role_name(&self) -> &'static str {
        match self {
            Caller::Client => "CLIENT",
            Caller::User(_) => "USER",
            Caller::Admin(_) => "ADMIN",
        }
    }

    fn from_token(token: &VerifiedToken) -> Caller {
        let identity = Identity {
            user_id: token.user_id.clone(),
            username: token.username.clone(),
        };
        if token.is_admin {
            Caller::Admin(identity)
        } else {
            Caller::User(identity)
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `typ` claim of a JWT, read without verifying it (to choose the verification path only).
fn unverified_type(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("typ")?.as_str().map(str::to_owned)
}

/// How many verified tokens are remembered at most; when full, expired ones are dropped, and if
/// none has expired the memory is cleared (the next requests verify again).
pub const MEMO_CAPACITY: usize = 65_536;

/// Turns `Authorization` headers into [`Caller`]s.
pub struct Authenticator {
    shared_secret: Option<String>,
    verifier: Option<Arc<TokenVerifier>>,
    clock: Arc<dyn Clock>,
    memo: RwLock<HashMap<String, (Arc<Caller>, i64)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field(
                "shared_secret",
                &self.shared_secret.as_ref().map(|_| "<set>"),
            )
            .field("verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator accepting the shared secret (when given and non-empty) and tokens the
    /// verifier accepts (when given).
    pub fn new(
        shared_secret: Option<String>,
        verifier: Option<Arc<TokenVerifier>>,
        clock: Arc<dyn Clock>,
    ) -> Authenticator {
        Authenticator {
            shared_secret: shared_secret.filter(|s| !s.is_empty()),
            verifier,
            clock,
            memo: RwLock::new(HashMap::new()),
        }
    }

    /// The verifier, if tokens are accepted.
    pub fn verifier(&self) -> Option<&Arc<TokenVerifier>> {
        self.verifier.as_ref()
    }

    /// The caller for an `Authorization` header value (`None`: no header).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Arc<Caller>> {
        let denied = |why: &str| {
            tracing::debug!(reason = why, "authentication failed");
            Error::NotAuth(NOT_AUTHORIZED.to_owned())
        };
        let value = header.ok_or_else(|| denied("no Authorization header"))?;
        let credential = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| denied("not a Bearer credential"))?;
        if let Some(secret) = &self.shared_secret
            && constant_time_eq(credential.as_bytes(), secret.as_bytes())
        {
            return Ok(Arc::new(Caller::Client));
        }
        let now = self.clock.now_unix();
        if let Some(caller) = self.remembered(credential, now) {
            return Ok(caller);
        }
        let verifier = self
            .verifier
            .as_ref()
            .ok_or_else(|| denied("tokens are not accepted (no verifier configured)"))?;
        let api_token = match unverified_type(credential).as_deref() {
            Some("Offline") => true,
            Some("Bearer") | None => false,
            Some(_) => return Err(denied("not an access token or API token")),
        };
        let verified = if api_token {
            verifier.exchange_api_token(credential).await
        } else {
            verifier.verify(credential).await
        }
        .map_err(|e| denied(&e.to_string()))?;
        let caller = Arc::new(Caller::from_token(&verified));
        // An API token is not remembered here: the verifier caches its exchange for a short
        // time only (30 s), so a token revoked elsewhere stops working within that bound (it
        // would otherwise live on until the exchanged access token expires).
        if !api_token {
            self.remember(credential, &caller, verified.expires_at, now);
        }
        Ok(caller)
    }

    /// Forgets what is cached about `user_id`'s API tokens, after revoking them: from then on
    /// they are refused by this server at once.
    pub fn forget_api_tokens_of(&self, user_id: &str) {
        if let Some(verifier) = &self.verifier {
            verifier.forget_api_tokens_of(user_id);
        }
    }

    fn remembered(&self, credential: &str, now: i64) -> Option<Arc<Caller>> {
        let memo = self.memo.read().ok()?;
        let (caller, expires_at) = memo.get(credential)?;
        (now <= *expires_at).then(|| caller.clone())
    }

    fn remember(&self, credential: &str, caller: &Arc<Caller>, expires_at: i64, now: i64) {
        let Ok(mut memo) = self.memo.write() else {
            return;
        };
        if memo.len() >= MEMO_CAPACITY {
            memo.retain(|_, (_, exp)| *exp >= now);
            if memo.len() >= MEMO_CAPACITY {
                memo.clear();
            }
        }
        memo.insert(credential.to_owned(), (caller.clone(), expires_at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn token_type_is_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"typ":"Offline","sub":"u"}"#);
        assert_eq!(
            unverified_type(&format!("h.{payload}.s")).as_deref(),
            Some("Offline")
        );
        assert_eq!(unverified_type("not-a-jwt"), None);
    }
}
