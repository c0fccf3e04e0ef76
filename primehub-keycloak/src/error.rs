//! The crate's single error type.

use thiserror::Error;

/// Every error a Keycloak client, the fake or the token verifier returns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeycloakError {
    /// The object does not exist (HTTP 404).
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, for example `user 1f0…` or `role img:base`.
        what: String,
    },
    /// The object clashes with an existing one (HTTP 409).
    #[error("conflict on {field}: {what}")]
    Conflict {
        /// Which unique field clashed: match on this, not on `what`.
        field: ConflictField,
        /// What clashed, for example `user alice: User exists with same username`.
        what: String,
    },
    /// The client could not authenticate (HTTP 401, or a failed token grant).
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why.
        reason: String,
    },
    /// The authenticated client may not do this (HTTP 403).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// An input breaks a rule (HTTP 400), naming the field and the rule.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The offending field.
        field: String,
        /// The rule it broke.
        rule: String,
        /// Keycloak's message parameters after the field name (its error body's `params`
        /// without the first): the rejected value of an invalid e-mail, for example. Empty when
        /// the answer has none.
        params: Vec<String>,
    },
    /// Keycloak could not be reached, or the call timed out.
    #[error("transport error: {message}")]
    Transport {
        /// The transport's message.
        message: String,
    },
    /// Keycloak answered something this client does not understand.
    #[error("unexpected response {status}: {body}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The (possibly truncated) response body.
        body: String,
    },
    /// An access or API token was rejected by the token verifier.
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
}

/// The unique field a [`KeycloakError::Conflict`] is about.
///
/// Keycloak 26 answers a clash with HTTP 409 and a message that names the field (the HTTP client
/// reads it with [`ConflictField::from_keycloak_message`]); the fake uses the same messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictField {
    /// Another user has this username (`User exists with same username`; a partial import's
    /// `User with user name … already exists.`).
    Username,
    /// Another user has this e-mail (`User exists with same email`).
    Email,
    /// Another group at the same level (top level, or the same parent) has this name
    /// (`Top level group named '…' already exists.`, `Sibling group named '…' already exists.`).
    GroupName,
    /// Another role has this name (`Role with name … already exists`).
    RoleName,
    /// Another client has this `clientId` (`Client … already exists`).
    ClientId,
    /// Something else (a realm name, a protocol mapper, or a message this crate does not know).
    Other,
}

impl ConflictField {
    /// The field Keycloak's 409 message names. Only Keycloak's own message is read (never a name
    /// a caller chose), so a username that happens to contain `email` cannot mislead it.
    pub fn from_keycloak_message(message: &str) -> ConflictField {
        let m = message.trim();
        if (m.starts_with("User exists with same username") && !m.contains(" or "))
            || (m.starts_with("User with user name") && m.ends_with("already exists."))
        {
            ConflictField::Username
        } else if m.starts_with("User exists with same email") {
            ConflictField::Email
        } else if (m.starts_with("Top level group named") || m.starts_with("Sibling group named"))
            && m.ends_with("already exists.")
        {
            ConflictField::GroupName
        } else if m.starts_with("Role with name") && m.ends_with("already exists") {
            ConflictField::RoleName
        } else if m.starts_with("Client ") && m.ends_with(" already exists") {
            ConflictField::ClientId
        } else {
            ConflictField::Other
        }
    }
}

impl std::fmt::Display for ConflictField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConflictField::Username => "username",
            ConflictField::Email => "email",
            ConflictField::GroupName => "group name",
            ConflictField::RoleName => "role name",
            ConflictField::ClientId => "client id",
            ConflictField::Other => "other",
        })
    }
}

/// Why a token was rejected. Each reason is distinct so callers and logs can tell a stale token
/// from a forged one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Not a JWT (wrong number of parts, bad base64, bad JSON).
    Malformed(String),
    /// The header's `alg` is not RS256 (this includes `none`).
    UnsupportedAlgorithm(String),
    /// No key with the token's `kid` in the realm's JWKS, even after a refresh.
    UnknownKey(String),
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the realm's issuer.
    WrongIssuer {
        /// The issuer configured.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// Neither `aud` nor `azp` names an accepted client.
    WrongAudience {
        /// The accepted audiences.
        expected: Vec<String>,
        /// The token's `aud` and `azp` values.
        found: Vec<String>,
    },
    /// A claim the verifier needs is missing or has the wrong type.
    MissingClaim(String),
}

