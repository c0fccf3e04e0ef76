//! System settings: `system`, `timezone`, `updateSystem`.
//!
//! The settings live where PrimeHub keeps them: organisation, default volume capacity and time
//! zone as attributes of the `everyone` group, SMTP in the realm. Everything but `smtp` is read
//! from the Keycloak cache; the realm's SMTP settings cost one Keycloak call, made only when the
//! query selects `smtp`.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use primehub_keycloak::representation::{GroupUpdate, RealmSettingsUpdate, SmtpSettings};
use primehub_model::attributes::{Capacity, DEFAULT_USER_VOLUME_CAPACITY, SystemSettings};
use serde::Serialize;

use super::{snapshot, state};
use crate::error::{Error, Result};
use crate::guard::Allow;

/// A logo or other uploaded image.
#[derive(SimpleObject, InputObject, Debug, Clone, Default, Serialize)]
#[graphql(input_name = "CannerImageInput")]
pub struct CannerImage {
    /// MIME type.
    pub content_type: Option<String>,
    /// File name.
    pub name: Option<String>,
    /// Size in bytes.
    pub size: Option<i32>,
    /// Where it is served.
    pub url: Option<String>,
}

/// The organisation.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct Org {
    /// Its name (default `InfuseAI`, as PrimeHub).
    pub name: Option<String>,
    /// Its logo.
    pub logo: Option<CannerImage>,
}

/// Outgoing email settings (the realm's SMTP server).
#[derive(SimpleObject, InputObject, Debug, Clone, Default, Serialize)]
#[graphql(input_name = "SmtpInput")]
#[allow(missing_docs)]
pub struct Smtp {
    pub host: Option<String>,
    pub port: Option<i32>,
    pub from_display_name: Option<String>,
    pub from: Option<String>,
    pub reply_to_display_name: Option<String>,
    pub reply_to: Option<String>,
    pub envelope_from: Option<String>,
    #[graphql(name = "enableSSL")]
    pub enable_ssl: Option<bool>,
    #[graphql(name = "enableStartTLS")]
    pub enable_start_tls: Option<bool>,
    pub enable_auth: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A time zone and its current offset from UTC in hours.
#[derive(SimpleObject, Debug, Clone)]
pub struct Timezone {
    /// The IANA name.
    pub name: String,
    /// Hours east of UTC now.
    pub offset: f64,
}

/// The system settings.
#[derive(SimpleObject, Debug, Clone)]
pub struct System {
    /// The organisation.
    pub org: Option<Org>,
    /// Outgoing email.
    pub smtp: Option<Smtp>,
    /// Users' default home volume size in GB.
    pub default_user_volume_capacity: Option<i32>,
    /// The system time zone.
    pub timezone: Option<Timezone>,
    /// Ours: seconds since the API's Keycloak cache was last known in sync (reads are served
    /// from the cache while Keycloak is unreachable).
    pub keycloak_cache_age_seconds: i32,
}

/// Organisation changes.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct OrgUpdateInput {
    /// The name.
    pub name: Option<String>,
    /// The logo.
    pub logo: Option<CannerImage>,
}

/// A time zone to set.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct TimezoneInput {
    /// The IANA name (the offset follows from it).
    pub name: Option<String>,
    /// Ignored: computed from the name.
    pub offset: Option<f64>,
}

/// System setting changes.
#[derive(InputObject, Debug, Clone, Default, Serialize)]
pub struct SystemUpdateInput {
    /// The organisation.
    pub org: Option<OrgUpdateInput>,
    /// Outgoing email (replaces the realm's SMTP settings).
    pub smtp: Option<SmtpInputAlias>,
    /// Users' default home volume size in GB (≥ 0).
    pub default_user_volume_capacity: Option<i32>,
    /// The time zone.
    pub timezone: Option<TimezoneInput>,
    /// Accepted and ignored (PrimeHub's former workspaces).
    pub workspace_id: Option<String>,
}

