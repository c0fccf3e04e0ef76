//! The fake's state: realms with users, groups, roles, clients, mappings and sessions, and the
//! operations on them with Keycloak's rules. Everything here is synchronous and runs under the
//! [`FakeKeycloak`](super::FakeKeycloak) mutex.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::keys::FakeSigningKey;
use crate::admin::{REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::{ConflictField, KeycloakError, Result};
use crate::representation::{
    AdminEvent, AdminEventAuth, Attributes, Credential, ExecuteActionsEmail, Group, OTP_CREDENTIAL,
    OfflineSession, Page, Role, SECRET_MASK, User, required_action,
};

/// The realm role that lets a user ask for offline tokens.
pub(crate) const OFFLINE_ACCESS_ROLE: &str = "offline_access";
/// The realm role Keycloak gives every user for UMA.
pub(crate) const UMA_AUTHORIZATION_ROLE: &str = "uma_authorization";

/// Everything behind the [`FakeKeycloak`](super::FakeKeycloak) mutex.
pub(crate) struct Store {
    pub realms: BTreeMap<String, RealmState>,
    pub key: FakeSigningKey,
    pub clock: Arc<dyn primehub_model::clock::Clock>,
    pub deterministic: bool,
    pub counter: u128,
    pub base_url: String,
    pub access_lifespan: i64,
    pub refresh_lifespan: i64,
}

impl Store {
    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_unix_ms()
    }

    /// A new id: a random UUID, or a counter-based one in deterministic mode.
    pub fn new_id(&mut self) -> String {
        if self.deterministic {
            self.counter += 1;
            uuid::Uuid::from_u128(self.counter).to_string()
        } else {
            uuid::Uuid::new_v4().to_string()
        }
    }

    pub fn realm(&self, name: &str) -> Result<&RealmState> {
        self.realms
            .get(name)
            .ok_or_else(|| KeycloakError::not_found(format!("realm {name}")))
    }

    pub fn realm_mut(&mut self, name: &str) -> Result<&mut RealmState> {
        self.realms
            .get_mut(name)
            .ok_or_else(|| KeycloakError::not_found(format!("realm {name}")))
    }

    /// The issuer of tokens of a realm.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{}", self.base_url.trim_end_matches('/'), realm)
    }

    /// Creates a realm as Keycloak 26.7 does: the built-in realm roles and clients (see
    /// `BUILTIN_CLIENTS`).
    pub fn create_realm(&mut self, name: &str) -> Result<()> {
        if name.trim().is_empty() {
            return Err(KeycloakError::invalid("realm", "must not be empty"));
        }
        if self.realms.contains_key(name) {
            return Err(KeycloakError::conflict(format!(
                "Conflict detected. See logs for details (realm {name} exists)"
            )));
        }
        let id = self.new_id();
        let mut realm = RealmState::new(id, name);
        // Every Keycloak realm's realm roles: `offline_access`, `uma_authorization` and the
        // composite `default-roles-<realm>`, which every new user gets.
        let offline = self.new_id();
        let uma = self.new_id();
        let default_roles = self.new_id();
        for (id, role_name, description) in [
            (&offline, OFFLINE_ACCESS_ROLE, "${role_offline-access}"),
            (&uma, UMA_AUTHORIZATION_ROLE, "${role_uma_authorization}"),
        ] {
            realm.roles.insert(
                id.clone(),
                RoleRec::new(id.clone(), role_name, Some(description), None),
            );
        }
        let mut default_role = RoleRec::new(
            default_roles.clone(),
            &format!("default-roles-{name}"),
            Some("${role_default-roles}"),
            None,
        );
        default_role.composites = BTreeSet::from([offline, uma]);
        realm.roles.insert(default_roles.clone(), default_role);
        realm.default_role = default_roles.clone();
        // Keycloak 26.7's built-in clients, with their roles and composites.
        for builtin in BUILTIN_CLIENTS {
            let client_uuid = self.new_id();
            let mut client =
                ClientRec::new(client_uuid.clone(), builtin.client_id, None, builtin.public);
            builtin.shape(&mut client, name);
            for mapper in &mut client.protocol_mappers {
                if let Some(obj) = mapper.as_object_mut() {
                    obj.insert("id".into(), json!(self.new_id()));
                }
            }
            realm.clients.insert(client_uuid.clone(), client);
            let mut by_name: BTreeMap<&str, String> = BTreeMap::new();
            for role in builtin.roles {
                let role_id = self.new_id();
                realm.roles.insert(
                    role_id.clone(),
                    RoleRec::new(
                        role_id.clone(),
                        role,
                        Some(&format!("${{role_{role}}}")),
                        Some(&client_uuid),
                    ),
                );
                by_name.insert(role, role_id);
            }
            for (parent, children) in builtin.composites {
                let ids: BTreeSet<String> = children
                    .iter()
                    .filter_map(|c| by_name.get(c).cloned())
                    .collect();
                if let Some(role) = by_name.get(parent).and_then(|id| realm.roles.get_mut(id)) {
                    role.composites = ids;
                }
            }
            for role in builtin.in_default_roles {
                if let (Some(id), Some(default)) =
                    (by_name.get(role), realm.roles.get_mut(&default_roles))
                {
                    default.composites.insert(id.clone());
                }
            }
            for (owner, role) in builtin.scope_mappings {
                let target = realm
                    .clients
                    .values()
                    .find(|c| c.client_id == *owner)
                    .map(|c| c.id.clone());
                let role_id = target.and_then(|t| {
                    realm
                        .roles
                        .values()
                        .find(|r| r.client.as_deref() == Some(t.as_str()) && r.name == *role)
                        .map(|r| r.id.clone())
                });
                if let (Some(role_id), Some(client)) =
                    (role_id, realm.clients.get_mut(&client_uuid))
                {
                    client.scope_roles.insert(role_id);
                }
            }
        }
        self.realms.insert(name.to_owned(), realm);
        Ok(())
    }
}

/// One of the clients Keycloak 26.7 creates in every realm, as `GET clients/{id}` shows it.
struct BuiltinClient {
    client_id: &'static str,
    public: bool,
    bearer_only: bool,
    standard_flow: bool,
    direct_access: bool,
    full_scope_allowed: bool,
    /// `rootUrl`; `baseUrl` and the redirect URI (`<base>*`) under `/{prefix}/<realm>/{suffix}`.
    urls: Option<(&'static str, &'static str, &'static str)>,
    web_origins: &'static [&'static str],
    attributes: &'static [(&'static str, &'static str)],
    /// The roles Keycloak gives the client (descriptions `${role_<name>}`).
    roles: &'static [&'static str],
    /// Composite client roles: parent → children (roles of the same client).
    composites: &'static [(&'static str, &'static [&'static str])],
    /// Roles `default-roles-<realm>` contains.
    in_default_roles: &'static [&'static str],
    /// Scope mappings: (owning clientId, role) — the owner is created before.
    scope_mappings: &'static [(&'static str, &'static str)],
    /// Protocol mappers: (name, mapper type).
    mappers: &'static [(&'static str, &'static str)],
    /// The admin's `access` to the client: `realm-management` is view-only.
    manageable: bool,
}

/// The roles of `realm-management` besides `realm-admin` (which contains them all).
const REALM_MANAGEMENT_ROLES: &[&str] = &[
    "create-client",
    "impersonation",
    "manage-authorization",
    "manage-clients",
    "manage-events",
    "manage-identity-providers",
    "manage-organizations",
    "manage-realm",
    "manage-users",
    "query-clients",
    "query-groups",
    "query-organizations",
    "query-realms",
    "query-users",
    "view-authorization",
    "view-clients",
    "view-events",
    "view-identity-providers",
    "view-organizations",
    "view-realm",
    "view-users",
];

