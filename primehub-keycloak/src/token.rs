//! Verifying Keycloak access tokens and PrimeHub API tokens.
//!
//! [`TokenVerifier`] checks an access token the way PrimeHub's API must (DESIGN §4.3):
//!
//! * the header's `alg` must be `RS256` (`none`, `HS256`… are rejected before anything else);
//! * the signature must verify against the realm's JWKS, fetched from
//!   `<issuer>/protocol/openid-connect/certs`, cached, and refreshed when a token names an unknown
//!   `kid` — at most once every 10 s, so garbage tokens cannot make us hammer Keycloak;
//! * `exp` and `nbf` are checked against the injected [`Clock`] (PrimeHub's one clock,
//!   [`primehub_model::clock`]) with a small leeway; the JWKS refresh rate limit and the API-token
//!   cache read the same clock, so tests move time with a `ManualClock` and never sleep;
//! * keys are read as [`jsonwebtoken::jwk::JwkSet`]: RSA keys for signing (`use` absent or
//!   `sig`, `alg` absent or `RS256`); encryption keys (`RSA-OAEP`) and other key types are skipped;
//! * `iss` must be the configured issuer, and `aud` or `azp` must name an accepted client.
//!
//! Each failure is a distinct [`TokenRejection`]. A verified token yields a [`VerifiedToken`]:
//! user id, username, realm roles, client roles, and whether the user is a PrimeHub admin (client
//! role `realm-admin` of `realm-management`).
//!
//! **API tokens** are offline refresh tokens (scope `offline_access`) a user created for scripts.
//! [`TokenVerifier::exchange_api_token`] trades one for an access token at the realm's token
//! endpoint, verifies it, and caches the result briefly so a script's burst of requests costs one
//! exchange.
//!
//! **The realm's other OIDC endpoints**, as the same API-token client:
//! [`TokenVerifier::introspect`] (RFC 7662; Keycloak 26.7 answers "active" only to a client
//! named in the token's `aud`), [`TokenVerifier::revoke`] (RFC 7009; revoking an API token ends
//! its offline session) and [`TokenVerifier::userinfo`].
//!
//! ```no_run
//! use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};
//!
//! # async fn demo(access_token: &str) -> primehub_keycloak::Result<()> {
//! let verifier = TokenVerifier::new(TokenVerifierConfig::new(
//!     "http://127.0.0.1:8080/realms/primehub",
//!     ["admin-ui", "jupyterhub"],
//! ))?;
//! let who = verifier.verify(access_token).await?;
//! println!("{} (admin: {})", who.username, who.is_admin);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
pub use primehub_model::clock::{Clock, SystemClock};
use serde::Deserialize;

