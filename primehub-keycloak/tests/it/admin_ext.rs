//! The admin calls of issue 7 on the fake, in process and through its HTTP face: what a test
//! can only check on the fake (the outbox, an OTP credential set up by the fake's helper), plus
//! a counting decorator composed through `Arc`/`Box`.
#![cfg(feature = "fake")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use primehub_keycloak::conformance;
use primehub_keycloak::fake::{BootstrapOptions, FakeKeycloak, FakeRealm, FakeServer};
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::representation::required_action;
use primehub_keycloak::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, CompositeRoles, Credential,
    ExecuteActionsEmail, Group, GroupUpdate, KeycloakAdmin, NewGroup, NewUser, OfflineSession,
    Page, RealmSettings, RealmSettingsUpdate, Result, Role, RoleUpdate, SmtpSettings, User,
    UserUpdate,
};

fn smtp() -> SmtpSettings {
    SmtpSettings {
        host: "mail.test.invalid".into(),
        port: Some(2525),
        from: "primehub@example.com".into(),
        ..SmtpSettings::default()
    }
}

async fn served() -> (FakeKeycloak, FakeServer, HttpKeycloak, String) {
    let kc = FakeKeycloak::new().unwrap();
    let server = kc
        .serve(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let shape = kc
        .bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let client = HttpKeycloak::new(HttpKeycloakConfig::new(
        server.url().parse().unwrap(),
        "primehub",
        Credentials::client("primehub", "admin-ui", &shape.admin_ui_client_secret),
    ))
    .unwrap();
    (kc, server, client, shape.admin_ui_client_secret)
}

fn assert_invitation(realm: &FakeRealm, user_id: &str, address: &str) {
    let sent = realm.sent_emails().unwrap();
    let mail = sent
        .iter()
        .find(|m| m.to == address)
        .unwrap_or_else(|| panic!("no mail to {address}: {sent:?}"));
    assert_eq!(mail.user_id, user_id);
    assert_eq!(mail.from, "primehub@example.com");
    assert_eq!(mail.smtp_host, "mail.test.invalid");
    assert_eq!(
        mail.actions,
        [
            required_action::VERIFY_EMAIL,
            required_action::UPDATE_PASSWORD
        ]
    );
    assert_eq!(mail.lifespan, 86_400);
    assert_eq!(mail.client_id, "account");
    assert_eq!(sent.len(), 1, "the refused send (no sender) sent nothing");
}

#[tokio::test]
async fn execute_actions_email_lands_in_the_fake_outbox() {
    let kc = FakeKeycloak::new().unwrap();
    kc.bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    let (uid, address) = conformance::execute_actions_email_delivers(&realm, &smtp()).await;
    assert_invitation(&realm, &uid, &address);
}

#[tokio::test]
async fn execute_actions_email_through_the_http_face_lands_in_the_outbox() {
    let (kc, server, client, _) = served().await;
    let (uid, address) = conformance::execute_actions_email_delivers(&client, &smtp()).await;
    assert_invitation(&kc.realm("primehub").unwrap(), &uid, &address);
    server.shutdown().await;
}

#[tokio::test]
async fn remove_totp_in_process_and_through_the_http_face() {
    let (kc, server, client, secret) = served().await;
    let realm = kc.realm("primehub").unwrap();
    for (kc_under_test, name) in [
        (&realm as &dyn KeycloakAdmin, "otp-in-process"),
        (&client as &dyn KeycloakAdmin, "otp-over-http"),
    ] {
        let id = kc_under_test
            .create_user(&NewUser {
                username: name.into(),
                enabled: true,
                password: Some("pw-123456".into()),
                ..NewUser::default()
            })
            .await
            .unwrap();
        realm.add_otp_credential(name, Some("phone")).unwrap();
        let creds = kc_under_test.user_credentials(&id).await.unwrap();
        assert_eq!(
            creds.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            ["password", "otp"]
        );
        assert_eq!(creds[1].user_label.as_deref(), Some("phone"));
        conformance::remove_totp(kc_under_test, &id).await;
    }
    // The same set-up as on a real Keycloak: a partial import of a user with an OTP credential.
    let token = kc
        .realm("master")
        .unwrap()
        .token_password("admin-cli", None, "admin", "admin", None)
        .unwrap()
        .access_token;
    let import = serde_json::json!({
        "ifResourceExists": "FAIL",
        "users": [{"username": "otp-imported", "enabled": true,
                   "credentials": [{"type": "password", "value": "pw-123456"},
                                   {"type": "otp", "userLabel": "phone",
                                    "secretData": r#"{"value":"JBSWY3DPEHPK3PXP"}"#}]}]
    });
    let url = format!("{}/admin/realms/primehub/partialImport", server.url());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let resp = http
        .post(&url)
        .bearer_auth(&token)
        .json(&import)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(report["added"], 1);
    let again = http
        .post(&url)
        .bearer_auth(&token)
        .json(&import)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "FAIL on an existing user");
    let imported = client
        .find_user_by_username("otp-imported")
        .await
        .unwrap()
        .unwrap();
    conformance::remove_totp(&client, &imported.id).await;
    let groups_too = serde_json::json!({"users": [], "groups": [{"name": "g"}]});
    let refused = http
        .post(&url)
        .bearer_auth(&token)
        .json(&groups_too)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        400,
        "the fake refuses what it does not import"
    );

    conformance::client_secrets(&client, &[("admin-ui", secret.as_str())]).await;
    conformance::client_secrets(&realm, &[("admin-ui", secret.as_str())]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn admin_events_name_the_caller_over_http() {
    let (kc, server, client, _) = served().await;
    client
        .update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(true),
            // The bootstrap switches details on; this test checks the record without them.
            admin_events_details_enabled: Some(false),
            ..RealmSettingsUpdate::default()
        })
        .await
        .unwrap();
    let id = client
        .create_user(&NewUser {
            username: "audited".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    let events = client
        .admin_events(&AdminEventQuery::default())
        .await
        .unwrap();
    let created = events
        .iter()
        .find(|e| e.resource_path.as_deref() == Some(format!("users/{id}").as_str()))
        .unwrap();
    let realm = kc.realm("primehub").unwrap();
    let service_account = realm
        .find_user_by_username("service-account-admin-ui")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        created.auth_details.user_id.as_deref(),
        Some(service_account.id.as_str()),
        "the admin-ui service account made the change"
    );
    assert_eq!(
        created.auth_details.client_id.as_deref(),
        Some(realm.client_uuid("admin-ui").unwrap().as_str())
    );
    assert_eq!(
        created.representation, None,
        "details are off: no representation"
    );
    // While admin events are off nothing is recorded.
    client
        .update_realm_settings(&RealmSettingsUpdate {
            admin_events_enabled: Some(false),
            ..RealmSettingsUpdate::default()
        })
        .await
        .unwrap();
    let before = client
        .admin_events(&AdminEventQuery::default())
        .await
        .unwrap()
        .len();
    client.delete_user(&id).await.unwrap();
    assert_eq!(
        client
            .admin_events(&AdminEventQuery::default())
            .await
            .unwrap()
            .len(),
        before
    );
    server.shutdown().await;
}

/// A decorator that counts the calls it forwards, generic over the client it wraps.
struct Counting<K> {
    inner: K,
    calls: Mutex<BTreeMap<&'static str, u32>>,
}

impl<K> Counting<K> {
    fn new(inner: K) -> Self {
        Counting {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn hit(&self, method: &'static str) {
        *self.calls.lock().unwrap().entry(method).or_default() += 1;
    }

    fn count(&self, method: &str) -> u32 {
        self.calls.lock().unwrap().get(method).copied().unwrap_or(0)
    }
}

#[async_trait]
impl<K: KeycloakAdmin> KeycloakAdmin for Counting<K> {
    fn realm(&self) -> &str {
        self.inner.realm()
    }
    async fn get_user(&self, id: &str) -> Result<User> {
        self.hit("get_user");
        self.inner.get_user(id).await
    }
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.hit("find_user_by_username");
        self.inner.find_user_by_username(username).await
    }
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.hit("find_user_by_email");
        self.inner.find_user_by_email(email).await
    }
    async fn search_users<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<User>> {
        self.hit("search_users");
        self.inner.search_users(search, page).await
    }
    async fn count_users<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        self.hit("count_users");
        self.inner.count_users(search).await
    }
    async fn create_user(&self, user: &NewUser) -> Result<String> {
        self.hit("create_user");
        self.inner.create_user(user).await
    }
    async fn update_user(&self, id: &str, update: &UserUpdate) -> Result<()> {
        self.hit("update_user");
        self.inner.update_user(id, update).await
    }
    async fn delete_user(&self, id: &str) -> Result<()> {
        self.hit("delete_user");
        self.inner.delete_user(id).await
    }
    async fn reset_password(&self, id: &str, password: &str, temporary: bool) -> Result<()> {
        self.hit("reset_password");
        self.inner.reset_password(id, password, temporary).await
    }
    async fn search_groups<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<Group>> {
        self.hit("search_groups");
        self.inner.search_groups(search, page).await
    }
    async fn count_groups<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        self.hit("count_groups");
        self.inner.count_groups(search).await
    }
    async fn get_group(&self, id: &str) -> Result<Group> {
        self.hit("get_group");
        self.inner.get_group(id).await
    }
    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>> {
        self.hit("find_group_by_name");
        self.inner.find_group_by_name(name).await
    }
    async fn create_group(&self, group: &NewGroup) -> Result<String> {
        self.hit("create_group");
        self.inner.create_group(group).await
    }
    async fn update_group(&self, id: &str, update: &GroupUpdate) -> Result<()> {
        self.hit("update_group");
        self.inner.update_group(id, update).await
    }
    async fn delete_group(&self, id: &str) -> Result<()> {
        self.hit("delete_group");
        self.inner.delete_group(id).await
    }
    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.hit("add_member");
        self.inner.add_member(group_id, user_id).await
    }
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.hit("remove_member");
        self.inner.remove_member(group_id, user_id).await
    }
    async fn list_members(&self, group_id: &str, page: Page) -> Result<Vec<User>> {
        self.hit("list_members");
        self.inner.list_members(group_id, page).await
    }
    async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
        self.hit("user_groups");
        self.inner.user_groups(user_id).await
    }
    async fn create_subgroup(&self, parent_id: &str, group: &NewGroup) -> Result<String> {
        self.hit("create_subgroup");
        self.inner.create_subgroup(parent_id, group).await
    }
    async fn list_subgroups(&self, parent_id: &str, page: Page) -> Result<Vec<Group>> {
        self.hit("list_subgroups");
        self.inner.list_subgroups(parent_id, page).await
    }
    async fn move_group<'a>(&self, group_id: &str, parent_id: Option<&'a str>) -> Result<()> {
        self.hit("move_group");
        self.inner.move_group(group_id, parent_id).await
    }
    async fn find_group_by_path(&self, path: &str) -> Result<Option<Group>> {
        self.hit("find_group_by_path");
        self.inner.find_group_by_path(path).await
    }
    async fn create_role<'a>(&self, name: &str, description: Option<&'a str>) -> Result<()> {
        self.hit("create_role");
        self.inner.create_role(name, description).await
    }
    async fn get_role(&self, name: &str) -> Result<Role> {
        self.hit("get_role");
        self.inner.get_role(name).await
    }
    async fn delete_role(&self, name: &str) -> Result<()> {
        self.hit("delete_role");
        self.inner.delete_role(name).await
    }
    async fn list_roles<'a>(&self, prefix: Option<&'a str>, page: Page) -> Result<Vec<Role>> {
        self.hit("list_roles");
        self.inner.list_roles(prefix, page).await
    }
    async fn update_role(&self, name: &str, update: &RoleUpdate) -> Result<()> {
        self.hit("update_role");
        self.inner.update_role(name, update).await
    }
    async fn role_users(&self, name: &str, page: Page) -> Result<Vec<User>> {
        self.hit("role_users");
        self.inner.role_users(name, page).await
    }
    async fn role_groups(&self, name: &str, page: Page) -> Result<Vec<Group>> {
        self.hit("role_groups");
        self.inner.role_groups(name, page).await
    }
    async fn add_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        self.hit("add_group_roles");
        self.inner.add_group_roles(group_id, roles).await
    }
    async fn remove_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        self.hit("remove_group_roles");
        self.inner.remove_group_roles(group_id, roles).await
    }
    async fn list_group_roles(&self, group_id: &str) -> Result<Vec<Role>> {
        self.hit("list_group_roles");
        self.inner.list_group_roles(group_id).await
    }
    async fn is_admin(&self, user_id: &str) -> Result<bool> {
        self.hit("is_admin");
        self.inner.is_admin(user_id).await
    }
    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
        self.hit("set_admin");
        self.inner.set_admin(user_id, admin).await
    }
    async fn admin_user_ids(&self) -> Result<Vec<String>> {
        self.hit("admin_user_ids");
        self.inner.admin_user_ids().await
    }
    async fn default_groups(&self) -> Result<Vec<Group>> {
        self.hit("default_groups");
        self.inner.default_groups().await
    }
    async fn add_default_group(&self, group_id: &str) -> Result<()> {
        self.hit("add_default_group");
        self.inner.add_default_group(group_id).await
    }
    async fn remove_default_group(&self, group_id: &str) -> Result<()> {
        self.hit("remove_default_group");
        self.inner.remove_default_group(group_id).await
    }
    async fn offline_sessions(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<OfflineSession>> {
        self.hit("offline_sessions");
        self.inner.offline_sessions(user_id, client_id).await
    }
    async fn revoke_offline_sessions(&self, user_id: &str, client_id: &str) -> Result<()> {
        self.hit("revoke_offline_sessions");
        self.inner.revoke_offline_sessions(user_id, client_id).await
    }
    async fn user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.hit("user_realm_roles");
        self.inner.user_realm_roles(user_id).await
    }
    async fn effective_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.hit("effective_user_realm_roles");
        self.inner.effective_user_realm_roles(user_id).await
    }
    async fn add_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.hit("add_user_roles");
        self.inner.add_user_roles(user_id, roles).await
    }
    async fn remove_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.hit("remove_user_roles");
        self.inner.remove_user_roles(user_id, roles).await
    }
    async fn available_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.hit("available_user_realm_roles");
        self.inner.available_user_realm_roles(user_id).await
    }
    async fn execute_actions_email(
        &self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()> {
        self.hit("execute_actions_email");
        self.inner.execute_actions_email(user_id, request).await
    }
    async fn user_credentials(&self, user_id: &str) -> Result<Vec<Credential>> {
        self.hit("user_credentials");
        self.inner.user_credentials(user_id).await
    }
    async fn remove_totp(&self, user_id: &str) -> Result<()> {
        self.hit("remove_totp");
        self.inner.remove_totp(user_id).await
    }
    async fn realm_settings(&self) -> Result<RealmSettings> {
        self.hit("realm_settings");
        self.inner.realm_settings().await
    }
    async fn update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()> {
        self.hit("update_realm_settings");
        self.inner.update_realm_settings(update).await
    }
    async fn client_secret(&self, client_id: &str) -> Result<Option<String>> {
        self.hit("client_secret");
        self.inner.client_secret(client_id).await
    }
    async fn client_scope_mappings(&self, client_id: &str) -> Result<ClientScopeMappings> {
        self.hit("client_scope_mappings");
        self.inner.client_scope_mappings(client_id).await
    }
    async fn role_composites(&self, name: &str) -> Result<CompositeRoles> {
        self.hit("role_composites");
        self.inner.role_composites(name).await
    }
    async fn add_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.hit("add_role_composites");
        self.inner.add_role_composites(name, roles).await
    }
    async fn remove_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.hit("remove_role_composites");
        self.inner.remove_role_composites(name, roles).await
    }
    async fn client_role_composites(&self, client_id: &str, role: &str) -> Result<CompositeRoles> {
        self.hit("client_role_composites");
        self.inner.client_role_composites(client_id, role).await
    }
    async fn admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>> {
        self.hit("admin_events");
        self.inner.admin_events(query).await
    }
}

