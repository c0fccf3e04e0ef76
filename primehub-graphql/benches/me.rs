//! Criterion benchmark: the in-process execution (no HTTP) of
//! `me { effectiveGroups { images { name } instanceTypes { name } datasets { name } } }` on the
//! platform of DESIGN §9 (10 000 users in 3 of 1 000 groups, 1 000 resources, 20 global),
//! seeded by [`primehub_graphql::scale`]. The HTTP figure comes from `examples/graphql_load.rs`.
//!
//! Run with `cargo bench -p primehub-graphql --bench me`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use primehub_graphql::auth::{Caller, Identity};
use primehub_graphql::dev::{DevOptions, DevPlatform, Seed};
use primehub_graphql::scale::{self, Scale};

/// mimalloc, as the binaries use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ME_QUERY: &str =
    "{ me { effectiveGroups { images { name } instanceTypes { name } datasets { name } } } }";

fn me_query(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (platform, callers) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let options = DevOptions {
            seed: Seed::Empty,
            ..DevOptions::default()
        };
        let platform = DevPlatform::start(listener, &options)
            .await
            .expect("the platform starts");
        let seeded = scale::seed(&platform, &Scale::default())
            .await
            .expect("the platform is seeded");
        let callers: Vec<Arc<Caller>> = seeded
            .usernames
            .iter()
            .zip(&seeded.user_ids)
            .step_by(97)
            .map(|(username, user_id)| {
                Arc::new(Caller::User(Identity {
                    user_id: user_id.clone(),
                    username: username.clone(),
                }))
            })
            .collect();
        (platform, callers)
    });
    let service = platform.api.service.clone();
    let mut next = 0usize;
    c.bench_function("me_effective_groups_10k_users", |b| {
        b.iter(|| {
            next = (next + 1) % callers.len();
            let caller = callers[next].clone();
            let response = runtime.block_on(
                service.execute(caller, async_graphql::Request::new(black_box(ME_QUERY))),
            );
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            black_box(response)
        })
    });
    drop(platform);
}

criterion_group!(benches, me_query);
criterion_main!(benches);
