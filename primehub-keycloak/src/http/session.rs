//! The transport under [`HttpKeycloak`](super::HttpKeycloak): one reqwest client with rustls
//! (ring provider), a cached admin token refreshed by a single in-flight grant, a concurrency cap,
//! retries for idempotent requests and the mapping of HTTP statuses onto [`KeycloakError`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use url::Url;

use super::{Credentials, HttpKeycloakConfig};
use crate::error::{KeycloakError, Result};

/// How much of a response body an [`KeycloakError::Unexpected`] keeps.
const MAX_ERROR_BODY: usize = 1024;
/// First retry delay; doubled on every further retry (plus up to the same again as jitter).
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// The longest delay between two attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Refresh a token when less than this is left (or less than a fifth of its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// What a call is about, for error messages.
pub(crate) struct Ctx<'a> {
    /// The object a 404 or 409 is about, for example `user 1f0…`.
    pub what: &'a str,
    /// The input field a 400 blames.
    pub field: &'a str,
}

/// A successful (2xx) response, fully read.
pub(crate) struct Reply {
    /// The `Location` header, if any (set on 201 Created).
    pub location: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| KeycloakError::Unexpected {
            status: 200,
            body: format!(
                "cannot decode response ({e}): {}",
                truncate(&String::from_utf8_lossy(&self.body))
            ),
        })
    }

    /// The id at the end of the `Location` header of a 201 Created.
    pub fn created_id(&self) -> Result<String> {
        self.location
            .as_deref()
            .and_then(|loc| loc.trim_end_matches('/').rsplit('/').next())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| KeycloakError::Unexpected {
                status: 201,
                body: "created, but the response has no Location header with the new id".into(),
            })
    }
}

struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Keycloak's error bodies: `{"error": …}`, `{"errorMessage": …}`, OAuth's
/// `{"error", "error_description"}`, and user-profile validation's `{"field", "errorMessage"}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default, rename = "errorMessage")]
    error_message: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    field: Option<String>,
    /// Keycloak's message parameters: the field name first, then values.
    #[serde(default)]
    params: Vec<serde_json::Value>,
}

impl ErrorBody {
    fn parse(body: &[u8]) -> ErrorBody {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The most specific message in the body, or the body itself.
    fn message(&self, body: &[u8]) -> String {
        self.error_description
            .clone()
            .or_else(|| self.error_message.clone())
            .or_else(|| self.error.clone())
            .unwrap_or_else(|| truncate(&String::from_utf8_lossy(body)))
    }
}

/// Cuts `s` to about [`MAX_ERROR_BODY`] bytes on a character boundary.
pub(crate) fn truncate(s: &str) -> String {
    if s.len() <= MAX_ERROR_BODY {
        return s.to_owned();
    }
    let mut end = MAX_ERROR_BODY;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A reqwest error with its source chain (reqwest's own `Display` omits the cause).
fn describe(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The authenticated admin transport.
pub(crate) struct Session {
    http: reqwest::Client,
    base_url: Url,
    credentials: Credentials,
    retries: u32,
    permits: Semaphore,
    token: Mutex<Option<CachedToken>>,
    grants: AtomicU64,
}

impl Session {
    /// Builds the session (the reqwest client comes from [`crate::transport`]).
    pub fn new(config: &HttpKeycloakConfig) -> Result<Session> {
        let http = crate::transport::build_http_client(config.request_timeout)?;
        Ok(Session {
            http,
            base_url: config.base_url.clone(),
            credentials: config.credentials.clone(),
            retries: config.retries,
            permits: Semaphore::new(config.max_concurrency),
            token: Mutex::new(None),
            grants: AtomicU64::new(0),
        })
    }

    /// The URL `<base>/<segments…>`, each segment percent-encoded.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// How many token grants succeeded so far.
    pub fn grants(&self) -> u64 {
        self.grants.load(Ordering::Relaxed)
    }

    /// Marks the cached token as due, so the next call fetches a new one.
    pub async fn expire_token(&self) {
        if let Some(cached) = self.token.lock().await.as_mut() {
            cached.refresh_at = Instant::now();
        }
    }

    /// A valid access token: the cached one, or a new one from a single in-flight grant (callers
    /// that arrive meanwhile wait on the lock and reuse its result).
    async fn access_token(&self) -> Result<String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.access_token.clone());
        }
        match self.grant().await {
            Ok(token) => {
                let access_token = token.access_token.clone();
                *cached = Some(token);
                Ok(access_token)
            }
            Err(err) => {
                tracing::warn!(error = %err, "keycloak token grant failed; the next call retries");
                *cached = None;
                Err(err)
            }
        }
    }

    /// Drops the cached token if it is still `stale` (a 401 said it is no longer accepted).
    async fn invalidate(&self, stale: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.access_token == stale) {
            *cached = None;
        }
    }

