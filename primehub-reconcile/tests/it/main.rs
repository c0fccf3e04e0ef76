//! The crate's integration tests, one binary (one link) for all of them.

mod admission;
mod bootstrap_secrets;
mod conformance_fake;
mod conformance_kube_fake;
mod defaults;
mod fake_bodies;
mod fake_http;
mod fake_kubectl_face;
mod fake_logs_clock;
mod fake_openapi;
mod fake_semantics;
mod fake_smp_dry_run;
mod job_queue;
mod kube_api_shapes;
mod leader;
mod real_kube_apiserver;
mod real_runtime;
mod real_stores;
mod role_sync;
mod runtime_fake;
mod schedule_fake;
mod schedule_real;
mod stores;
mod validation;
mod webhook_endpoints;
mod webhook_resources;
