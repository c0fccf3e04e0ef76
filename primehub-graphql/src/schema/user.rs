//! Users: `me`, `user`, `users`, `usersConnection` and the user mutations.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use primehub_keycloak::cache::Snapshot;
use primehub_keycloak::representation::{
    ExecuteActionsEmail, NewUser, UserUpdate, required_action,
};
use primehub_keycloak::{ConflictField, KeycloakError};
use primehub_model::attributes::{Capacity, UserAttributes};
use serde::Serialize;

use super::common::{connection, json_str, page_args, string_set, where_unique};
use super::group::{Group, GroupCreateManyInput, GroupUpdateManyInput};
use super::{snapshot, state};
use crate::auth::Caller;
use crate::error::{Error, ErrorCode, Result};
use crate::guard::{Allow, caller, denied};
use crate::list::{self, Listable};
use crate::undo::Undo;

connection!(UserConnection, UserEdge, User);

where_unique!(
    /// Selects one user by its Keycloak id.
    UserWhereUniqueInput
);
string_set!(
    /// The required actions of an activation email (`VERIFY_EMAIL`, `UPDATE_PASSWORD`, …).
    ResetActionInput
);

/// Filters of the user lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UserWhereInput {
    /// Exactly this id.
    pub id: Option<ID>,
    /// Usernames containing this text.
    #[graphql(name = "username_contains")]
    pub username_contains: Option<String>,
    /// Emails containing this text.
    #[graphql(name = "email_contains")]
    pub email_contains: Option<String>,
    /// Username, email, first or last name containing this text (case-insensitive, as
    /// Keycloak's search).
    pub search: Option<String>,
}

/// The order of the user lists.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UsersOrderBy {
    /// A field name; the order is ascending (Keycloak's order is by username).
    pub field: Option<String>,
}

/// A PrimeHub user (a Keycloak user).
#[derive(Clone)]
pub struct User {
    pub(crate) snap: Arc<Snapshot>,
    pub(crate) id: String,
}

impl User {
    /// The user `id` in `snap`, if it exists.
    pub(crate) fn find(snap: &Arc<Snapshot>, id: &str) -> Option<User> {
        snap.user(id).map(|_| User {
            snap: snap.clone(),
            id: id.to_owned(),
        })
    }

    fn rep(&self) -> Option<&primehub_keycloak::representation::User> {
        self.snap.user(&self.id).map(|u| &u.user)
    }

    /// Whether this user is the one calling.
    fn is_caller(&self, ctx: &Context<'_>) -> bool {
        caller(ctx)
            .ok()
            .and_then(|c| c.identity())
            .is_some_and(|i| i.user_id == self.id)
    }

    fn attributes(&self) -> UserAttributes {
        self.snap
            .user(&self.id)
            .map(|u| u.attributes.clone())
            .unwrap_or_default()
    }
}

impl Listable for User {
    fn id(&self) -> &str {
        &self.id
    }

