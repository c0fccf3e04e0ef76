//! The Kubernetes side of PrimeHub's bootstrap: the client Secrets.
//!
//! PrimeHub's bootstrap (`chart/scripts/bootstrap/bootstrap.sh`, InfuseAI/primehub) writes two
//! Secrets into PrimeHub's namespace after it has set up the realm, with
//! `kubectl create secret generic … --dry-run -oyaml | kubectl apply -f -`:
//!
//! | Secret | keys | read by |
//! |---|---|---|
//! | [`ADMIN_UI_SECRET`] `primehub-client-admin-ui` | `client_id` (`admin-ui`), `client_secret`, `everyone_group_id` | the console / GraphQL server |
//! | [`JUPYTERHUB_SECRET`] `primehub-client-jupyterhub` | `client_id` (`jupyterhub`), `client_secret` | JupyterHub's authenticator |
//!
//! [`write_client_secrets`] writes the same Secrets from a realm bootstrap's
//! [`BootstrapOutcome`]: type `Opaque`, no labels
//! (upstream sets none), exactly these keys. It creates a missing Secret, replaces the data of
//! one whose data differs (keeping its other metadata, with optimistic concurrency on its
//! resourceVersion), and writes nothing when the data is already equal, so running it again
//! leaves the Secrets' resourceVersions alone. The namespace must exist (upstream's is the Helm
//! release's namespace).
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> primehub_reconcile::Result<()> {
//! use std::sync::Arc;
//! use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak};
//! use primehub_reconcile::bootstrap::{SecretChange, write_client_secrets};
//! use primehub_reconcile::fake::FakeCluster;
//!
//! let keycloak = FakeKeycloak::new().expect("fake Keycloak");
//! let outcome = keycloak
//!     .bootstrap(&BootstrapOptions::default().to_spec("primehub"))
//!     .await
//!     .expect("realm bootstrap");
//! let cluster = FakeCluster::new(); // with the namespace `hub`
//! let written = write_client_secrets(Arc::new(cluster.clone()), "hub", &outcome).await?;
//! assert!(written.iter().all(|w| w.change == SecretChange::Created));
//! // Again: the data is equal, nothing is written.
//! let again = write_client_secrets(Arc::new(cluster), "hub", &outcome).await?;
//! assert!(again.iter().all(|w| w.change == SecretChange::Unchanged));
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use primehub_keycloak::bootstrap::{ADMIN_UI_CLIENT, BootstrapOutcome, JUPYTERHUB_CLIENT};

use crate::api::{KubeApi, Typed};
use crate::error::{KubeError, Result};

/// The Secret of the `admin-ui` client (PrimeHub's console and GraphQL server read it).
pub const ADMIN_UI_SECRET: &str = "primehub-client-admin-ui";
/// The Secret of the `jupyterhub` client.
pub const JUPYTERHUB_SECRET: &str = "primehub-client-jupyterhub";

/// What [`write_client_secrets`] did to one Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretChange {
    /// The Secret did not exist and was created.
    Created,
    /// The Secret existed with other data; its data was replaced.
    Updated,
    /// The Secret already held exactly this data; nothing was written.
    Unchanged,
}

impl SecretChange {
    /// `created`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretChange::Created => "created",
            SecretChange::Updated => "updated",
            SecretChange::Unchanged => "unchanged",
        }
    }
}

/// One Secret [`write_client_secrets`] looked after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenSecret {
    /// The Secret's name.
    pub name: String,
    /// What was done.
    pub change: SecretChange,
}

/// The data of both Secrets, in PrimeHub's keys: `(name, data)` pairs.
pub fn client_secret_data(
    outcome: &BootstrapOutcome,
) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let entry = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    vec![
        (
            ADMIN_UI_SECRET,
            BTreeMap::from([
                entry("client_id", ADMIN_UI_CLIENT),
                entry("client_secret", &outcome.admin_ui_client_secret),
                entry("everyone_group_id", &outcome.everyone_group_id),
            ]),
        ),
        (
            JUPYTERHUB_SECRET,
            BTreeMap::from([
                entry("client_id", JUPYTERHUB_CLIENT),
                entry("client_secret", &outcome.jupyterhub_client_secret),
            ]),
        ),
    ]
}

/// Writes `primehub-client-admin-ui` and `primehub-client-jupyterhub` into `namespace` from a
/// realm bootstrap's outcome (see the module docs): create-or-update, writing nothing when a
/// Secret already holds exactly this data.
///
/// # Errors
///
/// [`KubeError::BadRequest`] for an empty namespace or an outcome without a client secret or
/// `everyone` id; otherwise the API server's errors — [`KubeError::NotFound`] when the namespace
/// does not exist, [`KubeError::Conflict`] when someone else changed a Secret between the read
/// and the write (run again), [`KubeError::Forbidden`] without the rights on Secrets.
pub async fn write_client_secrets(
    api: Arc<dyn KubeApi>,
    namespace: &str,
    outcome: &BootstrapOutcome,
) -> Result<Vec<WrittenSecret>> {
    if namespace.trim().is_empty() {
        return Err(KubeError::BadRequest {
            message: "the namespace for PrimeHub's client Secrets must not be empty".into(),
        });
    }
    for (field, value) in [
        ("admin-ui client secret", &outcome.admin_ui_client_secret),
        (
            "jupyterhub client secret",
            &outcome.jupyterhub_client_secret,
        ),
        ("everyone group id", &outcome.everyone_group_id),
    ] {
        if value.is_empty() {
            return Err(KubeError::BadRequest {
                message: format!("the realm bootstrap's {field} is empty"),
            });
        }
    }
    let secrets = Typed::<Secret>::namespaced(api, namespace);
    let mut written = Vec::new();
    for (name, data) in client_secret_data(outcome) {
        let data: BTreeMap<String, ByteString> = data
            .into_iter()
            .map(|(k, v)| (k, ByteString(v.into_bytes())))
            .collect();
        let change = match secrets.get_opt(name).await? {
            None => {
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(name.to_owned()),
                        namespace: Some(namespace.to_owned()),
                        ..ObjectMeta::default()
                    },
                    type_: Some("Opaque".into()),
                    data: Some(data),
                    ..Secret::default()
                };
                secrets.create(&secret).await?;
                SecretChange::Created
            }
            Some(existing) if existing.data.as_ref() == Some(&data) => SecretChange::Unchanged,
            Some(mut existing) => {
                existing.data = Some(data);
                existing.string_data = None;
                secrets.replace(&existing).await?;
                SecretChange::Updated
            }
        };
        tracing::info!(namespace, secret = name, ?change, "PrimeHub client secret");
        written.push(WrittenSecret {
            name: name.to_owned(),
            change,
        });
    }
    Ok(written)
}