use crate::admin::{REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::{KeycloakError, Result, TokenRejection};

/// How a [`TokenVerifier`] checks tokens.
#[derive(Clone)]
pub struct TokenVerifierConfig {
    /// The realm's issuer, `<keycloak>/realms/<realm>` (exactly the tokens' `iss`).
    pub issuer: String,
    /// Where to fetch keys; defaults to `<issuer>/protocol/openid-connect/certs`.
    pub jwks_url: Option<String>,
    /// Where to exchange API tokens; defaults to `<issuer>/protocol/openid-connect/token`.
    pub token_url: Option<String>,
    /// Accepted clients: a token passes when its `aud` or `azp` names one of them.
    pub audiences: Vec<String>,
    /// The confidential client used to exchange API tokens (`client_id`, `client_secret`);
    /// PrimeHub uses `admin-ui`. Without it [`TokenVerifier::exchange_api_token`] is refused.
    pub api_token_client: Option<(String, String)>,
    /// Tolerance for `exp`/`nbf` (default 30 s).
    pub leeway: Duration,
    /// Minimum time between two JWKS fetches triggered by unknown `kid`s (default 10 s).
    pub min_jwks_refresh: Duration,
    /// How long an exchanged API token is cached (default 30 s, never beyond its expiry).
    pub api_token_cache_ttl: Duration,
    /// Per-request timeout toward Keycloak (default 10 s).
    pub request_timeout: Duration,
    /// The clock used for `exp`/`nbf`, the JWKS refresh rate limit and the API-token cache
    /// (default [`SystemClock`]; tests pass a `primehub_model::clock::ManualClock`).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TokenVerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifierConfig")
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .field("token_url", &self.token_url)
            .field("audiences", &self.audiences)
            .field(
                "api_token_client",
                &self.api_token_client.as_ref().map(|(id, _)| id),
            )
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl TokenVerifierConfig {
    /// A configuration for `issuer` accepting tokens for `audiences`, with the defaults above.
    pub fn new<I, S>(issuer: impl Into<String>, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TokenVerifierConfig {
            issuer: issuer.into(),
            jwks_url: None,
            token_url: None,
            audiences: audiences.into_iter().map(Into::into).collect(),
            api_token_client: None,
            leeway: Duration::from_secs(30),
            min_jwks_refresh: Duration::from_secs(10),
            api_token_cache_ttl: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Who a verified token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The Keycloak user id (`sub`).
    pub user_id: String,
    /// The username (`preferred_username`).
    pub username: String,
    /// The e-mail, if the token carries one.
    pub email: Option<String>,
    /// Effective realm roles (`realm_access.roles`).
    pub realm_roles: Vec<String>,
    /// Client roles by client id (`resource_access.<client>.roles`).
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Whether the user holds `realm-management`/`realm-admin`.
    pub is_admin: bool,
    /// The client the token was issued to (`azp`).
    pub authorized_party: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: i64,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RoleList {
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    iss: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    aud: Option<OneOrMany>,
    azp: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    #[serde(default)]
    realm_access: RoleList,
    #[serde(default)]
    resource_access: BTreeMap<String, RoleList>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// When the JWKS was last fetched, by the verifier's clock.
    fetched_at: Option<Timestamp>,
}

/// Verifies Keycloak access tokens and exchanges API tokens. Cheap to share behind an `Arc`;
/// all methods take `&self`.
pub struct TokenVerifier {
    config: TokenVerifierConfig,
    jwks_url: String,
    token_url: String,
    http: reqwest::Client,
    keys: Mutex<KeyCache>,
    refresh: tokio::sync::Mutex<()>,
    /// Exchanged API tokens and when (by the clock) each cache entry ends.
    api_tokens: Mutex<HashMap<String, (VerifiedToken, Timestamp)>>,
    jwks_fetches: AtomicU64,
    api_token_exchanges: AtomicU64,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const MAX_CACHED_API_TOKENS: usize = 10_000;

fn reject(r: TokenRejection) -> KeycloakError {
    KeycloakError::InvalidToken(r)
}

impl TokenVerifier {
    /// A verifier for `config`. Fails when the issuer is not an http(s) URL or no audience is
    /// configured.
    pub fn new(config: TokenVerifierConfig) -> Result<TokenVerifier> {
        let issuer = config.issuer.trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&issuer)
            .map_err(|e| KeycloakError::invalid("issuer", format!("not a URL: {e}")))?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(KeycloakError::invalid(
                "issuer",
                "must be an http or https URL",
            ));
        }
        if config.audiences.is_empty() {
            return Err(KeycloakError::invalid(
                "audiences",
                "at least one accepted client id is required",
            ));
        }
        let jwks_url = config
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}/protocol/openid-connect/certs"));
        let token_url = config
            .token_url
            .clone()
            .unwrap_or_else(|| format!("{issuer}/protocol/openid-connect/token"));
        let http = crate::transport::build_http_client(config.request_timeout)?;
        Ok(TokenVerifier {
            config: TokenVerifierConfig { issuer, ..config },
            jwks_url,
            token_url,
            http,
            keys: Mutex::new(KeyCache::default()),
            refresh: tokio::sync::Mutex::new(()),
            api_tokens: Mutex::new(HashMap::new()),
            jwks_fetches: AtomicU64::new(0),
            api_token_exchanges: AtomicU64::new(0),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &TokenVerifierConfig {
        &self.config
    }

    /// How many times the JWKS was fetched (for metrics).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.jwks_fetches.load(Ordering::Relaxed)
    }

    /// How many API tokens were exchanged at the token endpoint (cache misses, for metrics).
    pub fn api_token_exchange_count(&self) -> u64 {
        self.api_token_exchanges.load(Ordering::Relaxed)
    }

    /// How long ago the JWKS was last fetched, if ever (the age of the key cache).
    pub fn jwks_age(&self) -> Option<Duration> {
        let fetched_at = self.keys.lock().ok()?.fetched_at?;
        Some(self.elapsed_since(fetched_at))
    }

    /// How much time passed on the verifier's clock since `then` (zero if the clock went back).
    fn elapsed_since(&self, then: Timestamp) -> Duration {
        Duration::try_from(self.config.clock.now().duration_since(then)).unwrap_or(Duration::ZERO)
    }

    /// Verifies an access token (see the module docs for every check).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken> {
        let header = parse_header(token)?;
        let alg = header.alg.unwrap_or_default();
        if alg != "RS256" {
            return Err(reject(TokenRejection::UnsupportedAlgorithm(alg)));
        }
        let kid = header.kid.unwrap_or_default();
        let key = self.key_for(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => reject(TokenRejection::BadSignature),
                ErrorKind::InvalidAlgorithm => {
                    reject(TokenRejection::UnsupportedAlgorithm(alg.clone()))
                }
                other => reject(TokenRejection::Malformed(format!("{other:?}"))),
            }
        })?;
        self.check_claims(data.claims)
    }

    fn check_claims(&self, claims: Claims) -> Result<VerifiedToken> {
        let now = self.config.clock.now_unix();
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        let exp = claims
            .exp
            .ok_or_else(|| reject(TokenRejection::MissingClaim("exp".to_owned())))?;
        if now > exp.saturating_add(leeway) {
            return Err(reject(TokenRejection::Expired));
        }
        if claims
            .nbf
            .is_some_and(|nbf| now < nbf.saturating_sub(leeway))
        {
            return Err(reject(TokenRejection::NotYetValid));
        }
        let iss = claims.iss.unwrap_or_default();
        if iss.trim_end_matches('/') != self.config.issuer {
            return Err(reject(TokenRejection::WrongIssuer {
                expected: self.config.issuer.clone(),
                found: iss,
            }));
        }
        let mut found: Vec<String> = claims.aud.map(OneOrMany::into_vec).unwrap_or_default();
        found.extend(claims.azp.clone());
        if !found.iter().any(|a| self.config.audiences.contains(a)) {
            return Err(reject(TokenRejection::WrongAudience {
                expected: self.config.audiences.clone(),
                found,
            }));
        }
        let user_id = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| reject(TokenRejection::MissingClaim("sub".to_owned())))?;
        let username = claims
            .preferred_username
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                reject(TokenRejection::MissingClaim(
                    "preferred_username".to_owned(),
                ))
            })?;
        let client_roles: BTreeMap<String, Vec<String>> = claims
            .resource_access
            .into_iter()
            .map(|(client, roles)| (client, roles.roles))
            .collect();
        let is_admin = client_roles
            .get(REALM_MANAGEMENT_CLIENT)
            .is_some_and(|roles| roles.iter().any(|r| r == REALM_ADMIN_ROLE));
        Ok(VerifiedToken {
            user_id,
            username,
            email: claims.email,
            realm_roles: claims.realm_access.roles,
            client_roles,
            is_admin,
            authorized_party: claims.azp,
            expires_at: exp,
        })
    }

    /// The decoding key for `kid`, fetching the JWKS when it is unknown (rate-limited).
    async fn key_for(&self, kid: &str) -> Result<DecodingKey> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        let _guard = self.refresh.lock().await;
        // Another task may have refreshed while we waited.
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        let recently = self
            .keys
            .lock()
            .map_err(|_| poisoned())?
            .fetched_at
            .is_some_and(|t| self.elapsed_since(t) < self.config.min_jwks_refresh);
        if !recently {
            self.refresh_keys().await?;
        }
        self.cached_key(kid)
            .ok_or_else(|| reject(TokenRejection::UnknownKey(kid.to_owned())))
    }

    fn cached_key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.lock().ok()?.keys.get(kid).cloned()
    }

    /// Fetches the realm's JWKS now and replaces the cached keys.
    pub async fn refresh_keys(&self) -> Result<()> {
        self.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let (status, body) = self
            .send(self.http.get(&self.jwks_url), "fetching the JWKS")
            .await?;
        if !status.is_success() {
            return Err(KeycloakError::Unexpected {
                status: status.as_u16(),
                body: truncate(&body),
            });
        }
        let jwks: JwkSet = serde_json::from_str(&body).map_err(|e| KeycloakError::Unexpected {
            status: status.as_u16(),
            body: format!("JWKS is not a JSON Web Key Set ({e}): {}", truncate(&body)),
        })?;
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let signing = matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
                && jwk
                    .common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|u| *u == PublicKeyUse::Signature)
                && jwk
                    .common
                    .key_algorithm
                    .is_none_or(|a| a == KeyAlgorithm::RS256);
            let Some(kid) = jwk.common.key_id.as_ref().filter(|_| signing) else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid.clone(), key);
                }
                Err(err) => tracing::warn!(%kid, error = %err, "ignoring unusable JWKS key"),
            }
        }
        tracing::debug!(count = keys.len(), url = %self.jwks_url, "fetched JWKS");
        let mut cache = self.keys.lock().map_err(|_| poisoned())?;
        cache.keys = keys;
        cache.fetched_at = Some(self.config.clock.now());
        Ok(())
    }

    /// The configured API-token client, or an error saying what `action` needs it.
    fn api_token_client(&self, action: &str) -> Result<(&str, &str)> {
        self.config
            .api_token_client
            .as_ref()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            .ok_or_else(|| {
                KeycloakError::invalid(
                    "api_token_client",
                    format!("no client is configured to {action} API tokens"),
                )
            })
    }

    /// Posts `form` to the realm's token endpoint: a refusal (400/401) is `Unauthorized` with
    /// Keycloak's `error_description` (else `refused`), another failure `Unexpected`, success the
    /// parsed JSON body.
    async fn token_endpoint(
        &self,
        form: &[(&str, &str)],
        what: &str,
        refused: &str,
    ) -> Result<serde_json::Value> {
        let (status, body) = self
            .send(self.http.post(&self.token_url).form(form), what)
            .await?;
        if status.as_u16() == 400 || status.as_u16() == 401 {
            let reason = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("error_description")
                        .or_else(|| v.get("error"))
                        .and_then(|d| d.as_str().map(str::to_owned))
                })
                .unwrap_or_else(|| refused.to_owned());
            return Err(KeycloakError::Unauthorized { reason });
        }
        if !status.is_success() {
            return Err(KeycloakError::Unexpected {
                status: status.as_u16(),
                body: truncate(&body),
            });
        }
        serde_json::from_str(&body).map_err(|e| KeycloakError::Unexpected {
            status: status.as_u16(),
            body: format!("the token response is not JSON ({e})"),
        })
    }

    /// Exchanges an API token (an offline refresh token) for an access token at the realm's token
    /// endpoint, verifies it, and caches the result for a short time.
    pub async fn exchange_api_token(&self, api_token: &str) -> Result<VerifiedToken> {
        if let Some(hit) = self.cached_api_token(api_token) {
            return Ok(hit);
        }
        let (client_id, client_secret) = self.api_token_client("exchange")?;
        self.api_token_exchanges.fetch_add(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", api_token),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ];
        let token = self
            .token_endpoint(
                &form,
                "exchanging an API token",
                "the API token was refused",
            )
            .await?;
        let access_token = token
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| KeycloakError::Unexpected {
                status: 200,
                body: "token response without access_token".to_owned(),
            })?;
        let verified = self.verify(access_token).await?;
        self.remember_api_token(api_token, &verified);
        Ok(verified)
    }

    /// Issues an API token for a user, as PrimeHub's console does: an offline token (a refresh
    /// token of `typ` `Offline`) from the realm's token endpoint through the configured API-token
    /// client (`admin-ui`) with scope `offline_access`; here with the user's password (the
    /// console uses the browser's code flow). Wrong credentials are `Unauthorized`.
    pub async fn issue_api_token(&self, username: &str, password: &str) -> Result<String> {
        let (client_id, client_secret) = self.api_token_client("issue")?;
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", "openid offline_access"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ];
        let token = self
            .token_endpoint(
                &form,
                "issuing an API token",
                "the credentials were refused",
            )
            .await?;
        token
            .get("refresh_token")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .ok_or_else(|| KeycloakError::Unexpected {
                status: 200,
                body: "the token response has no refresh_token (is offline_access allowed?)".into(),
            })
    }

    /// An endpoint under `<issuer>/protocol/openid-connect/`.
    fn oidc_url(&self, endpoint: &str) -> String {
        format!("{}/protocol/openid-connect/{endpoint}", self.config.issuer)
    }

    /// Asks the realm's introspection endpoint (RFC 7662,
    /// `<issuer>/protocol/openid-connect/token/introspect`) about `token`, authenticating as
    /// the configured API-token client (HTTP Basic). `token_type_hint` is `access_token` (the
    /// default: access and ID tokens) or `refresh_token` (refresh and offline tokens).
    ///
    /// Keycloak 26.7 answers "active" only to a client the token names in its `aud` (an access
    /// token names the clients whose roles the user holds, or those of an audience mapper —
    /// never the client it was issued to) or, with `refresh_token`, to the client a refresh
    /// token was issued to; for any other client, and for an expired, revoked or malformed
    /// token or one whose session ended, it is inactive. A refused client is `Unauthorized`
    /// (wrong credentials, a public client) with Keycloak's `error_description`; an unknown
    /// hint is `Invalid`.
    pub async fn introspect(
        &self,
        token: &str,
        token_type_hint: Option<&str>,
    ) -> Result<Introspection> {
        let (client_id, client_secret) = self.api_token_client("introspect")?;
        let mut form = vec![("token", token)];
        if let Some(hint) = token_type_hint {
            form.push(("token_type_hint", hint));
        }
        let request = self
            .http
            .post(self.oidc_url("token/introspect"))
            .basic_auth(client_id, Some(client_secret))
            .form(&form);
        let (status, body) = self.send(request, "introspecting a token").await?;
        if !status.is_success() {
            return Err(oauth_refusal(status.as_u16(), &body, "token"));
        }
        let mut claims: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&body)
            .map_err(|e| KeycloakError::Unexpected {
                status: status.as_u16(),
                body: format!("the introspection response is not a JSON object ({e})"),
            })?;
        let active = claims
            .remove("active")
            .and_then(|a| a.as_bool())
            .unwrap_or(false);
        Ok(Introspection { active, claims })
    }

    /// Revokes `token` at the realm's revocation endpoint (RFC 7009,
    /// `<issuer>/protocol/openid-connect/revoke`) as the configured API-token client. Revoking
    /// an API token (an offline token) or a refresh token ends that client's session, so every
    /// token of it stops working at once; revoking an access token makes just that token
    /// inactive. A token that is unknown, malformed or already dead is not an error (Keycloak
    /// answers 200); a token issued to another client is `Invalid` ("Unmatching clients"), an
    /// ID token `Invalid` ("Unsupported token type"), wrong client credentials `Unauthorized`.
    /// The verifier's cache of exchanged API tokens is not touched: see
    /// [`forget_api_tokens_of`](Self::forget_api_tokens_of).
    pub async fn revoke(&self, token: &str) -> Result<()> {
        let (client_id, client_secret) = self.api_token_client("revoke")?;
        let request = self
            .http
            .post(self.oidc_url("revoke"))
            .basic_auth(client_id, Some(client_secret))
            .form(&[("token", token)]);
        let (status, body) = self.send(request, "revoking a token").await?;
        if status.is_success() {
            // 200 also for a token Keycloak will not act on (`{"error": "invalid_token"}`):
            // such a token is no good anyway.
            return Ok(());
        }
        Err(oauth_refusal(status.as_u16(), &body, "token"))
    }

    /// The userinfo claims of `access_token` from the realm's userinfo endpoint
    /// (`<issuer>/protocol/openid-connect/userinfo`, bearer header). A token that does not
    /// verify, is expired or revoked, or whose session ended is `Unauthorized` with the
    /// `error_description` of Keycloak's `WWW-Authenticate` header (`Token verification
    /// failed`, `user_session_not_found`); a token without the `openid` scope is `Forbidden`
    /// (`Missing openid scope`).
    pub async fn userinfo(&self, access_token: &str) -> Result<serde_json::Value> {
        let request = self
            .http
            .get(self.oidc_url("userinfo"))
            .bearer_auth(access_token);
        let transport = |e: reqwest::Error| KeycloakError::Transport {
            message: format!("reading userinfo: {e}"),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        let body = response.text().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_str(&body).map_err(|e| KeycloakError::Unexpected {
                status: status.as_u16(),
                body: format!("the userinfo response is not JSON ({e})"),
            });
        }
        let reason = challenge_param(&challenge, "error_description")
            .or_else(|| challenge_param(&challenge, "error"))
            .unwrap_or_else(|| "no access token".to_owned());
        Err(match status.as_u16() {
            401 => KeycloakError::Unauthorized { reason },
            403 => KeycloakError::Forbidden { reason },
            400 => KeycloakError::invalid("access_token", reason),
            other => KeycloakError::Unexpected {
                status: other,
                body: truncate(&body),
            },
        })
    }

    /// Sends a request and reads the body; transport failures name `what`.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(reqwest::StatusCode, String)> {
        let transport = |e: reqwest::Error| KeycloakError::Transport {
            message: format!("{what}: {e}"),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        Ok((status, body))
    }

    /// Drops the cached exchanges of `user_id`'s API tokens, so the next use of one asks
    /// Keycloak again (after their revocation, a revoked token is then refused at once instead of
    /// at the end of [`TokenVerifierConfig::api_token_cache_ttl`]).
    pub fn forget_api_tokens_of(&self, user_id: &str) {
        if let Ok(mut cache) = self.api_tokens.lock() {
            cache.retain(|_, (verified, _)| verified.user_id != user_id);
        }
    }

    fn cached_api_token(&self, api_token: &str) -> Option<VerifiedToken> {
        let cache = self.api_tokens.lock().ok()?;
        let (verified, until) = cache.get(api_token)?;
        let still_valid =
            self.config.clock.now() < *until && self.config.clock.now_unix() < verified.expires_at;
        still_valid.then(|| verified.clone())
    }

    fn remember_api_token(&self, api_token: &str, verified: &VerifiedToken) {
        let Ok(mut cache) = self.api_tokens.lock() else {
            return;
        };
        let now = self.config.clock.now();
        if cache.len() >= MAX_CACHED_API_TOKENS {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_CACHED_API_TOKENS {
                cache.clear();
            }
        }
        cache.insert(
            api_token.to_owned(),
            (
                verified.clone(),
                later(now, self.config.api_token_cache_ttl),
            ),
        );
    }
}

