//! A level-based controller on kube-runtime: one summary ConfigMap per PhJob
//! (`primehub_reconcile::runtime::job_summary`), with retries and Prometheus metrics.
//!
//! By default it runs on the fake cluster **in process** (`FakeCluster::client()`, no socket):
//! it creates two PhJobs, waits until the controller has made their summaries, changes one job
//! and waits for the summary to follow, prints the summaries and the metrics, and exits.
//!
//! ```sh
//! cargo run -p primehub-examples --example job_summary_controller
//! ```
//!
//! Given a kubeconfig or an API server URL it runs the same controller against that cluster
//! (the PrimeHub CRDs must be installed) until Ctrl-C:
//!
//! ```sh
//! cargo run -p primehub-examples --example job_summary_controller -- --kubeconfig ~/.kube/config --namespace hub
//! cargo run -p primehub-examples --example job_summary_controller -- --url https://127.0.0.1:6443 --token "$TOKEN" --insecure
//! ```

use std::error::Error;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use primehub_model::crd::{PhJob, PhJobSpec};
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::kube_client::KubeClient;
use primehub_reconcile::runtime::job_summary::{self, summary_name};
use primehub_reconcile::runtime::{ControllerRuntime, Metrics};

/// Where to run.
enum Target {
    Fake,
    Kubeconfig(String),
    Url {
        url: String,
        token: Option<String>,
        insecure: bool,
    },
}

struct Args {
    target: Target,
    namespace: Option<String>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut target = Target::Fake;
    let mut namespace = None;
    let mut token = None;
    let mut insecure = false;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--kubeconfig" => target = Target::Kubeconfig(value("--kubeconfig")?),
            "--url" => url = Some(value("--url")?),
            "--token" => token = Some(value("--token")?),
            "--insecure" => insecure = true,
            "--namespace" => namespace = Some(value("--namespace")?),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; use --kubeconfig PATH | --url URL [--token T] [--insecure], --namespace NS"
                )
                .into());
            }
        }
    }
    if let Some(url) = url {
        target = Target::Url {
            url,
            token,
            insecure,
        };
    }
    Ok(Args { target, namespace })
}

/// Polls until `job`'s summary has `command`.
async fn wait_for_summary(
    maps: &Api<ConfigMap>,
    job: &str,
    command: &str,
) -> Result<ConfigMap, Box<dyn Error>> {
    for _ in 0..500 {
        if let Some(map) = maps.get_opt(&summary_name(job)).await?
            && map
                .data
                .as_ref()
                .and_then(|d| d.get("command"))
                .map(String::as_str)
                == Some(command)
        {
            return Ok(map);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("the summary of {job} did not converge").into())
}

fn job(name: &str, command: &str) -> PhJob {
    PhJob::new(
        name,
        PhJobSpec {
            display_name: format!("demo {name}"),
            user_id: "u-1".into(),
            user_name: Some("phadmin".into()),
            group_id: "g-1".into(),
            group_name: "phusers".into(),
            instance_type: "cpu-1".into(),
            image: "base-notebook".into(),
            command: command.into(),
            ..PhJobSpec::default()
        },
    )
}

async fn demo_on_the_fake(namespace: &str) -> Result<(), Box<dyn Error>> {
    let cluster = FakeCluster::new();
    let client = cluster.client();
    let metrics = Metrics::new();
    let runtime = ControllerRuntime::new("job-summary", &metrics);
    tokio::spawn(
        job_summary::run(client.clone(), Some(namespace), &runtime).for_each(|_| async {}),
    );

    let jobs: Api<PhJob> = Api::namespaced(client.clone(), namespace);
    let maps: Api<ConfigMap> = Api::namespaced(client, namespace);
    jobs.create(&PostParams::default(), &job("train", "python train.py"))
        .await?;
    jobs.create(&PostParams::default(), &job("report", "python report.py"))
        .await?;
    wait_for_summary(&maps, "train", "python train.py").await?;
    wait_for_summary(&maps, "report", "python report.py").await?;

    jobs.patch(
        "train",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"command": "python train.py --epochs 3"}})),
    )
    .await?;
    wait_for_summary(&maps, "train", "python train.py --epochs 3").await?;

    for name in ["report", "train"] {
        let map = maps.get(&summary_name(name)).await?;
        println!(
            "{}: {}",
            summary_name(name),
            serde_json::to_string(&map.data.unwrap_or_default())?
        );
    }
    println!("reconciles: {}", metrics.reconciles("job-summary"));
    print!("{}", metrics.encode());
    Ok(())
}

async fn run_on(client: kube::Client, namespace: Option<&str>) -> Result<(), Box<dyn Error>> {
    let metrics = Metrics::new();
    let runtime = ControllerRuntime::new("job-summary", &metrics);
    let controller = job_summary::controller(client.clone(), namespace).shutdown_on_signal();
    let ctx = std::sync::Arc::new(job_summary::Context::new(client));
    println!(
        "running the job-summary controller in {}; Ctrl-C stops it",
        namespace.unwrap_or("every namespace")
    );
    runtime
        .run(controller, job_summary::reconcile, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => println!("reconciled {object}"),
                Err(e) => eprintln!("reconcile failed: {e}"),
            }
        })
        .await;
    print!("{}", metrics.encode());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    match args.target {
        Target::Fake => demo_on_the_fake(args.namespace.as_deref().unwrap_or("hub")).await,
        Target::Kubeconfig(path) => {
            let kubeconfig = Kubeconfig::read_from(&path)?;
            let config =
                kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await?;
            run_on(kube::Client::try_from(config)?, args.namespace.as_deref()).await
        }
        Target::Url {
            url,
            token,
            insecure,
        } => {
            let client = KubeClient::for_url(&url, token.as_deref(), insecure)?;
            run_on(client.client().clone(), args.namespace.as_deref()).await
        }
    }
}
