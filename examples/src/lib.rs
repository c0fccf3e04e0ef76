//! Examples for the PrimeHub crates. The programs are the `[[example]]` targets of this package:
//!
//! * `check_quota` — decide whether a pod fits a group's quotas, as the admission webhook does;
//! * `launch_choices` — list what a user may launch in each of their groups;
//! * `job_summary_controller` — a level-based controller on kube-runtime, run on the fake
//!   cluster in process by default, or on a real cluster given a kubeconfig or URL;
//! * `pod_store_memory` — what a reflector store of 10 000 pods costs, whole against projected.
//!
//! Run one with `cargo run -p primehub-examples --example check_quota`.
