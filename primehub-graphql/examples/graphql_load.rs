//! Load program for the GraphQL API (DESIGN §9): seeds the in-memory fakes with many users,
//! groups and resources, starts the whole platform ([`DevPlatform`]) on a loopback listener,
//! and drives PrimeHub's two hottest queries over HTTP with keep-alive connections:
//!
//! * `me { effectiveGroups { images { name } instanceTypes { name } datasets { name } } }` as
//!   random users, each with one access token it reuses (as real clients do);
//! * an administrator's `groupsConnection(page: N)` with the members of each group.
//!
//! It prints one JSON object: the sizes, requests, errors, requests/s, latency percentiles per
//! query kind, the CPU time spent per request by the whole process, by the server's threads and
//! by the clients' threads (the two run on separate Tokio runtimes, `api-server` and
//! `load-client`, sharing the machine's cores), the server's capacity on these cores if the
//! clients ran elsewhere (cores / server CPU per request), the Keycloak admin calls made while
//! measuring (the API's own, and the cache's background event polls, apart), the machine and the
//! build profile. The measured requests go through hyper's HTTP/1.1 client connection, one
//! keep-alive connection per request in flight, so the load generator takes as little of the
//! shared cores as it can.
//!
//! ```text
//! cargo run --release -p primehub-graphql --example graphql_load                    # full size
//! cargo run --release -p primehub-graphql --example graphql_load -- --admin-percent 0 # only `me`
//! cargo run -p primehub-graphql --example graphql_load -- --small                   # CI smoke
//! ```
//!
//! The fakes are seeded directly by [`primehub_graphql::scale::seed`] (the fake realm's admin API
//! and typed creates on the fake cluster), not through the GraphQL API, with the realm's admin
//! events off while seeding (the state is as if it had been there before the API server
//! started); then the Keycloak cache is resynced and the resource stores are awaited, so the
//! measurement starts warm. The program
//! exits non-zero when a request failed or a warm `me` made a Keycloak call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use axum::body::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use primehub_graphql::dev::{DevOptions, DevPlatform, Seed};
use primehub_graphql::scale::{self, Scale};
use serde_json::{Value, json};

/// mimalloc, as the `primehub` and `primehub-apiserver` binaries use: a GraphQL answer is many
/// small allocations, which glibc's allocator serves at about twice the cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The `me` query.
const ME_QUERY: &str =
    "{ me { effectiveGroups { images { name } instanceTypes { name } datasets { name } } } }";
/// The administrator's group page query (`page` is a variable).
const GROUPS_QUERY: &str = "query($page: Int) { groupsConnection(page: $page) { edges { node { id name users { id } } } pageInfo { totalPage } } }";

#[derive(Parser, Debug, Clone)]
#[command(about = "Seeds the fakes and measures PrimeHub's GraphQL API over loopback HTTP")]
struct Args {
    /// Users to create.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Groups to create (besides `everyone`).
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    /// Groups each user is a member of (besides `everyone`).
    #[arg(long, default_value_t = 3)]
    groups_per_user: usize,
    /// Resources (images, instance types and datasets, in turn).
    #[arg(long, default_value_t = 1_000)]
    resources: usize,
    /// Resources granted to each group.
    #[arg(long, default_value_t = 10)]
    resources_per_group: usize,
    /// Resources granted to `everyone` (global).
    #[arg(long, default_value_t = 20)]
    global_resources: usize,
    /// Simulated clients: distinct users, each with one access token it reuses.
    #[arg(long, default_value_t = 1_000)]
    clients: usize,
    /// Requests in flight at once (one keep-alive connection each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to measure, in seconds (ignored when --requests is given).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Measure exactly this many requests instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured warm-up before the measurement, in seconds (every client's first request,
    /// which verifies its token, happens before it anyway).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Percentage of requests that are the administrator's `groupsConnection` (the rest are
    /// `me`).
    #[arg(long, default_value_t = 10)]
    admin_percent: u32,
    /// The server's Tokio worker threads (default: one per core).
    #[arg(long)]
    worker_threads: Option<usize>,
    /// The simulated clients' Tokio worker threads (they need far less CPU than the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// CI preset: 1 000 users, 100 groups, 100 resources, 100 clients, 8 in flight, 2 s.
    #[arg(long)]
    small: bool,
}

impl Args {
    fn apply_preset(mut self) -> Args {
        if self.small {
            let small = Scale::small();
            self.users = small.users;
            self.groups = small.groups;
            self.groups_per_user = small.groups_per_user;
            self.resources = small.resources;
            self.resources_per_group = small.resources_per_group;
            self.global_resources = small.global_resources;
            self.clients = 100;
            self.concurrency = 8;
            self.duration = 2.0;
            self.warmup = 0.2;
        }
        self
    }

