//! The browser side of OIDC driven as a browser drives it — a cookie jar, the login form parsed
//! from the page and posted, redirects read but never followed to the application — with the
//! same test function against the fake's HTTP face and against a real Keycloak 26 (from
//! `PRIMEHUB_TEST_KEYCLOAK_URL`; skipped with a loud line without it, a failure with
//! `PRIMEHUB_TEST_REQUIRE_REAL=1`). Both get their realm from the same bootstrap
//! (`primehub_keycloak::bootstrap::bootstrap_realm`) with redirect URIs for `admin-ui` and
//! `jupyterhub`.
#![cfg(feature = "fake")]

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use primehub_keycloak::bootstrap::{RealmBootstrap, bootstrap_realm, delete_realm};
use primehub_keycloak::fake::FakeKeycloak;
use primehub_keycloak::http::{Credentials, HttpKeycloak, HttpKeycloakConfig};
use primehub_keycloak::{KeycloakAdmin, NewUser};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::Value;
use url::Url;

const ADMIN: &str = "phadmin";
const PASSWORD: &str = "phadmin-password-1";
const DISABLED: &str = "dora";
const CONSOLE_CB: &str = "http://app.test/console/cb";
const HUB_CB: &str = "http://hub.test/hub/oauth_callback";

/// One Keycloak (fake or real) with a bootstrapped realm.
struct Target {
    name: &'static str,
    base: Url,
    realm: String,
    admin_ui_secret: String,
    jupyterhub_secret: String,
}

impl Target {
    fn issuer(&self) -> String {
        format!(
            "{}/realms/{}",
            self.base.as_str().trim_end_matches('/'),
            self.realm
        )
    }

    fn oidc(&self, endpoint: &str) -> String {
        format!("{}/protocol/openid-connect/{endpoint}", self.issuer())
    }

    fn auth_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&self.oidc("auth")).expect("auth url");
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }

    fn secret(&self, client: &str) -> &str {
        match client {
            "admin-ui" => &self.admin_ui_secret,
            "jupyterhub" => &self.jupyterhub_secret,
            _ => "",
        }
    }

    /// A token request (no cookies, as a client back end sends it): status and JSON body.
    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = http()
            .post(self.oidc("token"))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = response.status().as_u16();
        let body = response.text().await.expect("token body");
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn exchange(
        &self,
        client: &str,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> (u16, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if !self.secret(client).is_empty() {
            form.push(("client_secret", self.secret(client)));
        }
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.token(&form).await
    }

    async fn refresh(&self, client: &str, refresh_token: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("client_secret", self.secret(client)),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

/// An HTTP client that does not follow redirects and keeps no cookies of its own.
fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// A stored cookie.
#[derive(Debug, Clone)]
struct Cookie {
    value: String,
    path: String,
    secure: bool,
}

/// One answer as a browser sees it.
#[derive(Debug)]
struct Page {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The `Set-Cookie` header of `name`, if the answer has one.
    fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.split('=').next() == Some(name))
            .map(String::as_str)
    }

    /// The redirect's query (or fragment) parameters, in order.
    fn redirect_params(&self) -> Vec<(String, String)> {
        let location = self.location.as_deref().expect("a redirect");
        let url = Url::parse(location).expect("an absolute Location");
        let part = url.fragment().or(url.query()).unwrap_or("").to_owned();
        url::form_urlencoded::parse(part.as_bytes())
            .into_owned()
            .collect()
    }

    fn redirect_param(&self, name: &str) -> Option<String> {
        self.redirect_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The `action` of the login form (`id="kc-form-login"`), unescaped.
    fn login_action(&self) -> String {
        let form = self
            .body
            .find("id=\"kc-form-login\"")
            .unwrap_or_else(|| panic!("a login form in {}", self.body));
        let start = self.body[..form].rfind("<form").unwrap_or(form);
        attribute(&self.body[start..], "action").expect("the form's action")
    }

    /// The text of the `<p class="instruction">` of an error or info page.
    fn instruction(&self) -> Option<String> {
        let start = self.body.find("<p class=\"instruction\">")? + 23;
        let end = self.body[start..].find("</p>")? + start;
        Some(unescape(self.body[start..end].trim()))
    }
}

/// The value of attribute `name` of the first tag in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = html.find(&key)? + key.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// A browser: a cookie jar (names, paths, `Secure`; like a browser it sends `Secure` cookies
/// to `localhost` over http), no redirects followed.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, Cookie>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: http(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self, url: &Url) -> String {
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        let secure_context = url.scheme() == "https" || loopback;
        self.jar
            .iter()
            .filter(|(_, c)| url.path().starts_with(&c.path) && (!c.secure || secure_context))
            .map(|(name, c)| format!("{name}={}", c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let mut cookie = Cookie {
            value: value.trim_matches('"').to_owned(),
            path: "/".to_owned(),
            secure: false,
        };
        let mut expired = false;
        for attr in parts {
            let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "path" => cookie.path = val.to_owned(),
                "secure" => cookie.secure = true,
                "max-age" => expired = val.trim().parse::<i64>().is_ok_and(|m| m <= 0),
                _ => {}
            }
        }
        if expired {
            self.jar.remove(name);
        } else {
            self.jar.insert(name.to_owned(), cookie);
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder, url: &Url) -> Page {
        let cookies = self.cookie_header(url);
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(reqwest::header::COOKIE, cookies)
        };
        let response = request.send().await.expect("browser request");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            self.store(c);
        }
        let body = response.text().await.expect("browser body");
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let parsed = Url::parse(url).expect("url");
        let request = self.http.get(parsed.clone());
        self.send(request, &parsed).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let parsed = Url::parse(url).expect("url");
        let request = self.http.post(parsed.clone()).form(form);
        self.send(request, &parsed).await
    }

    /// Posts the login form of `page` with `username` and `password`.
    async fn submit(&mut self, page: &Page, username: &str, password: &str) -> Page {
        let action = page.login_action();
        self.post(&action, &[("username", username), ("password", password)])
            .await
    }
}