    fn field(&self, name: &str) -> serde_json::Value {
        let Some(user) = self.rep() else {
            return serde_json::Value::Null;
        };
        match name {
            "id" => json_str(Some(&user.id)),
            "username" => json_str(Some(&user.username)),
            "email" => json_str(user.email.as_deref()),
            "firstName" => json_str(user.first_name.as_deref()),
            "lastName" => json_str(user.last_name.as_deref()),
            "enabled" => serde_json::Value::Bool(user.enabled),
            "createdTimestamp" => user
                .created_timestamp
                .map(serde_json::Value::from)
                .unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }
}

#[Object]
impl User {
    /// The Keycloak id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }
    /// The username.
    async fn username(&self) -> String {
        self.rep().map(|u| u.username.clone()).unwrap_or_default()
    }
    /// The email address.
    async fn email(&self) -> Option<String> {
        self.rep().and_then(|u| u.email.clone())
    }
    /// The first name.
    async fn first_name(&self) -> Option<String> {
        self.rep().and_then(|u| u.first_name.clone())
    }
    /// The last name.
    async fn last_name(&self) -> Option<String> {
        self.rep().and_then(|u| u.last_name.clone())
    }
    /// Whether the user has an OTP credential.
    async fn totp(&self) -> Option<bool> {
        self.rep().map(|u| u.totp)
    }
    /// Whether the user holds `realm-management`/`realm-admin`.
    async fn is_admin(&self) -> bool {
        self.snap.is_admin(&self.id)
    }
    /// Whether the user may log in.
    async fn enabled(&self) -> Option<bool> {
        self.rep().map(|u| u.enabled)
    }
    /// When the user was created, milliseconds since the Unix epoch.
    async fn created_timestamp(&self) -> Option<f64> {
        // Millisecond timestamps are far below 2^53: exact as a float.
        #[allow(clippy::cast_precision_loss)]
        self.rep()
            .and_then(|u| u.created_timestamp)
            .map(|t| t as f64)
    }
    /// The home volume size in GB (the `volumeCapacity` attribute).
    async fn volume_capacity(&self) -> Option<i32> {
        self.attributes()
            .volume_capacity
            .and_then(|c| i32::try_from(c.gigabytes).ok())
    }
    /// Whether the user comes from a federation provider (LDAP…).
    async fn federated(&self) -> Option<bool> {
        self.rep().map(|u| u.federation_link.is_some())
    }
    /// The user's groups, the `everyone` group included when the user is a member.
    /// (A user reading another user, a co-member, sees only the groups they may read.)
    async fn groups(&self, ctx: &Context<'_>) -> Vec<Option<Group>> {
        let mut ids: Vec<&String> = self.snap.user_group_ids(&self.id).iter().collect();
        if !self.is_caller(ctx) {
            super::group::retain_readable(ctx, &self.snap, &mut ids, |g| g.as_str());
        }
        ids.into_iter()
            .filter_map(|gid| Group::find(&self.snap, gid))
            .map(Some)
            .collect()
    }
    /// The groups the user can launch in: the `everyone` group left out, and in each group the
    /// resources granted to `everyone` (global ones) added to the group's own.
    async fn effective_groups(&self, ctx: &Context<'_>) -> Vec<Option<Group>> {
        let everyone = self.snap.everyone_group_id();
        let mut ids: Vec<&String> = self.snap.user_group_ids(&self.id).iter().collect();
        if !self.is_caller(ctx) {
            super::group::retain_readable(ctx, &self.snap, &mut ids, |g| g.as_str());
        }
        let all = Arc::default();
        ids.into_iter()
            .filter(|gid| Some(gid.as_str()) != everyone)
            .filter_map(|gid| Group::find(&self.snap, gid))
            .map(|g| Some(g.effective_for(&self.id, &all)))
            .collect()
    }
    /// How many API tokens (offline sessions of the `admin-ui` client) the user holds.
    async fn api_token_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let state = state(ctx);
        let sessions = state
            .admin
            .offline_sessions(&self.id, &state.config.api_token_client)
            .await
            .map_err(Error::from)?;
        Ok(i32::try_from(sessions.len()).unwrap_or(i32::MAX))
    }
    /// Only meaningful in the console's forms; always null here.
    async fn send_email(&self) -> Option<bool> {
        None
    }
    /// Only meaningful in the console's forms; always null here.
    async fn reset_actions(&self) -> Option<Vec<Option<String>>> {
        None
    }
    /// Only meaningful in the console's forms; always null here.
    async fn expires_in(&self) -> Option<i32> {
        None
    }
}

/// `{ id }` answer of the user actions.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserActionResponse {
    /// The user's id.
    pub id: Option<String>,
}

/// `{ status }` answer of `sendMultiEmail`.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserMultiEmailResponse {
    /// Whether every email was sent.
    pub status: Option<bool>,
}

/// Fields of a new user.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UserCreateInput {
    /// The username: lower-case letters, digits, `-`, `.`, `_`, starting with a letter or
    /// digit.
    pub username: String,
    /// The email address.
    pub email: Option<String>,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// Accepted and ignored (an OTP credential is made by the user).
    pub totp: Option<bool>,
    /// Make the user a system administrator.
    pub is_admin: Option<bool>,
    /// Ignored: new users are enabled, as in PrimeHub.
    pub enabled: Option<bool>,
    /// Ignored (set by Keycloak).
    pub created_timestamp: Option<f64>,
    /// Home volume size in GB (≥ 0).
    pub volume_capacity: Option<i32>,
    /// Ignored.
    pub federated: Option<bool>,
    /// Groups to join (`connect`).
    pub groups: Option<GroupCreateManyInput>,
    /// Send an activation email.
    pub send_email: Option<bool>,
    /// The email's required actions (default `VERIFY_EMAIL`, `UPDATE_PASSWORD`).
    pub reset_actions: Option<ResetActionInput>,
    /// The email link's lifetime in seconds (default 86400).
    pub expires_in: Option<i32>,
}

