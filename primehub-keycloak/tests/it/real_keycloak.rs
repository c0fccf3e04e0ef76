//! The HTTP client and the bootstrap against a real Keycloak 26.
//!
//! Needs `PRIMEHUB_TEST_KEYCLOAK_URL`, `PRIMEHUB_TEST_KEYCLOAK_ADMIN` and
//! `PRIMEHUB_TEST_KEYCLOAK_PASSWORD` (master-realm admin), as `tools/keycloak/keycloak.sh start`
//! exports them; `.ci/run` always starts one. Without them every test prints a SKIPPED line and
//! passes. Each test bootstraps its own randomly named realm and deletes it at the end.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;

use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::{
    GroupUpdate, KeycloakAdmin, KeycloakError, NewGroup, NewUser, Page, UserUpdate,
};
use url::Url;

pub(crate) struct RealKeycloak {
    pub(crate) url: Url,
    pub(crate) admin: String,
    pub(crate) password: String,
}

pub(crate) fn real_keycloak(test: &str) -> Option<RealKeycloak> {
    let Ok(url) = std::env::var("PRIMEHUB_TEST_KEYCLOAK_URL") else {
        let why = format!(
            "real Keycloak tests ({test}: PRIMEHUB_TEST_KEYCLOAK_URL not set; .ci/run starts one)"
        );
        // CI sets PRIMEHUB_TEST_REQUIRE_REAL=1: there a missing component is a failure.
        assert!(
            std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
            "PRIMEHUB_TEST_REQUIRE_REAL=1 but not configured: {why}"
        );
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
        return None;
    };
    Some(RealKeycloak {
        url: Url::parse(&url).expect("PRIMEHUB_TEST_KEYCLOAK_URL is a URL"),
        admin: std::env::var("PRIMEHUB_TEST_KEYCLOAK_ADMIN").unwrap_or_else(|_| "admin".into()),
        password: std::env::var("PRIMEHUB_TEST_KEYCLOAK_PASSWORD")
            .unwrap_or_else(|_| "admin".into()),
    })
}

pub(crate) fn random_realm() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("ph-test-{}", &id[..10])
}

impl RealKeycloak {
    fn master(&self) -> HttpKeycloak {
        HttpKeycloak::new(HttpKeycloakConfig::new(
            self.url.clone(),
            "master",
            Credentials::master_admin(&self.admin, &self.password),
        ))
        .expect("master client")
    }

    /// Bootstraps a fresh realm and returns the master client, the realm's `admin-ui` client and
    /// the outcome.
    async fn realm(
        &self,
    ) -> (
        HttpKeycloak,
        HttpKeycloak,
        primehub_keycloak::bootstrap::BootstrapOutcome,
    ) {
        let master = self.master();
        let realm = random_realm();
        let outcome = bootstrap_realm(&master, &RealmBootstrap::new(&realm))
            .await
            .expect("bootstrap");
        let client = HttpKeycloak::new(HttpKeycloakConfig::new(
            self.url.clone(),
            &realm,
            Credentials::client(&realm, "admin-ui", &outcome.admin_ui_client_secret),
        ))
        .expect("admin-ui client");
        (master, client, outcome)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_is_idempotent_and_the_client_passes_conformance() {
    let Some(kc) = real_keycloak("conformance") else {
        return;
    };
    let master = kc.master();
    let realm = random_realm();
    let spec = RealmBootstrap::new(&realm).with_admin_user("phadmin", "phadmin-password-1");
    let first = bootstrap_realm(&master, &spec)
        .await
        .expect("first bootstrap");
    assert!(first.changed());
    assert!(first.created.iter().any(|c| c == "realm"), "{first:?}");
    assert!(
        first
            .created
            .iter()
            .any(|c| c == "user profile (unmanaged attributes, optional names and e-mail)")
    );
    let second = bootstrap_realm(&master, &spec)
        .await
        .expect("second bootstrap");
    assert!(
        second.created.is_empty(),
        "the second bootstrap changed {:?}",
        second.created
    );
    assert_eq!(first.admin_ui_client_secret, second.admin_ui_client_secret);
    assert_eq!(first.everyone_group_id, second.everyone_group_id);
    assert_eq!(first.admin_user_id, second.admin_user_id);
    assert_eq!(first.present.len(), 0);
    assert!(!second.present.is_empty());

    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        kc.url.clone(),
        &realm,
        Credentials::client(&realm, "admin-ui", &first.admin_ui_client_secret),
    ))
    .expect("admin-ui client");

