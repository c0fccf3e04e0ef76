//! The real tier's environment (`tools/keycloak/keycloak.sh env`,
//! `tools/kube-apiserver/apiserver.sh env`), kubectl, and names.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};

/// Prints a loud SKIPPED line, or fails when `PRIMEHUB_TEST_REQUIRE_REAL=1` (`.ci/run`).
pub fn skipped(test: &str, why: &str) {
    assert!(
        std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
        "PRIMEHUB_TEST_REQUIRE_REAL=1 but the real tier is not available ({test}: {why})"
    );
    // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {test}: {why}; .ci/run starts the real components: \
         source <(tools/keycloak/keycloak.sh env); source <(tools/kube-apiserver/apiserver.sh env) ***\n"
    );
}

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// kubectl: `$KUBECTL`, else the one shipped next to gcloud (`kubectl.1.33`), else `kubectl`
/// on PATH; `None` when none runs.
pub fn kubectl() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(k) = var("KUBECTL") {
        candidates.push(k.into());
    }
    if let Ok(out) = std::process::Command::new("sh")
        .args(["-c", "readlink -f \"$(command -v gcloud)\""])
        .output()
        && out.status.success()
    {
        let gcloud = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let Some(dir) = gcloud.parent() {
            candidates.push(dir.join("kubectl.1.33"));
        }
    }
    candidates.push("kubectl".into());
    candidates.into_iter().find(|k| {
        std::process::Command::new(k)
            .args(["version", "--client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A unique name with `prefix`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

/// The real Keycloak (`PRIMEHUB_TEST_KEYCLOAK_URL`, `_ADMIN`, `_PASSWORD`).
#[derive(Debug, Clone)]
pub struct KeycloakTier {
    /// Its base URL.
    pub url: String,
    /// The master realm's administrator.
    pub admin: String,
    /// Their password.
    pub password: String,
}

impl KeycloakTier {
    /// The real Keycloak from the environment, or `None` after [`skipped`] (which fails under
    /// `PRIMEHUB_TEST_REQUIRE_REAL=1`).
    pub fn from_env(test: &str) -> Option<KeycloakTier> {
        let Some(url) = var("PRIMEHUB_TEST_KEYCLOAK_URL") else {
            skipped(test, "PRIMEHUB_TEST_KEYCLOAK_URL is not set");
            return None;
        };
        Some(KeycloakTier {
            url,
            admin: var("PRIMEHUB_TEST_KEYCLOAK_ADMIN").unwrap_or_else(|| "admin".into()),
            password: var("PRIMEHUB_TEST_KEYCLOAK_PASSWORD").unwrap_or_else(|| "admin".into()),
        })
    }

    /// The base URL, parsed.
    pub fn base(&self) -> url::Url {
        url::Url::parse(&self.url).expect("PRIMEHUB_TEST_KEYCLOAK_URL is a URL")
    }

    /// The master administrator's admin client on `realm` (`master` to create realms).
    pub fn admin_of(&self, realm: &str) -> HttpKeycloak {
        HttpKeycloak::new(HttpKeycloakConfig::new(
            self.base(),
            realm,
            Credentials::master_admin(&self.admin, &self.password),
        ))
        .expect("an admin client")
    }
}

/// The real kube-apiserver (`PRIMEHUB_TEST_KUBECONFIG`, an administrator's) and a kubectl.
#[derive(Debug, Clone)]
pub struct KubeTier {
    /// The administrator's kubeconfig file.
    pub kubeconfig: String,
    /// A working kubectl.
    pub kubectl: PathBuf,
}

impl KubeTier {
    /// The real kube-apiserver from the environment, or `None` after [`skipped`] (which fails
    /// under `PRIMEHUB_TEST_REQUIRE_REAL=1`).
    pub fn from_env(test: &str) -> Option<KubeTier> {
        let Some(kubeconfig) = var("PRIMEHUB_TEST_KUBECONFIG") else {
            skipped(test, "PRIMEHUB_TEST_KUBECONFIG is not set");
            return None;
        };
        let Some(kubectl) = kubectl() else {
            skipped(
                test,
                "no kubectl found ($KUBECTL, gcloud's kubectl.1.33, kubectl)",
            );
            return None;
        };
        Some(KubeTier {
            kubeconfig,
            kubectl,
        })
    }
}
