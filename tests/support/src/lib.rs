//! Test support shared by the integration tests of PrimeHub's binaries (`primehub-apiserver`,
//! `primehub-controller`): a dev-dependency only, never shipped.
//!
//! | module | what |
//! |---|---|
//! | [`env`](mod@env) | the real tier's environment (`tools/keycloak/keycloak.sh env`, `tools/kube-apiserver/apiserver.sh env`), the loud SKIPPED line (a failure under `PRIMEHUB_TEST_REQUIRE_REAL=1`), kubectl, unique names |
//! | [`process`] | a binary as a child process: started with JSON logs on a free port, its log lines kept, SIGTERM |
//! | [`cluster`] | the real kube-apiserver: an admin client, namespaces, PrimeHub's CRDs, a ServiceAccount's kubeconfig, kubeconfigs for other servers, `kubectl` |
//! | [`certs`] | a test CA, serving certificates for `127.0.0.1` it signs, and an HTTPS client trusting it |
//! | [`deploy`] | the manifests under `deploy/<component>/`: their documents, and `apply.sh` |
//!
//! Failures panic with a message saying what failed: these are test helpers.

pub mod certs;
pub mod cluster;
pub mod deploy;
pub mod env;
pub mod process;
