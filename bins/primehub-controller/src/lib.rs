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
//! **Jobs** (`--jobs`, on by default): with the watcher it runs PrimeHub's job controllers
//! ([`primehub_reconcile::runtime::jobs::JobControllers`]): the quota-aware queue, the PhJob
//! controller (job pods built by `primehub_model::pod::job`), the cleaner of finished jobs and
//! the PhSchedule controller, on a Keycloak cache and the resource stores; PrimeHub's
//! `jobSubmission.*` settings are flags with viper's environment names.
//!
//! **Leader election** (`--leader-elect`, on by default): replicas elect a leader on a Lease
//! (`primehub_reconcile::runtime::leader`); the leader runs the watcher and the controllers, the
//! others serve their probes (ready) and wait. A leader that cannot renew within the lease
//! duration exits so that its restart stands again; one stopped by SIGTERM releases the Lease
//! and a standby takes over at once. `deploy/controller` runs two replicas.

pub mod app;
pub mod cli;
pub mod settings;
