//! Load program of the HTTPS webhook: concurrent AdmissionReviews over loopback TLS to the
//! resource-validation route, decided from a ledger of `--pods` running pods; prints one JSON
//! object (requests/s, latency percentiles, errors, allowed/denied).
//!
//! ```sh
//! cargo run --release -p primehub-webhook --example webhook_load -- --duration 10
//! ```
//!
//! The server runs on its own runtime (`--server-threads`, default 1) and the clients on
//! another (`--client-threads`, default 1), each on its own OS threads, so the figure is the
//! server's capacity with the clients sharing the machine. The server is the same code the
//! binary serves: `primehub_reconcile::webhook::router` behind rustls (`primehub_webhook::tls`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use primehub_model::names::primehub_labels;
use primehub_model::quantity::Cpu;
use primehub_model::quota::Quota;
use primehub_reconcile::admission::AdmissionHandler;
use primehub_reconcile::fake::FakeCluster;
use primehub_reconcile::stores::PodUsage;
use primehub_reconcile::webhook::in_flight::InFlight;
use primehub_reconcile::webhook::metrics::WebhookMetrics;
use primehub_reconcile::webhook::quotas::{GroupQuotas, StaticQuotas};
use primehub_reconcile::webhook::resources::ResourcesValidation;
use primehub_reconcile::{KubeApi, PatchBody, ResourceKind};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use serde_json::{Value, json};

struct Options {
    duration: Duration,
    concurrency: usize,
    pods: usize,
    groups: usize,
    server_threads: usize,
    client_threads: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        duration: Duration::from_secs(5),
        concurrency: 64,
        pods: 1_000,
        groups: 20,
        server_threads: 1,
        client_threads: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} {value:?} is not a whole number"))?;
        let count = usize::try_from(number).map_err(|_| format!("{flag} {value} is too large"))?;
        match flag.as_str() {
            "--duration" => o.duration = Duration::from_secs(number),
            "--concurrency" => o.concurrency = count.max(1),
            "--pods" => o.pods = count,
            "--groups" => o.groups = count.max(1),
            "--server-threads" => o.server_threads = count.max(1),
            "--client-threads" => o.client_threads = count.max(1),
            other => {
                return Err(format!(
                    "unknown flag {other}: use --duration, --concurrency, --pods, --groups, \
                     --server-threads, --client-threads"
                ));
            }
        }
    }
    Ok(o)
}

fn pod(name: &str, user: &str, group: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "hub", "labels": primehub_labels(user, group)},
        "spec": {
            "initContainers": [{"name": "admission-is-not-found", "image": "admission-is-not-found", "command": ["false"]}],
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"limits": {"cpu": "100m", "memory": "128Mi"}}}]
        }
    })
}

fn review(i: u64, groups: usize) -> Vec<u8> {
    let g = usize::try_from(i).unwrap_or(0) % groups;
    let pod = pod(
        &format!("load-{i}"),
        &format!("user-{}", i % 50),
        &format!("group-{g}"),
    );
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod["metadata"]["name"], "namespace": "hub", "operation": "CREATE",
            "userInfo": {"username": "load"}, "object": pod,
        }
    }))
    .unwrap_or_default()
}

/// A CA and a serving certificate for 127.0.0.1: (server config, client config).
fn tls() -> Result<(rustls::ServerConfig, rustls::ClientConfig), Box<dyn std::error::Error>> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "load CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    let server = primehub_webhook::tls::server_config(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        "cert",
        "key",
    )?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone())?;
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok((server, client))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.server_threads)
        .thread_name("webhook-server")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.client_threads)
        .thread_name("load-client")
        .enable_all()
        .build()?;
    let (server_tls, client_tls) = tls()?;

    // The server: a ledger of `pods` running pods, quotas that admit everything sent.
    let (addr, metrics) = server_rt.block_on(async {
        let cluster = FakeCluster::new();
        let api: Arc<dyn KubeApi> = Arc::new(cluster.clone());
        let kind = ResourceKind::of::<Pod>();
        for i in 0..o.pods {
            let name = format!("pod-{i}");
            let object = serde_json::from_value(pod(
                &name,
                &format!("user-{}", i % 50),
                &format!("group-{}", i % o.groups),
            ))?;
            api.create(&kind, Some("hub"), &object).await?;
            api.patch_status(
                &kind,
                Some("hub"),
                &name,
                &PatchBody::Merge(json!({"status": {"phase": "Running"}})),
            )
            .await?;
        }
        // Reservations last 1 s: the load admits pods it never creates.
        let (usage, driver) = PodUsage::start_with(
            cluster.client(),
            "hub",
            Some("primehub.io/group"),
            InFlight::new(Duration::from_secs(1)),
        );
        tokio::spawn(driver);
        usage.wait_ready(Duration::from_secs(120)).await?;
        let quota = Quota {
            cpu: Some(Cpu::from_millis(u64::MAX / 4)),
            ..Quota::UNLIMITED
        };
        let quotas = StaticQuotas::new((0..o.groups).map(|g| {
            (
                format!("group-{g}"),
                GroupQuotas {
                    user: quota,
                    group: quota,
                },
            )
        }));
        let metrics = WebhookMetrics::new();
        let validation: Arc<dyn AdmissionHandler> = Arc::new(
            ResourcesValidation::new(Arc::new(quotas))
                .watching("hub", usage)
                .with_metrics(metrics.clone()),
        );
        let app = primehub_reconcile::webhook::router([("/".to_owned(), validation)], &metrics);
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(server_tls));
        let server = axum_server::from_tcp_rustls(listener, config)?.serve(app.into_make_service());
        tokio::spawn(server);
        // Keep the fake cluster alive with the server.
        std::mem::forget(cluster);
        Ok::<_, Box<dyn std::error::Error>>((addr, metrics))
    })?;

    let url = format!("https://{addr}/");
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(client_tls)
        .http1_only()
        .pool_max_idle_per_host(o.concurrency)
        .build()?;
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let (latencies, elapsed) = client_rt.block_on(async {
        // Warm the connections up.
        for i in 0..o.concurrency as u64 {
            let _ = http.post(&url).body(review(i, o.groups)).send().await;
        }
        let started = Instant::now();
        let deadline = started + o.duration;
        let mut tasks = Vec::new();
        for _ in 0..o.concurrency {
            let (http, url, sent, errors) =
                (http.clone(), url.clone(), sent.clone(), errors.clone());
            let groups = o.groups;
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = sent.fetch_add(1, Ordering::Relaxed);
                    let body = review(i, groups);
                    let t = Instant::now();
                    match http.post(&url).body(body).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            mine.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap_or_default());
        }
        (all, started.elapsed())
    });
    let mut latencies = latencies;
    latencies.sort_unstable();
    let pct = |p: usize| {
        latencies
            .get(latencies.len().saturating_sub(1) * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let ok = latencies.len() as u64;
    println!(
        "{}",
        json!({
            "program": "webhook_load",
            "route": "POST / (resources-validation-webhook.primehub.io) over HTTPS",
            "pods_in_ledger": o.pods,
            "groups": o.groups,
            "concurrency": o.concurrency,
            "server_threads": o.server_threads,
            "client_threads": o.client_threads,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "seconds": elapsed.as_secs_f64(),
            "requests": ok,
            "errors": errors.load(Ordering::Relaxed),
            "requests_per_second": (ok as f64 / elapsed.as_secs_f64()).round(),
            "latency_us": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": latencies.last().copied().unwrap_or(0)},
            "allowed": metrics.decisions("allowed"),
            "denied": metrics.decisions("denied"),
        })
    );
    Ok(())
}