/// The attributes of a `Set-Cookie` value other than its name and value, lowercase names.
fn cookie_attributes(set_cookie: &str) -> BTreeMap<String, String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect()
}

/// Asserts a `Set-Cookie` has Keycloak's attributes: the realm path, `Secure`,
/// `SameSite=None`, `HttpOnly` as given, `Max-Age` as given.
fn assert_cookie(target: &Target, page: &Page, name: &str, http_only: bool, max_age: Option<&str>) {
    let header = page
        .set_cookie(name)
        .unwrap_or_else(|| panic!("{}: {name} set in {:?}", target.name, page.set_cookies));
    let attrs = cookie_attributes(header);
    let path = format!("/realms/{}/", target.realm);
    assert_eq!(attrs.get("path"), Some(&path), "{}: {header}", target.name);
    assert!(attrs.contains_key("secure"), "{}: {header}", target.name);
    assert_eq!(
        attrs.get("samesite").map(String::as_str),
        Some("None"),
        "{}: {header}",
        target.name
    );
    assert_eq!(
        attrs.contains_key("httponly"),
        http_only,
        "{}: {header}",
        target.name
    );
    assert_eq!(
        attrs.get("max-age").map(String::as_str),
        max_age,
        "{}: {header}",
        target.name
    );
}

fn assert_expired(target: &Target, page: &Page, name: &str) {
    let header = page
        .set_cookie(name)
        .unwrap_or_else(|| panic!("{}: {name} expired in {:?}", target.name, page.set_cookies));
    assert_eq!(
        cookie_attributes(header).get("max-age").map(String::as_str),
        Some("0"),
        "{}: {header}",
        target.name
    );
}

