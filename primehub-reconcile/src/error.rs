//! The crate's single error type.

use thiserror::Error;

/// One cause of an `Invalid` (HTTP 422) answer, as the API server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCause {
    /// The field path, for example `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// The machine-readable reason (`FieldValueRequired`, `FieldValueInvalid`, …).
    pub reason: String,
    /// The human-readable message.
    pub message: String,
}

/// Every error the Kubernetes access layer, the fake cluster and the controllers return.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KubeError {
    /// The object (or its namespace, or the resource type) does not exist (HTTP 404).
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, for example `phjobs hub/job-1`.
        what: String,
    },
    /// An object with that name already exists (HTTP 409, reason AlreadyExists).
    #[error("already exists: {what}")]
    AlreadyExists {
        /// The clashing object.
        what: String,
    },
    /// A write lost an optimistic-concurrency race or broke a precondition (HTTP 409, reason
    /// Conflict): re-read and retry.
    #[error("conflict: {message}")]
    Conflict {
        /// The server's message.
        message: String,
    },
    /// The object is invalid (HTTP 422), with the server's causes.
    #[error("invalid: {message}")]
    Invalid {
        /// The server's message.
        message: String,
        /// The individual field errors.
        causes: Vec<InvalidCause>,
    },
    /// The request is not allowed (HTTP 403), or not authenticated (HTTP 401).
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's message.
        message: String,
    },
    /// The requested resourceVersion is too old (HTTP 410): list again and watch from there.
    #[error("gone: {message}")]
    Gone {
        /// The server's message.
        message: String,
    },
    /// A malformed request (HTTP 400), for example a bad label selector or patch.
    #[error("bad request: {message}")]
    BadRequest {
        /// The server's message.
        message: String,
    },
    /// The API server could not be reached or the connection broke.
    #[error("transport error: {message}")]
    Transport {
        /// The transport's message.
        message: String,
    },
    /// Any other answer.
    #[error("unexpected response {status}: {message}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

impl KubeError {
    /// Whether this is [`KubeError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::NotFound { .. })
    }

    /// Whether this is [`KubeError::Conflict`] (retry after re-reading).
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Conflict { .. })
    }

    /// Whether retrying the same call later may succeed: connection errors, timeouts, 429 and
    /// 5xx answers. A resourceVersion conflict is not transient in this sense — the caller has
    /// to re-read before it retries — and neither are 4xx answers or configuration errors.
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Transport { .. } => true,
            KubeError::Unexpected { status, .. } => *status == 429 || *status >= 500,
            KubeError::NotFound { .. }
            | KubeError::AlreadyExists { .. }
            | KubeError::Conflict { .. }
            | KubeError::Invalid { .. }
            | KubeError::Forbidden { .. }
            | KubeError::Gone { .. }
            | KubeError::BadRequest { .. } => false,
        }
    }

    /// The HTTP status Kubernetes uses for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            KubeError::NotFound { .. } => 404,
            KubeError::AlreadyExists { .. } | KubeError::Conflict { .. } => 409,
            KubeError::Invalid { .. } => 422,
            KubeError::Forbidden { .. } => 403,
            KubeError::Gone { .. } => 410,
            KubeError::BadRequest { .. } => 400,
            KubeError::Transport { .. } => 503,
            KubeError::Unexpected { status, .. } => *status,
        }
    }
}

/// Shorthand for `Result<T, KubeError>`.
pub type Result<T, E = KubeError> = std::result::Result<T, E>;

/// The error of PrimeHub's controllers: what a reconcile step can fail with, sources kept.
///
/// Controllers built with [`crate::runtime`] return it; [`Error::is_transient`] decides whether
/// a failed step is retried with backoff or reported and left until the object changes.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A Kubernetes call failed.
    #[error("kubernetes: {0}")]
    Kube(#[from] KubeError),
    /// A call through kube-rs (`kube::Client`, kube-runtime) failed.
    #[error("kubernetes client: {0}")]
    KubeClient(#[source] Box<kube::Error>),
    /// A Keycloak call failed.
    #[error("keycloak: {0}")]
    Keycloak(#[from] primehub_keycloak::KeycloakError),
    /// An object or attribute broke a rule of PrimeHub's data model.
    #[error("model: {0}")]
    Model(#[from] primehub_model::Error),
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::KubeClient(Box::new(e))
    }
}

impl Error {
    /// Whether retrying later may succeed (see [`KubeError::is_transient`] and
    /// `KeycloakError::is_transient`). A resourceVersion conflict counts as transient here: a
    /// controller retries it after re-reading, which the next reconcile does. Model errors are
    /// never transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kube(e) => e.is_transient() || e.is_conflict(),
            Error::KubeClient(e) => kube_error_is_transient(e),
            Error::Keycloak(e) => e.is_transient(),
            Error::Model(_) => false,
        }
    }
}

fn kube_error_is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => status.code == 409 || status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}