/// Changes to a user.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UserUpdateInput {
    /// Must equal the current username when given (usernames cannot change).
    pub username: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// `false` removes the user's OTP credential.
    pub totp: Option<bool>,
    /// Grant or revoke system administration.
    pub is_admin: Option<bool>,
    /// Whether the user may log in (PrimeHub: **true when omitted**).
    pub enabled: Option<bool>,
    /// Ignored.
    pub created_timestamp: Option<f64>,
    /// Home volume size in GB (≥ 0).
    pub volume_capacity: Option<i32>,
    /// Ignored.
    pub federated: Option<bool>,
    /// Groups to join (`connect`) or leave (`disconnect`).
    pub groups: Option<GroupUpdateManyInput>,
}

/// Checks a username against PrimeHub's rule.
pub fn validate_username(field: &str, username: &str) -> Result<()> {
    let mut chars = username.chars();
    let starts_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'));
    if !starts_ok || !rest_ok {
        return Err(Error::invalid(
            field,
            "must be lower-case letters, digits, '-', '.' or '_', starting with a letter or digit",
        ));
    }
    if username.len() > 255 {
        return Err(Error::invalid(field, "must be at most 255 characters"));
    }
    Ok(())
}

fn validate_email(field: &str, email: &str) -> Result<()> {
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(field, "must be an email address"))
    }
}

fn capacity(field: &str, gigabytes: i32) -> Result<Capacity> {
    u64::try_from(gigabytes)
        .map(Capacity::new)
        .map_err(|_| Error::invalid(field, "must be 0 or more"))
}

/// The group ids of `connect`/`disconnect` lists, checked to exist.
pub(crate) fn group_ids(
    snap: &Snapshot,
    field: &str,
    items: Option<&Vec<super::group::GroupWhereUniqueInput>>,
) -> Result<Vec<String>> {
    super::common::existing_ids(
        field,
        "group",
        items.into_iter().flatten().map(|item| &item.id),
        |id| snap.group(id).is_some(),
    )
}

fn conflict(error: KeycloakError) -> Error {
    match error.conflict_field() {
        Some(ConflictField::Username) => Error::Conflict {
            code: ErrorCode::UserConflictUsername,
            message: "User exists with same username".into(),
        },
        Some(ConflictField::Email) => Error::Conflict {
            code: ErrorCode::UserConflictEmail,
            message: "User exists with same email".into(),
        },
        _ => Error::Keycloak(error),
    }
}

/// The user queries.
#[derive(Default)]
pub struct UserQuery;

/// The users a user list shows, as PrimeHub asks Keycloak for them: `where.id` is a lookup;
/// otherwise `search` (username, email, first or last name) or else `username_contains` /
/// `email_contains`, all case-insensitive substrings as Keycloak matches them; by username.
fn user_page(
    snap: &Arc<Snapshot>,
    where_: Option<&UserWhereInput>,
    args: &list::PageArgs,
) -> list::Paged<User> {
    if let Some(id) = where_.and_then(|w| w.id.as_ref()) {
        return list::user_by_id(User::find(snap, id), args);
    }
    let lower = |s: &Option<String>| {
        s.as_deref()
            .filter(|v| !v.is_empty())
            .map(str::to_lowercase)
    };
    let search = where_.and_then(|w| lower(&w.search));
    let username = where_.and_then(|w| lower(&w.username_contains));
    let email = where_.and_then(|w| lower(&w.email_contains));
    let has = |value: Option<&str>, needle: &str| {
        value.is_some_and(|v| v.to_lowercase().contains(needle))
    };
    let selected: Vec<User> = snap
        .users()
        .iter()
        .filter(|u| {
            let r = &u.user;
            match &search {
                Some(s) => {
                    has(Some(&r.username), s)
                        || has(r.email.as_deref(), s)
                        || has(r.first_name.as_deref(), s)
                        || has(r.last_name.as_deref(), s)
                }
                None => {
                    username.as_ref().is_none_or(|n| has(Some(&r.username), n))
                        && email.as_ref().is_none_or(|n| has(r.email.as_deref(), n))
                }
            }
        })
        .map(|u| User {
            snap: snap.clone(),
            id: u.user.id.clone(),
        })
        .collect();
    list::paginate_users(selected, snap.user_count(), args)
}