#[tokio::test]
async fn a_counting_decorator_composes_through_arc_and_box() {
    let kc = FakeKeycloak::new().unwrap();
    kc.bootstrap_primehub("primehub", &BootstrapOptions::default())
        .await
        .unwrap();
    // The decorator wraps an `Arc<FakeRealm>` (the blanket impl), and is itself shared as an
    // `Arc`, boxed as a trait object, and run through the whole conformance suite.
    let realm = Arc::new(kc.realm("primehub").unwrap());
    let counting = Arc::new(Counting::new(Arc::clone(&realm)));
    let boxed: Box<dyn KeycloakAdmin> = Box::new(Arc::clone(&counting));
    assert_eq!(boxed.realm(), "primehub");
    conformance::run_all(&boxed).await;
    assert!(counting.count("create_user") > 10);
    assert!(counting.count("admin_events") >= 5);
    assert_eq!(counting.count("remove_totp"), 0);

    // Arc<dyn KeycloakAdmin> is a KeycloakAdmin too: decorators nest.
    let shared: Arc<dyn KeycloakAdmin> = counting.clone();
    let outer = Counting::new(shared);
    let id = outer
        .create_user(&NewUser {
            username: "through-two-decorators".into(),
            enabled: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    assert_eq!(outer.count("create_user"), 1);
    assert_eq!(
        realm.get_user(&id).await.unwrap().username,
        "through-two-decorators",
        "the call reached the fake"
    );
}
