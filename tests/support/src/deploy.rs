//! The manifests under `deploy/<component>/`.

use std::path::Path;
use std::process::Stdio;

use serde::Deserialize as _;
use serde_json::Value;

use crate::env::repo_root;

/// The YAML documents of `deploy/<component>/<file>`.
pub fn documents(component: &str, file: &str) -> Vec<Value> {
    let path = repo_root().join("deploy").join(component).join(file);
    let text = std::fs::read_to_string(&path).expect("the manifest is readable");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("a YAML document"))
        .collect()
}

/// The path of `deploy/<component>/<file>` as a string.
pub fn manifest(component: &str, file: &str) -> String {
    repo_root()
        .join("deploy")
        .join(component)
        .join(file)
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// Runs `deploy/<component>/apply.sh` with `args`; the exit status and the output.
pub fn apply_sh(
    component: &str,
    kubectl: &Path,
    kubeconfig: &str,
    args: &[&str],
) -> (bool, String) {
    let out = std::process::Command::new(manifest(component, "apply.sh"))
        .args(args)
        .env("KUBECTL", kubectl)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .output()
        .expect("apply.sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