/// Keycloak 26.7's built-in clients of a new realm (checked against a real server: their
/// roles, composites, scope mappings and representations), in the order they are created.
const BUILTIN_CLIENTS: &[BuiltinClient] = &[
    BuiltinClient {
        client_id: REALM_MANAGEMENT_CLIENT,
        public: false,
        bearer_only: true,
        standard_flow: true,
        direct_access: false,
        full_scope_allowed: false,
        urls: None,
        web_origins: &[],
        attributes: &[("realm_client", "true")],
        roles: &[
            "create-client",
            "impersonation",
            "manage-authorization",
            "manage-clients",
            "manage-events",
            "manage-identity-providers",
            "manage-organizations",
            "manage-realm",
            "manage-users",
            "query-clients",
            "query-groups",
            "query-organizations",
            "query-realms",
            "query-users",
            REALM_ADMIN_ROLE,
            "view-authorization",
            "view-clients",
            "view-events",
            "view-identity-providers",
            "view-organizations",
            "view-realm",
            "view-users",
        ],
        composites: &[
            (REALM_ADMIN_ROLE, REALM_MANAGEMENT_ROLES),
            ("view-clients", &["query-clients"]),
            ("view-users", &["query-groups", "query-users"]),
            ("view-organizations", &["query-organizations"]),
        ],
        in_default_roles: &[],
        scope_mappings: &[],
        mappers: &[],
        manageable: false,
    },
    BuiltinClient {
        client_id: "account",
        public: true,
        bearer_only: false,
        standard_flow: true,
        direct_access: false,
        full_scope_allowed: false,
        urls: Some(("${authBaseUrl}", "realms", "account/")),
        web_origins: &[],
        attributes: &[
            ("post.logout.redirect.uris", "+"),
            ("realm_client", "false"),
        ],
        roles: &[
            "delete-account",
            "manage-account",
            "manage-account-links",
            "manage-consent",
            "view-applications",
            "view-consent",
            "view-groups",
            "view-profile",
        ],
        composites: &[
            ("manage-account", &["manage-account-links"]),
            ("manage-consent", &["view-consent"]),
        ],
        in_default_roles: &["manage-account", "view-profile"],
        scope_mappings: &[],
        mappers: &[],
        manageable: true,
    },
    BuiltinClient {
        client_id: "account-console",
        public: true,
        bearer_only: false,
        standard_flow: true,
        direct_access: false,
        full_scope_allowed: false,
        urls: Some(("${authBaseUrl}", "realms", "account/")),
        web_origins: &[],
        attributes: &[
            ("pkce.code.challenge.method", "S256"),
            ("post.logout.redirect.uris", "+"),
            ("realm_client", "false"),
        ],
        roles: &[],
        composites: &[],
        in_default_roles: &[],
        scope_mappings: &[("account", "manage-account"), ("account", "view-groups")],
        mappers: &[("audience resolve", "oidc-audience-resolve-mapper")],
        manageable: true,
    },
    BuiltinClient {
        client_id: "broker",
        public: false,
        bearer_only: true,
        standard_flow: true,
        direct_access: false,
        full_scope_allowed: false,
        urls: None,
        web_origins: &[],
        attributes: &[("realm_client", "true")],
        roles: &["read-token"],
        composites: &[],
        in_default_roles: &[],
        scope_mappings: &[],
        mappers: &[],
        manageable: true,
    },
    BuiltinClient {
        client_id: "security-admin-console",
        public: true,
        bearer_only: false,
        standard_flow: true,
        direct_access: false,
        full_scope_allowed: true,
        urls: Some(("${authAdminUrl}", "admin", "console/")),
        web_origins: &["+"],
        attributes: &[
            ("client.use.lightweight.access.token.enabled", "true"),
            ("pkce.code.challenge.method", "S256"),
            ("post.logout.redirect.uris", "+"),
            ("realm_client", "false"),
        ],
        roles: &[],
        composites: &[],
        in_default_roles: &[],
        scope_mappings: &[],
        mappers: &[("locale", "oidc-usermodel-attribute-mapper")],
        manageable: true,
    },
    BuiltinClient {
        client_id: "admin-cli",
        public: true,
        bearer_only: false,
        standard_flow: false,
        direct_access: true,
        full_scope_allowed: true,
        urls: None,
        web_origins: &[],
        attributes: &[
            ("client.use.lightweight.access.token.enabled", "true"),
            ("realm_client", "false"),
        ],
        roles: &[],
        composites: &[],
        in_default_roles: &[],
        scope_mappings: &[],
        mappers: &[],
        manageable: true,
    },
];

impl BuiltinClient {
    /// Gives a new [`ClientRec`] this built-in client's settings in realm `realm`.
    fn shape(&self, c: &mut ClientRec, realm: &str) {
        c.name = Some(format!("${{client_{}}}", self.client_id));
        c.bearer_only = self.bearer_only;
        c.standard_flow = self.standard_flow;
        c.direct_access = self.direct_access;
        c.full_scope_allowed = self.full_scope_allowed;
        c.builtin = true;
        c.manageable = self.manageable;
        if let Some((root, prefix, suffix)) = self.urls {
            let base = format!("/{prefix}/{realm}/{suffix}");
            c.root_url = Some(root.to_owned());
            c.redirect_uris = vec![format!("{base}*")];
            c.base_url = Some(base);
        }
        c.web_origins = self.web_origins.iter().map(|s| (*s).to_owned()).collect();
        c.attributes = self
            .attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        c.protocol_mappers = self
            .mappers
            .iter()
            .map(|(name, kind)| {
                let config = if *kind == "oidc-usermodel-attribute-mapper" {
                    json!({"access.token.claim": "true", "claim.name": name,
                           "id.token.claim": "true", "introspection.token.claim": "true",
                           "jsonType.label": "String", "user.attribute": name,
                           "userinfo.token.claim": "true"})
                } else {
                    json!({})
                };
                json!({"name": name,
                       "protocol": "openid-connect", "protocolMapper": kind,
                       "consentRequired": false, "config": config})
            })
            .collect();
    }
}

/// A user as stored.
#[derive(Debug, Clone)]
pub(crate) struct UserRec {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub created: i64,
    pub attributes: Attributes,
    pub password: Option<String>,
    pub required_actions: Vec<String>,
    /// The client UUID, for service-account users.
    pub service_account_client: Option<String>,
    /// Credentials other than the password (OTP, …), oldest first.
    pub credentials: Vec<CredentialRec>,
}

/// Which `UserRepresentation` an endpoint answers with: Keycloak 26 adds a different `access`
/// object per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserView {
    /// `GET users/{id}`: the admin's full permissions on the user.
    Single,
    /// `GET users`, `GET roles/{name}/users`: `access: {manage}`.
    List,
    /// `GET groups/{id}/members`: no `access`.
    Member,
}

/// A stored credential other than the password.
#[derive(Debug, Clone)]
pub(crate) struct CredentialRec {
    pub id: String,
    pub kind: String,
    pub user_label: Option<String>,
    pub created: i64,
}

impl UserRec {
    pub fn to_user(&self) -> User {
        User {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            enabled: self.enabled,
            created_timestamp: Some(self.created),
            totp: self.has_otp(),
            federation_link: None,
            attributes: self.attributes.clone(),
        }
    }

    /// Keycloak's `UserRepresentation` JSON as the endpoint `view` answers it; `brief`
    /// (`briefRepresentation=true`) keeps the id, names, e-mail, `enabled` and
    /// `createdTimestamp` only.
    pub fn to_json(&self, view: UserView, brief: bool) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("id".into(), json!(self.id));
        obj.insert("username".into(), json!(self.username));
        if let Some(f) = &self.first_name {
            obj.insert("firstName".into(), json!(f));
        }
        if let Some(l) = &self.last_name {
            obj.insert("lastName".into(), json!(l));
        }
        if let Some(e) = &self.email {
            obj.insert("email".into(), json!(e));
        }
        obj.insert("emailVerified".into(), json!(self.email_verified));
        if !brief && !self.attributes.is_empty() {
            obj.insert("attributes".into(), json!(self.attributes));
        }
        obj.insert("enabled".into(), json!(self.enabled));
        obj.insert("createdTimestamp".into(), json!(self.created));
        if !brief {
            if let Some(c) = &self.service_account_client {
                obj.insert("serviceAccountClientLink".into(), json!(c));
            }
            obj.insert("totp".into(), json!(self.has_otp()));
            obj.insert("disableableCredentialTypes".into(), json!([]));
            obj.insert("requiredActions".into(), json!(self.required_actions));
            obj.insert("notBefore".into(), json!(0));
        }
        match view {
            UserView::Single => {
                obj.insert(
                    "access".into(),
                    json!({"manageGroupMembership": true, "resetPassword": true, "view": true,
                           "mapRoles": true, "impersonate": true, "manage": true}),
                );
            }
            UserView::List => {
                obj.insert("access".into(), json!({"manage": true}));
            }
            UserView::Member => {}
        }
        Value::Object(obj)
    }

    /// Whether the user has an OTP credential (Keycloak's `totp` flag).
    pub fn has_otp(&self) -> bool {
        self.credentials.iter().any(|c| c.kind == OTP_CREDENTIAL)
    }

    /// The id of the password credential: derived from the user id, so it is stable while the
    /// password exists (the fake keeps the password itself on the user).
    pub fn password_credential_id(&self) -> String {
        match uuid::Uuid::parse_str(&self.id) {
            Ok(id) => uuid::Uuid::from_u128(id.as_u128() ^ 0x5a5a_5a5a_5a5a_5a5a).to_string(),
            Err(_) => format!("{}-password", self.id),
        }
    }

    /// The user's credentials as Keycloak lists them: the password first, then the others.
    pub fn credential_list(&self) -> Vec<Credential> {
        let mut out = Vec::new();
        if self.password.is_some() {
            out.push(Credential {
                id: self.password_credential_id(),
                kind: "password".into(),
                user_label: None,
                created_date: Some(self.created),
            });
        }
        out.extend(self.credentials.iter().map(|c| Credential {
            id: c.id.clone(),
            kind: c.kind.clone(),
            user_label: c.user_label.clone(),
            created_date: Some(c.created),
        }));
        out
    }

    pub fn display_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }
}

/// A group as stored: top-level (`parent == None`) or a subgroup.
#[derive(Debug, Clone)]
pub(crate) struct GroupRec {
    pub id: String,
    pub name: String,
    /// The parent group's id, for a subgroup.
    pub parent: Option<String>,
    pub attributes: Attributes,
}

/// A realm role (`client == None`) or a client role.
#[derive(Debug, Clone)]
pub(crate) struct RoleRec {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The owning client's UUID, for client roles.
    pub client: Option<String>,
    pub attributes: Attributes,
    /// Ids of the roles this composite role contains (empty: not a composite).
    pub composites: BTreeSet<String>,
}

impl RoleRec {
    /// A plain (non-composite) role without attributes.
    pub fn new(id: String, name: &str, description: Option<&str>, client: Option<&str>) -> RoleRec {
        RoleRec {
            id,
            name: name.to_owned(),
            description: description.map(str::to_owned),
            client: client.map(str::to_owned),
            attributes: BTreeMap::new(),
            composites: BTreeSet::new(),
        }
    }

    pub fn to_role(&self) -> Role {
        Role {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            composite: !self.composites.is_empty(),
            attributes: self.attributes.clone(),
        }
    }

    /// Keycloak's `RoleRepresentation` JSON.
    pub fn to_json(&self, realm_id: &str, brief: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "composite": !self.composites.is_empty(),
            "clientRole": self.client.is_some(),
            "containerId": self.client.as_deref().unwrap_or(realm_id),
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(d) = &self.description {
                obj.insert("description".into(), json!(d));
            }
            if !brief {
                obj.insert("attributes".into(), json!(self.attributes));
            }
        }
        v
    }
}