/// The SMTP input type.
pub type SmtpInputAlias = Smtp;

/// The default time zone when none is set.
pub const DEFAULT_TIMEZONE: &str = "Etc/UTC";

/// The time zone `name` with its current offset, or `None` for an unknown name.
pub fn timezone(name: &str, now: jiff::Timestamp) -> Option<Timezone> {
    let tz = jiff::tz::TimeZone::get(name).ok()?;
    let seconds = tz.to_offset(now).seconds();
    Some(Timezone {
        name: name.to_owned(),
        offset: f64::from(seconds) / 3600.0,
    })
}

fn settings(snap: &primehub_keycloak::cache::Snapshot) -> SystemSettings {
    snap.everyone_group_id()
        .and_then(|id| snap.group(id))
        .map(|g| SystemSettings::read(&g.group.attributes).value)
        .unwrap_or_default()
}

fn current_timezone(ctx: &Context<'_>, settings: &SystemSettings) -> Timezone {
    let now = state(ctx).clock.now();
    settings
        .timezone_name
        .as_deref()
        .and_then(|n| timezone(n, now))
        .or_else(|| timezone(DEFAULT_TIMEZONE, now))
        .unwrap_or(Timezone {
            name: DEFAULT_TIMEZONE.to_owned(),
            offset: 0.0,
        })
}

fn smtp_of(settings: Option<&SmtpSettings>) -> Option<Smtp> {
    let s = settings?;
    Some(Smtp {
        host: Some(s.host.clone()),
        port: Some(i32::from(s.port.unwrap_or(25))),
        from_display_name: s.from_display_name.clone(),
        from: Some(s.from.clone()),
        reply_to_display_name: None,
        reply_to: s.reply_to.clone(),
        envelope_from: None,
        enable_ssl: Some(s.ssl),
        enable_start_tls: Some(s.starttls),
        enable_auth: Some(s.auth),
        username: s.user.clone(),
        password: s.password.clone(),
    })
}

async fn system(ctx: &Context<'_>) -> Result<System> {
    let state = state(ctx);
    // The latest snapshot: `updateSystem` answers with what it just wrote.
    let snap = state.keycloak.snapshot();
    let settings = settings(&snap);
    // SMTP lives in the realm: read (one Keycloak call) only when asked for, so that the hub's
    // launch-context query (`system { defaultUserVolumeCapacity }`) is answered from the cache.
    // When Keycloak is unreachable the rest is still served.
    let smtp = if ctx.look_ahead().field("smtp").exists() {
        match state.admin.realm_settings().await {
            Ok(realm) => smtp_of(realm.smtp.as_ref()),
            Err(e) => {
                tracing::warn!(error = %e, "system: reading the realm's SMTP settings failed");
                None
            }
        }
    } else {
        None
    };
    let logo = settings.org_logo_url.as_ref().map(|url| CannerImage {
        content_type: settings.org_logo_content_type.clone(),
        name: settings.org_logo_name.clone(),
        size: settings.org_logo_size.and_then(|s| i32::try_from(s).ok()),
        url: Some(url.clone()),
    });
    let capacity = settings
        .default_user_volume_capacity
        .unwrap_or(DEFAULT_USER_VOLUME_CAPACITY);
    Ok(System {
        org: Some(Org {
            name: Some(
                settings
                    .org_name
                    .clone()
                    .unwrap_or_else(|| "InfuseAI".to_owned()),
            ),
            logo,
        }),
        smtp,
        default_user_volume_capacity: i32::try_from(capacity.gigabytes).ok(),
        timezone: Some(current_timezone(ctx, &settings)),
        keycloak_cache_age_seconds: i32::try_from(state.keycloak.age().as_secs())
            .unwrap_or(i32::MAX),
    })
}