    // The bootstrap's shape, seen through the client.
    let everyone = client
        .find_group_by_name("everyone")
        .await
        .expect("find everyone")
        .expect("everyone exists");
    assert_eq!(everyone.id, first.everyone_group_id);
    let defaults = client.default_groups().await.expect("default groups");
    assert_eq!(
        defaults.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["everyone"]
    );
    let phadmin = client
        .find_user_by_username("PHADMIN")
        .await
        .expect("find phadmin")
        .expect("phadmin exists");
    assert!(client.is_admin(&phadmin.id).await.expect("is_admin"));

    let settings = client.realm_settings().await.expect("realm settings");
    assert!(
        settings.admin_events_enabled && settings.admin_events_details_enabled,
        "the bootstrap turns admin events (with details) on: {settings:?}"
    );

    primehub_keycloak::conformance::run_all(&client).await;
    primehub_keycloak::conformance::primehub_client_scope_mappings(&client).await;
    let secrets = crate::grants::ClientSecrets {
        admin_ui: &first.admin_ui_client_secret,
        jupyterhub: &first.jupyterhub_client_secret,
    };
    primehub_keycloak::conformance::primehub_client_token_scopes(
        &client,
        async |client_id: &str, user: Option<(&str, &str)>| {
            crate::grants::http_grant(&kc.url, &realm, &secrets, client_id, user).await
        },
    )
    .await;
    primehub_keycloak::conformance::client_secrets(
        &client,
        &[("admin-ui", first.admin_ui_client_secret.as_str())],
    )
    .await;

    delete_realm(&master, &realm).await.expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primehub_attributes_survive_the_user_profile() {
    let Some(kc) = real_keycloak("attributes") else {
        return;
    };
    let (master, client, _) = kc.realm().await;
    let mut attributes = BTreeMap::new();
    attributes.insert("volumeCapacity".to_owned(), vec!["20G".to_owned()]);
    attributes.insert("timezone".to_owned(), vec!["Asia/Taipei".to_owned()]);
    let id = client
        .create_user(&NewUser {
            username: "Alice".into(),
            email: Some("Alice@Example.com".into()),
            enabled: true,
            attributes: attributes.clone(),
            password: Some("alice-password-1".into()),
            ..NewUser::default()
        })
        .await
        .expect("create user");
    let alice = client.get_user(&id).await.expect("get user");
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.attributes, attributes, "unmanaged attributes kept");