/// The granted scopes, sorted: Keycloak's order depends on the realm (its client scopes' ids).
fn scopes(tokens: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = tokens["scope"].as_str().unwrap_or("").split(' ').collect();
    out.sort_unstable();
    out
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

fn s256(verifier: &str) -> String {
    use rsa::sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn at_hash(access_token: &str) -> String {
    use rsa::sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

fn assert_grant_error(target: &Target, answer: &(u16, Value), error: &str, description: &str) {
    assert_eq!(answer.0, 400, "{}: {}", target.name, answer.1);
    assert_eq!(answer.1["error"], error, "{}: {}", target.name, answer.1);
    assert_eq!(
        answer.1["error_description"], description,
        "{}: {}",
        target.name, answer.1
    );
}

/// Every browser flow, against one target.
async fn browser_flows(t: &Target) {
    let issuer = t.issuer();
    let verifier = "verifier-0123456789-0123456789-0123456789-abcdef";
    let challenge = s256(verifier);

    // Errors shown as a page, not sent to the application.
    let mut anon = Browser::new();
    let page = anon
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", "http://evil.test/cb"),
            ("scope", "openid"),
        ]))
        .await;
    assert_eq!(page.status, 400, "{}", t.name);
    assert!(page.location.is_none(), "{}", t.name);
    assert_eq!(
        page.instruction().as_deref(),
        Some("Invalid parameter: redirect_uri"),
        "{}",
        t.name
    );
    let page = anon
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "no-such-client"),
            ("redirect_uri", CONSOLE_CB),
        ]))
        .await;
    assert_eq!(page.status, 400, "{}", t.name);
    assert_eq!(
        page.instruction().as_deref(),
        Some("Client not found."),
        "{}",
        t.name
    );
    // Errors sent back to the application.
    let page = anon
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid bogus"),
            ("state", "s0"),
        ]))
        .await;
    assert_eq!(page.status, 302, "{}", t.name);
    assert_eq!(
        page.redirect_params(),
        [
            ("error".to_owned(), "invalid_scope".to_owned()),
            (
                "error_description".to_owned(),
                "Invalid scopes: openid bogus".to_owned()
            ),
            ("state".to_owned(), "s0".to_owned()),
            ("iss".to_owned(), issuer.clone()),
        ],
        "{}",
        t.name
    );
    // prompt=none without a session: login_required, in the fragment when asked.
    let page = anon
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
            ("state", "s1"),
            ("prompt", "none"),
            ("response_mode", "fragment"),
        ]))
        .await;
    assert_eq!(page.status, 302, "{}", t.name);
    let location = page.location.clone().unwrap_or_default();
    assert!(
        location.starts_with(&format!("{CONSOLE_CB}#error=login_required&state=s1&iss=")),
        "{}: {location}",
        t.name
    );

    // The login page, a wrong password, then the right one.
    let mut browser = Browser::new();
    let auth = t.auth_url(&[
        ("response_type", "code"),
        ("client_id", "admin-ui"),
        ("redirect_uri", CONSOLE_CB),
        ("scope", "openid"),
        ("state", "st-1"),
        ("nonce", "nonce-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("login_hint", ADMIN),
    ]);
    let login = browser.get(&auth).await;
    assert_eq!(login.status, 200, "{}: {}", t.name, login.body);
    assert!(login.body.contains("name=\"password\""), "{}", t.name);
    assert_eq!(
        attribute(
            &login.body[login.body.find("id=\"username\"").expect("username")..],
            "value"
        )
        .as_deref(),
        Some(ADMIN),
        "{}: login_hint fills the username",
        t.name
    );
    assert!(
        login.login_action().starts_with(&format!(
            "{issuer}/login-actions/authenticate?session_code="
        )),
        "{}: {}",
        t.name,
        login.login_action()
    );
    assert_cookie(t, &login, "AUTH_SESSION_ID", true, None);
    assert_cookie(t, &login, "KC_RESTART", true, None);
    let wrong = browser.submit(&login, ADMIN, "not-the-password").await;
    assert_eq!(wrong.status, 200, "{}", t.name);
    assert!(
        wrong.body.contains("Invalid username or password."),
        "{}: {}",
        t.name,
        wrong.body
    );
    let done = browser.submit(&wrong, ADMIN, PASSWORD).await;
    assert_eq!(done.status, 302, "{}: {}", t.name, done.body);
    let params = done.redirect_params();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["state", "session_state", "iss", "code"],
        "{}",
        t.name
    );
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("{CONSOLE_CB}?state=st-1&"))),
        "{}",
        t.name
    );
    assert_eq!(
        done.redirect_param("iss"),
        Some(issuer.clone()),
        "{}",
        t.name
    );
    let session_state = done.redirect_param("session_state").expect("session_state");
    let code = done.redirect_param("code").expect("code");
    assert_cookie(t, &done, "KEYCLOAK_IDENTITY", true, None);
    assert_cookie(t, &done, "KEYCLOAK_SESSION", false, Some("36000"));
    assert_expired(t, &done, "KC_RESTART");

    // The client must authenticate (a failure there does not spend the code).
    let (status, body) = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "admin-ui"),
            ("client_secret", "not-the-secret"),
            ("code", &code),
            ("redirect_uri", CONSOLE_CB),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!(status, 401, "{}: {body}", t.name);
    assert_eq!(body["error"], "unauthorized_client", "{}", t.name);

    // PKCE: a wrong verifier fails, and spends the code.
    let bad = t
        .exchange("admin-ui", &code, CONSOLE_CB, Some(&"w".repeat(50)))
        .await;
    assert_grant_error(
        t,
        &bad,
        "invalid_grant",
        "PKCE verification failed: Code mismatch",
    );
    let spent = t
        .exchange("admin-ui", &code, CONSOLE_CB, Some(verifier))
        .await;
    assert_grant_error(t, &spent, "invalid_grant", "Code not valid");

    // SSO: the same browser gets a code at once (prompt=none), for the same session.
    let sso = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
            ("state", "st-2"),
            ("nonce", "nonce-2"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(sso.status, 302, "{}: {}", t.name, sso.body);
    assert_eq!(
        sso.redirect_param("session_state").as_deref(),
        Some(session_state.as_str()),
        "{}",
        t.name
    );
    let code = sso.redirect_param("code").expect("code");
    let missing = t.exchange("admin-ui", &code, CONSOLE_CB, None).await;
    assert_grant_error(
        t,
        &missing,
        "invalid_grant",
        "PKCE code verifier not specified",
    );

    let sso = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
            ("state", "st-3"),
            ("nonce", "nonce-3"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    assert_eq!(sso.status, 302, "{}: {}", t.name, sso.body);
    let code = sso.redirect_param("code").expect("code");
    let wrong_redirect = t
        .exchange(
            "admin-ui",
            &code,
            "http://app.test/console/other",
            Some(verifier),
        )
        .await;
    assert_grant_error(
        t,
        &wrong_redirect,
        "invalid_grant",
        "Incorrect redirect_uri",
    );

    let sso = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
            ("state", "st-4"),
            ("nonce", "nonce-4"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    let code = sso.redirect_param("code").expect("code");
    let (status, tokens) = t
        .exchange("admin-ui", &code, CONSOLE_CB, Some(verifier))
        .await;
    assert_eq!(status, 200, "{}: {tokens}", t.name);
    assert_eq!(tokens["session_state"], session_state, "{}", t.name);
    assert_eq!(
        scopes(&tokens),
        ["email", "openid", "profile"],
        "{}",
        t.name
    );
    let access = tokens["access_token"].as_str().expect("access token");
    let id = claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(id["typ"], "ID", "{}", t.name);
    assert_eq!(id["aud"], "admin-ui", "{}", t.name);
    assert_eq!(id["azp"], "admin-ui", "{}", t.name);
    assert_eq!(id["nonce"], "nonce-4", "{}", t.name);
    assert_eq!(id["sid"], session_state, "{}", t.name);
    assert_eq!(id["at_hash"], at_hash(access), "{}", t.name);
    assert_eq!(id["iss"], issuer, "{}", t.name);
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!(
        (auth_time - id["iat"].as_i64().unwrap_or(0)).abs() < 120,
        "{}: {id}",
        t.name
    );
    let at = claims(access);
    assert_eq!(at["sid"], session_state, "{}", t.name);
    assert_eq!(at["auth_time"], auth_time, "{}", t.name);
    let admin_refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, refreshed) = t.refresh("admin-ui", &admin_refresh).await;
    assert_eq!(status, 200, "{}: {refreshed}", t.name);
    let refreshed_id = claims(refreshed["id_token"].as_str().expect("id token"));
    assert_eq!(refreshed_id["auth_time"], auth_time, "{}", t.name);
    assert!(
        refreshed_id.get("nonce").is_none(),
        "{}: {refreshed_id}",
        t.name
    );

    // A code used twice: Keycloak's error, and the client leaves the session.
    let again = t
        .exchange("admin-ui", &code, CONSOLE_CB, Some(verifier))
        .await;
    assert_grant_error(t, &again, "invalid_grant", "Code not valid");
    let detached = t.refresh("admin-ui", &admin_refresh).await;
    assert_grant_error(
        t,
        &detached,
        "invalid_grant",
        "Session doesn't have required client",
    );

    // A second client logs in through SSO without the form.
    let hub = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
            ("state", "hub-1"),
            ("nonce", "hub-nonce"),
        ]))
        .await;
    assert_eq!(hub.status, 302, "{}: {}", t.name, hub.body);
    assert_eq!(
        hub.redirect_param("session_state").as_deref(),
        Some(session_state.as_str()),
        "{}",
        t.name
    );
    let (status, hub_tokens) = t
        .exchange(
            "jupyterhub",
            &hub.redirect_param("code").expect("code"),
            HUB_CB,
            None,
        )
        .await;
    assert_eq!(status, 200, "{}: {hub_tokens}", t.name);
    let hub_id = claims(hub_tokens["id_token"].as_str().expect("id token"));
    assert_eq!(hub_id["auth_time"], auth_time, "{}", t.name);
    assert_eq!(hub_id["nonce"], "hub-nonce", "{}", t.name);
    assert_eq!(hub_id["azp"], "jupyterhub", "{}", t.name);
    // No form was shown: Keycloak's authentication level is 0.
    assert_eq!(hub_id["acr"], "0", "{}", t.name);
    let hub_access = claims(hub_tokens["access_token"].as_str().expect("access token"));
    assert_eq!(hub_access["acr"], "0", "{}", t.name);
    let hub_refresh = hub_tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, _) = t.refresh("jupyterhub", &hub_refresh).await;
    assert_eq!(status, 200, "{}", t.name);

    // prompt=login asks for the password again and keeps the session.
    let reauth = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
            ("state", "hub-2"),
            ("prompt", "login"),
        ]))
        .await;
    assert_eq!(reauth.status, 200, "{}", t.name);
    assert!(
        reauth.body.contains("Please re-authenticate to continue"),
        "{}: {}",
        t.name,
        reauth.body
    );
    let again = browser.submit(&reauth, ADMIN, PASSWORD).await;
    assert_eq!(again.status, 302, "{}: {}", t.name, again.body);
    assert_eq!(
        again.redirect_param("session_state").as_deref(),
        Some(session_state.as_str()),
        "{}",
        t.name
    );

    // Logout: a post-logout URI the client does not have is refused (nothing logged out).
    let id_token = hub_tokens["id_token"].as_str().expect("id token");
    let refused = browser
        .get(&format!(
            "{}?{}",
            t.oidc("logout"),
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("id_token_hint", id_token)
                .append_pair("post_logout_redirect_uri", "http://evil.test/")
                .finish()
        ))
        .await;
    assert_eq!(refused.status, 400, "{}", t.name);
    assert_eq!(
        refused.instruction().as_deref(),
        Some("Invalid redirect uri"),
        "{}",
        t.name
    );
    // With id_token_hint and an allowed URI (the redirect URIs: no post-logout attribute).
    let out = browser
        .get(&format!(
            "{}?{}",
            t.oidc("logout"),
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("id_token_hint", id_token)
                .append_pair(
                    "post_logout_redirect_uri",
                    "http://hub.test/hub/oauth_callback"
                )
                .append_pair("state", "bye")
                .finish()
        ))
        .await;
    assert_eq!(out.status, 302, "{}: {}", t.name, out.body);
    assert_eq!(
        out.location.as_deref(),
        Some("http://hub.test/hub/oauth_callback?state=bye"),
        "{}",
        t.name
    );
    assert_expired(t, &out, "KEYCLOAK_IDENTITY");
    assert_expired(t, &out, "KEYCLOAK_SESSION");
    let ended = t.refresh("jupyterhub", &hub_refresh).await;
    assert_grant_error(t, &ended, "invalid_grant", "Session not active");
    let none = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
            ("state", "after"),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(
        none.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        t.name
    );

    // Without id_token_hint: Keycloak asks, then logs out.
    let mut confirm_browser = Browser::new();
    let login = confirm_browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
        ]))
        .await;
    let done = confirm_browser.submit(&login, ADMIN, PASSWORD).await;
    assert_eq!(done.status, 302, "{}", t.name);
    let ask = confirm_browser.get(&t.oidc("logout")).await;
    assert_eq!(ask.status, 200, "{}", t.name);
    assert_eq!(
        ask.instruction().as_deref(),
        Some("Do you want to log out?"),
        "{}",
        t.name
    );
    let form_at = ask.body.find("<form").expect("the confirmation form");
    let action = attribute(&ask.body[form_at..], "action").expect("action");
    assert!(
        action.contains("/logout/logout-confirm?"),
        "{}: {action}",
        t.name
    );
    let code_at = ask
        .body
        .find("name=\"session_code\"")
        .expect("session_code");
    let session_code = attribute(&ask.body[code_at..], "value").expect("value");
    let confirm_url = t.base.join(&action).expect("confirm url");
    let bye = confirm_browser
        .post(
            confirm_url.as_str(),
            &[("session_code", &session_code), ("confirmLogout", "Logout")],
        )
        .await;
    assert_eq!(bye.status, 200, "{}", t.name);
    assert_eq!(
        bye.instruction().as_deref(),
        Some("You are logged out"),
        "{}",
        t.name
    );
    let none = confirm_browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(
        none.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        t.name
    );

    // The back-channel logout: 204, then the refresh token fails and SSO is gone.
    let mut bc = Browser::new();
    let login = bc
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
        ]))
        .await;
    let done = bc.submit(&login, ADMIN, PASSWORD).await;
    let (status, tokens) = t
        .exchange(
            "admin-ui",
            &done.redirect_param("code").expect("code"),
            CONSOLE_CB,
            None,
        )
        .await;
    assert_eq!(status, 200, "{}: {tokens}", t.name);
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let response = http()
        .post(t.oidc("logout"))
        .form(&[
            ("client_id", "admin-ui"),
            ("client_secret", t.admin_ui_secret.as_str()),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status().as_u16(), 204, "{}", t.name);
    let ended = t.refresh("admin-ui", refresh).await;
    assert_grant_error(t, &ended, "invalid_grant", "Session not active");
    let none = bc
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(
        none.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        t.name
    );

    // A disabled user: the form says so.
    let mut dora = Browser::new();
    let login = dora
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
        ]))
        .await;
    let refused = dora.submit(&login, DISABLED, PASSWORD).await;
    assert_eq!(refused.status, 200, "{}", t.name);
    assert!(
        refused
            .body
            .contains("Account is disabled, contact your administrator."),
        "{}: {}",
        t.name,
        refused.body
    );

    // offline_access through the code flow: an offline token for the same session id; the
    // online session the login started for it ends at the exchange (SSO with it).
    let mut offline = Browser::new();
    let login = offline
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid offline_access"),
        ]))
        .await;
    let done = offline.submit(&login, ADMIN, PASSWORD).await;
    let sid = done.redirect_param("session_state").expect("session_state");
    let (status, tokens) = t
        .exchange(
            "jupyterhub",
            &done.redirect_param("code").expect("code"),
            HUB_CB,
            None,
        )
        .await;
    assert_eq!(status, 200, "{}: {tokens}", t.name);
    assert_eq!(tokens["refresh_expires_in"], 0, "{}", t.name);
    assert_eq!(
        scopes(&tokens),
        ["email", "offline_access", "openid", "profile"],
        "{}",
        t.name
    );
    let offline_token = tokens["refresh_token"].as_str().expect("offline token");
    let rt = claims(offline_token);
    assert_eq!(rt["typ"], "Offline", "{}", t.name);
    assert_eq!(rt["sid"], sid, "{}", t.name);
    let (status, again) = t.refresh("jupyterhub", offline_token).await;
    assert_eq!(status, 200, "{}: {again}", t.name);
    let none = offline
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(
        none.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}",
        t.name
    );
}

