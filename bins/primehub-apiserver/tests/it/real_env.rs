//! The real tier's environment and the binary as a child process
//! (`primehub_test_support`, shared with the other binaries' tests).

pub use primehub_test_support::env::{repo_root, unique};
pub use primehub_test_support::process::{Process as Server, get};

/// Starts `primehub-apiserver` with `args` (plus `--listen 127.0.0.1:0 --log-format json`) and
/// `envs`, and waits for its "listening" line.
pub async fn spawn(args: &[String], envs: &[(&str, &str)]) -> Server {
    primehub_test_support::process::spawn(env!("CARGO_BIN_EXE_primehub-apiserver"), args, envs)
        .await
}
