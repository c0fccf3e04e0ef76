//! The crate's error types: [`KubeError`] for the Kubernetes access layer, [`enum@Error`] for
//! controllers.

use std::path::PathBuf;

use thiserror::Error;

/// What a 409 Conflict conflicted on, so a caller can match on it instead of on the message.
///
/// kube-apiserver reports every such failure with reason `Conflict` and tells them apart only
/// in the message; [`ConflictKind::of_message`] reads it, and the fake cluster writes the same
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictKind {
    /// The object changed since it was read: a write carried a stale `resourceVersion`
    /// (`the object has been modified`), or a delete's resourceVersion precondition failed.
    /// Re-read and retry.
    ResourceVersion,
    /// A uid precondition failed — in a delete's preconditions or in the `metadata.uid` of a
    /// write: the object was deleted and created again under the same name.
    Uid,
    /// Any other conflict (for example an admission webhook denying with 409, or a write to a
    /// namespace being finalized).
    Other,
}

impl ConflictKind {
    /// Classifies a Conflict by the API server's message.
    pub fn of_message(message: &str) -> ConflictKind {
        if message.contains("UID in precondition")
            || message.contains("the UID in the precondition")
        {
            ConflictKind::Uid
        } else if message.contains("the object has been modified")
            || message.contains("the ResourceVersion in the precondition")
        {
            ConflictKind::ResourceVersion
        } else {
            ConflictKind::Other
        }
    }
}

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
    /// Conflict); `kind` says on what.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicted.
        kind: ConflictKind,
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
    /// The client configuration is unusable: a kubeconfig that cannot be read or parsed, names
    /// no current context, or describes no usable cluster (bad server URL, unreadable
    /// certificates), or no configuration was found at all. Not transient: fix the
    /// configuration.
    #[error("invalid Kubernetes client configuration{}: {message}", file.as_ref().map(|f| format!(" ({})", f.display())).unwrap_or_default())]
    Config {
        /// The kubeconfig file, when the configuration came from one.
        file: Option<PathBuf>,
        /// What is wrong with it.
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

    /// Whether this is [`KubeError::Conflict`] (of any [`ConflictKind`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Conflict { .. })
    }

    /// The kind of conflict, when this is [`KubeError::Conflict`].
    pub fn conflict_kind(&self) -> Option<ConflictKind> {
        match self {
            KubeError::Conflict { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// A [`KubeError::Conflict`] with the kind read from `message`
    /// ([`ConflictKind::of_message`]).
    pub fn conflict(message: impl Into<String>) -> KubeError {
        let message = message.into();
        KubeError::Conflict {
            kind: ConflictKind::of_message(&message),
            message,
        }
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
            | KubeError::BadRequest { .. }
            | KubeError::Config { .. } => false,
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
            KubeError::Config { .. } => 500,
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
    /// A quota source (the admission webhook's view of group quotas) could not answer.
    #[error("quota source {source_name}: {message}")]
    QuotaSource {
        /// Which source (`keycloak cache`, `graphql <url>`).
        source_name: String,
        /// What went wrong.
        message: String,
    },
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::KubeClient(Box::new(e))
    }
}

impl Error {
    /// Whether retrying later may succeed (see [`KubeError::is_transient`] and
    /// `KeycloakError::is_transient`). A resourceVersion or uid conflict counts as transient
    /// here: a controller retries it after re-reading, which the next reconcile does; other
    /// conflicts (a webhook's 409) do not. Model errors are never transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Kube(e) => {
                e.is_transient()
                    || matches!(
                        e.conflict_kind(),
                        Some(ConflictKind::ResourceVersion | ConflictKind::Uid)
                    )
            }
            Error::KubeClient(e) => kube_error_is_transient(e),
            Error::Keycloak(e) => e.is_transient(),
            Error::Model(_) => false,
            Error::QuotaSource { .. } => true,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_classified_by_the_servers_messages() {
        // The messages kube-apiserver v1.37 writes (probed on the test API server).
        let cases = [
            (
                "Operation cannot be fulfilled on configmaps \"cm2\": the object has been modified; please apply your changes to the latest version and try again",
                ConflictKind::ResourceVersion,
            ),
            (
                "Operation cannot be fulfilled on ConfigMap \"cm2\": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (217). The object might have been modified",
                ConflictKind::ResourceVersion,
            ),
            (
                "Operation cannot be fulfilled on ConfigMap \"cm2\": the UID in the precondition (0) does not match the UID in record (3511). The object might have been deleted and then recreated",
                ConflictKind::Uid,
            ),
            (
                "Operation cannot be fulfilled on configmaps \"cm2\": StorageError: invalid object, Code: 4, Key: /registry/configmaps/ns/cm2, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: 0, UID in object meta: 3511",
                ConflictKind::Uid,
            ),
            (
                "admission webhook \"x\" denied the request: busy",
                ConflictKind::Other,
            ),
        ];
        for (message, kind) in cases {
            assert_eq!(
                KubeError::conflict(message).conflict_kind(),
                Some(kind),
                "{message}"
            );
        }
        assert_eq!(
            KubeError::NotFound { what: "x".into() }.conflict_kind(),
            None
        );
    }

    #[test]
    fn transient_errors_are_the_ones_a_retry_can_fix() {
        let transient = [
            KubeError::Transport {
                message: "connection refused".into(),
            },
            KubeError::Unexpected {
                status: 429,
                message: "slow down".into(),
            },
            KubeError::Unexpected {
                status: 500,
                message: "etcd".into(),
            },
            KubeError::Unexpected {
                status: 504,
                message: "timeout".into(),
            },
        ];
        for e in &transient {
            assert!(e.is_transient(), "{e:?} must be transient");
        }
        let permanent = [
            KubeError::NotFound { what: "x".into() },
            KubeError::AlreadyExists { what: "x".into() },
            KubeError::conflict("the object has been modified"),
            KubeError::Invalid {
                message: "bad".into(),
                causes: Vec::new(),
            },
            KubeError::Forbidden {
                message: "no".into(),
            },
            KubeError::Gone {
                message: "old".into(),
            },
            KubeError::BadRequest {
                message: "bad".into(),
            },
            KubeError::Config {
                file: Some(PathBuf::from("/nonexistent/kubeconfig")),
                message: "cannot read it".into(),
            },
            KubeError::Unexpected {
                status: 405,
                message: "no".into(),
            },
        ];
        for e in &permanent {
            assert!(!e.is_transient(), "{e:?} must not be transient");
        }
    }

    #[test]
    fn controllers_retry_version_and_uid_conflicts_but_not_other_conflicts() {
        assert!(Error::from(KubeError::conflict("the object has been modified")).is_transient());
        assert!(
            Error::from(KubeError::conflict(
                "the UID in the precondition (a) does not match the UID in record (b)"
            ))
            .is_transient()
        );
        assert!(!Error::from(KubeError::conflict("admission webhook denied")).is_transient());
        assert!(
            !Error::from(KubeError::Config {
                file: None,
                message: "no kubeconfig".into(),
            })
            .is_transient()
        );
    }

    #[test]
    fn a_config_error_names_the_file() {
        let e = KubeError::Config {
            file: Some(PathBuf::from("/etc/kube/config")),
            message: "no current context".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid Kubernetes client configuration (/etc/kube/config): no current context"
        );
    }
}
