//! The fake's side of the admin calls issue 7 added to [`KeycloakAdmin`](crate::KeycloakAdmin):
//! user realm-role mappings, execute-actions e-mails, credentials and TOTP removal, realm
//! settings, client secrets and admin events. `realm.rs` forwards the trait methods here.

use serde_json::{Value, json};

use super::FakeRealm;
use super::store::{RealmState, paginate};
use crate::error::Result;
use crate::representation::{
    AdminEvent, AdminEventQuery, Credential, ExecuteActionsEmail, OTP_CREDENTIAL, RealmSettings,
    RealmSettingsUpdate, Role,
};

/// The realm settings as the trait reports them (the SMTP password never leaves).
pub(crate) fn realm_settings_of(state: &RealmState) -> RealmSettings {
    let mut rep = state.settings.clone();
    rep.insert("realm".into(), json!(state.name));
    let mut settings = RealmSettings::from_representation(&Value::Object(rep));
    if let Some(smtp) = settings.smtp.as_mut() {
        smtp.password = None;
    }
    settings
}

impl FakeRealm {
    pub(crate) fn ext_user_realm_roles(&self, user_id: &str, effective: bool) -> Result<Vec<Role>> {
        self.with(|r| {
            let roles = if effective {
                r.user_effective_realm_roles(user_id)?
            } else {
                r.user_direct_realm_roles(user_id)?
            };
            Ok(roles.into_iter().map(|role| role.to_role()).collect())
        })
    }

    pub(crate) fn ext_map_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
        add: bool,
    ) -> Result<()> {
        self.with_mut(|r, _| {
            r.user(user_id)?;
            let ids = r.resolve_realm_roles(roles)?;
            r.map_user_realm_roles(user_id, ids, add)
        })
    }

    pub(crate) fn ext_execute_actions_email(
        &self,
        user_id: &str,
        request: &ExecuteActionsEmail,
    ) -> Result<()> {
        self.with_mut(|r, _| r.execute_actions_email(user_id, request))
    }

    pub(crate) fn ext_user_credentials(&self, user_id: &str) -> Result<Vec<Credential>> {
        self.with(|r| Ok(r.user(user_id)?.credential_list()))
    }

    pub(crate) fn ext_remove_totp(&self, user_id: &str) -> Result<()> {
        self.with_mut(|r, _| {
            let otp: Vec<String> = r
                .user(user_id)?
                .credentials
                .iter()
                .filter(|c| c.kind == OTP_CREDENTIAL)
                .map(|c| c.id.clone())
                .collect();
            for id in otp {
                r.delete_credential(user_id, &id)?;
            }
            Ok(())
        })
    }

    pub(crate) fn ext_realm_settings(&self) -> Result<RealmSettings> {
        self.with(|r| Ok(realm_settings_of(r)))
    }

    pub(crate) fn ext_update_realm_settings(&self, update: &RealmSettingsUpdate) -> Result<()> {
        let body = update.to_representation();
        self.with_mut(|r, _| r.update_settings(body))
    }

    pub(crate) fn ext_client_secret(&self, client_id: &str) -> Result<Option<String>> {
        self.with(|r| {
            let client = r.client_by_client_id(client_id)?;
            Ok(if client.public {
                None
            } else {
                client.secret.clone()
            })
        })
    }

    pub(crate) fn ext_admin_events(&self, query: &AdminEventQuery) -> Result<Vec<AdminEvent>> {
        self.with(|r| {
            let events: Vec<AdminEvent> = r
                .admin_events_filtered(query.since, &query.operation_types, &query.resource_types)
                .into_iter()
                .cloned()
                .collect();
            Ok(paginate(
                events,
                query.page.first as usize,
                Some(query.page.max as usize),
            ))
        })
    }
}
