//! Command-line flags. The Keycloak and Kubernetes connection flags and the process flags are
//! those every PrimeHub service shares ([`primehub_service::cli`]), with PrimeHub's environment
//! variable names (`KC_API_BASEURL`, `KC_REALM`, `KC_CLIENT_ID`, `KC_CLIENT_SECRET`,
//! `K8S_CRD_NAMESPACE`, `KC_ROLE_PREFIX`, as PrimeHub's watcher reads them), so an existing
//! PrimeHub watcher's environment configures this controller unchanged.

use std::net::SocketAddr;

use clap::Parser;
use primehub_reconcile::role_sync::DEFAULT_PRUNE_GRACE;
use primehub_service::cli::{ConnectionArgs, ProcessArgs};

/// PrimeHub's controller on a real Keycloak and a real Kubernetes cluster: Keycloak realm
/// roles follow PrimeHub's images, instance types and datasets (PrimeHub's watcher).
///
/// Serves `/healthz`, `/readyz` (ready once every resource that existed at start has its role)
/// and `/metrics`. With `--prune-orphan-roles` it instead sweeps the roles whose resource is
/// missing once and exits. Run one replica: there is no leader election.
#[derive(Debug, Clone, Parser)]
#[command(name = "primehub-controller", version, about)]
pub struct Args {
    /// The address to serve `/healthz`, `/readyz` and `/metrics` on.
    #[arg(
        long,
        env = "PRIMEHUB_CONTROLLER_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// Keycloak, Kubernetes, the client whose service account writes the roles, the namespace
    /// and the role prefix.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Instead of watching: delete the roles of this install's prefix (`img:`, `it:`, `ds:`,
    /// `ds:rw:`) whose image, instance type or dataset does not exist, print them, and exit.
    /// These are roles the watcher cannot delete because it never saw their resource deleted.
    #[arg(long)]
    pub prune_orphan_roles: bool,

    /// With `--prune-orphan-roles`: only print what would be deleted.
    #[arg(long, requires = "prune_orphan_roles")]
    pub dry_run: bool,

    /// With `--prune-orphan-roles`: how many seconds a role's resource must stay missing
    /// before the role counts as an orphan (the API creates a role just before its resource;
    /// 0 when nothing writes meanwhile).
    #[arg(long, requires = "prune_orphan_roles", default_value_t = DEFAULT_PRUNE_GRACE.as_secs())]
    pub prune_grace: u64,

    /// Start-up retries and log format.
    #[command(flatten)]
    pub process: ProcessArgs,
}
