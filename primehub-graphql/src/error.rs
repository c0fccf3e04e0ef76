//! Errors of the GraphQL API and PrimeHub's error codes.
//!
//! Every error a client sees carries a code in `extensions.code`, as PrimeHub's `formatError`
//! gives it: the codes of PrimeHub's `errorCodes.ts` and its resolvers ([`ErrorCode`]).

use std::fmt;

/// PrimeHub's error codes, as clients match them in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Anything unexpected; the message is "internal server error".
    InternalError,
    /// An input broke a rule (the message names the field and the rule).
    RequestBodyInvalid,
    /// The access token has expired.
    AccessTokenExpired,
    /// A quota or a license limit would be exceeded.
    ExceedQuota,
    /// Missing or bad credentials, or a caller without the permission.
    NotAuth,
    /// The object does not exist.
    ResourceNotFound,
    /// An object of that name already exists.
    ResourceConflict,
    /// A user with that username exists.
    UserConflictUsername,
    /// A user with that email exists.
    UserConflictEmail,
    /// The user does not exist.
    UserNotExist,
    /// The user has no email address to send to.
    UserEmailNotExist,
    /// Revoking the user's API tokens failed.
    UserRevokeFailed,
    /// A group with that name (after normalisation) exists.
    GroupConflictName,
    /// An environment variable name is not allowed.
    IllegalEnvName,
    /// A backend (Keycloak, the Kubernetes API) is unavailable.
    ApiUnavailable,
}

impl ErrorCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::RequestBodyInvalid => "REQUEST_BODY_INVALID",
            ErrorCode::AccessTokenExpired => "ACCESS_TOKEN_EXPIRED",
            ErrorCode::ExceedQuota => "EXCEED_QUOTA",
            ErrorCode::NotAuth => "NOT_AUTH",
            ErrorCode::ResourceNotFound => "RESOURCE_NOT_FOUND",
            ErrorCode::ResourceConflict => "RESOURCE_CONFLICT",
            ErrorCode::UserConflictUsername => "USER_CONFLICT_USERNAME",
            ErrorCode::UserConflictEmail => "USER_CONFLICT_EMAIL",
            ErrorCode::UserNotExist => "USER_NOT_EXIST",
            ErrorCode::UserEmailNotExist => "USER_EMAIL_NOT_EXIST",
            ErrorCode::UserRevokeFailed => "USER_REVOKE_FAILED",
            ErrorCode::GroupConflictName => "GROUP_CONFLICT_NAME",
            ErrorCode::IllegalEnvName => "ILLEGAL_ENV_NAME",
            ErrorCode::ApiUnavailable => "API_UNAVAILABLE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the API: a code for clients and a message for people.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input broke a rule: `field` names the input field (dotted path), `rule` says what it
    /// must be.
    #[error("{field}: {rule}")]
    Invalid {
        /// The input field, e.g. `data.cpuLimit`.
        field: String,
        /// The rule it broke, e.g. `must be greater than 0`.
        rule: String,
    },
    /// No credentials, bad credentials, or no permission; nothing else is revealed.
    #[error("{0}")]
    NotAuth(String),
    /// The object does not exist.
    #[error("{kind} \"{name}\" not found")]
    NotFound {
        /// What was looked up: `user`, `group`, or the resource as Kubernetes names it
        /// (`images.primehub.io`), so the message reads like the API server's.
        kind: &'static str,
        /// Its name or id.
        name: String,
    },
    /// A conflict with an existing object, with its code.
    #[error("{message}")]
    Conflict {
        /// `RESOURCE_CONFLICT`, `USER_CONFLICT_USERNAME`, `GROUP_CONFLICT_NAME`…
        code: ErrorCode,
        /// What conflicts.
        message: String,
    },
    /// A quota or license limit.
    #[error("{0}")]
    ExceedQuota(String),
    /// A quota the input field `field` would exceed (PrimeHub's `EXCEED_QUOTA` with its
    /// message, and the field named in `extensions.field`).
    #[error("{message}")]
    QuotaExceeded {
        /// The input field, e.g. `data.instanceType`.
        field: String,
        /// PrimeHub's message, e.g. `User Cpu Quota exceeded`.
        message: String,
    },
    /// Any other error with an explicit code.
    #[error("{message}")]
    Coded {
        /// The code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// Keycloak failed.
    #[error("keycloak: {0}")]
    Keycloak(#[from] primehub_keycloak::KeycloakError),
    /// The Kubernetes API failed.
    #[error("kubernetes: {0}")]
    Kube(#[from] primehub_reconcile::KubeError),
    /// PrimeHub's data model rejected a value.
    #[error("{0}")]
    Model(#[from] primehub_model::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An invalid input field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } | Error::Model(_) => ErrorCode::RequestBodyInvalid,
            Error::NotAuth(_) => ErrorCode::NotAuth,
            Error::NotFound { .. } => ErrorCode::ResourceNotFound,
            Error::Conflict { code, .. } | Error::Coded { code, .. } => *code,
            Error::ExceedQuota(_) | Error::QuotaExceeded { .. } => ErrorCode::ExceedQuota,
            Error::Keycloak(e) if e.is_transient() => ErrorCode::ApiUnavailable,
            Error::Kube(e) if e.is_transient() => ErrorCode::ApiUnavailable,
            Error::Keycloak(_) | Error::Kube(_) => ErrorCode::InternalError,
        }
    }

    /// The message clients see: backend failures are logged, not shown.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::InternalError => "internal server error".to_owned(),
            ErrorCode::ApiUnavailable => "a backend is unavailable, try again".to_owned(),
            _ => self.to_string(),
        }
    }
}

/// Gives a resolver error PrimeHub's shape: our [`Error`]s (kept by async-graphql as the
/// error's source when a resolver returns them with `?`) get their public message and
/// `extensions.code` (and `extensions.field` for invalid input); backend failures are logged here
/// and shown only as their code.
pub fn format_server_error(error: &mut async_graphql::ServerError) {
    let Some(ours) = error.source::<Error>() else {
        return;
    };
    let code = ours.code();
    if matches!(code, ErrorCode::InternalError | ErrorCode::ApiUnavailable) {
        tracing::error!(error = %ours, code = %code, path = ?error.path, "request failed");
    }
    let message = ours.public_message();
    let field = match ours {
        Error::Invalid { field, .. }
        | Error::QuotaExceeded { field, .. }
        | Error::Model(
            primehub_model::Error::InvalidName { field, .. }
            | primehub_model::Error::InvalidQuantity { field, .. }
            | primehub_model::Error::InvalidField { field, .. },
        ) => Some(field.clone()),
        _ => None,
    };
    error.message = message;
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code.as_str());
    if let Some(field) = field {
        extensions.set("field", field);
    }
}
