//! The start with retries: an attempt (fill caches, check access…) is retried with
//! exponential backoff (1 s doubling to 30 s, with jitter) while its failure is transient —
//! Keycloak or the Kubernetes API unreachable or answering 5xx — for the startup timeout, each
//! failure logged as a warning and shown by `/readyz` ([`StartStatus`]). A failure that waiting
//! cannot fix ends the start at once with a hint naming the flags to check. A shutdown
//! ([`Shutdown`]) ends it at any time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use crate::error::{Error, Result};
use crate::settings::ConnectionSettings;
use crate::signals::{Shutdown, stopped};

/// How the service classifies a failed start attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Waiting may fix it (a backend unreachable or overloaded): retried until the timeout.
    Transient,
    /// Waiting cannot fix it: the start ends at once with this hint, naming what to check.
    Permanent(String),
}

/// Why the service is not ready yet, as `/readyz` says while it starts. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct StartStatus(Arc<Mutex<String>>);

impl Default for StartStatus {
    fn default() -> StartStatus {
        StartStatus(Arc::new(Mutex::new("starting".to_owned())))
    }
}

impl StartStatus {
    /// Replaces the text.
    pub fn set(&self, status: impl Into<String>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = status.into();
    }

    /// The current text.
    pub fn get(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// What is started and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct StartOptions<'a> {
    /// What starts, for logs and messages, e.g. `the API` or `the watcher`.
    pub what: &'a str,
    /// The connection, named in the logs and in the timeout's message.
    pub connection: &'a ConnectionSettings,
    /// How long to retry transient failures; `None`: forever.
    pub timeout: Option<Duration>,
    /// Where the reason of the last failure is shown.
    pub status: &'a StartStatus,
}

/// Runs `attempt` until it succeeds, retrying the failures `classify` calls
/// [`Failure::Transient`] until the timeout; `Ok(None)` when `shutdown` fired first.
///
/// # Errors
///
/// [`Error::Start`] with the classifier's hint for a permanent failure, or naming
/// `--startup-timeout` and the backends when transient failures outlasted it; the last
/// failure is the source.
pub async fn start_with_retries<T, E, F, Fut>(
    options: StartOptions<'_>,
    shutdown: Shutdown,
    attempt: F,
    classify: impl Fn(&E) -> Failure,
) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let StartOptions {
        what,
        connection,
        timeout,
        status,
    } = options;
    let deadline = timeout.map(|t| Instant::now() + t);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times();
    let retried = attempt
        .retry(backoff)
        .when(|e| classify(e) == Failure::Transient && deadline.is_none_or(|d| Instant::now() < d))
        .notify(|e, delay| {
            status.set(format!("not ready: {e}"));
            tracing::warn!(
                error = %e,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                keycloak_url = %connection.keycloak_url,
                namespace = %connection.namespace,
                "{what} could not start yet (Keycloak or the Kubernetes API unreachable?); retrying"
            );
        });
    tokio::select! {
        result = retried => match result {
            Ok(started) => Ok(Some(started)),
            Err(e) => {
                let hint = match classify(&e) {
                    Failure::Permanent(hint) => hint,
                    Failure::Transient => format!(
                        "still failing after --startup-timeout ({}s): is Keycloak reachable at \
                         --keycloak-url {} and the Kubernetes API through the kubeconfig?",
                        timeout.map_or(0, |t| t.as_secs()),
                        connection.keycloak_url
                    ),
                };
                Err(Error::Start { hint, source: Box::new(e) })
            }
        },
        () = stopped(shutdown) => Ok(None),
    }
}
