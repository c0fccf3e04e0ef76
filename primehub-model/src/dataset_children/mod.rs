//! What a Dataset asks the cluster to run, as pure functions: the git-sync DaemonSet of a git
//! dataset ([`gitsync`]) and the upload server of a dataset whose upload server is switched on
//! ([`upload_server`]).
//!
//! PrimeHub computes these children in two metacontroller jsonnet hooks (`chart/hooks/gitsync`
//! and `chart/hooks/dataset-upload`; reference `primehub-controllers.md` §3.2 and §3.3). The
//! functions here produce the same objects — names, labels, annotations, containers, env,
//! volumes, ports, paths — from the Dataset and a configuration holding what the chart's
//! values filled in (images, the URL prefix, the domain), so that a controller can adopt the
//! objects an existing install's metacontroller made instead of duplicating them.
//!
//! Each function answers `Ok(None)` when the Dataset asks for no such child (the controller
//! then removes an existing one), `Ok(Some(..))` with the children, or an [`Error`] naming the
//! field and the rule when the Dataset cannot be turned into valid children (an empty URL, a
//! branch with spaces, a derived name too long for a label). Checks that need the cluster —
//! whether the Secret a Dataset names exists — are the controller's, not these functions'.
//!
//! ```
//! use std::collections::BTreeMap;
//! use primehub_model::crd::{Dataset, DatasetSpec, DatasetType};
//! use primehub_model::dataset_children::gitsync::{self, GitSyncConfig};
//! use primehub_model::dataset_children::upload_server::{self, UploadServerConfig};
//!
//! let mut spec = DatasetSpec::new(DatasetType::Git);
//! spec.url = Some("https://github.com/InfuseAI/primehub#v3".into());
//! let mut dataset = Dataset::new("docs", spec);
//! dataset.metadata.namespace = Some("hub".into());
//! dataset.metadata.annotations =
//!     Some(BTreeMap::from([("primehub-gitsync".to_owned(), "true".to_owned())]));
//!
//! let daemonset = gitsync::desired(&dataset, &GitSyncConfig::default())?.expect("a git dataset");
//! assert_eq!(daemonset.metadata.name.as_deref(), Some("gitsync-docs"));
//! let env = &daemonset.spec.template.spec.as_ref().expect("pod").containers[0].env;
//! let repo = env.as_ref().and_then(|e| e.iter().find(|v| v.name == "GIT_SYNC_REPO")).and_then(|v| v.value.clone());
//! assert_eq!(repo.as_deref(), Some("https://github.com/InfuseAI/primehub.git"));
//!
//! // A git dataset has no upload server.
//! assert!(upload_server::desired(&dataset, &UploadServerConfig::default())?.is_none());
//! # Ok::<(), primehub_model::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::crd::Dataset;
use crate::error::{Error, Result};

pub mod gitsync;
pub mod upload_server;

/// An [`Error::InvalidField`] for `field` breaking `rule`.
pub(crate) fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Error {
    Error::InvalidField {
        field: field.into(),
        rule: rule.into(),
    }
}

/// The Dataset's name and namespace, which every child needs.
pub(crate) fn identity(dataset: &Dataset) -> Result<(&str, &str)> {
    let name = dataset
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("metadata.name", "is required"))?;
    let namespace = dataset
        .metadata
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("metadata.namespace", "is required"))?;
    Ok((name, namespace))
}

/// Checks that `derived` (a child's name made from the Dataset's name) is a valid label value
/// and object name: at most 63 characters of `[a-z0-9.-]`, starting and ending alphanumeric,
/// and without dots when `dns_label` (a Service name). The error names `metadata.name`.
pub(crate) fn check_derived_name(derived: &str, dns_label: bool) -> Result<()> {
    const MAX: usize = 63;
    if derived.len() > MAX {
        return Err(invalid(
            "metadata.name",
            format!(
                "the child name {derived:?} would be {} characters; a label value and a {} allow at most {MAX}",
                derived.len(),
                if dns_label {
                    "Service name"
                } else {
                    "label-selected name"
                }
            ),
        ));
    }
    if dns_label && derived.contains('.') {
        return Err(invalid(
            "metadata.name",
            format!("the child name {derived:?} contains '.', which a Service name cannot"),
        ));
    }
    let valid_chars = derived
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ends_ok = derived
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if !valid_chars || !ends_ok {
        return Err(invalid(
            "metadata.name",
            format!("the child name {derived:?} is not a lowercase DNS name"),
        ));
    }
    Ok(())
}

/// A map of string pairs.
pub(crate) fn map<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