/// What the introspection endpoint said about a token (see [`TokenVerifier::introspect`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection {
    /// Whether the token is active for the introspecting client.
    pub active: bool,
    /// The token's claims as Keycloak re-derives them (empty when inactive), with
    /// `client_id`, `username` and `token_type` added; without `active`.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// An OAuth error body (`error`, `error_description`) of status `status` as our error: 401 and
/// 403 `Unauthorized`, 400 `Invalid` naming `field`, others `Unexpected`.
fn oauth_refusal(status: u16, body: &str, field: &str) -> KeycloakError {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let reason = text("error_description").or_else(|| text("error"));
    match (status, reason) {
        (401 | 403, Some(reason)) => KeycloakError::Unauthorized { reason },
        (400, Some(reason)) => KeycloakError::invalid(field, reason),
        _ => KeycloakError::Unexpected {
            status,
            body: truncate(body),
        },
    }
}

/// The value of `name="…"` in a `WWW-Authenticate` challenge.
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = challenge.get(start..)?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

/// `at + by`, saturating at the end of time.
fn later(at: Timestamp, by: Duration) -> Timestamp {
    let by = jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX);
    at.saturating_add(by).unwrap_or(Timestamp::MAX)
}

fn poisoned() -> KeycloakError {
    KeycloakError::Unexpected {
        status: 0,
        body: "internal lock poisoned".to_owned(),
    }
}