/// A bad authorization request: its parameters, the `error`, the `error_description`, and the
/// separator before the answer in the redirect (`?` query, `#` fragment).
type ErrorCase<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<&'a str>, char);

/// The authorization endpoint's answers to bad requests, a disabled client, a public client
/// that must use PKCE `S256` with its own post-logout URIs, PKCE `plain` and `form_post`.
async fn more_browser_flows(t: &Target) {
    let issuer = t.issuer();
    let mut anon = Browser::new();
    // (request, error, error_description, where the answer goes)
    let cases: [ErrorCase<'_>; 5] = [
        (
            &[
                ("client_id", "admin-ui"),
                ("redirect_uri", CONSOLE_CB),
                ("state", "e1"),
            ],
            "invalid_request",
            Some("Missing parameter: response_type"),
            '?',
        ),
        (
            &[
                ("client_id", "admin-ui"),
                ("redirect_uri", CONSOLE_CB),
                ("state", "e1"),
                ("response_type", "bogus"),
            ],
            "unsupported_response_type",
            None,
            '?',
        ),
        (
            &[
                ("client_id", "admin-ui"),
                ("redirect_uri", CONSOLE_CB),
                ("state", "e1"),
                ("response_type", "token"),
            ],
            "unauthorized_client",
            Some(
                "Client is not allowed to initiate browser login with given response_type. Implicit flow is disabled for the client.",
            ),
            '#',
        ),
        (
            &[
                ("client_id", "admin-ui"),
                ("redirect_uri", CONSOLE_CB),
                ("state", "e1"),
                ("response_type", "code"),
                ("response_mode", "bogus"),
            ],
            "invalid_request",
            Some("Invalid parameter: response_mode"),
            '?',
        ),
        (
            &[
                ("client_id", "admin-ui"),
                ("redirect_uri", CONSOLE_CB),
                ("state", "e1"),
                ("response_type", "code"),
                ("code_challenge", "x"),
                ("code_challenge_method", "S512"),
            ],
            "invalid_request",
            Some("Invalid parameter: code_challenge_method"),
            '?',
        ),
    ];
    for (request, error, description, separator) in cases {
        let page = anon.get(&t.auth_url(request)).await;
        assert_eq!(page.status, 302, "{}: {request:?}", t.name);
        let location = page.location.clone().unwrap_or_default();
        assert!(
            location.starts_with(&format!("{CONSOLE_CB}{separator}error={error}")),
            "{}: {request:?} → {location}",
            t.name
        );
        assert_eq!(
            page.redirect_param("error_description").as_deref(),
            description,
            "{}",
            t.name
        );
        assert_eq!(
            page.redirect_param("state").as_deref(),
            Some("e1"),
            "{}",
            t.name
        );
        assert_eq!(
            page.redirect_param("iss").as_deref(),
            Some(issuer.as_str()),
            "{}",
            t.name
        );
    }
    let page = anon
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "switched-off"),
            ("redirect_uri", "http://off.test/cb"),
        ]))
        .await;
    assert_eq!(page.status, 400, "{}", t.name);
    assert_eq!(
        page.instruction().as_deref(),
        Some("Client disabled."),
        "{}",
        t.name
    );

    // A public client that enforces PKCE S256.
    let spa_cb = "http://spa.test/app/cb";
    let verifier = "spa-verifier-0123456789-0123456789-0123456789";
    for (extra, description) in [
        (&[][..], "Missing parameter: code_challenge_method"),
        (
            &[
                ("code_challenge", verifier),
                ("code_challenge_method", "plain"),
            ][..],
            "Invalid parameter: code challenge method is not matching the configured one",
        ),
    ] {
        let mut request = vec![
            ("response_type", "code"),
            ("client_id", "spa"),
            ("redirect_uri", spa_cb),
        ];
        request.extend_from_slice(extra);
        let page = anon.get(&t.auth_url(&request)).await;
        assert_eq!(
            page.redirect_param("error").as_deref(),
            Some("invalid_request"),
            "{}",
            t.name
        );
        assert_eq!(
            page.redirect_param("error_description").as_deref(),
            Some(description),
            "{}",
            t.name
        );
    }
    let mut browser = Browser::new();
    let challenge = s256(verifier);
    let login = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "spa"),
            ("redirect_uri", spa_cb),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await;
    let done = browser.submit(&login, ADMIN, PASSWORD).await;
    assert_eq!(done.status, 302, "{}: {}", t.name, done.body);
    let (status, tokens) = t
        .exchange(
            "spa",
            &done.redirect_param("code").expect("code"),
            spa_cb,
            Some(verifier),
        )
        .await;
    assert_eq!(status, 200, "{}: {tokens}", t.name);
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();

    // max_age: not an integer is a bad request; exceeded asks for the password again, or,
    // with prompt=none, is login_required (as is prompt=none together with login).
    let base_request = [
        ("response_type", "code"),
        ("client_id", "admin-ui"),
        ("redirect_uri", CONSOLE_CB),
    ];
    let mut request = base_request.to_vec();
    request.push(("max_age", "soon"));
    let page = browser.get(&t.auth_url(&request)).await;
    assert_eq!(page.status, 400, "{}", t.name);
    assert_eq!(
        page.instruction().as_deref(),
        Some("Invalid Request"),
        "{}",
        t.name
    );
    // request_uri for a client without valid request URIs (`request.uris`): Keycloak's
    // "Invalid Request" page, before the redirect URI is looked at (nothing is fetched).
    let mut request = base_request.to_vec();
    request.push(("request_uri", "http://127.0.0.1:1/request.jwt"));
    let page = browser.get(&t.auth_url(&request)).await;
    assert_eq!(page.status, 400, "{}", t.name);
    assert_eq!(
        page.instruction().as_deref(),
        Some("Invalid Request"),
        "{}: request_uri",
        t.name
    );
    let mut request = base_request.to_vec();
    request.push(("max_age", "-1"));
    let page = browser.get(&t.auth_url(&request)).await;
    assert_eq!(page.status, 200, "{}", t.name);
    assert!(
        page.body.contains("Please re-authenticate to continue"),
        "{}",
        t.name
    );
    for prompt in [("max_age", "-1"), ("prompt", "none login")] {
        let mut request = base_request.to_vec();
        request.push(prompt);
        if prompt.0 == "max_age" {
            request.push(("prompt", "none"));
        }
        let page = browser.get(&t.auth_url(&request)).await;
        assert_eq!(
            page.redirect_param("error").as_deref(),
            Some("login_required"),
            "{}: {prompt:?}",
            t.name
        );
    }

    // PKCE plain on a client that does not enforce a method; form_post.
    let plain = "plain-verifier-0123456789-0123456789-0123456789";
    let sso = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "admin-ui"),
            ("redirect_uri", CONSOLE_CB),
            ("scope", "openid"),
            ("state", "fp"),
            ("code_challenge", plain),
            ("code_challenge_method", "plain"),
            ("response_mode", "form_post"),
        ]))
        .await;
    assert_eq!(sso.status, 200, "{}", t.name);
    assert!(
        sso.body.contains("OIDC Form_Post Response"),
        "{}: {}",
        t.name,
        sso.body
    );
    let action = attribute(&sso.body[sso.body.find("<FORM").expect("form")..], "ACTION");
    assert_eq!(action.as_deref(), Some(CONSOLE_CB), "{}", t.name);
    let field = |name: &str| {
        let at = sso.body.find(&format!("NAME=\"{name}\"")).expect(name);
        attribute(&sso.body[at..], "VALUE").expect("VALUE")
    };
    assert_eq!(field("state"), "fp", "{}", t.name);
    assert_eq!(field("iss"), issuer, "{}", t.name);
    let (status, plain_tokens) = t
        .exchange("admin-ui", &field("code"), CONSOLE_CB, Some(plain))
        .await;
    assert_eq!(status, 200, "{}: {plain_tokens}", t.name);

    // Post-logout URIs: the attribute's list and `+` (the redirect URIs), nothing else.
    for (uri, allowed) in [
        ("http://elsewhere.test/", false),
        ("http://spa.test/app/after", true),
        ("http://spa.test/bye", true),
    ] {
        let page = browser
            .get(&format!(
                "{}?{}",
                t.oidc("logout"),
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("id_token_hint", &id_token)
                    .append_pair("post_logout_redirect_uri", uri)
                    .finish()
            ))
            .await;
        if allowed {
            assert_eq!(page.status, 302, "{}: {uri}", t.name);
            assert_eq!(page.location.as_deref(), Some(uri), "{}", t.name);
        } else {
            assert_eq!(page.status, 400, "{}: {uri}", t.name);
            assert_eq!(
                page.instruction().as_deref(),
                Some("Invalid redirect uri"),
                "{}",
                t.name
            );
        }
    }
}