    fn scale(&self) -> Scale {
        Scale {
            users: self.users,
            groups: self.groups,
            groups_per_user: self.groups_per_user,
            resources: self.resources,
            resources_per_group: self.resources_per_group,
            global_resources: self.global_resources,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        self.scale().check()?;
        ensure!(
            (1..=self.users).contains(&self.clients),
            "--clients must be between 1 and --users"
        );
        ensure!(self.concurrency >= 1, "--concurrency must be at least 1");
        ensure!(
            self.client_threads >= 1,
            "--client-threads must be at least 1"
        );
        ensure!(self.admin_percent <= 100, "--admin-percent is a percentage");
        ensure!(
            self.duration > 0.0 && self.warmup >= 0.0,
            "--duration must be positive"
        );
        Ok(())
    }
}

/// Thread names of the two runtimes, so the CPU each side uses can be told apart.
const SERVER_THREADS: &str = "api-server";
const CLIENT_THREADS: &str = "load-client";

fn main() -> anyhow::Result<()> {
    let args = Args::parse().apply_preset();
    args.check()?;
    // The server (the platform on the fakes) and the simulated clients run on separate
    // runtimes sharing the machine's cores, so the report can say which side used the CPU.
    let mut server = tokio::runtime::Builder::new_multi_thread();
    server.enable_all().thread_name(SERVER_THREADS);
    let mut client = tokio::runtime::Builder::new_multi_thread();
    client.enable_all().thread_name(CLIENT_THREADS);
    if let Some(threads) = args.worker_threads {
        server.worker_threads(threads);
    }
    client.worker_threads(args.client_threads);
    let client = client.build()?;
    let result = server.build()?.block_on(run(args, client.handle().clone()));
    client.shutdown_background();
    result
}

/// One query kind's measurements.
#[derive(Default)]
struct Samples {
    /// Latencies in microseconds.
    latencies: Vec<u32>,
    errors: u64,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
    }

    fn report(&mut self, seconds: f64) -> Value {
        self.latencies.sort_unstable();
        let pick = |q: f64| -> Value {
            if self.latencies.is_empty() {
                return Value::Null;
            }
            // Nearest-rank percentile.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let rank = ((q * self.latencies.len() as f64).ceil() as usize).max(1);
            let micros = self.latencies[rank.min(self.latencies.len()) - 1];
            json!(f64::from(micros) / 1000.0)
        };
        #[allow(clippy::cast_precision_loss)]
        let rate = self.latencies.len() as f64 / seconds;
        json!({
            "requests": self.latencies.len(),
            "errors": self.errors,
            "requests_per_s": rate.round(),
            "p50_ms": pick(0.50),
            "p90_ms": pick(0.90),
            "p99_ms": pick(0.99),
        })
    }
}

/// What every worker shares.
struct Load {
    /// The clients' runtime: every request is sent from there.
    client: tokio::runtime::Handle,
    /// For the checks before measuring.
    http: reqwest::Client,
    url: String,
    /// `host:port` and path of the GraphQL endpoint, for the measured requests.
    authority: String,
    path: String,
    /// `Bearer <token>` of each client.
    user_auth: Vec<reqwest::header::HeaderValue>,
    admin_auth: reqwest::header::HeaderValue,
    me_body: Bytes,
    /// One body per page of `groupsConnection`.
    group_bodies: Vec<Bytes>,
    admin_percent: u32,
}

/// A small fast generator (xorshift64*), one per worker.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Whether a response is a success: HTTP 200 and no `errors` member.
fn is_success(status: reqwest::StatusCode, body: &[u8]) -> bool {
    status == reqwest::StatusCode::OK && !body.windows(9).any(|w| w == b"\"errors\":")
}