/// A where input as the JSON object the list helpers read (`search` handled by the caller).
pub(crate) fn where_json<T: Serialize>(
    where_: Option<&T>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let Some(where_) = where_ else {
        return Ok(None);
    };
    let value = serde_json::to_value(where_).map_err(|e| Error::invalid("where", e.to_string()))?;
    let serde_json::Value::Object(mut map) = value else {
        return Ok(None);
    };
    map.retain(|k, v| !v.is_null() && k != "search");
    Ok(Some(map))
}

#[Object]
impl UserQuery {
    /// The caller.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let caller = caller(ctx)?;
        let Some(identity) = caller.identity() else {
            return Ok(None);
        };
        Ok(User::find(&snapshot(ctx), &identity.user_id))
    }

    /// One user by id: administrators and the shared-secret client read any user, a user only
    /// themself (PrimeHub lets any user read any user).
    #[graphql(guard = "Allow::Authenticated")]
    async fn user(
        &self,
        ctx: &Context<'_>,
        r#where: UserWhereUniqueInput,
    ) -> async_graphql::Result<Option<User>> {
        let caller = caller(ctx)?;
        if let Caller::User(identity) = caller.as_ref()
            && identity.user_id != r#where.id.as_str()
        {
            return Err(denied().into());
        }
        Ok(User::find(&snapshot(ctx), &r#where.id))
    }

    /// Users (administrators only).
    #[graphql(guard = "Allow::Admin")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        r#where: Option<UserWhereInput>,
        before: Option<String>,
        after: Option<String>,
        page: Option<i32>,
        first: Option<i32>,
        last: Option<i32>,
        user_order_by: Option<UsersOrderBy>,
    ) -> async_graphql::Result<Vec<Option<User>>> {
        let _ = user_order_by;
        let paged = user_page(
            &snapshot(ctx),
            r#where.as_ref(),
            &page_args(page, before, after, first, last),
        );
        Ok(paged.items.into_iter().map(Some).collect())
    }

    /// Users as a connection (administrators only).
    #[graphql(guard = "Allow::Admin")]
    #[allow(clippy::too_many_arguments)]
    async fn users_connection(
        &self,
        ctx: &Context<'_>,
        r#where: Option<UserWhereInput>,
        before: Option<String>,
        after: Option<String>,
        page: Option<i32>,
        first: Option<i32>,
        last: Option<i32>,
        user_order_by: Option<UsersOrderBy>,
    ) -> async_graphql::Result<UserConnection> {
        let _ = user_order_by;
        let paged = user_page(
            &snapshot(ctx),
            r#where.as_ref(),
            &page_args(page, before, after, first, last),
        );
        Ok(UserConnection::new(
            paged.items.into_iter().map(|u| (u.id.clone(), u)).collect(),
            paged.page_info,
        ))
    }
}

/// The user mutations.
#[derive(Default)]
pub struct UserMutation;

