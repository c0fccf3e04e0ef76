//! PrimeHub's data model: pure types and rules, no I/O, no async runtime.
//!
//! [PrimeHub](https://github.com/InfuseAI/primehub) keeps no database. Users, groups, group
//! attributes (quotas, feature flags) and realm roles live in Keycloak; images, instance types,
//! datasets, jobs, schedules, deployments, apps and licenses are `primehub.io/v1alpha1` custom
//! resources. This crate reads and writes both exactly as PrimeHub does:
//!
//! | module | what it holds |
//! |---|---|
//! | [`crd`] | every custom resource with its exact JSON keys, status, printer columns; `crd::all()` for the CRDs |
//! | [`names`] | DNS-1123 and group-name checks, the `escaped-` label escaping, derived names (`project-<group>`, `job-<time>-<rand>` from a [`clock::Clock`]), the admission-webhook namespace label |
//! | [`roles`] | role names `[<prefix>:]img:<n>`, `it:<n>`, `ds:[rw:]<n>`, `ann:<n>` |
//! | [`attributes`] | typed views of Keycloak group/user/system attributes (quotas, shared volume, deployment flags, `predefinedEnvs`, time zone…), read leniently per key |
//! | [`quantity`] | exact CPU (millicores), memory (bytes) and GPU amounts; the Kubernetes quantity grammar |
//! | [`quota`] | a pod's request, usage (an incremental ledger) and PrimeHub's admission decision |
//! | [`binding`] | what a user may launch in a group (notebooks) or a job may use (empty group = `everyone`): images, instance types, datasets (with write access) |
//! | [`job_lifecycle`] | a PhJob after the queue: spec defaults, cancel, TTL, requeue limit and deadline, pod creation and the pod's phase translated to the job's status (PrimeHub's phases, reasons and messages), as a pure function |
//! | [`job_queue`] | the job queue's decision: which pending jobs start, wait for the user or the group quota, or can never fit (PrimeHub's scheduler rules on [`quota`]'s arithmetic) |
//! | [`pod`] | pure pod building: instance type → resources (any GPU vendor) and placement, image choice, dataset and group-volume mounts, usage annotation, sentinel; the PhJob pod ([`pod::job::build_job_pod`]); PrimeHub's parts of a notebook pod and its home PVC ([`pod::notebook::build_notebook_parts`]) |
//! | [`schedule`] | recurring jobs: robfig/cron v3's five-field grammar with errors naming the field, the next run in an IANA time zone (croner on jiff, Vixie-cron DST rules), the schedule's status, the PhJob a run (or "run now") creates |
//! | [`dataset_children`] | what a Dataset asks the cluster to run: the git-sync DaemonSet of a git dataset, the upload server's Deployment, Service and Ingress (PrimeHub's metacontroller hooks as pure functions) |
//! | [`group_volume`] | group shared volumes: the NFS Service, StatefulSet and PersistentVolume PrimeHub's `groupvolume` hooks make for a `primehub-group` claim, and the volume's readiness ([`group_volume::shared_volume_state`]) |
//! | [`clock`] | the one injected clock: [`clock::SystemClock`], [`clock::ManualClock`] for tests |
//!
//! All errors are [`Error`], which names the field (or key, or role) and the rule it broke.
//!
//! # Example: would this pod fit the group's quota?
//!
//! ```
//! use std::collections::BTreeMap;
//! use primehub_model::attributes::GroupAttributes;
//! use primehub_model::names;
//! use primehub_model::quota::{decide, pod_request, TierCheck, UsageLedger};
//! use primehub_model::roles::{ResourceRole, RoleKind};
//!
//! // The Keycloak group `phusers`, attributes as the admin API returns them.
//! let attrs: BTreeMap<String, Vec<String>> = [
//!     ("quota-cpu".to_owned(), vec!["1".to_owned()]),
//!     ("project-quota-gpu".to_owned(), vec!["0".to_owned()]),
//! ].into();
//! let group = GroupAttributes::from_map(&attrs)?;
//!
//! // A notebook pod for alice, labelled as JupyterHub labels it.
//! let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
//!     "metadata": {"name": "jupyter-alice", "labels": {
//!         names::LABEL_GROUP: names::escape_label("phusers"),
//!         names::LABEL_USER: names::escape_label("alice")}},
//!     "spec": {"containers": [{"name": "notebook", "image": "base-notebook",
//!         "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}}]}
//! }))?;
//!
//! let mut ledger = UsageLedger::new();
//! ledger.apply_pod("hub/jupyter-alice", &pod)?;
//! assert_eq!(ledger.user_in_group("phusers", "alice").cpu.millis(), 500);
//!
//! // A second pod of the same size fits (0.5 + 0.5 ≤ 1); a third would not.
//! let request = pod_request(pod.spec.as_ref().expect("spec"))?;
//! let user = TierCheck { name: "alice", quota: group.user_quota(),
//!                        usage: ledger.user_in_group("phusers", "alice") };
//! let project = TierCheck { name: "phusers", quota: group.project_quota(),
//!                           usage: ledger.group("phusers") };
//! assert!(decide(&request, Some(&user), &project).is_ok());
//! ledger.apply_pod("hub/jupyter-alice-2", &pod)?;
//! let user = TierCheck { usage: ledger.user_in_group("phusers", "alice"), ..user };
//! let err = decide(&request, Some(&user), &project).unwrap_err();
//! assert_eq!(err.to_string(), "User alice exceeded cpu quota: 1, requesting 0.5");
//!
//! // Role names bind resources to groups.
//! let role = ResourceRole::parse("ds:rw:mnist")?;
//! assert_eq!((role.kind, role.writable, role.name.as_str()), (RoleKind::Dataset, true, "mnist"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod attributes;
pub mod binding;
pub mod clock;
pub mod crd;
pub mod dataset_children;
pub mod error;
pub mod group_volume;
pub mod job_lifecycle;
pub mod job_queue;
pub mod names;
pub mod pod;
pub mod quantity;
pub mod quota;
pub mod roles;
pub mod schedule;

pub use error::{Error, Result};
