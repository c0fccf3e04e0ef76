//! [`KeycloakAdmin`] for [`FakeRealm`].

use async_trait::async_trait;

use super::FakeRealm;
use super::store::{UserWrite, page_bounds, paginate};
use crate::admin::{KeycloakAdmin, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use crate::error::Result;
use crate::representation::{
    AdminEvent, AdminEventQuery, ClientScopeMappings, CompositeRoles, Credential,
    ExecuteActionsEmail, Group, GroupUpdate, NewGroup, NewUser, OfflineSession, Page,
    RealmSettings, RealmSettingsUpdate, Role, RoleUpdate, User, UserUpdate,
};

#[async_trait]
impl KeycloakAdmin for FakeRealm {
    fn realm(&self) -> &str {
        &self.name
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.with(|r| Ok(r.user(id)?.to_user()))
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.with(|r| Ok(r.user_by_username(username).map(|u| u.to_user())))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.with(|r| Ok(r.user_by_email(email).map(|u| u.to_user())))
    }

    async fn search_users<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<User>> {
        self.with(|r| {
            let users: Vec<User> = r
                .search_users_contains(search)
                .into_iter()
                .map(|u| u.to_user())
                .collect();
            let (first, max) = page_bounds(page);
            Ok(paginate(users, first, max))
        })
    }

    async fn count_users<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        self.with(|r| Ok(r.search_users_contains(search).len() as u64))
    }

    async fn create_user(&self, user: &NewUser) -> Result<String> {
        self.with_mut(|r, ids| {
            let id = ids.id();
            r.create_user(
                id,
                ids.now_ms(),
                UserWrite {
                    username: Some(user.username.clone()),
                    email: user.email.clone(),
                    first_name: user.first_name.clone(),
                    last_name: user.last_name.clone(),
                    enabled: Some(user.enabled),
                    attributes: Some(user.attributes.clone()),
                    password: user.password.clone().map(|p| (p, false)),
                    ..UserWrite::default()
                },
            )
        })
    }

    async fn update_user(&self, id: &str, update: &UserUpdate) -> Result<()> {
        self.with_mut(|r, _| {
            r.update_user(
                id,
                UserWrite {
                    email: update.email.clone(),
                    first_name: update.first_name.clone(),
                    last_name: update.last_name.clone(),
                    enabled: update.enabled,
                    attributes: update.attributes.clone(),
                    ..UserWrite::default()
                },
            )
        })
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        self.with_mut(|r, _| r.delete_user(id))
    }

    async fn reset_password(&self, id: &str, password: &str, temporary: bool) -> Result<()> {
        self.with_mut(|r, _| r.set_password(id, password, temporary))
    }

    async fn search_groups<'a>(&self, search: Option<&'a str>, page: Page) -> Result<Vec<Group>> {
        self.with(|r| {
            let (first, max) = page_bounds(page);
            Ok(match search {
                None => paginate(r.top_groups_sorted(), first, max)
                    .into_iter()
                    .map(|g| r.to_group(g))
                    .collect(),
                Some(s) => {
                    let matched = paginate(r.search_groups_any_level(s, false), first, max);
                    let mut tops: Vec<&super::store::GroupRec> = Vec::new();
                    for g in matched {
                        let top = r
                            .group_and_ancestors(&g.id)
                            .last()
                            .and_then(|id| r.groups.get(id));
                        if let Some(top) = top
                            && !tops.iter().any(|t| t.id == top.id)
                        {
                            tops.push(top);
                        }
                    }
                    tops.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                    tops.into_iter().map(|g| r.to_group(g)).collect()
                }
            })
        })
    }

    async fn count_groups<'a>(&self, search: Option<&'a str>) -> Result<u64> {
        self.with(|r| {
            Ok(match search {
                None => r.top_groups_sorted().len() as u64,
                Some(s) => r.search_groups_any_level(s, false).len() as u64,
            })
        })
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        self.with(|r| Ok(r.to_group(r.group(id)?)))
    }

    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>> {
        self.with(|r| Ok(r.group_by_name(name).map(|g| r.to_group(g))))
    }

    async fn create_group(&self, group: &NewGroup) -> Result<String> {
        self.with_mut(|r, ids| {
            let id = ids.id();
            r.create_group(id, &group.name, group.attributes.clone(), None)
        })
    }

    async fn update_group(&self, id: &str, update: &GroupUpdate) -> Result<()> {
        self.with_mut(|r, _| r.update_group(id, update.name.as_deref(), update.attributes.clone()))
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.with_mut(|r, _| r.delete_group(id))
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.with_mut(|r, _| r.add_member(group_id, user_id))
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.with_mut(|r, _| r.remove_member(group_id, user_id))
    }

    async fn list_members(&self, group_id: &str, page: Page) -> Result<Vec<User>> {
        self.with(|r| {
            let users: Vec<User> = r
                .members(group_id)?
                .into_iter()
                .map(|u| u.to_user())
                .collect();
            let (first, max) = page_bounds(page);
            Ok(paginate(users, first, max))
        })
    }

    async fn user_groups(&self, user_id: &str) -> Result<Vec<Group>> {
        self.with(|r| {
            Ok(r.user_groups(user_id)?
                .into_iter()
                .map(|g| r.to_group(g))
                .collect())
        })
    }

    async fn create_subgroup(&self, parent_id: &str, group: &NewGroup) -> Result<String> {
        self.with_mut(|r, ids| {
            r.group(parent_id)?;
            let id = ids.id();
            r.create_group(id, &group.name, group.attributes.clone(), Some(parent_id))
        })
    }

    async fn list_subgroups(&self, parent_id: &str, page: Page) -> Result<Vec<Group>> {
        self.with(|r| {
            r.group(parent_id)?;
            let (first, max) = page_bounds(page);
            Ok(paginate(r.children_sorted(Some(parent_id)), first, max)
                .into_iter()
                .map(|g| r.to_group(g))
                .collect())
        })
    }

    async fn move_group<'a>(&self, group_id: &str, parent_id: Option<&'a str>) -> Result<()> {
        self.with_mut(|r, _| {
            let name = r.group(group_id)?.name.clone();
            r.move_group(group_id, parent_id, &name)
        })
    }

    async fn find_group_by_path(&self, path: &str) -> Result<Option<Group>> {
        self.with(|r| Ok(r.group_by_path(path).map(|g| r.to_group(g))))
    }

    async fn create_role<'a>(&self, name: &str, description: Option<&'a str>) -> Result<()> {
        if name.trim().is_empty() {
            return Err(crate::KeycloakError::invalid("name", "must not be empty"));
        }
        self.with_mut(|r, ids| {
            let id = ids.id();
            r.create_role(id, name, description, None)
        })
    }

    async fn get_role(&self, name: &str) -> Result<Role> {
        self.with(|r| Ok(r.realm_role(name)?.to_role()))
    }

    async fn delete_role(&self, name: &str) -> Result<()> {
        self.with_mut(|r, _| {
            let id = r.realm_role(name)?.id.clone();
            r.delete_role_by_id(&id);
            Ok(())
        })
    }

    async fn list_roles<'a>(&self, prefix: Option<&'a str>, page: Page) -> Result<Vec<Role>> {
        self.with(|r| {
            let roles: Vec<Role> = r
                .realm_roles_sorted()
                .into_iter()
                .filter(|role| prefix.is_none_or(|p| role.name.starts_with(p)))
                .map(|role| role.to_role())
                .collect();
            let (first, max) = page_bounds(page);
            Ok(paginate(roles, first, max))
        })
    }

    async fn update_role(&self, name: &str, update: &RoleUpdate) -> Result<()> {
        if let Some(n) = &update.name
            && n.trim().is_empty()
        {
            return Err(crate::KeycloakError::invalid("name", "must not be empty"));
        }
        self.with_mut(|r, _| {
            let role = r.realm_role(name)?;
            let id = role.id.clone();
            let new_name = update.name.clone().unwrap_or_else(|| role.name.clone());
            let description = match &update.description {
                Some(d) => d.clone(),
                None => role.description.clone(),
            };
            r.update_role(
                &id,
                &new_name,
                description,
                update.attributes.clone(),
                format!("roles/{name}"),
            )
        })
    }

    async fn role_users(&self, name: &str, page: Page) -> Result<Vec<User>> {
        self.with(|r| {
            let id = r.realm_role(name)?.id.clone();
            let (first, max) = page_bounds(page);
            Ok(paginate(r.role_users(&id), first, max)
                .into_iter()
                .map(|u| u.to_user())
                .collect())
        })
    }

    async fn role_groups(&self, name: &str, page: Page) -> Result<Vec<Group>> {
        self.with(|r| {
            let id = r.realm_role(name)?.id.clone();
            let (first, max) = page_bounds(page);
            Ok(paginate(r.role_groups(&id), first, max)
                .into_iter()
                .map(|g| r.to_group(g))
                .collect())
        })
    }

    async fn add_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        self.with_mut(|r, _| {
            r.group(group_id)?;
            let ids = r.resolve_realm_roles(roles)?;
            r.map_group_realm_roles(group_id, ids, true)
        })
    }

    async fn remove_group_roles(&self, group_id: &str, roles: &[String]) -> Result<()> {
        self.with_mut(|r, _| {
            r.group(group_id)?;
            let ids = r.resolve_realm_roles(roles)?;
            r.map_group_realm_roles(group_id, ids, false)
        })
    }

    async fn list_group_roles(&self, group_id: &str) -> Result<Vec<Role>> {
        self.with(|r| {
            Ok(r.group_realm_roles(group_id)?
                .into_iter()
                .map(|role| role.to_role())
                .collect())
        })
    }

    async fn is_admin(&self, user_id: &str) -> Result<bool> {
        self.with(|r| {
            r.user(user_id)?;
            Ok(r.is_admin(user_id))
        })
    }

    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()> {
        self.with_mut(|r, _| {
            r.user(user_id)?;
            let client = r.client_by_client_id(REALM_MANAGEMENT_CLIENT)?.id.clone();
            let role = r.client_role(&client, REALM_ADMIN_ROLE)?.id.clone();
            r.map_user_client_roles(user_id, &client, vec![role], admin)
        })
    }

    async fn admin_user_ids(&self) -> Result<Vec<String>> {
        self.with(|r| {
            let client = r.client_by_client_id(REALM_MANAGEMENT_CLIENT)?.id.clone();
            let role = r.client_role(&client, REALM_ADMIN_ROLE)?.id.clone();
            Ok(r.role_users(&role)
                .into_iter()
                .map(|u| u.id.clone())
                .collect())
        })
    }

    async fn default_groups(&self) -> Result<Vec<Group>> {
        self.with(|r| {
            Ok(r.default_groups
                .iter()
                .filter_map(|id| r.groups.get(id))
                .map(|g| r.to_group(g))
                .collect())
        })
    }

    async fn add_default_group(&self, group_id: &str) -> Result<()> {
        self.with_mut(|r, _| r.add_default_group(group_id))
    }

    async fn remove_default_group(&self, group_id: &str) -> Result<()> {
        self.with_mut(|r, _| r.remove_default_group(group_id))
    }

    async fn offline_sessions(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<OfflineSession>> {
        self.with(|r| {
            let client = r.client_by_client_id(client_id)?.id.clone();
            r.offline_sessions(user_id, &client)
        })
    }

    async fn revoke_offline_sessions(&self, user_id: &str, client_id: &str) -> Result<()> {
        self.with_mut(|r, _| {
            let client = r.client_by_client_id(client_id)?.id.clone();
            r.revoke_consent(user_id, &client).map(|_| ())
        })
    }

    // The methods below delegate to `super::admin_ext` (the admin additions of issue 7).

    async fn user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.ext_user_realm_roles(user_id, false)
    }

    async fn effective_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.ext_user_realm_roles(user_id, true)
    }

    async fn add_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.ext_map_user_roles(user_id, roles, true)
    }

    async fn remove_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        self.ext_map_user_roles(user_id, roles, false)
    }

    async fn available_user_realm_roles(&self, user_id: &str) -> Result<Vec<Role>> {
        self.with(|r| {
            Ok(r.user_available_realm_roles(user_id)?
                .into_iter()
                .map(|role| role.to_role())
                .collect())
        })
    }

    async fn execute_actions_email(
        &self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()> {
        self.ext_execute_actions_email(user_id, request)
    }

    async fn user_credentials(&self, user_id: &str) -> Result<Vec<Credential>> {
        self.ext_user_credentials(user_id)
    }

    async fn remove_totp(&self, user_id: &str) -> Result<()> {
        self.ext_remove_totp(user_id)
    }

    async fn realm_settings(&self) -> Result<RealmSettings> {
        self.ext_realm_settings()
    }

    async fn update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()> {
        self.ext_update_realm_settings(update)
    }

    async fn client_secret(&self, client_id: &str) -> Result<Option<String>> {
        self.ext_client_secret(client_id)
    }

    async fn client_scope_mappings(&self, client_id: &str) -> Result<ClientScopeMappings> {
        self.with(|r| {
            let client = r.client_by_client_id(client_id)?;
            let mut out = ClientScopeMappings::default();
            for role in r.scope_roles_sorted(&client.id) {
                match &role.client {
                    None => out.realm.push(role.to_role()),
                    Some(owner) => {
                        if let Ok(owner) = r.client(owner) {
                            out.clients
                                .entry(owner.client_id.clone())
                                .or_default()
                                .push(role.to_role());
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    async fn admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>> {
        self.ext_admin_events(query)
    }

    async fn role_composites(&self, name: &str) -> Result<CompositeRoles> {
        self.with(|r| {
            let id = r.realm_role(name)?.id.clone();
            Ok(composite_roles(r, &id))
        })
    }

    async fn add_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.change_role_composites(name, roles, true)
    }

    async fn remove_role_composites(&self, name: &str, roles: &[String]) -> Result<()> {
        self.change_role_composites(name, roles, false)
    }

    async fn client_role_composites(&self, client_id: &str, role: &str) -> Result<CompositeRoles> {
        self.with(|r| {
            let client = r.client_by_client_id(client_id)?.id.clone();
            let id = r.client_role(&client, role)?.id.clone();
            Ok(composite_roles(r, &id))
        })
    }
}

impl FakeRealm {
    /// [`KeycloakAdmin::add_role_composites`] / [`KeycloakAdmin::remove_role_composites`].
    fn change_role_composites(&self, name: &str, roles: &[String], add: bool) -> Result<()> {
        self.with_mut(|r, _| {
            let id = r.realm_role(name)?.id.clone();
            let children = r.resolve_realm_roles(roles)?;
            let rep = serde_json::Value::Array(
                children
                    .iter()
                    .map(|c| serde_json::json!({"id": c, "composite": false}))
                    .collect(),
            );
            r.change_composites(&id, &children, add, format!("roles/{name}/composites"), rep)
        })
    }
}

/// The direct children of the role `id`, split into realm roles and client roles by owner.
fn composite_roles(r: &super::store::RealmState, id: &str) -> CompositeRoles {
    let mut out = CompositeRoles::default();
    for role in r.role_composites(id, None).unwrap_or_default() {
        let mut brief = role.to_role();
        brief.attributes.clear();
        match &role.client {
            None => out.realm.push(brief),
            Some(owner) => {
                if let Ok(owner) = r.client(owner) {
                    out.clients
                        .entry(owner.client_id.clone())
                        .or_default()
                        .push(brief);
                }
            }
        }
    }
    out
}
