//! `primehub dev`: the fake Kubernetes API server and the fake Keycloak on one listener.
//!
//! A composition of the crates' parts: [`FakeCluster::router`] under `/api` and `/apis`,
//! [`FakeKeycloak::router`] under `/admin` and `/realms`, `/healthz`; the demo objects come from
//! [`primehub_reconcile::fake::seed`] and the realm from the realm bootstrap
//! ([`FakeKeycloak::bootstrap`], as [`FakeKeycloak::bootstrap_primehub`] runs it), whose client
//! Secrets `primehub-client-admin-ui` and `primehub-client-jupyterhub` are written into the
//! namespace [`NAMESPACE`] of the fake cluster, as PrimeHub's bootstrap writes them.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use primehub_keycloak::KeycloakError;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, PrimehubRealm};
use primehub_model::roles::RoleNaming;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::fake::seed::{self, DemoResources};

/// The namespace PrimeHub's custom resources live in.
pub const NAMESPACE: &str = "hub";

/// What to create at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Seed {
    /// PrimeHub's fresh-install shape: the realm, the administrator, groups `everyone` and
    /// `phusers`, instance types cpu-1, cpu-2, gpu-1, gpu-2 and image base-notebook granted to
    /// everyone.
    Demo,
    /// Only the realm, the administrator and `everyone`.
    Empty,
}

/// Flags of `primehub dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// What to create at start.
    #[arg(long, value_enum, default_value_t = Seed::Demo)]
    pub seed: Seed,
    /// Password of the PrimeHub administrator `phadmin` (generated and printed when absent).
    #[arg(long)]
    pub admin_password: Option<String>,
    /// Shared secret for PrimeHub's API server (accepted now, used once the API server is
    /// served here).
    #[arg(long)]
    pub shared_secret: Option<String>,
    /// The Keycloak realm.
    #[arg(long, default_value = "primehub")]
    pub realm: String,
    /// Also write a kubeconfig for the fake cluster to this path.
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
}

impl Default for DevArgs {
    fn default() -> Self {
        DevArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            seed: Seed::Demo,
            admin_password: None,
            shared_secret: None,
            realm: "primehub".into(),
            write_kubeconfig: None,
        }
    }
}

/// A running `primehub dev`.
#[derive(Debug)]
pub struct DevServer {
    /// The fake cluster.
    pub cluster: FakeCluster,
    /// The fake Keycloak.
    pub keycloak: FakeKeycloak,
    /// The realm's ids and secrets.
    pub realm: PrimehubRealm,
    /// The administrator's username.
    pub admin_username: String,
    /// The administrator's password.
    pub admin_password: String,
    /// The shared secret given with `--shared-secret`.
    pub shared_secret: Option<String>,
    /// The demo objects, when seeded.
    pub demo: Option<DemoResources>,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

fn generated_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn keycloak_error(e: KeycloakError) -> anyhow::Error {
    anyhow::anyhow!("fake Keycloak: {e}")
}

/// The router of `primehub dev`: the cluster's API face, the Keycloak faces (with `base_url` as
/// their public URL) and `/healthz`.
pub fn router(cluster: &FakeCluster, keycloak: &FakeKeycloak, base_url: &str) -> axum::Router {
    cluster
        .router()
        .merge(keycloak.router(base_url))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
}

/// Creates the fakes, seeds them and serves them on `listener` (in a spawned task).
pub async fn start(listener: tokio::net::TcpListener, args: &DevArgs) -> anyhow::Result<DevServer> {
    let mut addr = listener
        .local_addr()
        .context("reading the listener's address")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}");
    let cluster = FakeCluster::new();
    let keycloak = FakeKeycloak::builder()
        .base_url(url.clone())
        .build()
        .map_err(keycloak_error)?;
    let admin_password = args
        .admin_password
        .clone()
        .unwrap_or_else(generated_password);
    let options = BootstrapOptions {
        admin_password: admin_password.clone(),
        ..BootstrapOptions::default()
    };
    let outcome = keycloak
        .bootstrap(&options.to_spec(&args.realm))
        .await
        .map_err(keycloak_error)?;
    primehub_reconcile::bootstrap::write_client_secrets(
        std::sync::Arc::new(cluster.clone()),
        NAMESPACE,
        &outcome,
    )
    .await
    .context("writing the client Secrets into the fake cluster")?;
    let realm = PrimehubRealm {
        admin_user_id: outcome
            .admin_user_id
            .clone()
            .context("the bootstrap of a new realm creates the administrator")?,
        realm: outcome.realm,
        admin_ui_client_secret: outcome.admin_ui_client_secret,
        jupyterhub_client_secret: outcome.jupyterhub_client_secret,
        everyone_group_id: outcome.everyone_group_id,
    };
    let demo = match args.seed {
        Seed::Empty => None,
        Seed::Demo => {
            let resources = seed::seed_demo(std::sync::Arc::new(cluster.clone()), NAMESPACE)
                .await
                .context("seeding the fake cluster")?;
            let admin = keycloak.realm(&realm.realm).map_err(keycloak_error)?;
            seed::seed_keycloak_demo(
                &admin,
                &realm.everyone_group_id,
                &realm.admin_user_id,
                &resources,
                &RoleNaming::unprefixed(),
            )
            .await
            .map_err(keycloak_error)?;
            Some(resources)
        }
    };
    let app = router(&cluster, &keycloak, &url);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let closing = cluster.clone();
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
                closing.close_watches();
            })
            .await
    });
    Ok(DevServer {
        cluster,
        keycloak,
        realm,
        admin_username: options.admin_username,
        admin_password,
        shared_secret: args.shared_secret.clone(),
        demo,
        url,
        shutdown: Some(tx),
        handle: Some(handle),
    })
}

