//! `primehub dev`: the whole platform on in-memory fakes, on one listener — the GraphQL API,
//! the fake Keycloak, the fake Kubernetes API server — as
//! [`primehub_graphql::dev::DevPlatform`] assembles it; this command adds flags and what it
//! prints.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use primehub_graphql::dev::{DevOptions, DevPlatform, Seed as DevSeed};
use primehub_reconcile::fake::kubelet::SimulatorConfig;
use primehub_reconcile::fake::notebooks::NotebookRunnerConfig;

pub use primehub_graphql::dev::NAMESPACE;

/// The environment variable naming the notebook command when `--notebook-command` is absent.
pub const NOTEBOOK_COMMAND_ENV: &str = "PRIMEHUB_DEV_NOTEBOOK_COMMAND";

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
    /// Shared secret of server-to-server callers of the GraphQL API (`Authorization: Bearer
    /// <secret>`, as JupyterHub calls PrimeHub).
    #[arg(long)]
    pub shared_secret: Option<String>,
    /// The Keycloak realm.
    #[arg(long, default_value = "primehub")]
    pub realm: String,
    /// Also write a kubeconfig for the fake cluster to this path.
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
    /// Leave pods in the phase they are written with, instead of simulating a kubelet (by
    /// default pods go Running after 2 s and finish after the `sleep`s of their script, so a
    /// submitted job runs to Succeeded).
    #[arg(long)]
    pub no_simulate_pods: bool,
    /// The single-user server each notebook pod runs as (a path, or a name looked up on PATH;
    /// default `jupyterhub-singleuser` on PATH; else env PRIMEHUB_DEV_NOTEBOOK_COMMAND).
    ///
    /// Each notebook pod (label `component=singleuser-server`, as KubeSpawner makes them) runs
    /// as a local process with the pod's `notebook` container env plus `--ip=<address>
    /// --port=<port>`, on a loopback address of its own in 127.77.0.0/16, which becomes the
    /// pod's IP; the pod goes Running once the server answers HTTP, Succeeded or Failed when
    /// it exits, and deleting the pod stops it; its output is the pod log. Install it with
    /// `pip install jupyterhub jupyter_server`.
    #[arg(long, value_name = "PATH")]
    pub notebook_command: Option<PathBuf>,
    /// Do not run notebook pods as local processes: the pod simulator treats them as any
    /// other pod.
    #[arg(long)]
    pub no_notebook_processes: bool,
    /// Shared volumes in the storage-class mode (PrimeHub's
    /// `PRIMEHUB_GROUP_VOLUME_STORAGE_CLASS`): claims of groups and `pv` datasets get this
    /// `ReadWriteMany` class and no NFS server. Default: the NFS mode, where the group-volume
    /// controller makes an NFS Service, StatefulSet and PersistentVolume per claim.
    #[arg(long, value_name = "CLASS")]
    pub shared_volume_storage_class: Option<String>,
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
            no_simulate_pods: false,
            notebook_command: None,
            no_notebook_processes: false,
            shared_volume_storage_class: None,
        }
    }
}

/// A running `primehub dev`: the platform of [`primehub_graphql::dev::DevPlatform`] (its
/// fields are reachable through `Deref`) with what the command prints.
#[derive(Debug)]
pub struct DevServer {
    platform: DevPlatform,
    /// The shared secret given with `--shared-secret`.
    pub shared_secret: Option<String>,
}

impl std::ops::Deref for DevServer {
    type Target = DevPlatform;
    fn deref(&self) -> &DevPlatform {
        &self.platform
    }
}