async fn create_user(ctx: &Context<'_>, data: UserCreateInput) -> Result<User> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    // Validation before any write.
    validate_username("data.username", &data.username)?;
    if let Some(email) = data.email.as_deref().filter(|e| !e.is_empty()) {
        validate_email("data.email", email)?;
    }
    let mut attributes = UserAttributes::default();
    if let Some(gb) = data.volume_capacity {
        attributes.volume_capacity = Some(capacity("data.volumeCapacity", gb)?);
    }
    let connect = group_ids(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    let actions = email_actions("data.resetActions.set", data.reset_actions.as_ref())?;
    let lifespan = lifespan("data.expiresIn", data.expires_in)?;
    if data.send_email == Some(true) && data.email.as_deref().is_none_or(str::is_empty) {
        return Err(Error::invalid(
            "data.email",
            "is required to send an activation email",
        ));
    }

    let new_user = NewUser {
        username: data.username.clone(),
        email: data.email.clone().filter(|e| !e.is_empty()),
        first_name: data.first_name.clone(),
        last_name: data.last_name.clone(),
        enabled: true,
        attributes: attributes.to_map(),
        password: None,
    };
    let id = state.admin.create_user(&new_user).await.map_err(conflict)?;
    let rest = async {
        if data.is_admin == Some(true) {
            state.admin.set_admin(&id, true).await?;
        }
        for group in &connect {
            state.admin.add_member(group, &id).await?;
        }
        Ok::<(), KeycloakError>(())
    }
    .await;
    if let Err(error) = rest {
        tracing::warn!(user = %data.username, error = %error, "createUser failed after creating the user: deleting it again");
        if let Err(undo) = state.admin.delete_user(&id).await {
            tracing::error!(user = %data.username, error = %undo, "could not roll back createUser");
        }
        return Err(error.into());
    }
    if data.send_email == Some(true) {
        let email = ExecuteActionsEmail {
            actions,
            lifespan: Some(lifespan),
            client_id: None,
            redirect_uri: None,
        };
        // As PrimeHub: the user exists; a failed email is reported in the log only.
        if let Err(error) = state.admin.execute_actions_email(&id, &email).await {
            tracing::warn!(user = %data.username, error = %error, "activation email not sent");
        }
    }
    User::find(&state.keycloak.snapshot(), &id).ok_or(Error::NotFound {
        kind: "user",
        name: id,
    })
}

/// The required actions of an email (default `VERIFY_EMAIL`, `UPDATE_PASSWORD`), each checked
/// to be one Keycloak knows (`field[i]` names a bad one).
fn email_actions(field: &str, input: Option<&ResetActionInput>) -> Result<Vec<String>> {
    let mut given = Vec::new();
    let items = input.and_then(|r| r.set.as_ref());
    for (i, action) in items.into_iter().flatten().enumerate() {
        let Some(action) = action else { continue };
        if !required_action::KEYCLOAK_26_BUILT_IN.contains(&action.as_str()) {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                format!(
                    "must be one of {}, not {action:?}",
                    required_action::KEYCLOAK_26_BUILT_IN.join(", ")
                ),
            ));
        }
        given.push(action.clone());
    }
    if given.is_empty() {
        Ok(vec![
            required_action::VERIFY_EMAIL.to_owned(),
            required_action::UPDATE_PASSWORD.to_owned(),
        ])
    } else {
        Ok(given)
    }
}

fn lifespan(field: &str, expires_in: Option<i32>) -> Result<u32> {
    match expires_in {
        None => Ok(86_400),
        Some(s) => u32::try_from(s)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| Error::invalid(field, "must be a positive number of seconds")),
    }
}

