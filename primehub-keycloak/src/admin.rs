//! The Keycloak admin trait: everything PrimeHub asks of Keycloak, for one realm.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::representation::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, CompositeRoles, Credential,
    ExecuteActionsEmail, Group, GroupUpdate, NewGroup, NewUser, OfflineSession, Page,
    RealmSettings, RealmSettingsUpdate, Role, RoleUpdate, User, UserUpdate,
};

/// The client id of Keycloak's realm-management client, which owns the `realm-admin` role.
pub const REALM_MANAGEMENT_CLIENT: &str = "realm-management";
/// The client role that makes a user a PrimeHub administrator.
pub const REALM_ADMIN_ROLE: &str = "realm-admin";
/// The hidden group every user belongs to; its role mappings are the global resources.
pub const EVERYONE_GROUP: &str = "everyone";

/// Keycloak administration of one realm, as PrimeHub uses it.
///
/// Implementations: [`crate::http::HttpKeycloak`] (the real admin REST API) and, behind the `fake`
/// feature, `crate::fake::FakeRealm` (in memory). Both pass [`crate::conformance`]. The trait is
/// object-safe: hold it as `Arc<dyn KeycloakAdmin>`. `Arc<T>` and `Box<T>` implement it too
/// (for any `T: KeycloakAdmin`, sized or not), so a decorator generic over its inner client —
/// a cache, a counter, a rate limiter — wraps a fake, an `HttpKeycloak` or another decorator
/// alike.
///
/// Semantics every implementation follows (Keycloak's):
/// * usernames and e-mails are stored lowercased and looked up case-insensitively; a duplicate
///   username or e-mail, group name (among the group's siblings: top-level groups, or the
///   subgroups of one parent) or role name is
///   [`Conflict`](crate::KeycloakError::Conflict);
/// * a missing user, group, role or client is [`NotFound`](crate::KeycloakError::NotFound);
/// * adding a role mapping, a member or a default group that is already there, and removing one
///   that is not, succeed (idempotent);
/// * list calls take a [`Page`] and return results in a stable order (users by username, groups
///   by name, roles by name).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait KeycloakAdmin: Send + Sync {
    /// The realm this client administers.
    fn realm(&self) -> &str;

    // ----- users -----

    /// The user with this id.
    async fn get_user(&self, id: &str) -> Result<User>;
    /// The user with exactly this username (case-insensitive), if any.
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>>;
    /// The user with exactly this e-mail (case-insensitive), if any.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Users whose username, e-mail, first or last name contains `search` (all users when
    /// `None`), ordered by username.
    async fn search_users<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<User>>;
    /// How many users [`search_users`](Self::search_users) would return over all pages.
    async fn count_users<'a>(&self, search: Option<&'a str>) -> Result<u64>;
    /// Creates a user and returns its id.
    async fn create_user(&self, user: &NewUser) -> Result<String>;
    /// Updates the given fields of a user.
    async fn update_user(&self, id: &str, update: &UserUpdate) -> Result<()>;
    /// Deletes a user.
    async fn delete_user(&self, id: &str) -> Result<()>;
    /// Sets a user's password; `temporary` forces a change at next login.
    async fn reset_password(&self, id: &str, password: &str, temporary: bool) -> Result<()>;

    // ----- groups -----

    /// Top-level groups (all when `search` is `None`), ordered by name, with their attributes.
    ///
    /// With `search`, Keycloak's group search: the groups at any level whose name contains
    /// `search` (case-insensitive, `*` a wildcard) are matched, ordered by name and paged, and
    /// each match is reported as its top-level ancestor (a top-level group listed once). In a
    /// realm without subgroups that is simply the top-level groups whose name contains
    /// `search`.
    async fn search_groups<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<Group>>;
    /// Without `search`, how many top-level groups there are; with `search`, how many groups at
    /// any level match it (Keycloak's `groups/count`).
    async fn count_groups<'a>(&self, search: Option<&'a str>) -> Result<u64>;
    /// The group with this id, with its attributes.
    async fn get_group(&self, id: &str) -> Result<Group>;
    /// The top-level group with exactly this name (case-sensitive), if any.
    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>>;
    /// Creates a top-level group and returns its id.
    async fn create_group(&self, group: &NewGroup) -> Result<String>;
    /// Updates the given fields of a group.
    async fn update_group(&self, id: &str, update: &GroupUpdate) -> Result<()>;
    /// Deletes a group (its memberships and role mappings go with it).
    async fn delete_group(&self, id: &str) -> Result<()>;
    /// Makes a user a member of a group (idempotent).
    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()>;
    /// Removes a user from a group (idempotent).
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()>;
    /// The members of a group, ordered by username.
    async fn list_members(&self, group_id: &str, page: Page) -> Result<Vec<User>>;
    /// The groups (top-level or subgroups) a user is a direct member of, ordered by name, with
    /// their attributes.
    async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>>;

    // ----- subgroups -----

    /// Creates a subgroup of `parent_id` and returns its id. A sibling with the same name is
    /// [`Conflict`](crate::KeycloakError::Conflict) on the group name; a missing parent is
    /// `NotFound`. Members of a subgroup hold the realm roles of its ancestors too.
    async fn create_subgroup(&self, parent_id: &str, group: &NewGroup) -> Result<String>;
    /// The direct subgroups of a group, ordered by name, with their attributes.
    async fn list_subgroups(&self, parent_id: &str, page: Page) -> Result<Vec<Group>>;
    /// Moves a group (with its subgroups) under `parent_id`, or to the top level when `None`.
    /// A group of the same name already there is `Conflict` on the group name; moving a group
    /// under itself changes nothing; moving it under one of its own subgroups fails (Keycloak
    /// answers 500: [`Unexpected`](crate::KeycloakError::Unexpected)).
    async fn move_group<'a>(&self, group_id: &str, parent_id: Option<&'a str>) -> Result<()>;
    /// The group with this path (`/team/sub`; names compared exactly), if any.
    async fn find_group_by_path(&self, path: &str) -> Result<Option<Group>>;

    // ----- realm roles -----

    /// Creates a realm role (without description when `None`).
    async fn create_role<'a>(&self, name: &str, description: Option<&'a str>) -> Result<()>;
    /// The realm role with this name.
    async fn get_role(&self, name: &str) -> Result<Role>;
    /// Deletes a realm role (its mappings go with it).
    async fn delete_role(&self, name: &str) -> Result<()>;
    /// Realm roles whose name starts with `prefix` (all when `None`), ordered by name.
    ///
    /// Every Keycloak realm has `offline_access`, `uma_authorization` and the composite
    /// `default-roles-<realm>` besides the roles created through this trait.
    async fn list_roles<'a>(&self, prefix: Option<&'a str>, page: Page) -> Result<Vec<Role>>;
    /// Renames a realm role (its mappings follow it), changes its description or replaces its
    /// attributes; `None` fields stay. A new name another realm role has is `Conflict` on the
    /// role name; a missing role is `NotFound`.
    async fn update_role(&self, name: &str, update: &RoleUpdate) -> Result<()>;
    /// The users a realm role is mapped onto **directly** (not through groups or composites),
    /// ordered by username.
    async fn role_users(&self, name: &str, page: Page) -> Result<Vec<User>>;
    /// The groups (at any level) a realm role is mapped onto directly, ordered by name, with
    /// their attributes.
    async fn role_groups(&self, name: &str, page: Page) -> Result<Vec<Group>>;

    // ----- composite roles -----

    /// The roles the realm role `name` contains directly (realm and client roles; not
    /// expanded further). Every Keycloak realm's `default-roles-<realm>` contains
    /// `offline_access`, `uma_authorization` and the `account` client's `manage-account` and
    /// `view-profile`. A missing role is `NotFound`.
    async fn role_composites(&self, name: &str) -> Result<CompositeRoles>;
    /// Makes the realm role `name` contain the realm roles `roles` (idempotent; the role
    /// becomes composite). A role may contain itself, and cycles are allowed: expansion stops
    /// at roles already seen. A missing role — `name` or one of `roles` — is `NotFound` and
    /// nothing changes. Users and groups holding `name` then hold `roles` too (effective
    /// mappings, tokens).
    async fn add_role_composites(&self, name: &str, roles: &[String]) -> Result<()>;
    /// Removes realm roles from the composite realm role `name` (idempotent for roles it does
    /// not contain). A missing role is `NotFound` and nothing changes.
    async fn remove_role_composites(&self, name: &str, roles: &[String]) -> Result<()>;
    /// The roles the client role `role` of the client whose `clientId` is `client_id`
    /// contains directly: `realm-management`'s `realm-admin` contains the 21 other
    /// `realm-management` roles. A missing client or role is `NotFound`.
    async fn client_role_composites(&self, client_id: &str, role: &str) -> Result<CompositeRoles>;

    // ----- group realm-role mappings -----

    /// Maps realm roles onto a group (idempotent). An unknown role is `NotFound` and nothing is
    /// mapped.
    async fn add_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()>;
    /// Removes realm-role mappings from a group (idempotent for roles not mapped). An unknown
    /// role is `NotFound` and nothing is removed.
    async fn remove_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()>;
    /// The realm roles mapped directly onto a group, ordered by name.
    async fn list_group_roles(&self, group_id: &str) -> Result<Vec<Role>>;

    // ----- administrators -----

    /// Whether the user holds the client role `realm-admin` of `realm-management` (directly or
    /// through a composite or group).
    async fn is_admin(&self, user_id: &str) -> Result<bool>;
    /// Grants or revokes the direct `realm-admin` mapping (idempotent).
    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()>;
    /// The ids of the users the client role `realm-admin` of `realm-management` is mapped onto
    /// **directly** (what [`set_admin`](Self::set_admin) grants; not through groups or
    /// composites), in no particular order. One call on Keycloak
    /// (`GET clients/{uuid}/roles/realm-admin/users`, paged), where asking
    /// [`is_admin`](Self::is_admin) per user would be one call per user.
    async fn admin_user_ids(&self) -> Result<Vec<String>>;

    // ----- default groups -----

    /// The realm's default groups (new users join them; PrimeHub's is `everyone`).
    async fn default_groups(&self) -> Result<Vec<Group>>;
    /// Adds a default group (idempotent).
    async fn add_default_group(&self, group_id: &str) -> Result<()>;
    /// Removes a default group (idempotent).
    async fn remove_default_group(&self, group_id: &str) -> Result<()>;

    // ----- offline sessions (API tokens) -----

    /// The user's offline sessions with the client whose `clientId` is `client_id`.
    async fn offline_sessions(&self, user_id: &str, client_id: &str)
    -> Result<Vec<OfflineSession>>;
    /// Revokes every offline session (and consent) of the user with that client (idempotent).
    async fn revoke_offline_sessions(&self, user_id: &str, client_id: &str) -> Result<()>;

    // ----- user realm-role mappings -----

    /// The realm roles mapped directly onto a user, ordered by name. This includes
    /// `default-roles-<realm>`, which every new user gets (on Keycloak and the fake alike).
    async fn user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>>;
    /// The user's effective realm roles, ordered by name: direct mappings, the mappings of the
    /// groups they are in, and everything those roles contain (composites).
    async fn effective_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>>;
    /// Maps realm roles directly onto a user (idempotent). An unknown role is `NotFound` and
    /// nothing is mapped.
    async fn add_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()>;
    /// Removes direct realm-role mappings from a user (idempotent for roles not mapped). An
    /// unknown role is `NotFound` and nothing is removed.
    async fn remove_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()>;
    /// The realm roles that could still be mapped onto a user directly: every realm role not
    /// mapped onto them directly (roles held only through a group or a composite are listed),
    /// ordered by name.
    async fn available_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>>;

    // ----- e-mail and credentials -----

    /// Mails the user a link that runs `request.actions`. The user needs an e-mail address and
    /// must be enabled (else `Invalid`); unknown actions, an unknown client or a redirect URI the
    /// client does not allow are `Invalid`; a realm without a working SMTP server is
    /// [`Unexpected`](crate::KeycloakError::Unexpected) with status 500 (Keycloak's answer).
    async fn execute_actions_email(
        &self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()>;
    /// The user's credentials (password, OTP, …) without their secrets, in Keycloak's order.
    async fn user_credentials(&self, user_id: &str) -> Result<Vec<Credential>>;
    /// Removes every OTP credential of the user (idempotent: a user without one is fine).
    ///
    /// PrimeHub's console calls `PUT users/{id}/remove-totp`, which Keycloak removed in version
    /// 12 (it answers 404 on Keycloak 26 and the console only logs the failure); this deletes
    /// the user's `otp` credentials one by one, which is what that endpoint used to do.
    async fn remove_totp(&self, user_id: &str) -> Result<()>;

    // ----- realm settings -----

    /// The realm's display name, SMTP server and admin-event switches.
    async fn realm_settings(&self) -> Result<RealmSettings>;
    /// Changes the settings `update` names and leaves the rest alone.
    async fn update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()>;

    // ----- clients -----

    /// The secret of the confidential client whose `clientId` is `client_id` (`None` for a
    /// public client). An unknown client is `NotFound`.
    async fn client_secret(&self, client_id: &str) -> Result<Option<String>>;
    /// The scope mappings of the client whose `clientId` is `client_id`: the realm and client
    /// roles its tokens may carry when its `fullScopeAllowed` is off (PrimeHub's `admin-ui`
    /// maps `realm-management/realm-admin`). An unknown client is `NotFound`.
    async fn client_scope_mappings(&self, client_id: &str) -> Result<ClientScopeMappings>;

    // ----- admin events -----

    /// Admin events (changes made through the admin API while the realm records them), newest
    /// first, filtered and paged by `query`.
    async fn admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>>;
}