    /// One token grant (client credentials or password) against the token realm.
    async fn grant(&self) -> Result<CachedToken> {
        let (token_realm, client_id, form): (&str, &str, Vec<(&str, &str)>) =
            match &self.credentials {
                Credentials::ClientCredentials {
                    token_realm,
                    client_id,
                    client_secret,
                } => (
                    token_realm,
                    client_id,
                    vec![
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_secret", client_secret),
                    ],
                ),
                Credentials::Password {
                    token_realm,
                    client_id,
                    username,
                    password,
                } => (
                    token_realm,
                    client_id,
                    vec![
                        ("grant_type", "password"),
                        ("client_id", client_id),
                        ("username", username),
                        ("password", password),
                    ],
                ),
            };
        let url = self.url(&["realms", token_realm, "protocol", "openid-connect", "token"]);
        let started = Instant::now();
        let attempt = || async {
            tracing::debug!(realm = token_realm, client_id, "keycloak token grant");
            let response = self.http.post(url.clone()).form(&form).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body.to_vec()))
        };
        // Connect errors, timeouts and 502/503/504 are retried: a grant creates nothing.
        let sent = (|| async {
            match attempt().await {
                Ok((status, body)) if is_retryable_status(status) => {
                    Err(Attempt::Status(status, body))
                }
                Ok(reply) => Ok(Ok(reply)),
                Err(e) if e.is_connect() || e.is_timeout() => Err(Attempt::Transport(e)),
                Err(e) => Ok(Err(e)),
            }
        })
        .retry(self.backoff())
        .sleep(tokio::time::sleep)
        .notify(|failure, delay| notify_retry(failure, delay, "token grant"))
        .await;
        let sent = match sent {
            Ok(done) => done,
            Err(Attempt::Status(status, body)) => Ok((status, body)),
            Err(Attempt::Transport(e)) => Err(e),
            Err(Attempt::Fatal(e)) => return Err(e),
        };
        let (status, body) = sent.map_err(|e| KeycloakError::Transport {
            message: format!("token grant at {url}: {}", describe(&e)),
        })?;
        if !status.is_success() {
            let parsed = ErrorBody::parse(&body);
            let reason = format!(
                "token grant for client {client_id} in realm {token_realm} failed ({status}): {}",
                parsed.message(&body)
            );
            return Err(match status {
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    KeycloakError::Unauthorized { reason }
                }
                StatusCode::NOT_FOUND => KeycloakError::Unauthorized {
                    reason: format!("{reason} (does the realm exist?)"),
                },
                _ => KeycloakError::Unexpected {
                    status: status.as_u16(),
                    body: truncate(&String::from_utf8_lossy(&body)),
                },
            });
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| KeycloakError::Unexpected {
                status: status.as_u16(),
                body: format!("token response without access_token: {e}"),
            })?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(60));
        let margin = REFRESH_MARGIN.min(lifetime / 5);
        self.grants.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(lifetime_s = lifetime.as_secs(), "keycloak token granted");
        Ok(CachedToken {
            access_token: token.access_token,
            refresh_at: started + lifetime.saturating_sub(margin),
        })
    }

    /// The retry policy: up to `retries` retries, 100 ms doubling to at most 5 s, with jitter.
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(BACKOFF_BASE)
            .with_factor(2.0)
            .with_max_delay(BACKOFF_MAX)
            .with_max_times(usize::try_from(self.retries).unwrap_or(usize::MAX))
            .with_jitter()
    }

    /// Sends an admin request and returns the 2xx reply, or the mapped error.
    ///
    /// GET, PUT and DELETE are retried on connect errors, timeouts and 502/503/504; POST never.
    /// A 401 drops the cached token and repeats the call once with a fresh one.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        ctx: &Ctx<'_>,
    ) -> Result<Reply> {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let what = format!("{method} {}", url.path());
        let sent = (|| async {
            match self.send_authenticated(&method, &url, body).await? {
                Ok((status, _, body)) if is_retryable_status(status) => {
                    Err(Attempt::Status(status, body))
                }
                Ok(reply) => Ok(Ok(reply)),
                Err(e) if e.is_connect() || e.is_timeout() => Err(Attempt::Transport(e)),
                Err(e) => Ok(Err(e)),
            }
        })
        .retry(self.backoff())
        .sleep(tokio::time::sleep)
        // A POST that creates something is never repeated.
        .when(|failure| idempotent && !matches!(failure, Attempt::Fatal(_)))
        .notify(|failure, delay| notify_retry(failure, delay, &what))
        .await;
        let sent = match sent {
            Ok(done) => done,
            Err(Attempt::Status(status, body)) => Ok((status, None, body)),
            Err(Attempt::Transport(e)) => Err(e),
            Err(Attempt::Fatal(e)) => return Err(e),
        };
        match sent {
            Ok((status, location, body)) if status.is_success() => Ok(Reply { location, body }),
            Ok((status, _, body)) => Err(map_status(status, &body, ctx)),
            Err(e) => Err(KeycloakError::Transport {
                message: format!("{what}: {}", describe(&e)),
            }),
        }
    }

    /// One request with the cached token; a 401 drops the token and repeats the request once
    /// with a fresh one. The outer error is a failed token grant (not retried here).
    async fn send_authenticated(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<Sent, Attempt> {
        let mut reauthenticated = false;
        loop {
            let token = self.access_token().await.map_err(Attempt::Fatal)?;
            let sent = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    Attempt::Fatal(KeycloakError::Transport {
                        message: "client is shutting down".into(),
                    })
                })?;
                tracing::debug!(%method, path = url.path(), "keycloak admin request");
                async {
                    let mut request = self
                        .http
                        .request(method.clone(), url.clone())
                        .bearer_auth(&token);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    let response = request.send().await?;
                    let status = response.status();
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = response.bytes().await?;
                    Ok::<_, reqwest::Error>((status, location, body.to_vec()))
                }
                .await
            };
            match sent {
                Ok((StatusCode::UNAUTHORIZED, ..)) if !reauthenticated => {
                    tracing::debug!(path = url.path(), "401 from keycloak; fetching a new token");
                    self.invalidate(&token).await;
                    reauthenticated = true;
                }
                other => return Ok(other),
            }
        }
    }
}