/// A client as stored.
#[derive(Debug, Clone)]
pub(crate) struct ClientRec {
    pub id: String,
    pub client_id: String,
    pub name: Option<String>,
    pub enabled: bool,
    pub secret: Option<String>,
    pub public: bool,
    pub bearer_only: bool,
    pub standard_flow: bool,
    pub direct_access: bool,
    pub service_accounts: bool,
    pub redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// Keycloak `ProtocolMapperRepresentation`s.
    pub protocol_mappers: Vec<Value>,
    /// `fullScopeAllowed`: tokens carry every role of the user (Keycloak's default). When
    /// false, only the roles in [`scope_roles`](Self::scope_roles) and the client's own roles.
    pub full_scope_allowed: bool,
    /// Role ids of the client's scope mappings (`clients/{id}/scope-mappings/…`).
    pub scope_roles: BTreeSet<String>,
    /// `frontchannelLogout` (Keycloak 26: `false` unless the client is created with it).
    pub frontchannel_logout: bool,
    /// One of the clients Keycloak creates with the realm (`nodeReRegistrationTimeout` 0
    /// where clients created through the admin API have -1).
    pub builtin: bool,
    /// Whether realm administrators may manage it (`access.manage`/`configure`): false for
    /// `realm-management`, whose roles Keycloak's admin API refuses to change (403).
    pub manageable: bool,
}

impl ClientRec {
    pub fn new(id: String, client_id: &str, secret: Option<String>, public: bool) -> ClientRec {
        ClientRec {
            id,
            client_id: client_id.to_owned(),
            name: None,
            enabled: true,
            secret,
            public,
            bearer_only: false,
            standard_flow: true,
            direct_access: false,
            service_accounts: false,
            redirect_uris: Vec::new(),
            web_origins: Vec::new(),
            root_url: None,
            base_url: None,
            // Keycloak 26.7 marks every client it did not create for the realm itself.
            attributes: BTreeMap::from([("realm_client".to_owned(), "false".to_owned())]),
            protocol_mappers: Vec::new(),
            full_scope_allowed: true,
            scope_roles: BTreeSet::new(),
            frontchannel_logout: false,
            builtin: false,
            manageable: true,
        }
    }

    /// The default client scopes Keycloak 26.7 gives an OpenID Connect client (plus
    /// `service_account` while it has a service account), in Keycloak's order.
    pub fn default_client_scopes(&self) -> Vec<&'static str> {
        let mut scopes = vec!["web-origins"];
        if self.service_accounts {
            scopes.push("service_account");
        }
        scopes.extend(["acr", "profile", "roles", "basic", "email"]);
        scopes
    }

    /// Keycloak's `ClientRepresentation` JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "clientId": self.client_id,
            "surrogateAuthRequired": false,
            "enabled": self.enabled,
            "alwaysDisplayInConsole": false,
            "clientAuthenticatorType": "client-secret",
            "redirectUris": self.redirect_uris,
            "webOrigins": self.web_origins,
            "notBefore": 0,
            "bearerOnly": self.bearer_only,
            "consentRequired": false,
            "standardFlowEnabled": self.standard_flow,
            "implicitFlowEnabled": false,
            "directAccessGrantsEnabled": self.direct_access,
            "serviceAccountsEnabled": self.service_accounts,
            "publicClient": self.public,
            "frontchannelLogout": self.frontchannel_logout,
            "protocol": "openid-connect",
            "attributes": self.attributes,
            "authenticationFlowBindingOverrides": {},
            "fullScopeAllowed": self.full_scope_allowed,
            "nodeReRegistrationTimeout": if self.builtin { 0 } else { -1 },
            "defaultClientScopes": self.default_client_scopes(),
            "optionalClientScopes": ["address", "phone", "offline_access", "organization", "microprofile-jwt"],
            "access": {"view": true, "configure": self.manageable, "manage": self.manageable},
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(n) = &self.name {
                obj.insert("name".into(), json!(n));
            }
            if let Some(r) = &self.root_url {
                obj.insert("rootUrl".into(), json!(r));
            }
            if let Some(b) = &self.base_url {
                obj.insert("baseUrl".into(), json!(b));
            }
            if let (Some(s), false) = (&self.secret, self.public) {
                obj.insert("secret".into(), json!(s));
            }
            if !self.protocol_mappers.is_empty() {
                obj.insert("protocolMappers".into(), json!(self.protocol_mappers));
            }
        }
        v
    }
}

/// A user session (online, or offline for offline tokens).
#[derive(Debug, Clone)]
pub(crate) struct SessionRec {
    pub id: String,
    pub user_id: String,
    pub client_uuid: String,
    pub started: i64,
    pub last_access: i64,
    pub offline: bool,
}

/// One realm.
pub(crate) struct RealmState {
    pub id: String,
    pub name: String,
    /// Other realm settings (`displayName`, `smtpServer`, …) as given by `PUT /admin/realms/{r}`.
    pub settings: serde_json::Map<String, Value>,
    pub users: BTreeMap<String, UserRec>,
    pub groups: BTreeMap<String, GroupRec>,
    pub roles: BTreeMap<String, RoleRec>,
    pub clients: BTreeMap<String, ClientRec>,
    /// (user id, group id)
    pub memberships: BTreeSet<(String, String)>,
    /// (group id, role id): realm roles and client roles mapped onto groups.
    pub group_roles: BTreeSet<(String, String)>,
    /// (user id, role id): realm roles and client roles mapped directly onto users.
    pub user_roles: BTreeSet<(String, String)>,
    /// Default group ids, in the order they were added.
    pub default_groups: Vec<String>,
    pub sessions: BTreeMap<String, SessionRec>,
    /// Access tokens revoked at the revocation endpoint: `jti` → `exp` (see `sessions.rs`).
    pub revoked_access_tokens: BTreeMap<String, i64>,
    /// (user id, client uuid)
    pub consents: BTreeSet<(String, String)>,
    /// The id of the composite realm role `default-roles-<realm>` every new user gets.
    pub default_role: String,
    pub user_profile: Value,
    /// Recorded admin events, oldest first (only while `adminEventsEnabled` is set).
    pub admin_events: Vec<AdminEvent>,
    /// The time admin events of the current operation get (set before every operation).
    pub event_now_ms: i64,
    /// Who is making the current operation (set before every operation).
    pub event_actor: AdminEventAuth,
    /// E-mails the realm "sent", oldest first.
    pub sent_emails: Vec<SentEmail>,
    /// Browser logins: SSO sessions, logins in progress, authorization codes.
    pub browser: super::browser::BrowserState,
}

/// An e-mail the fake would have sent (see [`FakeRealm::sent_emails`](super::FakeRealm::sent_emails)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// The recipient.
    pub to: String,
    /// The sender (the realm's SMTP `from`).
    pub from: String,
    /// The SMTP host it would have been handed to.
    pub smtp_host: String,
    /// The user the mail is about.
    pub user_id: String,
    /// The required actions the link runs.
    pub actions: Vec<String>,
    /// The link's lifetime in seconds.
    pub lifespan: u32,
    /// The client the link returns to.
    pub client_id: String,
    /// Where the user lands afterwards, if given.
    pub redirect_uri: Option<String>,
    /// When, in milliseconds since the Unix epoch.
    pub sent_at: i64,
}

