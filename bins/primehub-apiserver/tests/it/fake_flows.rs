//! The flows on `primehub dev`'s platform (the in-memory fakes behind the same router): the
//! fake half of the comparison whose real half is `real_apiserver`.

use std::sync::Arc;

use primehub_graphql::dev::{DevOptions, DevPlatform, Seed};

use crate::flows::{self, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flows_pass_on_the_fakes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let options = DevOptions {
        seed: Seed::Empty,
        admin_password: flows::ADMIN_PASSWORD.into(),
        shared_secret: Some(flows::SHARED_SECRET.into()),
        ..DevOptions::default()
    };
    let platform = DevPlatform::start(listener, &options)
        .await
        .expect("the platform starts");
    let target = Target {
        label: "fake",
        api_url: platform.url().to_owned(),
        token_endpoint: format!("{}/protocol/openid-connect/token", platform.issuer()),
        client_secret: platform.realm.admin_ui_client_secret.clone(),
        keycloak: Arc::new(
            platform
                .keycloak
                .realm(&platform.realm.realm)
                .expect("the realm"),
        ),
    };
    flows::run_all(&target).await;
    platform.shutdown().await.expect("clean shutdown");
}