impl Load {
    /// Sends one POST on the worker's keep-alive connection (opened, or reopened after an
    /// error, here) and reads the whole answer. The measured loop uses hyper's connection
    /// directly: it costs the shared cores about half of what `reqwest` does per request.
    async fn send(
        &self,
        connection: &mut Option<SendRequest<Full<Bytes>>>,
        auth: &reqwest::header::HeaderValue,
        body: &Bytes,
    ) -> bool {
        if connection.as_ref().is_none_or(SendRequest::is_closed) {
            *connection = self.connect().await;
        }
        let Some(sender) = connection.as_mut() else {
            return false;
        };
        if sender.ready().await.is_err() {
            *connection = None;
            return false;
        }
        let request = hyper::Request::post(&self.path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::AUTHORIZATION, auth.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()));
        let Ok(request) = request else {
            return false;
        };
        let Ok(response) = sender.send_request(request).await else {
            *connection = None;
            return false;
        };
        let status = response.status();
        match response.into_body().collect().await {
            Ok(bytes) => is_success(status, &bytes.to_bytes()),
            Err(_) => {
                *connection = None;
                false
            }
        }
    }

    /// A new HTTP/1.1 connection to the server; its driver runs on the clients' runtime.
    async fn connect(&self) -> Option<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        self.client.spawn(driver);
        Some(sender)
    }

    /// Sends requests until `stop` (or until `budget` is used up) and records them.
    async fn worker(
        self: Arc<Self>,
        seed: u64,
        stop: Arc<AtomicBool>,
        budget: Option<Arc<AtomicU64>>,
    ) -> (Samples, Samples) {
        let mut rng = Rng(seed | 1);
        let mut connection = None;
        let (mut me, mut admin) = (Samples::default(), Samples::default());
        while !stop.load(Ordering::Relaxed) {
            if let Some(budget) = &budget
                && budget
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_err()
            {
                break;
            }
            let is_admin = u32::try_from(rng.below(100)).unwrap_or(0) < self.admin_percent;
            let started = Instant::now();
            let ok = if is_admin {
                let page = rng.below(self.group_bodies.len());
                let body = &self.group_bodies[page];
                self.send(&mut connection, &self.admin_auth, body).await
            } else {
                let client = rng.below(self.user_auth.len());
                let auth = &self.user_auth[client];
                self.send(&mut connection, auth, &self.me_body).await
            };
            let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
            let samples = if is_admin { &mut admin } else { &mut me };
            samples.latencies.push(micros);
            if !ok {
                samples.errors += 1;
            }
        }
        (me, admin)
    }

    /// Runs `concurrency` workers for `duration` (or `requests` in total).
    async fn phase(
        self: &Arc<Self>,
        concurrency: usize,
        duration: Duration,
        requests: Option<u64>,
    ) -> anyhow::Result<(Samples, Samples, f64)> {
        let stop = Arc::new(AtomicBool::new(false));
        let budget = requests.map(|n| Arc::new(AtomicU64::new(n)));
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|w| {
                self.client.spawn(self.clone().worker(
                    0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(w as u64 + 1),
                    stop.clone(),
                    budget.clone(),
                ))
            })
            .collect();
        if budget.is_none() {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
        }
        let (mut me, mut admin) = (Samples::default(), Samples::default());
        for worker in workers {
            let (m, a) = worker.await?;
            me.merge(m);
            admin.merge(a);
        }
        Ok((me, admin, started.elapsed().as_secs_f64()))
    }
}

async fn post_json(load: &Load, auth: &reqwest::header::HeaderValue, body: &Bytes) -> Value {
    let response = load
        .http
        .post(&load.url)
        .header(reqwest::header::AUTHORIZATION, auth.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.clone())
        .send()
        .await;
    match response {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(e) => json!({ "transport_error": e.to_string() }),
    }
}

/// Checks the answers before measuring: every client's `me` (which also has its token verified
/// and remembered) and the first group page.
async fn check_answers(load: &Arc<Load>, args: &Args) -> anyhow::Result<Value> {
    let mut first: Option<Value> = None;
    for chunk in load.user_auth.chunks(args.concurrency) {
        let answers = futures_join(
            &load.client,
            chunk.iter().map(|auth| {
                let load = load.clone();
                let auth = auth.clone();
                async move { post_json(&load, &auth, &load.me_body).await }
            }),
        )
        .await;
        for answer in answers {
            let groups = answer["data"]["me"]["effectiveGroups"]
                .as_array()
                .with_context(|| format!("a `me` answer has no effectiveGroups: {answer}"))?;
            ensure!(
                groups.len() == args.groups_per_user.min(args.groups),
                "a user has {} effective groups, expected {}: {answer}",
                groups.len(),
                args.groups_per_user
            );
            first.get_or_insert(answer);
        }
    }
    let me = first.context("no client")?;
    let count = |field: &str| -> Vec<usize> {
        me["data"]["me"]["effectiveGroups"]
            .as_array()
            .map(|gs| {
                gs.iter()
                    .map(|g| g[field].as_array().map_or(0, Vec::len))
                    .collect()
            })
            .unwrap_or_default()
    };
    let page = {
        let sender = load.clone();
        let first_page =
            async move { post_json(&sender, &sender.admin_auth, &sender.group_bodies[0]).await };
        futures_join(&load.client, std::iter::once(first_page))
            .await
            .pop()
            .unwrap_or(Value::Null)
    };
    let edges = page["data"]["groupsConnection"]["edges"]
        .as_array()
        .with_context(|| format!("the group page has no edges: {page}"))?;
    ensure!(!edges.is_empty(), "the first group page is empty: {page}");
    Ok(json!({
        "me_images_per_group": count("images"),
        "me_instance_types_per_group": count("instanceTypes"),
        "me_datasets_per_group": count("datasets"),
        "me_response_bytes": me.to_string().len(),
        "groups_page_edges": edges.len(),
        "groups_page_members": edges.iter().map(|e| e["node"]["users"].as_array().map_or(0, Vec::len)).sum::<usize>(),
        "groups_page_response_bytes": page.to_string().len(),
    }))
}

