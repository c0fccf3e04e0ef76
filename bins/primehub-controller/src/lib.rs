//! `primehub-controller`: PrimeHub's controller process on a real Keycloak and a real
//! Kubernetes cluster, as a library so its wiring can be tested.
//!
//! Today it runs PrimeHub's watcher, [`primehub_reconcile::role_sync::RoleSync`]: a Keycloak
//! realm role follows every Image, InstanceType and Dataset of the namespace (`img:<name>`,
//! `it:<name>`, `ds:<name>`, with `--role-prefix`), created with the resource and deleted with
//! it (a dataset's `ds:rw:<name>` too). `--prune-orphan-roles` instead runs the opt-in sweep
//! ([`primehub_reconcile::role_sync::prune_orphan_roles`]) once: with `--dry-run` it prints the
//! roles it would delete, without it deletes and prints them, then exits.
//!
//! Wiring and flags only: [`cli`] parses the flags (the connection flags are those every
//! PrimeHub service shares, `primehub_service::cli`), [`settings`] checks them, [`app`] builds
//! the clients, checks access with retries, runs the watcher and serves `/healthz`, `/readyz`
//! (ready once the first lists are applied) and `/metrics` (`primehub_role_sync_*`).
//!
//! **No leader election.** Run exactly one replica (`deploy/controller` sets `replicas: 1` and
//! the `Recreate` strategy, so an update never runs two). Two replicas would not corrupt
//! anything — creating an existing role and deleting a missing one are both no-ops — but every
//! write would be attempted twice. A Lease-based election (DESIGN §7) is not implemented yet.

pub mod app;
pub mod cli;
pub mod settings;