async fn update_user(ctx: &Context<'_>, id: &str, data: UserUpdateInput) -> Result<User> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let current = snap.user(id).ok_or_else(|| Error::NotFound {
        kind: "user",
        name: id.to_owned(),
    })?;
    if let Some(username) = data.username.as_deref()
        && username != current.user.username
    {
        return Err(Error::invalid("data.username", "cannot be changed"));
    }
    if let Some(email) = data.email.as_deref().filter(|e| !e.is_empty()) {
        validate_email("data.email", email)?;
    }
    let attributes = match data.volume_capacity {
        Some(gb) => {
            let mut attrs = UserAttributes::read(&current.user.attributes).value;
            attrs.volume_capacity = Some(capacity("data.volumeCapacity", gb)?);
            let mut map = current.user.attributes.clone();
            attrs.write_to(&mut map);
            Some(map)
        }
        None => None,
    };
    let connect = group_ids(
        &snap,
        "data.groups.connect",
        data.groups.as_ref().and_then(|g| g.connect.as_ref()),
    )?;
    let disconnect = group_ids(
        &snap,
        "data.groups.disconnect",
        data.groups.as_ref().and_then(|g| g.disconnect.as_ref()),
    )?;
    let update = UserUpdate {
        email: data.email.clone(),
        first_name: data.first_name.clone(),
        last_name: data.last_name.clone(),
        // PrimeHub: enabled is true when the field is omitted.
        enabled: Some(data.enabled.unwrap_or(true)),
        attributes,
    };
    // What writes the changed fields back, should a later step fail.
    let old = &current.user;
    let before = UserUpdate {
        email: update
            .email
            .as_ref()
            .map(|_| old.email.clone().unwrap_or_default()),
        first_name: update
            .first_name
            .as_ref()
            .map(|_| old.first_name.clone().unwrap_or_default()),
        last_name: update
            .last_name
            .as_ref()
            .map(|_| old.last_name.clone().unwrap_or_default()),
        enabled: Some(old.enabled),
        attributes: update.attributes.as_ref().map(|_| old.attributes.clone()),
    };
    let mut undo = Undo::new();
    let steps = async {
        undo.update_user(state, id, &update, before)
            .await
            .map_err(|e| match e {
                Error::Keycloak(k) if k.conflict_field().is_some() => Error::Conflict {
                    code: ErrorCode::UserConflictEmail,
                    message: "User exists with same email".into(),
                },
                other => other,
            })?;
        if let Some(admin) = data.is_admin {
            let was = snap.is_admin(id);
            if admin != was {
                undo.set_admin(state, id, admin, was).await?;
            }
        }
        let member_of = snap.user_group_ids(id);
        for group in connect.iter().filter(|g| !member_of.contains(g)) {
            undo.set_member(state, group, id, true).await?;
        }
        for group in disconnect.iter().filter(|g| member_of.contains(g)) {
            undo.set_member(state, group, id, false).await?;
        }
        // Last, as nothing can restore a removed TOTP credential: when this fails the steps
        // above are undone; when it succeeds nothing is left to fail.
        if data.totp == Some(false) && current.user.totp {
            state.admin.remove_totp(id).await?;
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = steps {
        undo.undo(state).await;
        return Err(e);
    }
    User::find(&state.keycloak.snapshot(), id).ok_or_else(|| Error::NotFound {
        kind: "user",
        name: id.to_owned(),
    })
}

#[Object]
impl UserMutation {
    /// Creates a user: enabled, with its attributes, admin role and groups; sends the
    /// activation email when asked. A failure after the user was created deletes it again.
    #[graphql(guard = "Allow::Admin")]
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        data: UserCreateInput,
    ) -> async_graphql::Result<User> {
        Ok(create_user(ctx, data).await?)
    }

    /// Updates a user (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        data: UserUpdateInput,
        r#where: UserWhereUniqueInput,
    ) -> async_graphql::Result<Option<User>> {
        Ok(Some(update_user(ctx, &r#where.id, data).await?))
    }

    /// Deletes a user (only the Keycloak user, as PrimeHub).
    #[graphql(guard = "Allow::Admin")]
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        r#where: UserWhereUniqueInput,
    ) -> async_graphql::Result<Option<User>> {
        let state = state(ctx);
        let before = state.keycloak.snapshot();
        let user = User::find(&before, &r#where.id).ok_or_else(|| Error::NotFound {
            kind: "user",
            name: r#where.id.to_string(),
        })?;
        state
            .admin
            .delete_user(&r#where.id)
            .await
            .map_err(Error::from)?;
        Ok(Some(user))
    }

    /// Sends an email with required actions to a user.
    #[graphql(guard = "Allow::Admin")]
    async fn send_email(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        reset_actions: Option<Vec<Option<String>>>,
        expires_in: Option<i32>,
    ) -> async_graphql::Result<Option<UserActionResponse>> {
        let state = state(ctx);
        let id = id.ok_or_else(|| Error::invalid("id", "is required"))?;
        let snap = state.keycloak.snapshot();
        let user = snap.user(&id).ok_or(Error::Coded {
            code: ErrorCode::UserNotExist,
            message: format!("user {id} does not exist"),
        })?;
        if user.user.email.as_deref().is_none_or(str::is_empty) {
            return Err(Error::Coded {
                code: ErrorCode::UserEmailNotExist,
                message: format!("user {} has no email address", user.user.username),
            }
            .into());
        }
        let actions = email_actions(
            "resetActions",
            Some(&ResetActionInput { set: reset_actions }),
        )?;
        let email = ExecuteActionsEmail {
            actions,
            lifespan: Some(lifespan("expiresIn", expires_in)?),
            client_id: None,
            redirect_uri: None,
        };
        state
            .admin
            .execute_actions_email(&id, &email)
            .await
            .map_err(Error::from)?;
        Ok(Some(UserActionResponse { id: Some(id) }))
    }

    /// Sends the email to several users; `status` is false when any failed.
    #[graphql(guard = "Allow::Admin")]
    async fn send_multi_email(
        &self,
        ctx: &Context<'_>,
        r#in: Option<Vec<Option<String>>>,
        reset_actions: Option<Vec<Option<String>>>,
        expires_in: Option<i32>,
    ) -> async_graphql::Result<Option<UserMultiEmailResponse>> {
        let state = state(ctx);
        let email = ExecuteActionsEmail {
            actions: email_actions(
                "resetActions",
                Some(&ResetActionInput { set: reset_actions }),
            )?,
            lifespan: Some(lifespan("expiresIn", expires_in)?),
            client_id: None,
            redirect_uri: None,
        };
        // Every id must name a user before any email goes out.
        let snap = state.keycloak.snapshot();
        let given = r#in.unwrap_or_default();
        for (i, id) in given.iter().enumerate() {
            if let Some(id) = id
                && snap.user(id).is_none()
            {
                return Err(
                    Error::invalid(format!("in[{i}]"), format!("no user has id {id}")).into(),
                );
            }
        }
        let mut status = true;
        for id in given.into_iter().flatten() {
            if let Err(error) = state.admin.execute_actions_email(&id, &email).await {
                tracing::warn!(user = %id, error = %error, "email not sent");
                status = false;
            }
        }
        Ok(Some(UserMultiEmailResponse {
            status: Some(status),
        }))
    }

    /// Sets a user's password.
    #[graphql(guard = "Allow::Admin")]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        password: Option<String>,
        temporary: Option<bool>,
    ) -> async_graphql::Result<Option<UserActionResponse>> {
        let state = state(ctx);
        let id = id.ok_or_else(|| Error::invalid("id", "is required"))?;
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::invalid("password", "is required and must not be empty"))?;
        if state.keycloak.snapshot().user(&id).is_none() {
            return Err(Error::Coded {
                code: ErrorCode::UserNotExist,
                message: format!("user {id} does not exist"),
            }
            .into());
        }
        state
            .admin
            .reset_password(&id, &password, temporary.unwrap_or(false))
            .await
            .map_err(Error::from)?;
        Ok(Some(UserActionResponse { id: Some(id) }))
    }

    /// Revokes a user's API tokens (the offline sessions of `admin-ui`). Users revoke their
    /// own; administrators anyone's.
    #[graphql(guard = "Allow::AdminOrUser")]
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        user_id: Option<String>,
    ) -> async_graphql::Result<Option<UserActionResponse>> {
        let state = state(ctx);
        let caller = caller(ctx)?;
        let own = caller.identity().map(|i| i.user_id.clone());
        let target = match (user_id, own) {
            (Some(id), Some(own)) if id != own && !caller.is_admin() => {
                return Err(denied().into());
            }
            (Some(id), _) => id,
            (None, Some(own)) => own,
            (None, None) => return Err(Error::invalid("userId", "is required").into()),
        };
        if state.keycloak.snapshot().user(&target).is_none() {
            return Err(Error::Coded {
                code: ErrorCode::UserNotExist,
                message: format!("user {target} does not exist"),
            }
            .into());
        }
        match state
            .admin
            .revoke_offline_sessions(&target, &state.config.api_token_client)
            .await
        {
            Ok(()) => state.auth.forget_api_tokens_of(&target),
            Err(e) if e.is_not_found() => state.auth.forget_api_tokens_of(&target),
            Err(e) => {
                tracing::warn!(user = %target, error = %e, "revoking API tokens failed");
                return Err(Error::Coded {
                    code: ErrorCode::UserRevokeFailed,
                    message: "revoking the API tokens failed".into(),
                }
                .into());
            }
        }
        Ok(Some(UserActionResponse { id: Some(target) }))
    }
}

/// `connect` users when creating a group (`create` is accepted and ignored, as in PrimeHub).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UserCreateManyInput {
    /// Ignored.
    pub create: Option<Vec<UserCreateInput>>,
    /// Users to add.
    pub connect: Option<Vec<UserWhereUniqueInput>>,
}

/// `connect`/`disconnect` users when updating a group (`create`/`delete` ignored).
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct UserUpdateManyInput {
    /// Ignored.
    pub create: Option<Vec<UserCreateInput>>,
    /// Users to add.
    pub connect: Option<Vec<UserWhereUniqueInput>>,
    /// Users to remove.
    pub disconnect: Option<Vec<UserWhereUniqueInput>>,
    /// Ignored.
    pub delete: Option<Vec<UserWhereUniqueInput>>,
}
