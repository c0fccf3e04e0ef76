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