/// A master-realm admin token (the admin-cli password grant).
/// `request_uri`: an unsigned request object at one of the client's valid request URIs
/// (`request.uris`) is fetched and its parameters override the query's; another client's
/// object, or a URI not registered (never fetched), is Keycloak's 400 "Invalid Request".
async fn request_objects(t: &Target, token: &str) {
    fn object(claims: Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            part(&serde_json::json!({"alg": "none"})),
            part(&claims)
        )
    }
    let objects = BTreeMap::from([
        (
            "/mine.jwt".to_owned(),
            object(
                serde_json::json!({"client_id": "jar", "state": "from-object",
                                      "prompt": "none"}),
            ),
        ),
        (
            "/other.jwt".to_owned(),
            object(serde_json::json!({"client_id": "someone-else", "state": "x"})),
        ),
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = served.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let body = objects.get(uri.path()).cloned();
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { body.ok_or(axum::http::StatusCode::NOT_FOUND) }
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    create_client(
        &t.base,
        token,
        &t.realm,
        serde_json::json!({
            "clientId": "jar",
            "publicClient": true,
            "redirectUris": ["http://jar.test/cb"],
            "attributes": {"request.uris": format!("http://127.0.0.1:{port}/*")},
        }),
    )
    .await;
    let mut browser = Browser::new();
    let ask = |uri: String| {
        t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jar"),
            ("redirect_uri", "http://jar.test/cb"),
            ("scope", "openid"),
            ("state", "from-query"),
            ("request_uri", &uri),
        ])
    };
    let page = browser
        .get(&ask(format!("http://127.0.0.1:{port}/mine.jwt")))
        .await;
    assert_eq!(page.status, 302, "{}: request_uri", t.name);
    assert_eq!(
        page.redirect_param("error").as_deref(),
        Some("login_required"),
        "{}: the object's prompt=none",
        t.name
    );
    assert_eq!(
        page.redirect_param("state").as_deref(),
        Some("from-object"),
        "{}: the object's state wins",
        t.name
    );
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "{}",
        t.name
    );
    let page = browser
        .get(&ask(format!("http://127.0.0.1:{port}/other.jwt")))
        .await;
    assert_eq!(
        (page.status, page.instruction().as_deref()),
        (400, Some("Invalid Request")),
        "{}: another client's object",
        t.name
    );
    let page = browser
        .get(&ask(format!("http://localhost:{port}/mine.jwt")))
        .await;
    assert_eq!(
        (page.status, page.instruction().as_deref()),
        (400, Some("Invalid Request")),
        "{}: a request URI not registered",
        t.name
    );
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "{}: an unregistered URI is not fetched",
        t.name
    );
    server.abort();
}