/// Keycloak 26's default user profile (the four built-in attributes).
fn default_user_profile() -> Value {
    json!({
        "attributes": [
            {"name": "username", "displayName": "${username}",
             "validations": {"length": {"min": 3, "max": 255},
                             "username-prohibited-characters": {},
                             "up-username-not-idn-homograph": {}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
             "multivalued": false},
            {"name": "email", "displayName": "${email}",
             "validations": {"email": {}, "length": {"max": 255}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
             "multivalued": false},
            {"name": "firstName", "displayName": "${firstName}",
             "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
             "multivalued": false},
            {"name": "lastName", "displayName": "${lastName}",
             "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
             "multivalued": false}
        ],
        "groups": [
            {"name": "user-metadata", "displayHeader": "User metadata",
             "displayDescription": "Attributes, which refer to user metadata"}
        ]
    })
}

/// Keycloak's user search pattern: `"x"` exact, `*` wildcards, otherwise prefix.
pub(crate) enum Pattern {
    Exact(String),
    Like(Vec<String>, bool, bool),
}

impl Pattern {
    /// Parses one whitespace-separated token of Keycloak's `search` parameter.
    pub fn keycloak(token: &str) -> Pattern {
        let t = token.to_lowercase();
        if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
            return Pattern::Exact(t[1..t.len() - 1].to_owned());
        }
        let starts = t.starts_with('*');
        let ends = t.ends_with('*') || !t.contains('*');
        let parts: Vec<String> = t
            .split('*')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Pattern::Like(parts, !starts, !ends)
    }

    /// Keycloak's group search (`GET groups?search=`): a case-insensitive substring where `*`
    /// matches anything.
    pub fn group_search(s: &str) -> Pattern {
        let parts: Vec<String> = s
            .to_lowercase()
            .split('*')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Pattern::Like(parts, false, false)
    }

    /// Keycloak's subgroup search (`GET groups/{id}/children?search=`): a case-insensitive
    /// prefix where `*` matches anything (`*b` finds `kid b`, `k*b` too).
    pub fn prefix_search(s: &str) -> Pattern {
        let t = s.to_lowercase();
        let parts: Vec<String> = t
            .split('*')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Pattern::Like(parts, !t.starts_with('*'), false)
    }

    /// Case-insensitive substring.
    pub fn contains(s: &str) -> Pattern {
        Pattern::Like(vec![s.to_lowercase()], false, false)
    }

    pub fn matches(&self, value: &str) -> bool {
        let v = value.to_lowercase();
        match self {
            Pattern::Exact(e) => v == *e,
            Pattern::Like(parts, anchored_start, anchored_end) => {
                let mut rest = v.as_str();
                for (i, part) in parts.iter().enumerate() {
                    let last = i + 1 == parts.len();
                    if i == 0 && *anchored_start {
                        match rest.strip_prefix(part.as_str()) {
                            Some(r) => rest = r,
                            None => return false,
                        }
                    } else if last && *anchored_end {
                        return rest.ends_with(part.as_str());
                    } else {
                        match rest.find(part.as_str()) {
                            Some(at) => rest = &rest[at + part.len()..],
                            None => return false,
                        }
                    }
                }
                !*anchored_end || rest.is_empty()
            }
        }
    }
}

pub(crate) fn paginate<T>(items: Vec<T>, first: usize, max: Option<usize>) -> Vec<T> {
    let iter = items.into_iter().skip(first);
    match max {
        Some(m) => iter.take(m).collect(),
        None => iter.collect(),
    }
}

pub(crate) fn page_bounds(page: Page) -> (usize, Option<usize>) {
    (page.first as usize, Some(page.max as usize))
}

/// The fields of a user write (create or update), as parsed from the trait's types or from JSON.
#[derive(Debug, Default, Clone)]
pub(crate) struct UserWrite {
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    pub attributes: Option<Attributes>,
    pub password: Option<(String, bool)>,
    pub groups: Vec<String>,
    pub required_actions: Option<Vec<String>>,
}

impl RealmState {
    fn new(id: String, name: &str) -> RealmState {
        RealmState {
            id,
            name: name.to_owned(),
            settings: serde_json::Map::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            clients: BTreeMap::new(),
            memberships: BTreeSet::new(),
            group_roles: BTreeSet::new(),
            user_roles: BTreeSet::new(),
            default_groups: Vec::new(),
            sessions: BTreeMap::new(),
            revoked_access_tokens: BTreeMap::new(),
            consents: BTreeSet::new(),
            default_role: String::new(),
            user_profile: default_user_profile(),
            admin_events: Vec::new(),
            event_now_ms: 0,
            event_actor: AdminEventAuth::default(),
            sent_emails: Vec::new(),
            browser: super::browser::BrowserState::default(),
        }
    }

    // ----- admin events -----

    fn setting_true(&self, key: &str) -> bool {
        self.settings.get(key).and_then(Value::as_bool) == Some(true)
    }

    /// Records an admin event if the realm has admin events enabled (with the representation
    /// only when details are enabled).
    pub fn record(
        &mut self,
        operation: &str,
        resource: &str,
        path: Option<String>,
        representation: Option<Value>,
    ) {
        if !self.setting_true("adminEventsEnabled") {
            return;
        }
        let representation = if self.setting_true("adminEventsDetailsEnabled") {
            representation.map(|r| r.to_string())
        } else {
            None
        };
        self.admin_events.push(AdminEvent {
            id: Some(uuid::Uuid::new_v4().to_string()),
            time: self.event_now_ms,
            realm_id: self.id.clone(),
            auth_details: self.event_actor.clone(),
            operation_type: operation.to_owned(),
            resource_type: resource.to_owned(),
            resource_path: path,
            representation,
            error: None,
        });
    }

    /// Admin events newest first, filtered like Keycloak's `admin-events` (`dateFrom` in
    /// milliseconds, inclusive; operation and resource types), before paging.
    pub fn admin_events_filtered(
        &self,
        since: Option<i64>,
        operation_types: &[String],
        resource_types: &[String],
    ) -> Vec<&AdminEvent> {
        self.admin_events
            .iter()
            .rev()
            .filter(|e| since.is_none_or(|t| e.time >= t))
            .filter(|e| operation_types.is_empty() || operation_types.contains(&e.operation_type))
            .filter(|e| resource_types.is_empty() || resource_types.contains(&e.resource_type))
            .collect()
    }

    // ----- realm settings -----

    /// `PUT /admin/realms/{realm}`: merges the given top-level settings. The SMTP password
    /// [`SECRET_MASK`] keeps the stored one. Recorded as `UPDATE REALM` when admin events were
    /// enabled before the change (as Keycloak decides).
    pub fn update_settings(&mut self, settings: serde_json::Map<String, Value>) -> Result<()> {
        if let Some(smtp) = settings.get("smtpServer").and_then(Value::as_object)
            && !smtp.is_empty()
        {
            check_smtp_address(smtp, "from", "sender", true)?;
            check_smtp_address(smtp, "replyTo", "reply-to", false)?;
        }
        let recorded = self.setting_true("adminEventsEnabled");
        let details = self.setting_true("adminEventsDetailsEnabled");
        let rep = Value::Object(settings.clone());
        for (k, mut v) in settings {
            if matches!(
                k.as_str(),
                "realm" | "id" | "enabled" | "accessTokenLifespan" | "defaultGroups"
            ) {
                continue;
            }
            if k == "smtpServer" {
                let old_password = self
                    .settings
                    .get("smtpServer")
                    .and_then(|s| s.get("password"))
                    .cloned();
                if let Some(map) = v.as_object_mut()
                    && map.get("password").and_then(Value::as_str) == Some(SECRET_MASK)
                {
                    match old_password {
                        Some(p) => {
                            map.insert("password".into(), p);
                        }
                        None => {
                            map.remove("password");
                        }
                    }
                }
            }
            self.settings.insert(k, v);
        }
        if recorded {
            let representation = details.then(|| rep.to_string());
            self.admin_events.push(AdminEvent {
                id: Some(uuid::Uuid::new_v4().to_string()),
                time: self.event_now_ms,
                realm_id: self.id.clone(),
                auth_details: self.event_actor.clone(),
                operation_type: "UPDATE".into(),
                resource_type: "REALM".into(),
                resource_path: None,
                representation,
                error: None,
            });
        }
        Ok(())
    }

    /// The SMTP settings as stored (password included), as a string map.
    pub fn smtp_map(&self) -> BTreeMap<String, String> {
        self.settings
            .get("smtpServer")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    // ----- user realm-role mappings -----

    /// Realm roles mapped directly onto a user, by name.
    pub fn user_direct_realm_roles(&self, user_id: &str) -> Result<Vec<&RoleRec>> {
        self.user(user_id)?;
        Ok(self
            .realm_roles_sorted()
            .into_iter()
            .filter(|r| {
                self.user_roles
                    .contains(&(user_id.to_owned(), r.id.clone()))
            })
            .collect())
    }

    /// A user's effective realm roles (direct and through groups), by name.
    pub fn user_effective_realm_roles(&self, user_id: &str) -> Result<Vec<&RoleRec>> {
        self.user(user_id)?;
        let ids = self.effective_role_ids(user_id);
        Ok(self
            .realm_roles_sorted()
            .into_iter()
            .filter(|r| ids.contains(&r.id))
            .collect())
    }

    fn roles_rep(&self, ids: &[String]) -> Value {
        Value::Array(
            ids.iter()
                .filter_map(|id| self.roles.get(id))
                .map(|r| json!({"id": r.id, "name": r.name, "composite": false}))
                .collect(),
        )
    }

    /// Adds or removes direct realm-role mappings (role ids) of a user.
    pub fn map_user_realm_roles(
        &mut self,
        user_id: &str,
        ids: Vec<String>,
        add: bool,
    ) -> Result<()> {
        self.user(user_id)?;
        let rep = self.roles_rep(&ids);
        for id in ids {
            let key = (user_id.to_owned(), id);
            if add {
                self.user_roles.insert(key);
            } else {
                self.user_roles.remove(&key);
            }
        }
        self.record(
            if add { "CREATE" } else { "DELETE" },
            "REALM_ROLE_MAPPING",
            Some(format!("users/{user_id}/role-mappings/realm")),
            Some(rep),
        );
        Ok(())
    }

    /// Adds or removes client-role mappings (role ids of the client `client_uuid`) of a user,
    /// recorded as Keycloak records them: `CREATE` / `DELETE` `CLIENT_ROLE_MAPPING` on
    /// `users/{id}/role-mappings/clients/{client uuid}`.
    pub fn map_user_client_roles(
        &mut self,
        user_id: &str,
        client_uuid: &str,
        ids: Vec<String>,
        add: bool,
    ) -> Result<()> {
        self.user(user_id)?;
        let rep = self.roles_rep(&ids);
        for id in ids {
            let key = (user_id.to_owned(), id);
            if add {
                self.user_roles.insert(key);
            } else {
                self.user_roles.remove(&key);
            }
        }
        self.record(
            if add { "CREATE" } else { "DELETE" },
            "CLIENT_ROLE_MAPPING",
            Some(format!(
                "users/{user_id}/role-mappings/clients/{client_uuid}"
            )),
            Some(rep),
        );
        Ok(())
    }

    /// The users a role (by id) is mapped onto directly, ordered by username (Keycloak's
    /// `GET roles/{name}/users` and `GET clients/{id}/roles/{name}/users`).
    pub fn role_users(&self, role_id: &str) -> Vec<&UserRec> {
        self.users_sorted()
            .into_iter()
            .filter(|u| {
                self.user_roles
                    .contains(&(u.id.clone(), role_id.to_owned()))
            })
            .collect()
    }

    /// Adds or removes realm-role mappings (role ids) of a group.
    pub fn map_group_realm_roles(
        &mut self,
        group_id: &str,
        ids: Vec<String>,
        add: bool,
    ) -> Result<()> {
        self.group(group_id)?;
        let rep = self.roles_rep(&ids);
        for id in ids {
            let key = (group_id.to_owned(), id);
            if add {
                self.group_roles.insert(key);
            } else {
                self.group_roles.remove(&key);
            }
        }
        self.record(
            if add { "CREATE" } else { "DELETE" },
            "REALM_ROLE_MAPPING",
            Some(format!("groups/{group_id}/role-mappings/realm")),
            Some(rep),
        );
        Ok(())
    }

    // ----- execute-actions e-mail and credentials -----

    /// Keycloak 26's checks of `PUT users/{id}/execute-actions-email`, then "sends" the mail:
    /// records it, or fails as Keycloak does without a usable SMTP server (500).
    pub fn execute_actions_email(
        &mut self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()> {
        let user = self.user(user_id)?;
        let Some(to) = user.email.clone() else {
            return Err(KeycloakError::invalid("email", "User email missing"));
        };
        if !user.enabled {
            return Err(KeycloakError::invalid("user", "User is disabled"));
        }
        if request.redirect_uri.is_some() && request.client_id.is_none() {
            return Err(KeycloakError::invalid("client_id", "Client id missing"));
        }
        // Keycloak's default is the `account` client, which every Keycloak realm has; the fake
        // does not model it, so no client given means no client to check.
        if let Some(client_id) = &request.client_id {
            let client = self
                .client_by_client_id(client_id)
                .map_err(|_| KeycloakError::invalid("client_id", "Client doesn't exist"))?;
            if !client.enabled {
                return Err(KeycloakError::invalid("client_id", "Client is not enabled"));
            }
            if let Some(uri) = &request.redirect_uri
                && !redirect_allowed(&client.redirect_uris, uri)
            {
                return Err(KeycloakError::invalid(
                    "redirect_uri",
                    "Invalid redirect uri.",
                ));
            }
        }
        if request
            .actions
            .iter()
            .any(|a| !required_action::KEYCLOAK_26_BUILT_IN.contains(&a.as_str()))
        {
            return Err(KeycloakError::invalid(
                "actions",
                "Provided invalid required actions",
            ));
        }
        let smtp = self.smtp_map();
        let host = smtp.get("host").cloned().unwrap_or_default();
        let from = smtp.get("from").cloned().unwrap_or_default();
        if from.trim().is_empty() {
            return Err(KeycloakError::Unexpected {
                status: 500,
                body: "Failed to send execute actions email: Invalid sender address 'null'".into(),
            });
        }
        if host.trim().is_empty() {
            return Err(KeycloakError::Unexpected {
                status: 500,
                body: "Failed to send execute actions email: no SMTP host".into(),
            });
        }
        self.sent_emails.push(SentEmail {
            to,
            from,
            smtp_host: host,
            user_id: user_id.to_owned(),
            actions: request.actions.clone(),
            lifespan: request.lifespan.unwrap_or(43_200),
            client_id: request
                .client_id
                .clone()
                .unwrap_or_else(|| "account".into()),
            redirect_uri: request.redirect_uri.clone(),
            sent_at: self.event_now_ms,
        });
        self.record(
            "ACTION",
            "USER",
            Some(format!("users/{user_id}/execute-actions-email")),
            None,
        );
        Ok(())
    }

    /// Gives a user an OTP credential (what a realm import with an `otp` credential does).
    pub fn add_otp_credential(
        &mut self,
        user_id: &str,
        id: String,
        label: Option<String>,
    ) -> Result<String> {
        let now = self.event_now_ms;
        let user = self.user_mut(user_id)?;
        user.credentials.push(CredentialRec {
            id: id.clone(),
            kind: OTP_CREDENTIAL.into(),
            user_label: label,
            created: now,
        });
        Ok(id)
    }

    /// `DELETE users/{id}/credentials/{credentialId}`.
    pub fn delete_credential(&mut self, user_id: &str, credential_id: &str) -> Result<()> {
        let user = self.user_mut(user_id)?;
        let before = user.credentials.len();
        user.credentials.retain(|c| c.id != credential_id);
        if user.credentials.len() == before {
            if user.password.is_some() && user.password_credential_id() == credential_id {
                user.password = None;
            } else {
                return Err(KeycloakError::not_found(format!(
                    "credential {credential_id}"
                )));
            }
        }
        self.record(
            "ACTION",
            "USER",
            Some(format!("users/{user_id}/credentials/{credential_id}")),
            None,
        );
        Ok(())
    }

    // ----- lookups -----

    pub fn user(&self, id: &str) -> Result<&UserRec> {
        self.users
            .get(id)
            .ok_or_else(|| KeycloakError::not_found(format!("user {id}")))
    }

    pub fn user_mut(&mut self, id: &str) -> Result<&mut UserRec> {
        self.users
            .get_mut(id)
            .ok_or_else(|| KeycloakError::not_found(format!("user {id}")))
    }

    pub fn user_by_username(&self, username: &str) -> Option<&UserRec> {
        let wanted = username.to_lowercase();
        self.users.values().find(|u| u.username == wanted)
    }

    pub fn user_by_email(&self, email: &str) -> Option<&UserRec> {
        let wanted = email.to_lowercase();
        self.users
            .values()
            .find(|u| u.email.as_deref() == Some(wanted.as_str()))
    }

    pub fn group(&self, id: &str) -> Result<&GroupRec> {
        self.groups
            .get(id)
            .ok_or_else(|| KeycloakError::not_found(format!("group {id}")))
    }

    /// The top-level group with exactly this name.
    pub fn group_by_name(&self, name: &str) -> Option<&GroupRec> {
        self.groups
            .values()
            .find(|g| g.parent.is_none() && g.name == name)
    }

    pub fn realm_role(&self, name: &str) -> Result<&RoleRec> {
        self.roles
            .values()
            .find(|r| r.client.is_none() && r.name == name)
            .ok_or_else(|| KeycloakError::not_found(format!("role {name}")))
    }

    pub fn client(&self, uuid: &str) -> Result<&ClientRec> {
        self.clients
            .get(uuid)
            .ok_or_else(|| KeycloakError::not_found(format!("client {uuid}")))
    }

    pub fn client_by_client_id(&self, client_id: &str) -> Result<&ClientRec> {
        self.clients
            .values()
            .find(|c| c.client_id == client_id)
            .ok_or_else(|| KeycloakError::not_found(format!("client {client_id}")))
    }

    pub fn client_role(&self, client_uuid: &str, name: &str) -> Result<&RoleRec> {
        self.roles
            .values()
            .find(|r| r.client.as_deref() == Some(client_uuid) && r.name == name)
            .ok_or_else(|| KeycloakError::not_found(format!("client role {name}")))
    }

    /// Sorted realm roles (by name).
    pub fn realm_roles_sorted(&self) -> Vec<&RoleRec> {
        let mut roles: Vec<&RoleRec> = self.roles.values().filter(|r| r.client.is_none()).collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles
    }

    /// The roles in a client's scope mappings (realm and client roles), by name.
    pub fn scope_roles_sorted(&self, client_uuid: &str) -> Vec<&RoleRec> {
        let Some(client) = self.clients.get(client_uuid) else {
            return Vec::new();
        };
        let mut roles: Vec<&RoleRec> = client
            .scope_roles
            .iter()
            .filter_map(|id| self.roles.get(id))
            .collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        roles
    }

    pub fn client_roles_sorted(&self, client_uuid: &str) -> Vec<&RoleRec> {
        let mut roles: Vec<&RoleRec> = self
            .roles
            .values()
            .filter(|r| r.client.as_deref() == Some(client_uuid))
            .collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles
    }

    /// Top-level groups sorted by name (then id, for a total order).
    pub fn top_groups_sorted(&self) -> Vec<&GroupRec> {
        self.children_sorted(None)
    }

    /// Groups at every level sorted by name (then id).
    pub fn all_groups_sorted(&self) -> Vec<&GroupRec> {
        let mut groups: Vec<&GroupRec> = self.groups.values().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        groups
    }

    /// Users sorted by username.
    pub fn users_sorted(&self) -> Vec<&UserRec> {
        let mut users: Vec<&UserRec> = self.users.values().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// Whether unmanaged attributes are kept (the user profile's `unmanagedAttributePolicy`).
    pub fn keeps_unmanaged_attributes(&self) -> bool {
        self.user_profile
            .get("unmanagedAttributePolicy")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
    }

    /// The attribute names the user profile declares, other than the four built-ins.
    fn managed_attribute_names(&self) -> BTreeSet<String> {
        self.user_profile
            .get("attributes")
            .and_then(Value::as_array)
            .map(|attrs| {
                attrs
                    .iter()
                    .filter_map(|a| a.get("name").and_then(Value::as_str))
                    .filter(|n| !matches!(*n, "username" | "email" | "firstName" | "lastName"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn filter_attributes(&self, attrs: Attributes) -> Attributes {
        if self.keeps_unmanaged_attributes() {
            return attrs;
        }
        let managed = self.managed_attribute_names();
        attrs
            .into_iter()
            .filter(|(k, _)| managed.contains(k))
            .collect()
    }

    // ----- users -----

    fn check_email(&self, email: &str, except: Option<&str>) -> Result<()> {
        if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
            // Keycloak's 400 names the rejected address: `params: ["email", "<value>"]`.
            return Err(KeycloakError::invalid_with(
                "email",
                "error-invalid-email",
                [email],
            ));
        }
        if let Some(other) = self.user_by_email(email)
            && Some(other.id.as_str()) != except
        {
            return Err(KeycloakError::conflict_on(
                ConflictField::Email,
                "User exists with same email",
            ));
        }
        Ok(())
    }

    pub fn create_user(&mut self, id: String, now_ms: i64, w: UserWrite) -> Result<String> {
        let username = w
            .username
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_lowercase();
        if username.is_empty() {
            return Err(KeycloakError::invalid("username", "User name is missing"));
        }
        let chars = username.chars().count();
        if !(3..=255).contains(&chars) {
            return Err(KeycloakError::invalid("username", "error-invalid-length"));
        }
        if self.user_by_username(&username).is_some() {
            return Err(KeycloakError::conflict_on(
                ConflictField::Username,
                "User exists with same username",
            ));
        }
        let email = w
            .email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        if let Some(e) = &email {
            self.check_email(e, None)?;
        }
        let mut group_ids = Vec::new();
        for path in &w.groups {
            let g = self.group_by_path(path).ok_or_else(|| {
                KeycloakError::invalid("groups", format!("Group {path} not found"))
            })?;
            group_ids.push(g.id.clone());
        }
        let attributes = self.filter_attributes(w.attributes.unwrap_or_default());
        let mut required_actions = w.required_actions.unwrap_or_default();
        let mut password = None;
        if let Some((p, temporary)) = w.password {
            if temporary && !required_actions.iter().any(|a| a == "UPDATE_PASSWORD") {
                required_actions.push("UPDATE_PASSWORD".to_owned());
            }
            password = Some(p);
        }
        let user = UserRec {
            id: id.clone(),
            username,
            email,
            email_verified: w.email_verified.unwrap_or(false),
            first_name: w.first_name.filter(|s| !s.is_empty()),
            last_name: w.last_name.filter(|s| !s.is_empty()),
            enabled: w.enabled.unwrap_or(false),
            created: now_ms,
            attributes,
            password,
            required_actions,
            service_account_client: None,
            credentials: Vec::new(),
        };
        let rep = json!({"id": id, "username": user.username, "enabled": user.enabled});
        self.users.insert(id.clone(), user);
        // New users hold `default-roles-<realm>`.
        if self.roles.contains_key(&self.default_role) {
            self.user_roles
                .insert((id.clone(), self.default_role.clone()));
        }
        // New users join the default groups (and any groups given by path).
        for g in self.default_groups.clone().into_iter().chain(group_ids) {
            self.memberships.insert((id.clone(), g));
        }
        self.record("CREATE", "USER", Some(format!("users/{id}")), Some(rep));
        Ok(id)
    }

    pub fn update_user(&mut self, id: &str, w: UserWrite) -> Result<()> {
        let current = self.user(id)?.clone();
        if let Some(u) = &w.username {
            let u = u.trim().to_lowercase();
            if !u.is_empty() && u != current.username {
                if self.user_by_username(&u).is_some() {
                    return Err(KeycloakError::conflict_on(
                        ConflictField::Username,
                        "User exists with same username",
                    ));
                }
                return Err(KeycloakError::invalid(
                    "username",
                    "error-user-attribute-read-only",
                ));
            }
        }
        let email = match &w.email {
            Some(e) => {
                let e = e.trim().to_lowercase();
                if e.is_empty() {
                    Some(None)
                } else {
                    self.check_email(&e, Some(id))?;
                    Some(Some(e))
                }
            }
            None => None,
        };
        let attributes = w.attributes.map(|a| self.filter_attributes(a));
        let user = self.user_mut(id)?;
        if let Some(e) = email {
            if e != user.email {
                user.email_verified = false;
            }
            user.email = e;
        }
        if let Some(v) = w.email_verified {
            user.email_verified = v;
        }
        if let Some(f) = w.first_name {
            user.first_name = Some(f).filter(|s| !s.is_empty());
        }
        if let Some(l) = w.last_name {
            user.last_name = Some(l).filter(|s| !s.is_empty());
        }
        if let Some(en) = w.enabled {
            user.enabled = en;
        }
        if let Some(a) = attributes {
            user.attributes = a;
        }
        if let Some(ra) = w.required_actions {
            user.required_actions = ra;
        }
        let rep = user.to_json(UserView::Member, true);
        self.record("UPDATE", "USER", Some(format!("users/{id}")), Some(rep));
        Ok(())
    }

    pub fn delete_user(&mut self, id: &str) -> Result<()> {
        let user = self.user(id)?;
        if let Some(client) = &user.service_account_client {
            return Err(KeycloakError::invalid(
                "user",
                format!("service account of client {client} cannot be deleted"),
            ));
        }
        self.users.remove(id);
        self.memberships.retain(|(u, _)| u != id);
        self.user_roles.retain(|(u, _)| u != id);
        self.sessions.retain(|_, s| s.user_id != id);
        self.consents.retain(|(u, _)| u != id);
        self.record("DELETE", "USER", Some(format!("users/{id}")), None);
        Ok(())
    }

    pub fn set_password(&mut self, id: &str, password: &str, temporary: bool) -> Result<()> {
        if password.is_empty() {
            return Err(KeycloakError::invalid("password", "Empty password"));
        }
        let user = self.user_mut(id)?;
        user.password = Some(password.to_owned());
        user.required_actions.retain(|a| a != "UPDATE_PASSWORD");
        if temporary {
            user.required_actions.push("UPDATE_PASSWORD".to_owned());
        }
        self.record(
            "ACTION",
            "USER",
            Some(format!("users/{id}/reset-password")),
            None,
        );
        Ok(())
    }

    /// Users matching every whitespace-separated token of `search` (Keycloak's `search`
    /// parameter), service accounts excluded, ordered by username.
    pub fn search_users_keycloak(&self, search: Option<&str>) -> Vec<&UserRec> {
        let patterns: Vec<Pattern> = search
            .map(|s| s.split_whitespace().map(Pattern::keycloak).collect())
            .unwrap_or_default();
        self.filter_users(&patterns)
    }

    /// Users whose username, e-mail, first or last name contains `search`
    /// (case-insensitive), service accounts excluded, ordered by username.
    pub fn search_users_contains(&self, search: Option<&str>) -> Vec<&UserRec> {
        let patterns: Vec<Pattern> = search
            .filter(|s| !s.is_empty())
            .map(|s| vec![Pattern::contains(s)])
            .unwrap_or_default();
        self.filter_users(&patterns)
    }

    fn filter_users(&self, patterns: &[Pattern]) -> Vec<&UserRec> {
        self.users_sorted()
            .into_iter()
            .filter(|u| u.service_account_client.is_none())
            .filter(|u| {
                patterns.iter().all(|p| {
                    p.matches(&u.username)
                        || u.email.as_deref().is_some_and(|e| p.matches(e))
                        || u.first_name.as_deref().is_some_and(|f| p.matches(f))
                        || u.last_name.as_deref().is_some_and(|l| p.matches(l))
                })
            })
            .collect()
    }

    // ----- groups -----

    /// The clash a group named `name` under `parent` (top level when `None`) would have with a
    /// sibling other than `except`, as Keycloak words it.
    fn sibling_clash(
        &self,
        parent: Option<&str>,
        name: &str,
        except: Option<&str>,
        renaming: bool,
    ) -> Result<()> {
        let clash = self.groups.values().any(|g| {
            g.parent.as_deref() == parent && g.name == name && Some(g.id.as_str()) != except
        });
        if !clash {
            return Ok(());
        }
        let message = if parent.is_none() && !renaming {
            format!("Top level group named '{name}' already exists.")
        } else {
            format!("Sibling group named '{name}' already exists.")
        };
        Err(KeycloakError::conflict_on(
            ConflictField::GroupName,
            message,
        ))
    }

    /// Creates a group under `parent` (top level when `None`); a sibling with the same name is
    /// a conflict. Recorded as Keycloak records it: `CREATE GROUP` on `groups/{id}` for a
    /// top-level group, on `groups/{parent}/children` for a subgroup.
    pub fn create_group(
        &mut self,
        id: String,
        name: &str,
        attributes: Attributes,
        parent: Option<&str>,
    ) -> Result<String> {
        if name.trim().is_empty() {
            return Err(KeycloakError::invalid("name", "Group name is missing"));
        }
        if let Some(p) = parent {
            self.group(p)?;
        }
        self.sibling_clash(parent, name, None, false)?;
        let rep = json!({"id": id, "name": name, "attributes": attributes, "subGroups": []});
        self.groups.insert(
            id.clone(),
            GroupRec {
                id: id.clone(),
                name: name.to_owned(),
                parent: parent.map(str::to_owned),
                attributes,
            },
        );
        let path = match parent {
            None => format!("groups/{id}"),
            Some(p) => format!("groups/{p}/children"),
        };
        self.record("CREATE", "GROUP", Some(path), Some(rep));
        Ok(id)
    }

    /// Moves a group under `parent` (to the top level when `None`), as `POST groups` /
    /// `POST groups/{parent}/children` with the group's id do. `name` is the name the request
    /// carried: Keycloak names it in the sibling-clash message (the group keeps its own name).
    /// Moving a group under itself changes nothing; under one of its own subgroups is
    /// Keycloak's 500.
    pub fn move_group(&mut self, id: &str, parent: Option<&str>, name: &str) -> Result<()> {
        let group = self
            .groups
            .get(id)
            .ok_or_else(|| KeycloakError::not_found("Could not find child by id"))?;
        let own_name = group.name.clone();
        if let Some(p) = parent {
            self.group(p)?;
        }
        let rep = json!({"id": id, "name": name, "subGroups": []});
        let path = match parent {
            None => "groups".to_owned(),
            Some(p) => format!("groups/{p}/children"),
        };
        if parent == Some(id) {
            self.record("UPDATE", "GROUP", Some(path), Some(rep));
            return Ok(());
        }
        if let Some(p) = parent
            && self.group_and_ancestors(p).iter().any(|g| g == id)
        {
            return Err(KeycloakError::Unexpected {
                status: 500,
                body: "unknown_error".into(),
            });
        }
        let clash = self
            .groups
            .values()
            .any(|g| g.parent.as_deref() == parent && g.name == own_name && g.id != id);
        if clash {
            let message = match parent {
                None => format!("Top level group named '{name}' already exists."),
                Some(_) => format!("Sibling group named '{name}' already exists."),
            };
            return Err(KeycloakError::conflict_on(
                ConflictField::GroupName,
                message,
            ));
        }
        if let Some(g) = self.groups.get_mut(id) {
            g.parent = parent.map(str::to_owned);
        }
        self.record("UPDATE", "GROUP", Some(path), Some(rep));
        Ok(())
    }

    pub fn update_group(
        &mut self,
        id: &str,
        name: Option<&str>,
        attributes: Option<Attributes>,
    ) -> Result<()> {
        let parent = self.group(id)?.parent.clone();
        if let Some(n) = name {
            if n.trim().is_empty() {
                return Err(KeycloakError::invalid("name", "Group name is missing"));
            }
            self.sibling_clash(parent.as_deref(), n, Some(id), true)?;
        }
        let group = self
            .groups
            .get_mut(id)
            .ok_or_else(|| KeycloakError::not_found(format!("group {id}")))?;
        if let Some(n) = name {
            group.name = n.to_owned();
        }
        if let Some(a) = attributes {
            group.attributes = a;
        }
        let rep = json!({"name": group.name, "attributes": group.attributes});
        self.record("UPDATE", "GROUP", Some(format!("groups/{id}")), Some(rep));
        Ok(())
    }

    /// Deletes a group with its subgroups (recursively), their memberships, role mappings and
    /// default-group entries.
    pub fn delete_group(&mut self, id: &str) -> Result<()> {
        self.group(id)?;
        let gone: BTreeSet<String> = self.subtree(id).into_iter().collect();
        self.groups.retain(|g, _| !gone.contains(g));
        self.memberships.retain(|(_, g)| !gone.contains(g));
        self.group_roles.retain(|(g, _)| !gone.contains(g));
        self.default_groups.retain(|g| !gone.contains(g));
        self.record("DELETE", "GROUP", Some(format!("groups/{id}")), None);
        Ok(())
    }

    /// `id` and every group below it.
    pub fn subtree(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_owned()];
        let mut i = 0;
        while let Some(current) = out.get(i).cloned() {
            out.extend(
                self.groups
                    .values()
                    .filter(|g| g.parent.as_deref() == Some(current.as_str()))
                    .map(|g| g.id.clone()),
            );
            i += 1;
        }
        out
    }

    /// `id` and its ancestors, nearest first (stops at a missing group or a cycle).
    pub fn group_and_ancestors(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut current = Some(id.to_owned());
        while let Some(c) = current {
            if out.contains(&c) || !self.groups.contains_key(&c) {
                break;
            }
            current = self.groups.get(&c).and_then(|g| g.parent.clone());
            out.push(c);
        }
        out
    }

    /// A group's path: `/a` for a top-level group, `/a/b/c` below it.
    pub fn group_path(&self, id: &str) -> String {
        let mut names: Vec<&str> = self
            .group_and_ancestors(id)
            .iter()
            .filter_map(|g| self.groups.get(g).map(|g| g.name.as_str()))
            .collect();
        names.reverse();
        format!("/{}", names.join("/"))
    }

    /// The group with this path (`/a/b`, the leading `/` optional; a trailing `/` ignored),
    /// names compared exactly.
    pub fn group_by_path(&self, path: &str) -> Option<&GroupRec> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let mut parent: Option<&str> = None;
        let mut found: Option<&GroupRec> = None;
        for name in trimmed.split('/') {
            let g = self
                .groups
                .values()
                .find(|g| g.parent.as_deref() == parent && g.name == name)?;
            parent = Some(g.id.as_str());
            found = Some(g);
        }
        found
    }

    /// The direct subgroups of `parent` (top-level groups when `None`), by name.
    pub fn children_sorted(&self, parent: Option<&str>) -> Vec<&GroupRec> {
        let mut groups: Vec<&GroupRec> = self
            .groups
            .values()
            .filter(|g| g.parent.as_deref() == parent)
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        groups
    }

    /// How many direct subgroups a group has.
    pub fn sub_group_count(&self, id: &str) -> usize {
        self.groups
            .values()
            .filter(|g| g.parent.as_deref() == Some(id))
            .count()
    }

    /// The crate's [`Group`] of a stored group (its full path and parent).
    pub fn to_group(&self, g: &GroupRec) -> Group {
        Group {
            id: g.id.clone(),
            name: g.name.clone(),
            path: self.group_path(&g.id),
            parent_id: g.parent.clone(),
            attributes: g.attributes.clone(),
        }
    }

    /// Groups at any level whose name matches `search` as Keycloak's group search does
    /// (case-insensitive substring, `*` a wildcard; case-sensitive equality when `exact`),
    /// ordered by name.
    pub fn search_groups_any_level(&self, search: &str, exact: bool) -> Vec<&GroupRec> {
        let pattern = Pattern::group_search(search);
        self.all_groups_sorted()
            .into_iter()
            .filter(|g| {
                if exact {
                    g.name == search
                } else {
                    pattern.matches(&g.name)
                }
            })
            .collect()
    }

    pub fn add_member(&mut self, group_id: &str, user_id: &str) -> Result<()> {
        self.user(user_id)?;
        self.group(group_id)?;
        self.memberships
            .insert((user_id.to_owned(), group_id.to_owned()));
        self.record(
            "CREATE",
            "GROUP_MEMBERSHIP",
            Some(format!("users/{user_id}/groups/{group_id}")),
            None,
        );
        Ok(())
    }

    pub fn remove_member(&mut self, group_id: &str, user_id: &str) -> Result<()> {
        self.user(user_id)?;
        self.group(group_id)?;
        self.memberships
            .remove(&(user_id.to_owned(), group_id.to_owned()));
        self.record(
            "DELETE",
            "GROUP_MEMBERSHIP",
            Some(format!("users/{user_id}/groups/{group_id}")),
            None,
        );
        Ok(())
    }

    pub fn members(&self, group_id: &str) -> Result<Vec<&UserRec>> {
        self.group(group_id)?;
        Ok(self
            .users_sorted()
            .into_iter()
            .filter(|u| {
                self.memberships
                    .contains(&(u.id.clone(), group_id.to_owned()))
            })
            .collect())
    }

    /// The groups (at any level) a user is a direct member of, by name.
    pub fn user_groups(&self, user_id: &str) -> Result<Vec<&GroupRec>> {
        self.user(user_id)?;
        Ok(self
            .all_groups_sorted()
            .into_iter()
            .filter(|g| {
                self.memberships
                    .contains(&(user_id.to_owned(), g.id.clone()))
            })
            .collect())
    }

    // ----- roles -----

    pub fn create_role(
        &mut self,
        id: String,
        name: &str,
        description: Option<&str>,
        client: Option<&str>,
    ) -> Result<()> {
        // Keycloak creates a role with an empty name (only a missing one is refused).
        let exists = self
            .roles
            .values()
            .any(|r| r.name == name && r.client.as_deref() == client);
        if exists {
            return Err(KeycloakError::conflict_on(
                ConflictField::RoleName,
                format!("Role with name {name} already exists"),
            ));
        }
        let rep = json!({"id": id, "name": name, "composite": false});
        self.roles
            .insert(id.clone(), RoleRec::new(id, name, description, client));
        let (resource, path) = role_resource(client, name);
        self.record("CREATE", resource, Some(path), Some(rep));
        Ok(())
    }

    /// `PUT roles/{name}` / `PUT roles-by-id/{id}`: renames the role (a name another role of
    /// the same container has is Keycloak's bare `409 Duplicate resource error`), replaces the
    /// description (`None` removes it) and, when given, the attributes. The `composite` flag of
    /// the request is ignored, as Keycloak ignores it. Recorded as `UPDATE` on `path`.
    pub fn update_role(
        &mut self,
        role_id: &str,
        name: &str,
        description: Option<String>,
        attributes: Option<Attributes>,
        path: String,
    ) -> Result<()> {
        let client = self
            .roles
            .get(role_id)
            .ok_or_else(|| KeycloakError::not_found(format!("role {role_id}")))?
            .client
            .clone();
        let clash = self
            .roles
            .values()
            .any(|r| r.id != role_id && r.name == name && r.client == client);
        if clash {
            return Err(KeycloakError::conflict_on(
                ConflictField::RoleName,
                "Duplicate resource error",
            ));
        }
        let role = self
            .roles
            .get_mut(role_id)
            .ok_or_else(|| KeycloakError::not_found(format!("role {role_id}")))?;
        role.name = name.to_owned();
        role.description = description;
        if let Some(a) = attributes {
            role.attributes = a;
        }
        let mut rep = json!({"id": role.id, "name": role.name, "composite": !role.composites.is_empty(),
                             "attributes": role.attributes});
        if let (Some(d), Some(obj)) = (&role.description, rep.as_object_mut()) {
            obj.insert("description".into(), json!(d));
        }
        let resource = if client.is_some() {
            "CLIENT_ROLE"
        } else {
            "REALM_ROLE"
        };
        self.record("UPDATE", resource, Some(path), Some(rep));
        Ok(())
    }

    /// The groups a role (by id) is mapped onto directly, ordered by name.
    pub fn role_groups(&self, role_id: &str) -> Vec<&GroupRec> {
        self.all_groups_sorted()
            .into_iter()
            .filter(|g| {
                self.group_roles
                    .contains(&(g.id.clone(), role_id.to_owned()))
            })
            .collect()
    }

    /// The realm roles a user could be given directly: every realm role not mapped onto them
    /// directly (roles they hold through groups or composites are listed), ordered by name.
    pub fn user_available_realm_roles(&self, user_id: &str) -> Result<Vec<&RoleRec>> {
        self.user(user_id)?;
        Ok(self
            .realm_roles_sorted()
            .into_iter()
            .filter(|r| {
                !self
                    .user_roles
                    .contains(&(user_id.to_owned(), r.id.clone()))
            })
            .collect())
    }

    pub fn delete_role_by_id(&mut self, role_id: &str) {
        let removed = self.roles.remove(role_id);
        self.group_roles.retain(|(_, r)| r != role_id);
        self.user_roles.retain(|(_, r)| r != role_id);
        for role in self.roles.values_mut() {
            role.composites.remove(role_id);
        }
        for client in self.clients.values_mut() {
            client.scope_roles.remove(role_id);
        }
        if let Some(role) = removed {
            let (resource, path) = role_resource(role.client.as_deref(), &role.name);
            self.record("DELETE", resource, Some(path), None);
        }
    }

    /// Resolves realm role names; any unknown name is `NotFound`.
    pub fn resolve_realm_roles(&self, names: &[String]) -> Result<Vec<String>> {
        names
            .iter()
            .map(|n| self.realm_role(n).map(|r| r.id.clone()))
            .collect()
    }

    pub fn group_realm_roles(&self, group_id: &str) -> Result<Vec<&RoleRec>> {
        self.group(group_id)?;
        Ok(self
            .realm_roles_sorted()
            .into_iter()
            .filter(|r| {
                self.group_roles
                    .contains(&(group_id.to_owned(), r.id.clone()))
            })
            .collect())
    }

    /// A group's effective realm roles (`groups/{id}/role-mappings/realm/composite`): its own
    /// mappings and its ancestors', composites expanded, by name.
    pub fn group_effective_realm_roles(&self, group_id: &str) -> Result<Vec<&RoleRec>> {
        self.group(group_id)?;
        let mut ids = BTreeSet::new();
        for group in self.group_and_ancestors(group_id) {
            ids.extend(
                self.group_roles
                    .iter()
                    .filter(|(g, _)| *g == group)
                    .map(|(_, r)| r.clone()),
            );
        }
        let ids = self.expand_composites(ids);
        Ok(self
            .realm_roles_sorted()
            .into_iter()
            .filter(|r| ids.contains(&r.id))
            .collect())
    }

    /// Role ids the user holds: direct mappings, mappings of the groups they are in and of those
    /// groups' ancestors, and everything these roles contain (composites, transitively).
    pub fn effective_role_ids(&self, user_id: &str) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self
            .user_roles
            .iter()
            .filter(|(u, _)| u == user_id)
            .map(|(_, r)| r.clone())
            .collect();
        for (u, g) in &self.memberships {
            if u == user_id {
                for group in self.group_and_ancestors(g) {
                    ids.extend(
                        self.group_roles
                            .iter()
                            .filter(|(gg, _)| *gg == group)
                            .map(|(_, r)| r.clone()),
                    );
                }
            }
        }
        self.expand_composites(ids)
    }

    /// The roles a composite role (by id) contains directly — realm roles when `owner` is
    /// `Some(None)`, the roles of one client when `Some(Some(uuid))`, all when `None` — realm
    /// roles first, each kind ordered by name. An unknown role is `NotFound`.
    pub fn role_composites(
        &self,
        role_id: &str,
        owner: Option<Option<&str>>,
    ) -> Result<Vec<&RoleRec>> {
        let role = self
            .roles
            .get(role_id)
            .ok_or_else(|| KeycloakError::not_found(format!("role {role_id}")))?;
        let mut out: Vec<&RoleRec> = role
            .composites
            .iter()
            .filter_map(|id| self.roles.get(id))
            .filter(|r| owner.is_none_or(|o| r.client.as_deref() == o))
            .collect();
        out.sort_by(|a, b| {
            a.client
                .is_some()
                .cmp(&b.client.is_some())
                .then(a.name.cmp(&b.name))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// Adds (or removes) roles, by id, to (from) the composite role `role_id`, as Keycloak's
    /// `POST`/`DELETE …/composites`: every child must exist (else `NotFound` and nothing
    /// changes); a role may contain itself and cycles are allowed (expansion stops at roles
    /// already seen). Recorded as `CREATE`/`DELETE` of the role's resource on `path`, with
    /// `rep` (the request's role representations).
    pub fn change_composites(
        &mut self,
        role_id: &str,
        children: &[String],
        add: bool,
        path: String,
        rep: Value,
    ) -> Result<()> {
        let client = self
            .roles
            .get(role_id)
            .ok_or_else(|| KeycloakError::not_found(format!("role {role_id}")))?
            .client
            .clone();
        if let Some(missing) = children.iter().find(|c| !self.roles.contains_key(*c)) {
            return Err(KeycloakError::not_found(format!(
                "composite role {missing}"
            )));
        }
        if let Some(role) = self.roles.get_mut(role_id) {
            for c in children {
                if add {
                    role.composites.insert(c.clone());
                } else {
                    role.composites.remove(c);
                }
            }
        }
        let resource = if client.is_some() {
            "CLIENT_ROLE"
        } else {
            "REALM_ROLE"
        };
        self.record(
            if add { "CREATE" } else { "DELETE" },
            resource,
            Some(path),
            Some(rep),
        );
        Ok(())
    }

    /// `ids` plus every role they contain, transitively.
    pub fn expand_composites(&self, ids: BTreeSet<String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = ids.into_iter().collect();
        while let Some(id) = todo.pop() {
            if out.insert(id.clone())
                && let Some(role) = self.roles.get(&id)
            {
                todo.extend(role.composites.iter().cloned());
            }
        }
        out
    }

    /// Effective realm role names of a user, sorted.
    pub fn effective_realm_roles(&self, user_id: &str) -> Vec<String> {
        let ids = self.effective_role_ids(user_id);
        let mut names: Vec<String> = self
            .roles
            .values()
            .filter(|r| r.client.is_none() && ids.contains(&r.id))
            .map(|r| r.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Effective client roles of a user: clientId → sorted role names.
    pub fn effective_client_roles(&self, user_id: &str) -> BTreeMap<String, Vec<String>> {
        let ids = self.effective_role_ids(user_id);
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.roles.values() {
            if let Some(c) = &r.client
                && ids.contains(&r.id)
                && let Ok(client) = self.client(c)
            {
                out.entry(client.client_id.clone())
                    .or_default()
                    .push(r.name.clone());
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        out
    }

    /// Whether the user is an administrator of this realm: `realm-admin` of `realm-management`
    /// (effective), or in `master` the realm role `admin`.
    pub fn is_admin(&self, user_id: &str) -> bool {
        if self.name == "master" {
            return self
                .effective_realm_roles(user_id)
                .iter()
                .any(|r| r == "admin");
        }
        self.effective_client_roles(user_id)
            .get(REALM_MANAGEMENT_CLIENT)
            .is_some_and(|roles| roles.iter().any(|r| r == REALM_ADMIN_ROLE))
    }

    // ----- default groups -----

    pub fn add_default_group(&mut self, group_id: &str) -> Result<()> {
        self.group(group_id)?;
        if !self.default_groups.iter().any(|g| g == group_id) {
            self.default_groups.push(group_id.to_owned());
        }
        self.record(
            "CREATE",
            "GROUP",
            Some(format!("default-groups/{group_id}")),
            None,
        );
        Ok(())
    }

    pub fn remove_default_group(&mut self, group_id: &str) -> Result<()> {
        self.group(group_id)?;
        self.default_groups.retain(|g| g != group_id);
        self.record(
            "DELETE",
            "GROUP",
            Some(format!("default-groups/{group_id}")),
            None,
        );
        Ok(())
    }

    // ----- sessions -----

    pub fn offline_sessions(
        &self,
        user_id: &str,
        client_uuid: &str,
    ) -> Result<Vec<OfflineSession>> {
        let user = self.user(user_id)?;
        let client = self.client(client_uuid)?;
        let mut sessions: Vec<OfflineSession> = self
            .sessions
            .values()
            .filter(|s| s.offline && s.user_id == user_id && s.client_uuid == client_uuid)
            .map(|s| OfflineSession {
                id: s.id.clone(),
                user_id: user.id.clone(),
                username: user.username.clone(),
                start: s.started,
                last_access: s.last_access,
                clients: BTreeMap::from([(client.id.clone(), client.client_id.clone())]),
            })
            .collect();
        sessions.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// Revokes consent and offline sessions of a user with a client; returns whether anything
    /// was revoked. Online sessions with the client are logged out too (as Keycloak does when a
    /// consent is revoked).
    pub fn revoke_consent(&mut self, user_id: &str, client_uuid: &str) -> Result<bool> {
        self.user(user_id)?;
        self.client(client_uuid)?;
        let consent = self
            .consents
            .remove(&(user_id.to_owned(), client_uuid.to_owned()));
        let mut offline = false;
        self.sessions.retain(|_, s| {
            let hit = s.user_id == user_id && s.client_uuid == client_uuid;
            offline |= hit && s.offline;
            !hit
        });
        Ok(consent || offline)
    }
}

/// The admin-event resource type and path of a realm or client role.
fn role_resource(client: Option<&str>, name: &str) -> (&'static str, String) {
    match client {
        None => ("REALM_ROLE", format!("roles/{name}")),
        Some(c) => ("CLIENT_ROLE", format!("clients/{c}/roles/{name}")),
    }
}

/// Whether `uri` matches one of a client's redirect URIs (`*` at the end is a wildcard).
pub(crate) fn redirect_allowed(allowed: &[String], uri: &str) -> bool {
    allowed
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => uri.starts_with(prefix),
            None => pattern == uri,
        })
}

/// Keycloak 26's check of an address in an SMTP configuration: `from` is required, `replyTo`
/// optional; both must look like addresses. The answer is a bare 400 `errorMessage`.
fn check_smtp_address(
    smtp: &serde_json::Map<String, Value>,
    key: &str,
    label: &str,
    required: bool,
) -> Result<()> {
    let value = smtp.get(key).and_then(Value::as_str);
    let valid = match value {
        None => !required,
        Some(v) if v.is_empty() && !required => true,
        Some(v) => {
            let at = v.find('@');
            at.is_some_and(|i| i > 0 && i + 1 < v.len()) && !v.contains(char::is_whitespace)
        }
    };
    if valid {
        return Ok(());
    }
    Err(KeycloakError::invalid(
        "smtp",
        format!(
            "Invalid {label} address '{}'. If the address contains UTF-8 characters in the local \
             part please ensure the SMTP server supports the SMTPUTF8 extension and enable \
             'Allow UTF-8' in the email realm configuration.",
            value.unwrap_or("null")
        ),
    ))
}
