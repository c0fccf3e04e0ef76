//! Token grants at a Keycloak's (or the fake's HTTP face's) token endpoint, for
//! `conformance::primehub_client_token_scopes`.

use primehub_keycloak::{KeycloakError, Result};
use url::Url;

/// The secrets of PrimeHub's clients in a realm.
pub struct ClientSecrets<'a> {
    /// `admin-ui`'s.
    pub admin_ui: &'a str,
    /// `jupyterhub`'s.
    pub jupyterhub: &'a str,
}

impl ClientSecrets<'_> {
    /// The secret of `client_id`.
    pub fn of(&self, client_id: &str) -> &str {
        if client_id == "admin-ui" {
            self.admin_ui
        } else {
            self.jupyterhub
        }
    }
}

/// A password grant (`user`) or client-credentials grant (`None`) through `client_id` at
/// `<base>/realms/<realm>/protocol/openid-connect/token`: the access token.
pub async fn http_grant(
    base: &Url,
    realm: &str,
    secrets: &ClientSecrets<'_>,
    client_id: &str,
    user: Option<(&str, &str)>,
) -> Result<String> {
    let url = base
        .join(&format!("realms/{realm}/protocol/openid-connect/token"))
        .map_err(|e| KeycloakError::invalid("url", e.to_string()))?;
    let mut form = vec![
        ("client_id", client_id),
        ("client_secret", secrets.of(client_id)),
    ];
    match user {
        Some((username, password)) => form.extend([
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ]),
        None => form.push(("grant_type", "client_credentials")),
    }
    let response = crate::primehub_replay::http()
        .post(url)
        .form(&form)
        .send()
        .await
        .map_err(|e| KeycloakError::Transport {
            message: e.to_string(),
        })?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| KeycloakError::Transport {
            message: e.to_string(),
        })?;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    match json["access_token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_owned()),
        _ => Err(KeycloakError::Unexpected { status, body }),
    }
}