/// `impl KeycloakAdmin` for a decorator that forwards every method to an inner client.
///
/// `forward_keycloak_admin!(impl[<generics>] Type, |s| <inner of s>, |s, method| <hook>)`
/// implements every method as: run the hook (with `method` the method's name; not for
/// `realm()`, which calls nothing), then call the same method on the inner client.
macro_rules! forward_keycloak_admin {
    (impl[$($gen:tt)*] $ty:ty, |$s:ident| $inner:expr, |$b:ident, $m:ident| $hook:expr) => {
        // A hook of `()` (plain forwarding) is a statement without effect.
        #[allow(clippy::no_effect)]
        #[async_trait]
        impl<$($gen)*> KeycloakAdmin for $ty {
            fn realm(&self) -> &str {
                let $s = self;
                ($inner).realm()
            }
            async fn get_user(&self, id: &str) -> Result<User> {
                {
                    let $b = self;
                    let $m: &'static str = "get_user";
                    $hook;
                }
                let $s = self;
                ($inner).get_user(id).await
            }
            async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
                {
                    let $b = self;
                    let $m: &'static str = "find_user_by_username";
                    $hook;
                }
                let $s = self;
                ($inner).find_user_by_username(username).await
            }
            async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
                {
                    let $b = self;
                    let $m: &'static str = "find_user_by_email";
                    $hook;
                }
                let $s = self;
                ($inner).find_user_by_email(email).await
            }
            async fn search_users<'a>(
                &self,
                search: Option<&'a str>,
                page: Page,
            ) -> Result<Vec<User>> {
                {
                    let $b = self;
                    let $m: &'static str = "search_users";
                    $hook;
                }
                let $s = self;
                ($inner).search_users(search, page).await
            }
            async fn count_users<'a>(&self, search: Option<&'a str>) -> Result<u64> {
                {
                    let $b = self;
                    let $m: &'static str = "count_users";
                    $hook;
                }
                let $s = self;
                ($inner).count_users(search).await
            }
            async fn create_user(&self, user: &NewUser) -> Result<String> {
                {
                    let $b = self;
                    let $m: &'static str = "create_user";
                    $hook;
                }
                let $s = self;
                ($inner).create_user(user).await
            }
            async fn update_user(&self, id: &str, update: &UserUpdate) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "update_user";
                    $hook;
                }
                let $s = self;
                ($inner).update_user(id, update).await
            }
            async fn delete_user(&self, id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "delete_user";
                    $hook;
                }
                let $s = self;
                ($inner).delete_user(id).await
            }
            async fn reset_password(
                &self,
                id: &str,
                password: &str,
                temporary: bool,
            ) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "reset_password";
                    $hook;
                }
                let $s = self;
                ($inner).reset_password(id, password, temporary).await
            }
            async fn search_groups<'a>(
                &self,
                search: Option<&'a str>,
                page: Page,
            ) -> Result<Vec<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "search_groups";
                    $hook;
                }
                let $s = self;
                ($inner).search_groups(search, page).await
            }
            async fn count_groups<'a>(&self, search: Option<&'a str>) -> Result<u64> {
                {
                    let $b = self;
                    let $m: &'static str = "count_groups";
                    $hook;
                }
                let $s = self;
                ($inner).count_groups(search).await
            }
            async fn get_group(&self, id: &str) -> Result<Group> {
                {
                    let $b = self;
                    let $m: &'static str = "get_group";
                    $hook;
                }
                let $s = self;
                ($inner).get_group(id).await
            }
            async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "find_group_by_name";
                    $hook;
                }
                let $s = self;
                ($inner).find_group_by_name(name).await
            }
            async fn create_group(&self, group: &NewGroup) -> Result<String> {
                {
                    let $b = self;
                    let $m: &'static str = "create_group";
                    $hook;
                }
                let $s = self;
                ($inner).create_group(group).await
            }
            async fn update_group(&self, id: &str, update: &GroupUpdate) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "update_group";
                    $hook;
                }
                let $s = self;
                ($inner).update_group(id, update).await
            }
            async fn delete_group(&self, id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "delete_group";
                    $hook;
                }
                let $s = self;
                ($inner).delete_group(id).await
            }
            async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "add_member";
                    $hook;
                }
                let $s = self;
                ($inner).add_member(group_id, user_id).await
            }
            async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_member";
                    $hook;
                }
                let $s = self;
                ($inner).remove_member(group_id, user_id).await
            }
            async fn list_members(&self, group_id: &str, page: Page) -> Result<Vec<User>> {
                {
                    let $b = self;
                    let $m: &'static str = "list_members";
                    $hook;
                }
                let $s = self;
                ($inner).list_members(group_id, page).await
            }
            async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "user_groups";
                    $hook;
                }
                let $s = self;
                ($inner).user_groups(user_id).await
            }
            async fn create_subgroup(&self, parent_id: &str, group: &NewGroup) -> Result<String> {
                {
                    let $b = self;
                    let $m: &'static str = "create_subgroup";
                    $hook;
                }
                let $s = self;
                ($inner).create_subgroup(parent_id, group).await
            }
            async fn list_subgroups(&self, parent_id: &str, page: Page) -> Result<Vec<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "list_subgroups";
                    $hook;
                }
                let $s = self;
                ($inner).list_subgroups(parent_id, page).await
            }
            async fn move_group<'a>(
                &self,
                group_id: &str,
                parent_id: Option<&'a str>,
            ) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "move_group";
                    $hook;
                }
                let $s = self;
                ($inner).move_group(group_id, parent_id).await
            }
            async fn find_group_by_path(&self, path: &str) -> Result<Option<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "find_group_by_path";
                    $hook;
                }
                let $s = self;
                ($inner).find_group_by_path(path).await
            }
            async fn create_role<'a>(
                &self,
                name: &str,
                description: Option<&'a str>,
            ) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "create_role";
                    $hook;
                }
                let $s = self;
                ($inner).create_role(name, description).await
            }
            async fn get_role(&self, name: &str) -> Result<Role> {
                {
                    let $b = self;
                    let $m: &'static str = "get_role";
                    $hook;
                }
                let $s = self;
                ($inner).get_role(name).await
            }
            async fn delete_role(&self, name: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "delete_role";
                    $hook;
                }
                let $s = self;
                ($inner).delete_role(name).await
            }
            async fn list_roles<'a>(
                &self,
                prefix: Option<&'a str>,
                page: Page,
            ) -> Result<Vec<Role>> {
                {
                    let $b = self;
                    let $m: &'static str = "list_roles";
                    $hook;
                }
                let $s = self;
                ($inner).list_roles(prefix, page).await
            }
            async fn update_role(&self, name: &str, update: &RoleUpdate) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "update_role";
                    $hook;
                }
                let $s = self;
                ($inner).update_role(name, update).await
            }
            async fn role_users(&self, name: &str, page: Page) -> Result<Vec<User>> {
                {
                    let $b = self;
                    let $m: &'static str = "role_users";
                    $hook;
                }
                let $s = self;
                ($inner).role_users(name, page).await
            }
            async fn role_groups(&self, name: &str, page: Page) -> Result<Vec<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "role_groups";
                    $hook;
                }
                let $s = self;
                ($inner).role_groups(name, page).await
            }
            async fn add_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "add_group_roles";
                    $hook;
                }
                let $s = self;
                ($inner).add_group_roles(group_id, roles).await
            }
            async fn remove_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_group_roles";
                    $hook;
                }
                let $s = self;
                ($inner).remove_group_roles(group_id, roles).await
            }
            async fn list_group_roles(&self, group_id: &str) -> Result<Vec<Role>> {
                {
                    let $b = self;
                    let $m: &'static str = "list_group_roles";
                    $hook;
                }
                let $s = self;
                ($inner).list_group_roles(group_id).await
            }
            async fn is_admin(&self, user_id: &str) -> Result<bool> {
                {
                    let $b = self;
                    let $m: &'static str = "is_admin";
                    $hook;
                }
                let $s = self;
                ($inner).is_admin(user_id).await
            }
            async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "set_admin";
                    $hook;
                }
                let $s = self;
                ($inner).set_admin(user_id, admin).await
            }
            async fn admin_user_ids(&self) -> Result<Vec<String>> {
                {
                    let $b = self;
                    let $m: &'static str = "admin_user_ids";
                    $hook;
                }
                let $s = self;
                ($inner).admin_user_ids().await
            }
            async fn default_groups(&self) -> Result<Vec<Group>> {
                {
                    let $b = self;
                    let $m: &'static str = "default_groups";
                    $hook;
                }
                let $s = self;
                ($inner).default_groups().await
            }
            async fn add_default_group(&self, group_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "add_default_group";
                    $hook;
                }
                let $s = self;
                ($inner).add_default_group(group_id).await
            }
            async fn remove_default_group(&self, group_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_default_group";
                    $hook;
                }
                let $s = self;
                ($inner).remove_default_group(group_id).await
            }
            async fn offline_sessions(
                &self,
                user_id: &str,
                client_id: &str,
            ) -> Result<Vec<OfflineSession>> {
                {
                    let $b = self;
                    let $m: &'static str = "offline_sessions";
                    $hook;
                }
                let $s = self;
                ($inner).offline_sessions(user_id, client_id).await
            }
            async fn revoke_offline_sessions(&self, user_id: &str, client_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "revoke_offline_sessions";
                    $hook;
                }
                let $s = self;
                ($inner).revoke_offline_sessions(user_id, client_id).await
            }
            async fn user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
                {
                    let $b = self;
                    let $m: &'static str = "user_realm_roles";
                    $hook;
                }
                let $s = self;
                ($inner).user_realm_roles(user_id).await
            }
            async fn effective_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
                {
                    let $b = self;
                    let $m: &'static str = "effective_user_realm_roles";
                    $hook;
                }
                let $s = self;
                ($inner).effective_user_realm_roles(user_id).await
            }
            async fn add_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "add_user_roles";
                    $hook;
                }
                let $s = self;
                ($inner).add_user_roles(user_id, roles).await
            }
            async fn remove_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_user_roles";
                    $hook;
                }
                let $s = self;
                ($inner).remove_user_roles(user_id, roles).await
            }
            async fn available_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
                {
                    let $b = self;
                    let $m: &'static str = "available_user_realm_roles";
                    $hook;
                }
                let $s = self;
                ($inner).available_user_realm_roles(user_id).await
            }
            async fn execute_actions_email(
                &self,
                user_id: &str,
                request: &ExecuteActionsEmail,
            ) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "execute_actions_email";
                    $hook;
                }
                let $s = self;
                ($inner).execute_actions_email(user_id, request).await
            }
            async fn user_credentials(&self, user_id: &str) -> Result<Vec<Credential>> {
                {
                    let $b = self;
                    let $m: &'static str = "user_credentials";
                    $hook;
                }
                let $s = self;
                ($inner).user_credentials(user_id).await
            }
            async fn remove_totp(&self, user_id: &str) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_totp";
                    $hook;
                }
                let $s = self;
                ($inner).remove_totp(user_id).await
            }
            async fn realm_settings(&self) -> Result<RealmSettings> {
                {
                    let $b = self;
                    let $m: &'static str = "realm_settings";
                    $hook;
                }
                let $s = self;
                ($inner).realm_settings().await
            }
            async fn update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "update_realm_settings";
                    $hook;
                }
                let $s = self;
                ($inner).update_realm_settings(update).await
            }
            async fn client_secret(&self, client_id: &str) -> Result<Option<String>> {
                {
                    let $b = self;
                    let $m: &'static str = "client_secret";
                    $hook;
                }
                let $s = self;
                ($inner).client_secret(client_id).await
            }
            async fn client_scope_mappings(&self, client_id: &str) -> Result<ClientScopeMappings> {
                {
                    let $b = self;
                    let $m: &'static str = "client_scope_mappings";
                    $hook;
                }
                let $s = self;
                ($inner).client_scope_mappings(client_id).await
            }
            async fn role_composites(&self, name: &str) -> Result<crate::representation::CompositeRoles> {
                {
                    let $b = self;
                    let $m: &'static str = "role_composites";
                    $hook;
                }
                let $s = self;
                ($inner).role_composites(name).await
            }
            async fn add_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "add_role_composites";
                    $hook;
                }
                let $s = self;
                ($inner).add_role_composites(name, roles).await
            }
            async fn remove_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
                {
                    let $b = self;
                    let $m: &'static str = "remove_role_composites";
                    $hook;
                }
                let $s = self;
                ($inner).remove_role_composites(name, roles).await
            }
            async fn client_role_composites(
                &self,
                client_id: &str,
                role: &str,
            ) -> Result<crate::representation::CompositeRoles> {
                {
                    let $b = self;
                    let $m: &'static str = "client_role_composites";
                    $hook;
                }
                let $s = self;
                ($inner).client_role_composites(client_id, role).await
            }
            async fn admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>> {
                {
                    let $b = self;
                    let $m: &'static str = "admin_events";
                    $hook;
                }
                let $s = self;
                ($inner).admin_events(query).await
            }
        }
    };
}

forward_keycloak_admin!(impl[T: ?Sized + KeycloakAdmin] Arc<T>, |s| &**s, |_s, _m| ());
forward_keycloak_admin!(impl[T: ?Sized + KeycloakAdmin] Box<T>, |s| &**s, |_s, _m| ());

pub(crate) use forward_keycloak_admin;