/// Runs futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future<Output = Value> + Send + 'static>(
    client: &tokio::runtime::Handle,
    futures: impl Iterator<Item = F>,
) -> Vec<Value> {
    let handles: Vec<_> = futures.map(|f| client.spawn(f)).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap_or(Value::Null));
    }
    out
}

fn bearer(token: &str) -> anyhow::Result<reqwest::header::HeaderValue> {
    Ok(reqwest::header::HeaderValue::from_str(&format!(
        "Bearer {token}"
    ))?)
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    json!({
        "cores": cores,
        "cpu": cpu,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "load_average_at_start": load,
    })
}

/// The command name and CPU time (user + system, seconds) of a `/proc/.../stat` line.
fn stat_cpu(stat: &str) -> Option<(&str, f64)> {
    // The command name is in parentheses and may hold spaces.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux architecture Rust targets.
    #[allow(clippy::cast_precision_loss)]
    Some((name, ticks as f64 / 100.0))
}

/// CPU seconds used so far: by the whole process, by the server's threads and by the clients'
/// threads (Linux only: `/proc/self/stat` and `/proc/self/task/*/stat`).
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    process: f64,
    server: f64,
    client: f64,
}

impl CpuUse {
    fn now() -> Option<CpuUse> {
        let process = stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)?.1;
        let mut used = CpuUse {
            process,
            ..CpuUse::default()
        };
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue; // the thread ended meanwhile
            };
            match stat_cpu(&stat) {
                Some((name, cpu)) if name.starts_with(SERVER_THREADS) => used.server += cpu,
                Some((name, cpu)) if name.starts_with(CLIENT_THREADS) => used.client += cpu,
                _ => {}
            }
        }
        Some(used)
    }

    fn since(self, before: CpuUse) -> CpuUse {
        CpuUse {
            process: self.process - before.process,
            server: self.server - before.server,
            client: self.client - before.client,
        }
    }
}

fn delta(after: &BTreeMap<&'static str, u64>, before: &BTreeMap<&'static str, u64>) -> Value {
    let changed: BTreeMap<&str, u64> = after
        .iter()
        .filter_map(|(method, n)| {
            let d = n - before.get(method).copied().unwrap_or(0);
            (d > 0).then_some((*method, d))
        })
        .collect();
    json!(changed)
}