/// The system queries.
#[derive(Default)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The system settings (administrators and the shared-secret client).
    #[graphql(guard = "Allow::AdminOrClient")]
    async fn system(&self, ctx: &Context<'_>) -> async_graphql::Result<System> {
        Ok(system(ctx).await?)
    }

    /// The system time zone (everyone authenticated).
    #[graphql(guard = "Allow::Authenticated")]
    async fn timezone(&self, ctx: &Context<'_>) -> Timezone {
        current_timezone(ctx, &settings(&snapshot(ctx)))
    }
}

/// The system mutations.
#[derive(Default)]
pub struct SystemMutation;

async fn update_system(ctx: &Context<'_>, data: SystemUpdateInput) -> Result<System> {
    let state = state(ctx);
    let snap = state.keycloak.snapshot();
    let everyone = snap
        .everyone_group_id()
        .and_then(|id| snap.group(id))
        .ok_or_else(|| Error::NotFound {
            kind: "group",
            name: "everyone".into(),
        })?;
    let mut settings = SystemSettings::read(&everyone.group.attributes).value;
    if let Some(org) = &data.org {
        if let Some(name) = &org.name {
            settings.org_name = Some(name.clone());
        }
        if let Some(logo) = &org.logo {
            settings.org_logo_url = logo.url.clone();
            settings.org_logo_name = logo.name.clone();
            settings.org_logo_content_type = logo.content_type.clone();
            settings.org_logo_size = match logo.size {
                Some(s) => Some(
                    u64::try_from(s)
                        .map_err(|_| Error::invalid("data.org.logo.size", "must be 0 or more"))?,
                ),
                None => None,
            };
        }
    }
    if let Some(gb) = data.default_user_volume_capacity {
        let gb = u64::try_from(gb)
            .map_err(|_| Error::invalid("data.defaultUserVolumeCapacity", "must be 0 or more"))?;
        settings.default_user_volume_capacity = Some(Capacity::new(gb));
    }
    if let Some(name) = data.timezone.as_ref().and_then(|t| t.name.as_deref()) {
        if timezone(name, state.clock.now()).is_none() {
            return Err(Error::invalid(
                "data.timezone.name",
                format!("{name:?} is not a known time zone"),
            ));
        }
        settings.timezone_name = Some(name.to_owned());
    }
    let smtp = match &data.smtp {
        Some(s) => {
            let port = match s.port {
                Some(p) => Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
                    Error::invalid("data.smtp.port", "must be a port number (1-65535)")
                })?),
                None => None,
            };
            Some(SmtpSettings {
                host: s
                    .host
                    .clone()
                    .ok_or_else(|| Error::invalid("data.smtp.host", "is required"))?,
                port,
                from: s
                    .from
                    .clone()
                    .ok_or_else(|| Error::invalid("data.smtp.from", "is required"))?,
                from_display_name: s.from_display_name.clone(),
                reply_to: s.reply_to.clone(),
                ssl: s.enable_ssl.unwrap_or(false),
                starttls: s.enable_start_tls.unwrap_or(false),
                auth: s.enable_auth.unwrap_or(false),
                user: s.username.clone(),
                password: s.password.clone(),
            })
        }
        None => None,
    };
    let mut attributes = everyone.group.attributes.clone();
    settings.write_to(&mut attributes);
    state
        .admin
        .update_group(
            &everyone.group.id,
            &GroupUpdate {
                name: None,
                attributes: Some(attributes),
            },
        )
        .await?;
    let display_name = data.org.as_ref().and_then(|o| o.name.clone());
    if smtp.is_some() || display_name.is_some() {
        state
            .admin
            .update_realm_settings(&RealmSettingsUpdate {
                display_name,
                smtp,
                ..Default::default()
            })
            .await?;
    }
    system(ctx).await
}

#[Object]
impl SystemMutation {
    /// Updates the system settings.
    #[graphql(guard = "Allow::Admin")]
    async fn update_system(
        &self,
        ctx: &Context<'_>,
        data: SystemUpdateInput,
    ) -> async_graphql::Result<Option<System>> {
        Ok(Some(update_system(ctx, data).await?))
    }
}