async fn master_token(base: &Url, admin: &str, password: &str) -> String {
    let url = format!(
        "{}/realms/master/protocol/openid-connect/token",
        base.as_str().trim_end_matches('/')
    );
    let body: Value = http()
        .post(url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", admin),
            ("password", password),
        ])
        .send()
        .await
        .expect("master token")
        .json()
        .await
        .expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// Creates a client through the admin REST API.
async fn create_client(base: &Url, token: &str, realm: &str, client: Value) {
    let url = format!(
        "{}/admin/realms/{realm}/clients",
        base.as_str().trim_end_matches('/')
    );
    let response = http()
        .post(url)
        .bearer_auth(token)
        .json(&client)
        .send()
        .await
        .expect("create client");
    assert_eq!(response.status().as_u16(), 201, "{client}");
}

/// Bootstraps `realm` through `master` and adds the disabled user; answers the target.
async fn prepare(
    name: &'static str,
    base: Url,
    master: &HttpKeycloak,
    (admin_name, admin_password): (&str, &str),
    realm: &str,
) -> Target {
    let mut spec = RealmBootstrap::new(realm).with_admin_user(ADMIN, PASSWORD);
    spec.admin_ui_redirect_uris = vec!["http://app.test/console/*".into()];
    spec.jupyterhub_redirect_uris = vec![HUB_CB.into()];
    let outcome = bootstrap_realm(master, &spec).await.expect("bootstrap");
    let admin = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        realm,
        Credentials::client(realm, "admin-ui", &outcome.admin_ui_client_secret),
    ))
    .expect("admin-ui client");
    admin
        .create_user(&NewUser {
            username: DISABLED.into(),
            email: Some("dora@example.com".into()),
            enabled: false,
            password: Some(PASSWORD.into()),
            ..NewUser::default()
        })
        .await
        .expect("create the disabled user");
    let token = master_token(&base, admin_name, admin_password).await;
    create_client(
        &base,
        &token,
        realm,
        serde_json::json!({
            "clientId": "switched-off",
            "enabled": false,
            "publicClient": true,
            "redirectUris": ["http://off.test/cb"],
        }),
    )
    .await;
    create_client(
        &base,
        &token,
        realm,
        serde_json::json!({
            "clientId": "spa",
            "publicClient": true,
            "redirectUris": ["http://spa.test/app/*"],
            "attributes": {
                "pkce.code.challenge.method": "S256",
                "post.logout.redirect.uris": "http://spa.test/bye##+",
            },
        }),
    )
    .await;
    Target {
        name,
        base,
        realm: realm.to_owned(),
        admin_ui_secret: outcome.admin_ui_client_secret,
        jupyterhub_secret: outcome.jupyterhub_client_secret,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flows_on_the_fake() {
    let kc = FakeKeycloak::builder()
        .admin_password("master-password")
        .build()
        .expect("fake");
    let server = kc
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");
    let base: Url = server.url().parse().expect("url");
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        "master",
        Credentials::master_admin("admin", "master-password"),
    ))
    .expect("master client");
    let target = prepare(
        "fake",
        base,
        &master,
        ("admin", "master-password"),
        "browser",
    )
    .await;
    browser_flows(&target).await;
    more_browser_flows(&target).await;
    let token = master_token(&target.base, "admin", "master-password").await;
    request_objects(&target, &token).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flows_on_a_real_keycloak() {
    let Ok(url) = std::env::var("PRIMEHUB_TEST_KEYCLOAK_URL") else {
        let why =
            "real Keycloak browser flows: PRIMEHUB_TEST_KEYCLOAK_URL not set (.ci/run starts one)";
        assert!(
            std::env::var("PRIMEHUB_TEST_REQUIRE_REAL").as_deref() != Ok("1"),
            "PRIMEHUB_TEST_REQUIRE_REAL=1 but not configured: {why}"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
        return;
    };
    let base = Url::parse(&url).expect("PRIMEHUB_TEST_KEYCLOAK_URL is a URL");
    let admin = std::env::var("PRIMEHUB_TEST_KEYCLOAK_ADMIN").unwrap_or_else(|_| "admin".into());
    let password =
        std::env::var("PRIMEHUB_TEST_KEYCLOAK_PASSWORD").unwrap_or_else(|_| "admin".into());
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        "master",
        Credentials::master_admin(&admin, &password),
    ))
    .expect("master client");
    let realm = format!(
        "ph-browser-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let target = prepare("real", base, &master, (&admin, &password), &realm).await;
    browser_flows(&target).await;
    more_browser_flows(&target).await;
    let token = master_token(&target.base, &admin, &password).await;
    request_objects(&target, &token).await;
    delete_realm(&master, &realm).await.expect("delete realm");
}