async fn run(args: Args, client: tokio::runtime::Handle) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let machine = machine();
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let platform = DevPlatform::start(
        listener,
        &DevOptions {
            seed: Seed::Empty,
            ..DevOptions::default()
        },
    )
    .await?;
    let shape = args.scale();
    let seeded = scale::seed(&platform, &shape).await?;
    let counts = [seeded.images, seeded.instance_types, seeded.datasets];
    let usernames = seeded.usernames;
    let state = platform.api.service.state.clone();
    let snapshot = state.keycloak.snapshot();
    ensure!(
        snapshot.user_count() > args.users && snapshot.group_count() > args.groups,
        "the cache holds {} users and {} groups after the resync",
        snapshot.user_count(),
        snapshot.group_count()
    );
    let seed_seconds = started.elapsed().as_secs_f64();

    // One token per client (password grants on the fake), and the administrator's.
    let tokens_started = Instant::now();
    let stride = usernames.len() / args.clients;
    let mut user_auth = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let token = platform.access_token(&usernames[c * stride], scale::USER_PASSWORD)?;
        user_auth.push(bearer(&token)?);
    }
    let admin_token = platform.access_token(&platform.admin_username, &platform.admin_password)?;
    let token_seconds = tokens_started.elapsed().as_secs_f64();

    let pages = args.groups.div_ceil(10);
    let graphql_uri: hyper::Uri = platform.graphql_url().parse()?;
    let load = Arc::new(Load {
        client,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .tcp_nodelay(true)
            .build()?,
        url: platform.graphql_url(),
        authority: graphql_uri
            .authority()
            .context("the GraphQL URL has a host and port")?
            .to_string(),
        path: graphql_uri.path().to_owned(),
        user_auth,
        admin_auth: bearer(&admin_token)?,
        me_body: Bytes::from(json!({ "query": ME_QUERY }).to_string()),
        group_bodies: (1..=pages)
            .map(|page| {
                Bytes::from(
                    json!({ "query": GROUPS_QUERY, "variables": { "page": page } }).to_string(),
                )
            })
            .collect(),
        admin_percent: args.admin_percent,
    });
    let answers = check_answers(&load, &args).await?;
    if args.warmup > 0.0 {
        load.phase(args.concurrency, Duration::from_secs_f64(args.warmup), None)
            .await?;
    }

    // The measurement: Keycloak calls counted around it.
    let calls_before = platform.keycloak_calls.calls_by_method();
    let cache_before = state.keycloak.stats();
    let cpu_before = CpuUse::now();
    let (mut me, mut admin, seconds) = load
        .phase(
            args.concurrency,
            Duration::from_secs_f64(args.duration),
            args.requests,
        )
        .await?;
    let cpu_after = CpuUse::now();
    let cache_after = state.keycloak.stats();
    let calls_after = platform.keycloak_calls.calls_by_method();
    let total_calls: u64 = calls_after.values().sum::<u64>() - calls_before.values().sum::<u64>();
    let cache_calls = cache_after.keycloak_calls - cache_before.keycloak_calls;
    let request_calls = total_calls.saturating_sub(cache_calls);

    let requests = me.latencies.len() + admin.latencies.len();
    let errors = me.errors + admin.errors;
    #[allow(clippy::cast_precision_loss)]
    let rate = requests as f64 / seconds;
    let cpu = cpu_before.zip(cpu_after).map(|(b, a)| a.since(b));
    #[allow(clippy::cast_precision_loss)]
    let per_request = |seconds: f64| (seconds * 1e6 / requests.max(1) as f64).round();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let report = json!({
        "program": "graphql_load",
        "build_profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "machine": machine,
        "sizes": {
            "users": args.users,
            "groups": args.groups,
            "groups_per_user": args.groups_per_user,
            "resources": args.resources,
            "images": counts[0],
            "instance_types": counts[1],
            "datasets": counts[2],
            "resources_per_group": args.resources_per_group,
            "global_resources": args.global_resources,
        },
        "load": {
            "clients": args.clients,
            "concurrency": args.concurrency,
            "admin_percent": args.admin_percent,
            "worker_threads": args.worker_threads,
            "client_threads": args.client_threads,
            "warmup_s": args.warmup,
            "measured_s": (seconds * 1000.0).round() / 1000.0,
        },
        "setup_s": {
            "start_and_seed": (seed_seconds * 10.0).round() / 10.0,
            "tokens": (token_seconds * 10.0).round() / 10.0,
        },
        "answers": answers,
        "requests": requests,
        "errors": errors,
        "requests_per_s": rate.round(),
        "process_cpu_s": cpu.map(|c| c.process),
        "process_cpu_us_per_request": cpu.map(|c| per_request(c.process)),
        // The server's share alone: the rate this machine's cores would serve if the clients
        // ran elsewhere is cores / server CPU per request.
        "server_cpu_us_per_request": cpu.map(|c| per_request(c.server)),
        "client_cpu_us_per_request": cpu.map(|c| per_request(c.client)),
        "server_capacity_per_s_on_these_cores": cpu
            .filter(|c| c.server > 0.0)
            .map(|c| (cores as f64 * 1e6 / per_request(c.server)).round()),
        "me": me.report(seconds),
        "groups_connection": admin.report(seconds),
        "keycloak_calls": {
            "by_requests": request_calls,
            "by_cache_background": cache_calls,
            "cache_event_polls": cache_after.event_polls - cache_before.event_polls,
            "cache_resyncs": cache_after.resyncs - cache_before.resyncs,
            "by_method": delta(&calls_after, &calls_before),
        },
    });
    println!("{report}");
    platform.shutdown().await?;
    ensure!(errors == 0, "{errors} requests failed");
    ensure!(
        request_calls == 0,
        "warm requests made {request_calls} Keycloak calls"
    );
    Ok(())
}