fn generated_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Creates the fakes, seeds them, starts the API and serves everything on `listener` (in a
/// spawned task).
pub async fn start(listener: tokio::net::TcpListener, args: &DevArgs) -> anyhow::Result<DevServer> {
    let options = DevOptions {
        seed: match args.seed {
            Seed::Demo => DevSeed::Demo,
            Seed::Empty => DevSeed::Empty,
        },
        admin_password: args
            .admin_password
            .clone()
            .unwrap_or_else(generated_password),
        shared_secret: args.shared_secret.clone(),
        realm: args.realm.clone(),
        simulate_pods: (!args.no_simulate_pods).then(SimulatorConfig::default),
        run_notebooks: (!args.no_notebook_processes).then(|| NotebookRunnerConfig {
            command: args.notebook_command.clone(),
            ..NotebookRunnerConfig::default()
        }),
        shared_volume_storage_class: args.shared_volume_storage_class.clone(),
        ..DevOptions::default()
    };
    let platform = DevPlatform::start(listener, &options)
        .await
        .context("starting the platform")?;
    Ok(DevServer {
        platform,
        shared_secret: args.shared_secret.clone(),
    })
}

impl DevServer {
    /// A kubeconfig (YAML) for the fake cluster (no credentials: the fake does not check them),
    /// built as kube-rs's own [`Kubeconfig`](kube::config::Kubeconfig) so it is exactly what kube-rs and kubectl read.
    pub fn kubeconfig(&self) -> String {
        use kube::config::{Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};
        let name = "primehub-dev".to_owned();
        let config = Kubeconfig {
            api_version: Some("v1".into()),
            kind: Some("Config".into()),
            clusters: vec![NamedCluster {
                name: name.clone(),
                cluster: Some(kube::config::Cluster {
                    server: Some(self.url().to_owned()),
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
        let _ = writeln!(
            out,
            "  GraphQL API:           {}/api/graphql (GraphiQL: open it in a browser)",
            self.url()
        );
        let _ = writeln!(
            out,
            "  API tokens:            POST {}/api/token (form fields username, password)",
            self.url()
        );
        let _ = writeln!(out, "  Kubernetes API server: {}", self.url());
        let _ = writeln!(out, "  Keycloak:              {}", self.url());
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
            "  Redirect URIs:         admin-ui {}; jupyterhub {}",
            self.admin_ui_redirect_uris.join(", "),
            self.jupyterhub_redirect_uris.join(", ")
        );
        let _ = writeln!(
            out,
            "  Browser login:         {}/protocol/openid-connect/auth (code flow, PKCE), logout: {}/protocol/openid-connect/logout",
            self.issuer(),
            self.issuer()
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
        match &self.notebook_command {
            None => {
                let _ = writeln!(
                    out,
                    "  Notebook pods:         simulated (--no-notebook-processes)"
                );
            }
            Some(Ok(command)) => {
                let _ = writeln!(
                    out,
                    "  Notebook pods:         run as {} on 127.77.x.x (the pod IP)",
                    command.display()
                );
            }
            Some(Err(message)) => {
                let _ = writeln!(out, "  Notebook pods:         will fail: {message}");
            }
        }
        match self.access_token(&self.admin_username, &self.admin_password) {
            Ok(token) => {
                let _ = writeln!(out, "  Admin access token:    {token}");
            }
            Err(e) => {
                let _ = writeln!(out, "  Admin access token:    (not issued: {e})");
            }
        }
        let _ = writeln!(
            out,
            "  Other tokens:          POST {}/protocol/openid-connect/token (password grant, client admin-ui)",
            self.issuer()
        );
        let _ = writeln!(
            out,
            "  Health, metrics:       {0}/healthz, {0}/readyz, {0}/metrics",
            self.url()
        );
        let _ = writeln!(out, "\nkubeconfig:\n{}", self.kubeconfig());
        let _ = writeln!(out, "Press Ctrl-C to stop.");
        out
    }

    /// Stops accepting connections, ends open watches and waits for the server to finish.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.platform
            .shutdown()
            .await
            .context("stopping the platform")
    }
}

/// `primehub dev`: binds `--listen`, starts, prints the banner, serves until Ctrl-C.
/// `--notebook-command` falls back to `PRIMEHUB_DEV_NOTEBOOK_COMMAND`.
pub async fn run(mut args: DevArgs) -> anyhow::Result<()> {
    if args.notebook_command.is_none() {
        args.notebook_command = std::env::var_os(NOTEBOOK_COMMAND_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
    }
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
