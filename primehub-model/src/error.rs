//! The crate's single error type.

use thiserror::Error;

/// Every error `primehub-model` returns.
///
/// Each variant names the offending field (or key, or role) and the rule it broke, so that a
/// caller can show it to a user unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A Kubernetes object name, group name or user name breaks a naming rule.
    #[error("invalid {field} {value:?}: {rule}")]
    InvalidName {
        /// Which field held the name (for example `metadata.name` or `groupName`).
        field: String,
        /// The rejected value.
        value: String,
        /// The rule it broke, in words.
        rule: String,
    },
    /// An escaped PrimeHub label value cannot be decoded.
    #[error("invalid escaped label value {value:?}: {rule}")]
    InvalidLabel {
        /// The rejected label value.
        value: String,
        /// The rule it broke.
        rule: String,
    },
    /// A Keycloak role name is not a PrimeHub resource role.
    #[error("invalid role name {role:?}: {rule}")]
    InvalidRole {
        /// The rejected role name.
        role: String,
        /// Why it is not a resource role.
        rule: String,
    },
    /// A Keycloak group or user attribute holds a value PrimeHub cannot read.
    #[error("invalid attribute {key}={value:?}: {rule}")]
    InvalidAttribute {
        /// The attribute key (for example `quota-cpu`).
        key: String,
        /// The rejected value.
        value: String,
        /// The expected format.
        rule: String,
    },
    /// A quantity (Kubernetes grammar or PrimeHub quota format) does not parse or does not fit.
    #[error("invalid quantity in {field}: {value:?}: {rule}")]
    InvalidQuantity {
        /// Where the quantity came from (for example `limits.memory` or `spec.containers[0].resources.limits.cpu`).
        field: String,
        /// The rejected text.
        value: String,
        /// The rule it broke (grammar, precision, range or overflow).
        rule: String,
    },
    /// A field of a custom resource or input breaks a validation rule.
    #[error("invalid {field}: {rule}")]
    InvalidField {
        /// The field path, for example `spec.tolerations[0].operator`.
        field: String,
        /// The rule it broke.
        rule: String,
    },
    /// Something a request names (a group, an instance type, an image…) does not exist or is not
    /// available to it. The message is PrimeHub's own text (for example `InstanceType not found:
    /// cpu-1`, from the job spawner), so that a status message built from it reads as PrimeHub's.
    #[error("{message}")]
    NotFound {
        /// The input field that named it (for example `spec.instanceType`).
        field: String,
        /// PrimeHub's message.
        message: String,
    },
    /// Serialising a value (for example a CRD to YAML) failed.
    #[error("cannot serialise {what}: {message}")]
    Serialization {
        /// What was being serialised.
        what: String,
        /// The serialiser's message.
        message: String,
    },
}

/// Shorthand for `Result<T, primehub_model::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
