//! `primehub-webhook`: PrimeHub's admission webhooks over HTTPS, as a library so its wiring can
//! be tested.
//!
//! It serves, at PrimeHub's paths, so it can replace `primehub-admission` in an existing
//! install ([`primehub_reconcile::webhook`] has the logic):
//!
//! | path | webhook |
//! |---|---|
//! | `/` | `resources-validation-webhook.primehub.io`: user and group quotas at pod creation, decided from a pod ledger (a watch), never a pod list |
//! | `/pvc-check` | `pvc-check.primehub.io`: volumes whose claim is missing are dropped |
//! | `/image-mutation` | `pod-image-mutating-webhook.primehub.io`: the air-gap registry prefix (`--image-prefix`, `IMAGE_PREFIX`) |
//! | `/license-check` | `license-validating-webhook.primehub.io`: a License for another platform (`--platform-type`, `PLATFORM_TYPE`) is refused |
//!
//! over HTTPS on `--tls-listen` with the certificate and key of `--tls-cert-file` and
//! `--tls-key-file` (PrimeHub mounts them at `/app/ssl`), re-read every
//! `--cert-reload-seconds` and swapped in when they change ([`tls`]). `/healthz`, `/readyz`
//! (ready once the namespace's pods are listed and the quota source is filled) and `/metrics`
//! ([`primehub_reconcile::webhook::metrics`]) are served on the plain-HTTP `--listen` for
//! probes and Prometheus, and over HTTPS too.
//!
//! Quotas come from the Keycloak state cache (`--quota-source keycloak`, the default, with the
//! shared Keycloak flags) or from PrimeHub's GraphQL API (`--quota-source graphql` with
//! `--graphql-endpoint` and the shared secret, PrimeHub's `GRAPHQL_ENDPOINT` and
//! `GRAPHQL_SHARED_SECRET`). Pods it cannot decide on follow `--undecided allow|deny`.
//!
//! Wiring and flags only: [`cli`] parses the flags, [`settings`] checks them, [`app`] builds
//! the clients, starts the pod watch and the quota source and serves.

pub mod app;
pub mod cli;
pub mod settings;
pub mod tls;