/// A response (status, `Location`, body) or the transport error.
type Sent = std::result::Result<(StatusCode, Option<String>, Vec<u8>), reqwest::Error>;

/// Why an attempt may be worth repeating.
enum Attempt {
    /// 502, 503 or 504 (retryable; the last one is answered as it came).
    Status(StatusCode, Vec<u8>),
    /// A connect error or timeout (retryable).
    Transport(reqwest::Error),
    /// Not retryable (a failed token grant, a closed client).
    Fatal(KeycloakError),
}

fn notify_retry(failure: &Attempt, delay: Duration, what: &str) {
    let cause = match failure {
        Attempt::Status(status, _) => status.to_string(),
        Attempt::Transport(e) => describe(e),
        Attempt::Fatal(e) => e.to_string(),
    };
    tracing::warn!(
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        %cause,
        "retrying keycloak {what}"
    );
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Maps a non-2xx admin response onto the crate's error.
pub(crate) fn map_status(status: StatusCode, body: &[u8], ctx: &Ctx<'_>) -> KeycloakError {
    let parsed = ErrorBody::parse(body);
    let message = parsed.message(body);
    match status {
        StatusCode::NOT_FOUND => KeycloakError::not_found(ctx.what),
        StatusCode::CONFLICT => KeycloakError::conflict_on(
            crate::error::ConflictField::from_keycloak_message(&message),
            format!("{}: {message}", ctx.what),
        ),
        StatusCode::UNAUTHORIZED => KeycloakError::Unauthorized { reason: message },
        StatusCode::FORBIDDEN => KeycloakError::Forbidden {
            reason: format!("{} ({message})", ctx.what),
        },
        StatusCode::BAD_REQUEST => {
            let field = parsed.field.clone().unwrap_or_else(|| ctx.field.to_owned());
            let values: Vec<String> = parsed
                .params
                .iter()
                .skip(usize::from(parsed.field.is_some()))
                .map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            KeycloakError::invalid_with(field, message, values)
        }
        _ => KeycloakError::Unexpected {
            status: status.as_u16(),
            body: truncate(&String::from_utf8_lossy(body)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx {
            what: "user 42",
            field: "user",
        }
    }

    #[test]
    fn statuses_map_onto_errors() {
        assert_eq!(
            map_status(
                StatusCode::NOT_FOUND,
                br#"{"error":"User not found"}"#,
                &ctx()
            ),
            KeycloakError::not_found("user 42")
        );
        assert_eq!(
            map_status(
                StatusCode::CONFLICT,
                br#"{"errorMessage":"User exists with same username"}"#,
                &ctx()
            ),
            KeycloakError::conflict_on(
                crate::error::ConflictField::Username,
                "user 42: User exists with same username"
            )
        );
        assert_eq!(
            map_status(
                StatusCode::BAD_REQUEST,
                br#"{"field":"email","errorMessage":"invalidEmailMessage"}"#,
                &ctx()
            ),
            KeycloakError::invalid("email", "invalidEmailMessage")
        );
        assert_eq!(
            map_status(
                StatusCode::BAD_REQUEST,
                br#"{"field":"email","errorMessage":"error-invalid-email","params":["email","x"]}"#,
                &ctx()
            ),
            KeycloakError::invalid_with("email", "error-invalid-email", ["x"])
        );
        assert_eq!(
            map_status(StatusCode::BAD_REQUEST, br#"{"error":"bad"}"#, &ctx()),
            KeycloakError::invalid("user", "bad")
        );
        assert!(matches!(
            map_status(StatusCode::FORBIDDEN, b"", &ctx()),
            KeycloakError::Forbidden { .. }
        ));
        let long = "x".repeat(5000);
        match map_status(StatusCode::INTERNAL_SERVER_ERROR, long.as_bytes(), &ctx()) {
            KeycloakError::Unexpected { status, body } => {
                assert_eq!(status, 500);
                assert!(body.len() < 1100);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let s = "é".repeat(2000);
        let t = truncate(&s);
        assert!(t.len() <= MAX_ERROR_BODY + 3);
    }
}