    // An update of one field keeps the others; attributes replace.
    client
        .update_user(
            &id,
            &UserUpdate {
                first_name: Some("Alice".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .expect("update first name");
    let alice = client.get_user(&id).await.expect("get user");
    assert_eq!(alice.first_name.as_deref(), Some("Alice"));
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.attributes, attributes);
    let mut replaced = BTreeMap::new();
    replaced.insert("volumeCapacity".to_owned(), vec!["50G".to_owned()]);
    client
        .update_user(
            &id,
            &UserUpdate {
                attributes: Some(replaced.clone()),
                ..UserUpdate::default()
            },
        )
        .await
        .expect("replace attributes");
    assert_eq!(
        client.get_user(&id).await.expect("get").attributes,
        replaced
    );

    // Group attributes, renames and the search/count pair.
    let mut group_attrs = BTreeMap::new();
    group_attrs.insert("quota-cpu".to_owned(), vec!["0.5".to_owned()]);
    group_attrs.insert(
        "admins".to_owned(),
        vec!["alice".to_owned(), "bob".to_owned()],
    );
    let gid = client
        .create_group(&NewGroup {
            name: "Team-A".into(),
            attributes: group_attrs.clone(),
        })
        .await
        .expect("create group");
    assert_eq!(
        client.get_group(&gid).await.expect("get").attributes,
        group_attrs
    );
    client
        .update_group(
            &gid,
            &GroupUpdate {
                name: Some("Team-B".into()),
                attributes: None,
            },
        )
        .await
        .expect("rename");
    let group = client.get_group(&gid).await.expect("get");
    assert_eq!(
        (group.name.as_str(), &group.attributes),
        ("Team-B", &group_attrs)
    );
    assert!(
        client
            .find_group_by_name("team-b")
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(client.count_groups(Some("eam-")).await.expect("count"), 1);
    let found = client
        .search_groups(Some("eam-"), Page::first(10))
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].attributes, group_attrs,
        "search returns attributes"
    );
    client.add_member(&gid, &id).await.expect("add member");
    let groups = client.user_groups(&id).await.expect("user groups");
    assert!(
        groups
            .iter()
            .any(|g| g.id == gid && g.attributes == group_attrs)
    );
    // The realm default group `everyone` was joined on creation.
    assert!(groups.iter().any(|g| g.name == "everyone"));
    assert_eq!(client.count_users(Some("lic")).await.expect("count"), 1);
    assert_eq!(
        client
            .search_users(Some("lic"), Page::first(10))
            .await
            .expect("search")
            .len(),
        1
    );

    // Error mapping names the object.
    match client.get_role("img:nope").await {
        Err(KeycloakError::NotFound { what }) => assert_eq!(what, "role img:nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.add_group_roles(&gid, &["img:nope".to_owned()]).await {
        Err(KeycloakError::NotFound { what }) => assert_eq!(what, "role img:nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client
        .create_user(&NewUser {
            username: "alice".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
    {
        Err(KeycloakError::Conflict { field, what }) => {
            assert!(what.contains("alice"), "{what}");
            assert_eq!(field, primehub_keycloak::ConflictField::Username);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }

    delete_realm(&master, client.realm())
        .await
        .expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_roles_filters_by_prefix_across_pages() {
    let Some(kc) = real_keycloak("roles") else {
        return;
    };
    let (master, client, _) = kc.realm().await;
    // 30 prefixed roles plus decoys that contain (but do not start with) the prefix.
    let mut expected = Vec::new();
    for i in 0..30 {
        let name = format!("img:r{i:02}");
        client.create_role(&name, None).await.expect("create role");
        expected.push(name);
    }
    for decoy in ["x-img:r99", "ds:img:r98", "IMG:upper"] {
        client.create_role(decoy, None).await.expect("create decoy");
    }
    let all = client
        .list_roles(Some("img:"), Page::first(1000))
        .await
        .expect("list");
    assert_eq!(
        all.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        expected
    );
    let page = client
        .list_roles(Some("img:"), Page { first: 25, max: 10 })
        .await
        .expect("page");
    assert_eq!(
        page.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["img:r25", "img:r26", "img:r27", "img:r28", "img:r29"]
    );
    delete_realm(&master, client.realm())
        .await
        .expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_after_token_expiry_share_one_grant() {
    let Some(kc) = real_keycloak("token refresh") else {
        return;
    };
    let (master, client, _) = kc.realm().await;
    client.count_users(None).await.expect("warm up");
    let grants = client.token_grants();
    assert_eq!(grants, 1);
    // Cached: no new grant.
    client.count_groups(None).await.expect("cached token");
    assert_eq!(client.token_grants(), 1);

    client.expire_token().await;
    let calls = (0..16).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.count_users(None).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.expect("join").expect("count_users");
    }
    assert_eq!(
        client.token_grants(),
        2,
        "one grant for 16 concurrent callers"
    );
    delete_realm(&master, client.realm())
        .await
        .expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_fail_each_call_without_killing_the_client() {
    let Some(kc) = real_keycloak("bad credentials") else {
        return;
    };
    let (master, _, outcome) = kc.realm().await;
    let wrong = HttpKeycloak::new(HttpKeycloakConfig::new(
        kc.url.clone(),
        &outcome.realm,
        Credentials::client(&outcome.realm, "admin-ui", "not-the-secret"),
    ))
    .expect("client");
    for _ in 0..2 {
        match wrong.count_users(None).await {
            Err(KeycloakError::Unauthorized { reason }) => {
                assert!(
                    !reason.contains("not-the-secret"),
                    "secret leaked: {reason}"
                )
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
    assert_eq!(wrong.token_grants(), 0);

    // An unreachable Keycloak is a transport error, after the retries.
    let mut config = HttpKeycloakConfig::new(
        Url::parse("http://127.0.0.1:9").expect("url"),
        "primehub",
        Credentials::client("primehub", "admin-ui", "x"),
    );
    config.retries = 1;
    let down = HttpKeycloak::new(config).expect("client");
    assert!(matches!(
        down.count_users(None).await,
        Err(KeycloakError::Transport { .. })
    ));
    delete_realm(&master, &outcome.realm)
        .await
        .expect("delete realm");
}

/// A plain HTTP client for what the admin trait does not do (revoking tokens).
fn raw_http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .expect("reqwest client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_and_the_call_retried_once() {
    let Some(kc) = real_keycloak("401 retry") else {
        return;
    };
    let (master, client, outcome) = kc.realm().await;
    client.count_users(None).await.expect("warm up");
    assert_eq!(client.token_grants(), 1);

    // Revoke every token of the realm issued so far (realm `notBefore`), behind the client's back.
    let http = raw_http();
    let token: serde_json::Value = http
        .post(
            kc.url
                .join("realms/master/protocol/openid-connect/token")
                .expect("url"),
        )
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", kc.admin.as_str()),
            ("password", kc.password.as_str()),
        ])
        .send()
        .await
        .expect("master token")
        .json()
        .await
        .expect("token json");
    let access = token["access_token"].as_str().expect("access_token");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let status = http
        .put(
            kc.url
                .join(&format!("admin/realms/{}", outcome.realm))
                .expect("url"),
        )
        .bearer_auth(access)
        .json(&serde_json::json!({ "notBefore": now + 1 }))
        .send()
        .await
        .expect("set notBefore")
        .status();
    assert!(status.is_success(), "set notBefore: {status}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    // The cached token now gets a 401; the client fetches a new one and repeats the call.
    client
        .count_users(None)
        .await
        .expect("call after revocation");
    assert_eq!(client.token_grants(), 2, "one new grant after the 401");
    delete_realm(&master, &outcome.realm)
        .await
        .expect("delete realm");
}

/// A password or offline grant at the real Keycloak's token endpoint through `admin-ui`.
async fn grant(
    kc: &RealKeycloak,
    outcome: &primehub_keycloak::bootstrap::BootstrapOutcome,
    form: &[(&str, &str)],
) -> serde_json::Value {
    let url = kc
        .url
        .join(&format!(
            "realms/{}/protocol/openid-connect/token",
            outcome.realm
        ))
        .expect("token url");
    let mut form = form.to_vec();
    form.push(("client_id", "admin-ui"));
    form.push(("client_secret", &outcome.admin_ui_client_secret));
    let response = raw_http()
        .post(url)
        .form(&form)
        .send()
        .await
        .expect("token request");
    let status = response.status();
    let body = response.text().await.expect("token body");
    assert!(status.is_success(), "token grant: {status}: {body}");
    serde_json::from_str(&body).expect("token json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_by_keycloak_verify_and_api_tokens_exchange() {
    use primehub_keycloak::TokenRejection;
    use primehub_keycloak::token::{TokenVerifier, TokenVerifierConfig};

    let Some(kc) = real_keycloak("tokens_issued_by_keycloak_verify_and_api_tokens_exchange") else {
        return;
    };
    let master = kc.master();
    let realm = random_realm();
    let password = "Ph-Passw0rd-for-tests";
    let outcome = bootstrap_realm(
        &master,
        &RealmBootstrap::new(&realm).with_admin_user("phadmin", password),
    )
    .await
    .expect("bootstrap with phadmin");
    let admin_id = outcome.admin_user_id.clone().expect("admin user id");
    let issuer = kc
        .url
        .join(&format!("realms/{realm}"))
        .expect("issuer")
        .to_string();

    let tokens = grant(
        &kc,
        &outcome,
        &[
            ("grant_type", "password"),
            ("username", "phadmin"),
            ("password", password),
        ],
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access_token");
    let verifier = TokenVerifier::new(TokenVerifierConfig::new(issuer.clone(), ["admin-ui"]))
        .expect("verifier");
    let who = verifier
        .verify(access)
        .await
        .expect("a real token verifies");
    assert_eq!(who.username, "phadmin");
    assert_eq!(who.user_id, admin_id);
    assert!(who.is_admin, "phadmin holds realm-management/realm-admin");
    assert_eq!(who.authorized_party.as_deref(), Some("admin-ui"));

    let wrong_audience =
        TokenVerifier::new(TokenVerifierConfig::new(issuer.clone(), ["jupyterhub"]))
            .expect("verifier");
    assert!(matches!(
        wrong_audience.verify(access).await,
        Err(KeycloakError::InvalidToken(
            TokenRejection::WrongAudience { .. }
        ))
    ));
    // The same signature over a payload that names someone else.
    let parts: Vec<&str> = access.split('.').collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .expect("payload base64");
    let mut claims: serde_json::Value = serde_json::from_slice(&payload).expect("payload json");
    claims["preferred_username"] = serde_json::json!("mallory");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).expect("json")),
        parts[2]
    );
    assert!(matches!(
        verifier.verify(&tampered).await,
        Err(KeycloakError::InvalidToken(TokenRejection::BadSignature))
    ));

    // An API token: an offline token of admin-ui, exchanged for an access token.
    let offline = grant(
        &kc,
        &outcome,
        &[
            ("grant_type", "password"),
            ("username", "phadmin"),
            ("password", password),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    let api_token = offline["refresh_token"].as_str().expect("offline token");
    let mut config = TokenVerifierConfig::new(issuer.clone(), ["admin-ui"]);
    config.api_token_client = Some(("admin-ui".into(), outcome.admin_ui_client_secret.clone()));
    let exchanging = TokenVerifier::new(config.clone()).expect("verifier");
    let who = exchanging
        .exchange_api_token(api_token)
        .await
        .expect("exchange the API token");
    assert_eq!(who.username, "phadmin");

    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        kc.url.clone(),
        &realm,
        Credentials::client(&realm, "admin-ui", &outcome.admin_ui_client_secret),
    ))
    .expect("admin-ui client");
    let sessions = client
        .offline_sessions(&admin_id, "admin-ui")
        .await
        .expect("offline sessions");
    assert_eq!(sessions.len(), 1, "the API token is an offline session");
    client
        .revoke_offline_sessions(&admin_id, "admin-ui")
        .await
        .expect("revoke");
    let fresh = TokenVerifier::new(config).expect("verifier");
    assert!(
        matches!(
            fresh.exchange_api_token(api_token).await,
            Err(KeycloakError::Unauthorized { .. })
        ),
        "a revoked API token is refused"
    );
    delete_realm(&master, &realm).await.expect("delete realm");
}

/// The SMTP sink `tools/smtp-sink/smtp-sink.sh start` runs (host, port, mail directory).
fn smtp_sink(test: &str) -> Option<(String, u16, std::path::PathBuf)> {
    let (Ok(host), Ok(port), Ok(dir)) = (
        std::env::var("PRIMEHUB_TEST_SMTP_HOST"),
        std::env::var("PRIMEHUB_TEST_SMTP_PORT"),
        std::env::var("PRIMEHUB_TEST_SMTP_DIR"),
    ) else {
        let why = format!(
            "SMTP sink tests ({test}: PRIMEHUB_TEST_SMTP_HOST/PORT/DIR not set; .ci/run starts tools/smtp-sink)"
        );
        assert!(
            std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
            "PRIMEHUB_TEST_REQUIRE_REAL=1 but not configured: {why}"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
        return None;
    };
    Some((
        host,
        port.parse().expect("PRIMEHUB_TEST_SMTP_PORT is a port"),
        dir.into(),
    ))
}

/// The messages in the sink's directory sent to `address` (raw text, soft line breaks of
/// quoted-printable bodies joined).
fn mails_to(dir: &std::path::Path, address: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the sink's directory") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read mail");
        let rcpt = text
            .lines()
            .find_map(|l| l.strip_prefix("X-Sink-Rcpt-To: "))
            .unwrap_or_default();
        if rcpt.split(", ").any(|r| r.eq_ignore_ascii_case(address)) {
            out.push(text.replace("=\r\n", "").replace("=\n", ""));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_actions_email_reaches_the_smtp_sink() {
    let Some(kc) = real_keycloak("execute-actions e-mail") else {
        return;
    };
    let Some((host, port, dir)) = smtp_sink("execute-actions e-mail") else {
        return;
    };
    let (master, client, outcome) = kc.realm().await;
    let smtp = primehub_keycloak::SmtpSettings {
        host,
        port: Some(port),
        from: "primehub@example.com".into(),
        from_display_name: Some("PrimeHub".into()),
        ..primehub_keycloak::SmtpSettings::default()
    };
    let (_, address) =
        primehub_keycloak::conformance::execute_actions_email_delivers(&client, &smtp).await;
    // Keycloak hands the mail to the SMTP server before it answers, and the sink writes it
    // before it accepts: it is there now.
    let mails = mails_to(&dir, &address);
    assert_eq!(mails.len(), 1, "one mail to {address} in {}", dir.display());
    let mail = &mails[0];
    assert!(
        mail.contains("X-Sink-Mail-From: primehub@example.com"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(
            "/realms/{}/login-actions/action-token",
            outcome.realm
        )),
        "the mail carries the action link: {mail}"
    );
    delete_realm(&master, &outcome.realm)
        .await
        .expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_totp_on_a_user_imported_with_an_otp_credential() {
    let Some(kc) = real_keycloak("remove TOTP") else {
        return;
    };
    let (master, client, outcome) = kc.realm().await;
    let http = raw_http();
    let token: serde_json::Value = http
        .post(
            kc.url
                .join("realms/master/protocol/openid-connect/token")
                .expect("url"),
        )
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", kc.admin.as_str()),
            ("password", kc.password.as_str()),
        ])
        .send()
        .await
        .expect("master token")
        .json()
        .await
        .expect("token json");
    let access = token["access_token"].as_str().expect("access_token");
    // A user with a password and an authenticator app, as a realm partial import creates it.
    let import = serde_json::json!({
        "ifResourceExists": "FAIL",
        "users": [{
            "username": "otp-user",
            "email": "otp-user@example.com",
            "enabled": true,
            "credentials": [
                {"type": "password", "value": "Otp-user-passw0rd"},
                {
                    "type": "otp",
                    "userLabel": "phone",
                    "secretData": "{\"value\":\"JBSWY3DPEHPK3PXP\"}",
                    "credentialData": "{\"subType\":\"totp\",\"digits\":6,\"counter\":0,\"period\":30,\"algorithm\":\"HmacSHA1\"}"
                }
            ]
        }]
    });
    let response = http
        .post(
            kc.url
                .join(&format!("admin/realms/{}/partialImport", outcome.realm))
                .expect("url"),
        )
        .bearer_auth(access)
        .json(&import)
        .send()
        .await
        .expect("partial import");
    let status = response.status();
    let body = response.text().await.expect("body");
    assert!(status.is_success(), "partial import: {status}: {body}");
    let user = client
        .find_user_by_username("otp-user")
        .await
        .expect("find")
        .expect("imported user");
    primehub_keycloak::conformance::remove_totp(&client, &user.id).await;
    let left = client
        .user_credentials(&user.id)
        .await
        .expect("credentials");
    assert_eq!(
        left.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
        ["password"],
        "the password stays"
    );
    delete_realm(&master, &outcome.realm)
        .await
        .expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_bootstrap_changes_nothing_in_a_realm_primehubs_script_set_up() {
    use crate::primehub_replay::{Kcadm, ours_changes_nothing_primehub_set};
    let Some(kc) = real_keycloak("PrimeHub's bootstrap replayed") else {
        return;
    };
    let master = kc.master();
    let realm = random_realm();
    let mut kcadm = Kcadm::login(&kc.url, &kc.admin, &kc.password).await;
    ours_changes_nothing_primehub_set(&mut kcadm, &master, &realm).await;
    delete_realm(&master, &realm).await.expect("delete realm");
}

/// The state cache on a real Keycloak: filled from a bootstrapped realm, it picks up a change
/// made directly through the admin API (another client, as Keycloak's console or a second API
/// replica would) from Keycloak's admin events, in one poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_follows_direct_changes_through_admin_events() {
    use std::sync::Arc;

    use primehub_keycloak::cache::{CacheConfig, KeycloakCache};
    use primehub_model::clock::SystemClock;

    let Some(kc) = real_keycloak("cache") else {
        return;
    };
    let (master, client, outcome) = kc.realm().await;
    let realm = client.realm().to_owned();
    let cache = KeycloakCache::load(
        Arc::new(client.clone()),
        Arc::new(SystemClock),
        CacheConfig::default(),
    )
    .await
    .expect("fill");
    assert!(
        cache.stats().admin_events_enabled,
        "the bootstrap enables them"
    );
    let s = cache.snapshot();
    assert_eq!(
        s.everyone_group_id(),
        Some(outcome.everyone_group_id.as_str())
    );

    // Another admin client changes the realm directly.
    let other = HttpKeycloak::new(HttpKeycloakConfig::new(
        kc.url.clone(),
        &realm,
        Credentials::client(&realm, "admin-ui", &outcome.admin_ui_client_secret),
    ))
    .expect("second client");
    let uid = other
        .create_user(&NewUser {
            username: "cache-follow".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .expect("create_user");
    let gid = other
        .create_group(&NewGroup {
            name: "cache-follow-group".into(),
            attributes: BTreeMap::new(),
        })
        .await
        .expect("create_group");
    other.add_member(&gid, &uid).await.expect("add_member");
    other
        .create_role("img:cache-follow", None)
        .await
        .expect("create_role");
    other
        .add_group_roles(&gid, &["img:cache-follow".to_owned()])
        .await
        .expect("add_group_roles");
    other.set_admin(&uid, true).await.expect("set_admin");
    assert!(cache.snapshot().user(&uid).is_none());

    let applied = cache.poll_events_once().await.expect("poll");
    assert!(applied >= 6, "{applied} events");
    let s = cache.snapshot();
    assert_eq!(
        s.user(&uid).map(|u| u.user.username.as_str()),
        Some("cache-follow")
    );
    assert!(s.user_group_ids(&uid).contains(&gid));
    assert!(s.user_group_ids(&uid).contains(&outcome.everyone_group_id));
    assert_eq!(s.group_roles(&gid), ["img:cache-follow".to_owned()]);
    assert!(s.is_admin(&uid));
    assert_eq!(
        cache.poll_events_once().await.expect("poll"),
        0,
        "applied once"
    );

    other.delete_group(&gid).await.expect("delete_group");
    other.delete_user(&uid).await.expect("delete_user");
    cache.poll_events_once().await.expect("poll");
    let s = cache.snapshot();
    assert!(s.user(&uid).is_none());
    assert!(s.group(&gid).is_none());
    delete_realm(&master, &realm).await.expect("delete realm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rest_face_answers_as_keycloak() {
    let Some(kc) = real_keycloak("admin REST parity") else {
        return;
    };
    // The same requests and expectations the fake's HTTP face is held to
    // (`admin_rest_parity::admin_rest_face_answers_as_keycloak_on_the_fake`).
    let target = crate::admin_rest_parity::Target::new(&kc.url, &kc.admin, &kc.password).await;
    crate::admin_rest_parity::run(&target).await;
}