/// Lifetimes on the fake's clock (a real Keycloak would need a minute and half an hour):
/// a code is forgotten after 60 s ("Code not valid", as Keycloak 26.7 answers an expired code),
/// and an SSO session idle for longer than 30 minutes no longer logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_sso_sessions_expire_on_the_fakes_clock() {
    let clock = std::sync::Arc::new(primehub_model::clock::ManualClock::starting_now());
    let kc = FakeKeycloak::builder()
        .admin_password("master-password")
        .clock(clock.clone())
        .build()
        .expect("fake");
    let server = kc
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        )
        .expect("serve");
    let base: Url = server.url().parse().expect("url");
    let master = HttpKeycloak::new(HttpKeycloakConfig::new(
        base.clone(),
        "master",
        Credentials::master_admin("admin", "master-password"),
    ))
    .expect("master client");
    let t = prepare(
        "fake",
        base,
        &master,
        ("admin", "master-password"),
        "clocked",
    )
    .await;
    let mut browser = Browser::new();
    let login = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("scope", "openid"),
        ]))
        .await;
    let done = browser.submit(&login, ADMIN, PASSWORD).await;
    let code = done.redirect_param("code").expect("code");
    clock.advance(jiff::SignedDuration::from_secs(61));
    let late = t.exchange("jupyterhub", &code, HUB_CB, None).await;
    assert_grant_error(&t, &late, "invalid_grant", "Code not valid");
    let sso = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("prompt", "none"),
        ]))
        .await;
    assert!(sso.redirect_param("code").is_some(), "{:?}", sso.location);
    clock.advance(jiff::SignedDuration::from_secs(1801));
    let idle = browser
        .get(&t.auth_url(&[
            ("response_type", "code"),
            ("client_id", "jupyterhub"),
            ("redirect_uri", HUB_CB),
            ("prompt", "none"),
        ]))
        .await;
    assert_eq!(
        idle.redirect_param("error").as_deref(),
        Some("login_required"),
        "{:?}",
        idle.location
    );
    server.shutdown().await;
}