fn truncate(body: &str) -> String {
    const MAX: usize = 1024;
    if body.len() <= MAX {
        return body.to_owned();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

fn parse_header(token: &str) -> Result<Header> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(reject(TokenRejection::Malformed(
            "a JWT has three dot-separated parts".to_owned(),
        )));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|e| {
            reject(TokenRejection::Malformed(format!(
                "header is not base64url: {e}"
            )))
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        reject(TokenRejection::Malformed(format!(
            "header is not JSON: {e}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_is_strict() {
        assert!(matches!(
            parse_header("abc"),
            Err(KeycloakError::InvalidToken(TokenRejection::Malformed(_)))
        ));
        assert!(matches!(
            parse_header("a.b.c.d"),
            Err(KeycloakError::InvalidToken(TokenRejection::Malformed(_)))
        ));
        assert!(matches!(
            parse_header("!!!.b.c"),
            Err(KeycloakError::InvalidToken(TokenRejection::Malformed(_)))
        ));
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let header = parse_header(&format!("{none}.e30.")).ok();
        assert_eq!(header.and_then(|h| h.alg).as_deref(), Some("none"));
    }

    #[test]
    fn challenge_parameters_are_read() {
        let c = r#"Bearer realm="r", error="invalid_token", error_description="user_session_not_found""#;
        assert_eq!(
            challenge_param(c, "error").as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            challenge_param(c, "error_description").as_deref(),
            Some("user_session_not_found")
        );
        assert_eq!(challenge_param(r#"Bearer realm="r""#, "error"), None);
    }

    #[test]
    fn config_is_validated() {
        let no_aud: Vec<String> = vec![];
        let err = TokenVerifier::new(TokenVerifierConfig::new("http://kc/realms/x", no_aud))
            .expect_err("no audience");
        assert!(err.to_string().contains("audiences"), "{err}");
        let err = TokenVerifier::new(TokenVerifierConfig::new("ftp://kc/realms/x", ["a"]))
            .expect_err("bad scheme");
        assert!(err.to_string().contains("issuer"), "{err}");
    }
}