impl std::fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenRejection::Malformed(why) => write!(f, "malformed token: {why}"),
            TokenRejection::UnsupportedAlgorithm(alg) => {
                write!(f, "unsupported algorithm {alg:?}: only RS256 is accepted")
            }
            TokenRejection::UnknownKey(kid) => write!(f, "no signing key with kid {kid:?}"),
            TokenRejection::BadSignature => f.write_str("signature does not verify"),
            TokenRejection::Expired => f.write_str("token expired"),
            TokenRejection::NotYetValid => f.write_str("token not yet valid (nbf)"),
            TokenRejection::WrongIssuer { expected, found } => {
                write!(f, "issuer {found:?} is not {expected:?}")
            }
            TokenRejection::WrongAudience { expected, found } => {
                write!(f, "audience/azp {found:?} matches none of {expected:?}")
            }
            TokenRejection::MissingClaim(claim) => write!(f, "missing or invalid claim {claim:?}"),
        }
    }
}

impl KeycloakError {
    /// A [`KeycloakError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        KeycloakError::NotFound { what: what.into() }
    }

    /// A [`KeycloakError::Conflict`] about `field`, described by `what`.
    pub fn conflict_on(field: ConflictField, what: impl Into<String>) -> Self {
        KeycloakError::Conflict {
            field,
            what: what.into(),
        }
    }

    /// A [`KeycloakError::Conflict`] whose field is read from `what` as from a Keycloak 409
    /// message ([`ConflictField::from_keycloak_message`]; [`ConflictField::Other`] when it names
    /// none).
    pub fn conflict(what: impl Into<String>) -> Self {
        let what = what.into();
        KeycloakError::Conflict {
            field: ConflictField::from_keycloak_message(&what),
            what,
        }
    }

    /// A [`KeycloakError::Invalid`] for `field` breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        KeycloakError::Invalid {
            field: field.into(),
            rule: rule.into(),
            params: Vec::new(),
        }
    }

    /// A [`KeycloakError::Invalid`] for `field` breaking `rule`, with Keycloak's message
    /// parameters after the field name (the rejected value, …).
    pub fn invalid_with(
        field: impl Into<String>,
        rule: impl Into<String>,
        params: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        KeycloakError::Invalid {
            field: field.into(),
            rule: rule.into(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether this is a [`KeycloakError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, KeycloakError::NotFound { .. })
    }

    /// Whether this is a [`KeycloakError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, KeycloakError::Conflict { .. })
    }

    /// The field of a [`KeycloakError::Conflict`], `None` for every other error.
    pub fn conflict_field(&self) -> Option<ConflictField> {
        match self {
            KeycloakError::Conflict { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed: connection errors and timeouts, 429 and
    /// 5xx answers. Not-found, conflicts, bad input, authorization and token rejections are not
    /// transient: retrying them changes nothing until something else changes.
    pub fn is_transient(&self) -> bool {
        match self {
            KeycloakError::Transport { .. } => true,
            KeycloakError::Unexpected { status, .. } => *status == 429 || *status >= 500,
            KeycloakError::NotFound { .. }
            | KeycloakError::Conflict { .. }
            | KeycloakError::Unauthorized { .. }
            | KeycloakError::Forbidden { .. }
            | KeycloakError::Invalid { .. }
            | KeycloakError::InvalidToken(_) => false,
        }
    }
}

/// Shorthand for `Result<T, KeycloakError>`.
pub type Result<T, E = KeycloakError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keycloak_26_conflict_messages_name_the_field() {
        // The messages as Keycloak 26.7 sends them (checked against a running server).
        let cases = [
            ("User exists with same username", ConflictField::Username),
            ("User exists with same email", ConflictField::Email),
            (
                "User with user name u1 already exists.",
                ConflictField::Username,
            ),
            (
                "Top level group named 'g1' already exists.",
                ConflictField::GroupName,
            ),
            (
                "Sibling group named 'g1' already exists.",
                ConflictField::GroupName,
            ),
            ("Role with name r1 already exists", ConflictField::RoleName),
            ("Client c1 already exists", ConflictField::ClientId),
            (
                "User exists with same username or email",
                ConflictField::Other,
            ),
            (
                "Conflict detected. See logs for details",
                ConflictField::Other,
            ),
        ];
        for (message, field) in cases {
            assert_eq!(
                ConflictField::from_keycloak_message(message),
                field,
                "{message}"
            );
            assert_eq!(
                KeycloakError::conflict(message).conflict_field(),
                Some(field)
            );
        }
        assert_eq!(KeycloakError::not_found("x").conflict_field(), None);
        assert!(!KeycloakError::conflict("x").is_transient());
    }
}