impl DevServer {
    /// The base URL: the Kubernetes API server URL and the Keycloak URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OIDC issuer of the realm.
    pub fn issuer(&self) -> String {
        self.keycloak.issuer(&self.realm.realm)
    }

    /// A kubeconfig (YAML) for the fake cluster (no credentials: the fake does not check them),
    /// built as kube-rs's own [`Kubeconfig`] so it is exactly what kube-rs and kubectl read.
    pub fn kubeconfig(&self) -> String {
        use kube::config::{Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};
        let name = "primehub-dev".to_owned();
        let config = Kubeconfig {
            api_version: Some("v1".into()),
            kind: Some("Config".into()),
            clusters: vec![NamedCluster {
                name: name.clone(),
                cluster: Some(kube::config::Cluster {
                    server: Some(self.url.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            auth_infos: vec![NamedAuthInfo {
                name: name.clone(),
                auth_info: Some(Default::default()),
                ..Default::default()
            }],
            contexts: vec![NamedContext {
                name: name.clone(),
                context: Some(Context {
                    cluster: name.clone(),
                    user: Some(name.clone()),
                    namespace: Some(NAMESPACE.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            current_context: Some(name),
            ..Default::default()
        };
        // Plain strings and vectors: serialization cannot fail.
        serde_yaml_ng::to_string(&config).unwrap_or_default()
    }

    /// What `primehub dev` prints at start: URLs, secrets, credentials and a kubeconfig.
    pub fn banner(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "PrimeHub dev is running.");
        let _ = writeln!(out, "  Kubernetes API server: {}", self.url);
        let _ = writeln!(out, "  Keycloak:              {}", self.url);
        let _ = writeln!(out, "  OIDC issuer:           {}", self.issuer());
        let _ = writeln!(out, "  Keycloak realm:        {}", self.realm.realm);
        let _ = writeln!(
            out,
            "  admin-ui client:       admin-ui / {}",
            self.realm.admin_ui_client_secret
        );
        let _ = writeln!(
            out,
            "  jupyterhub client:     jupyterhub / {}",
            self.realm.jupyterhub_client_secret
        );
        let _ = writeln!(
            out,
            "  Client Secrets:        {NAMESPACE}/{}, {NAMESPACE}/{}",
            primehub_reconcile::bootstrap::ADMIN_UI_SECRET,
            primehub_reconcile::bootstrap::JUPYTERHUB_SECRET
        );
        let _ = writeln!(
            out,
            "  PrimeHub admin:        {} / {}",
            self.admin_username, self.admin_password
        );
        let _ = writeln!(out, "  Keycloak master admin: admin / admin");
        if let Some(demo) = &self.demo {
            let _ = writeln!(
                out,
                "  Seeded (namespace {NAMESPACE}): instance types {}; images {}",
                demo.instance_types.join(", "),
                demo.images.join(", ")
            );
        }
        if self.shared_secret.is_some() {
            let _ = writeln!(out, "  Shared secret:         set (not printed)");
        }
        let _ = writeln!(out, "  Health:                {}/healthz", self.url);
        let _ = writeln!(out, "\nkubeconfig:\n{}", self.kubeconfig());
        let _ = writeln!(out, "Press Ctrl-C to stop.");
        out
    }

    /// Stops accepting connections, ends open watches and waits for the server to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .await
                .context("the server task failed")?
                .context("serving HTTP")?;
        }
        Ok(())
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `primehub dev`: binds `--listen`, starts, prints the banner, serves until Ctrl-C.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let server = start(listener, &args).await?;
    tracing::info!(url = server.url(), seed = ?args.seed, "primehub dev is serving");
    if let Some(path) = &args.write_kubeconfig {
        std::fs::write(path, server.kubeconfig())
            .with_context(|| format!("writing the kubeconfig to {}", path.display()))?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(server.banner().as_bytes())?;
        stdout.flush()?;
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("Ctrl-C: stopping");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}
