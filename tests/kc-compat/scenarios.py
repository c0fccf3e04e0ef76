"""The scenarios: each one runs the same way on both targets (the fake Keycloak of `primehub dev`
and a real Keycloak 26, each with a realm of PrimeHub's shape) and records what the clients got
(`t.call` for python-keycloak, `t.oidc` for Authlib, `t.http` for the scripted browser).

Add one with `@scenario("id")`; the id is what `known_differences.txt` names. Keep scenarios
small (one behaviour each), independent of each other (they run in parallel in one realm:
create what you need under `t.name(...)`, and look only at your own objects), and make sure
they run through on the real Keycloak: a broken expectation there fails the run.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

import requests

from kccompat import POST_LOGOUT_URI, REDIRECT_URI, SUBSET, USER, WILDCARD_URI, Ctx, login_form, media_of, response_body

SCENARIOS: Dict[str, Callable[[Ctx], None]] = {}

UNKNOWN_ID = "00000000-0000-4000-8000-00000000dead"
NONCE = "kcc-nonce-4f2a"


def scenario(sid: str):
    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        if sid in SCENARIOS:
            raise ValueError(f"scenario {sid} defined twice")
        SCENARIOS[sid] = fn
        fn.__doc__ = fn.__doc__ or sid
        return fn

    return register


# --------------------------------------------------------------------------------------------
# OIDC helpers


def authorize_url(t: Ctx, client: str = "admin-ui", redirect_uri: str = REDIRECT_URI, **params: str) -> Tuple[Any, str, str, str]:
    """An Authlib session for `client` and its authorization URL with PKCE S256, `state` and
    `nonce`: (session, url, state, code verifier)."""
    from authlib.common.security import generate_token

    session = t.oauth(client, scope="openid profile email", redirect_uri=redirect_uri, code_challenge_method="S256")
    verifier = generate_token(48)
    url, state = session.create_authorization_url(t.target.endpoint("auth"), code_verifier=verifier, nonce=NONCE, **params)
    return session, url, state, verifier


def post_form(t: Ctx, step: str, browser: Any, page: Any, username: str, password: str, texts: Tuple[str, ...] = ()) -> Any:
    """Fills the login form of `page` as a browser does (its hidden inputs, username, password)
    and posts it to the form's action, without following the redirect."""
    form = login_form(page.text)
    t.expect(form is not None, f"{step}: the page has no login form (HTTP {page.status_code})")
    assert form is not None
    t.expect(form["method"] == "post", f"{step}: the login form's method is {form['method']}")
    data = dict(form["hidden"])
    data.update({"username": username, "password": password})
    action = form["action"]
    if action.startswith("/"):
        action = t.target.base_url + action
    return t.http(step, browser, "POST", action, data=data, expected={"redirect_uri": REDIRECT_URI}, texts=texts)


def browser_login(t: Ctx, browser: Any, client: str = "admin-ui", prefix: str = "") -> Tuple[Any, Optional[str], str, str]:
    """The code flow up to the code, as a browser: GET the authorization URL (a login page),
    post the user's credentials (`kcc-user`, see `USER`), take the Location of the redirect
    without fetching it.
    Returns (Authlib session, Location, state, code verifier)."""
    session, url, state, verifier = authorize_url(t, client)
    page = t.http(prefix + "authorize", browser, "GET", url)
    answer = post_form(t, prefix + "login", browser, page, USER["username"], t.target.phadmin_password)
    location = answer.headers.get("Location")
    t.expect(answer.status_code == 302 and location is not None, f"{prefix}login: no redirect (HTTP {answer.status_code})")
    return session, location, state, verifier


def exchange(t: Ctx, step: str, session: Any, location: Optional[str], verifier: str, view: str = "brief") -> Optional[dict]:
    """Authlib's code exchange (authorization_response = the redirect's Location); recorded
    in full (`view="token"`) where the tokens are the scenario's point."""
    return t.oidc(step, session, session.fetch_token, t.target.endpoint("token"), authorization_response=location, code_verifier=verifier, view=view)


def password_grant(
    t: Ctx, step: str, session: Any, password: Optional[str] = None, username: str = USER["username"], scope: str = "openid", view: str = "brief"
) -> Optional[dict]:
    """Authlib's password grant (as `kcc-user` unless told); recorded in full (`view="token"`)
    where the tokens are the scenario's point."""
    return t.oidc(
        step,
        session,
        session.fetch_token,
        t.target.endpoint("token"),
        username=username,
        password=t.target.phadmin_password if password is None else password,
        scope=scope,
        view=view,
    )


def verify_id_token(t: Ctx, step: str, token: dict, client: str, nonce: Optional[str] = NONCE) -> None:
    """Validates the ID token as a relying party must (OpenID Connect Core 3.1.3.7): signature
    against the realm's JWKS, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `at_hash`. Records
    `valid` or the failure's class and message."""
    from authlib.jose.errors import JoseError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.jose import JsonWebKey, jwt
        from authlib.oidc.core import CodeIDToken

        try:
            jwks = requests.get(t.target.endpoint("certs"), timeout=30).json()
            claims = jwt.decode(
                token.get("id_token", ""),
                JsonWebKey.import_key_set(jwks),
                claims_cls=CodeIDToken,
                claims_options={"iss": {"essential": True, "value": t.target.issuer}},
                claims_params={"nonce": nonce, "client_id": client, "access_token": token.get("access_token")},
            )
            claims.validate(leeway=120)
            t.record(step, valid=True)
        except (JoseError, ValueError, KeyError, TypeError) as e:
            t.record(step, valid=False, error=f"{type(e).__name__}: {t.norm.text(str(e))}")


def claims(token: Optional[dict], which: str = "id_token") -> dict:
    from kccompat import jwt_parts

    parts = jwt_parts((token or {}).get(which, ""))
    return parts[1] if parts else {}


def introspect(t: Ctx, step: str, session: Any, token: str, hint: Optional[str] = None) -> Any:
    return t.oidc(step, session, session.introspect_token, t.target.endpoint("token/introspect"), token=token, token_type_hint=hint, view="json")


def refresh(t: Ctx, step: str, session: Any, refresh_token: str, view: str = "brief") -> Optional[dict]:
    return t.oidc(step, session, session.refresh_token, t.target.endpoint("token"), refresh_token=refresh_token, view=view)


def userinfo_status(t: Ctx, step: str, access_token: str) -> None:
    """Userinfo with a Bearer token: the status and the WWW-Authenticate challenge (Keycloak
    puts the error there; its 401 has no body), or the claims' names."""
    resp = requests.get(t.target.endpoint("userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    entry: Dict[str, Any] = {"status": resp.status_code, "www_authenticate": t.norm.text(resp.headers.get("WWW-Authenticate", ""))}
    if resp.status_code == 200:
        body = response_body(t.norm, resp)
        entry["claims"] = sorted(body) if isinstance(body, dict) else body
    t.record(step, **entry)


# --------------------------------------------------------------------------------------------
# OIDC scenarios


@scenario("discovery")
def discovery(t: Ctx) -> None:
    """The discovery document: everything the fake advertises is in Keycloak's, with the same
    value (lists: the fake's items are Keycloak's); every endpoint it advertises is served (not
    404 to a bare GET), the JWKS holds an RS256 signing key."""
    resp = requests.get(t.target.issuer + "/.well-known/openid-configuration", timeout=30)
    t.record("status", status=resp.status_code, media=resp.headers.get("Content-Type", "").split(";")[0])
    doc = resp.json()
    t.record("document", compare=SUBSET, doc=t.norm.value(doc))
    served = {}
    for key, value in sorted(doc.items()):
        if (key.endswith("_endpoint") or key == "jwks_uri") and isinstance(value, str):
            served[key] = requests.get(value, timeout=30, allow_redirects=False).status_code != 404
    t.record("endpoints answer (not 404)", compare=SUBSET, served=served)
    keys = requests.get(doc["jwks_uri"], timeout=30).json().get("keys", [])
    t.record("jwks", rs256_sig=any(k.get("alg") == "RS256" and k.get("use") == "sig" and k.get("kid") for k in keys))


@scenario("code-flow")
def code_flow(t: Ctx) -> None:
    """The authorization code flow as a browser: the login page, a form post with the user's
    credentials, the redirect with `code`, `state` and `iss`; Authlib exchanges the code with
    PKCE S256; the ID token validates (nonce, at_hash, signature)."""
    browser = t.browser()
    session, location, state, verifier = browser_login(t, browser)
    t.record("state returned", same=(state in (location or "")))
    token = exchange(t, "exchange", session, location, verifier, view="token")
    t.expect(token is not None, "the code exchange failed")
    verify_id_token(t, "id token", token or {}, "admin-ui")
    ids = claims(token)
    t.record("id token session", sid_present=bool(ids.get("sid")), sid_is_session_state=ids.get("sid") == (token or {}).get("session_state"))


@scenario("code-flow-wrong-password")
def code_flow_wrong_password(t: Ctx) -> None:
    """A wrong password: the login page again (HTTP 200, no redirect) with Keycloak's message;
    the form on that page then logs in with the right password."""
    browser = t.browser()
    session, url, state, verifier = authorize_url(t)
    page = t.http("authorize", browser, "GET", url)
    again = post_form(t, "wrong password", browser, page, USER["username"], "not-the-password", texts=("Invalid username or password.",))
    answer = post_form(t, "right password", browser, again, USER["username"], t.target.phadmin_password)
    token = exchange(t, "exchange", session, answer.headers.get("Location"), verifier)
    t.record("logged in", ok=bool(token and token.get("id_token")))


@scenario("code-flow-unknown-user")
def code_flow_unknown_user(t: Ctx) -> None:
    """An unknown username gets the same page and message as a wrong password."""
    browser = t.browser()
    _, url, _, _ = authorize_url(t)
    page = t.http("authorize", browser, "GET", url)
    post_form(t, "unknown user", browser, page, t.name("nobody"), "whatever", texts=("Invalid username or password.",))


@scenario("code-flow-sso")
def code_flow_sso(t: Ctx) -> None:
    """Single sign-on: after a login through `admin-ui`, `jupyterhub`'s authorization request
    with the same cookies redirects at once with a code (no form), in the same session; so does
    `prompt=none`."""
    browser = t.browser()
    session, location, _, verifier = browser_login(t, browser)
    first = exchange(t, "exchange admin-ui", session, location, verifier)
    hub, url, _, hub_verifier = authorize_url(t, "jupyterhub")
    answer = t.http("authorize jupyterhub (no form)", browser, "GET", url, expected={"redirect_uri": REDIRECT_URI})
    second = exchange(t, "exchange jupyterhub", hub, answer.headers.get("Location"), hub_verifier, view="token")
    t.record("same session", same=bool(first and second) and claims(first).get("sid") == claims(second).get("sid"))
    verify_id_token(t, "jupyterhub id token", second or {}, "jupyterhub")
    quiet, url, _, quiet_verifier = authorize_url(t, prompt="none")
    answer = t.http("authorize prompt=none", browser, "GET", url, expected={"redirect_uri": REDIRECT_URI})
    third = exchange(t, "exchange prompt=none", quiet, answer.headers.get("Location"), quiet_verifier)
    t.record("same session again", same=bool(first and third) and claims(first).get("sid") == claims(third).get("sid"))


@scenario("code-flow-prompt-none")
def code_flow_prompt_none(t: Ctx) -> None:
    """`prompt=none` without a session: a redirect back with `error=login_required`, the
    state and `iss`, and no login page."""
    _, url, state, _ = authorize_url(t, prompt="none")
    answer = t.http("authorize prompt=none", t.browser(), "GET", url, expected={"redirect_uri": REDIRECT_URI})
    t.record("state returned", same=state in answer.headers.get("Location", ""))


@scenario("code-flow-pkce-wrong-verifier")
def code_flow_pkce_wrong_verifier(t: Ctx) -> None:
    """A code exchanged with another PKCE verifier than the challenge's: invalid_grant."""
    from authlib.common.security import generate_token

    session, location, _, _ = browser_login(t, t.browser())
    exchange(t, "exchange with a wrong verifier", session, location, generate_token(48))


@scenario("code-flow-pkce-missing-verifier")
def code_flow_pkce_missing_verifier(t: Ctx) -> None:
    """A code issued for a PKCE challenge, exchanged without a verifier: invalid_grant."""
    session, location, _, _ = browser_login(t, t.browser())
    session.code_challenge_method = None
    t.oidc("exchange without a verifier", session, session.fetch_token, t.target.endpoint("token"), authorization_response=location)


@scenario("code-flow-code-reuse")
def code_flow_code_reuse(t: Ctx) -> None:
    """A code is good once: the second exchange of the same code is invalid_grant."""
    session, location, _, verifier = browser_login(t, t.browser())
    token = exchange(t, "first exchange", session, location, verifier)
    t.expect(token is not None, "the first exchange failed")
    exchange(t, "second exchange", session, location, verifier)


@scenario("code-flow-other-client-code")
def code_flow_other_client_code(t: Ctx) -> None:
    """A code issued to `admin-ui`, exchanged by `jupyterhub`: invalid_grant."""
    _, location, _, verifier = browser_login(t, t.browser())
    hub = t.oauth("jupyterhub", redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    exchange(t, "exchange by jupyterhub", hub, location, verifier)


@scenario("code-flow-redirect-uris")
def code_flow_redirect_uris(t: Ctx) -> None:
    """Redirect URIs are checked against the client's: a registered wildcard matches a deeper
    path; an unregistered URI gets Keycloak's error page (HTTP 400), not a login form."""
    browser = t.browser()
    _, url, _, _ = authorize_url(t, redirect_uri=WILDCARD_URI.replace("*", "deep/er"))
    t.http("authorize with a wildcard match", browser, "GET", url, texts=("Invalid parameter: redirect_uri",))
    _, url, _, _ = authorize_url(t, redirect_uri="http://127.0.0.1:1/kc-compat/elsewhere")
    t.http("authorize with an unregistered uri", browser, "GET", url, texts=("Invalid parameter: redirect_uri",))


@scenario("code-flow-unknown-client")
def code_flow_unknown_client(t: Ctx) -> None:
    """An authorization request for a client the realm does not have: Keycloak's error page."""
    url = t.target.endpoint("auth") + "?" + requests.compat.urlencode(
        {"response_type": "code", "client_id": t.name("client"), "redirect_uri": REDIRECT_URI, "scope": "openid", "state": "s1"}
    )
    t.http("authorize", t.browser(), "GET", url, texts=("Client not found.",))


@scenario("password-grant")
def password_grant_ok(t: Ctx) -> None:
    """Resource-owner password grant through `admin-ui` (directAccessGrantsEnabled), with
    `openid`: access, ID and refresh tokens, the realm's lifespans."""
    session = t.oauth()
    token = password_grant(t, "password grant", session, view="token")
    t.expect(token is not None, "the password grant failed")
    verify_id_token(t, "id token", token or {}, "admin-ui", nonce=None)


@scenario("token-claims-phadmin")
def token_claims_phadmin(t: Ctx) -> None:
    """PrimeHub's administrator `phadmin` logs in (password grant) through `admin-ui` (full
    scope off, scoped to realm-management/realm-admin) and `jupyterhub` (full scope, group and
    quota mappers): the claims, with the realm-admin composite expanded into
    `resource_access.realm-management.roles` as Keycloak does."""
    password_grant(t, "admin-ui", t.oauth(), username="phadmin", scope="openid profile email", view="token")
    password_grant(t, "jupyterhub", t.oauth("jupyterhub"), username="phadmin", scope="openid profile email", view="token")


@scenario("password-grant-wrong-password")
def password_grant_wrong(t: Ctx) -> None:
    """A wrong password, an unknown user, a wrong client secret."""
    password_grant(t, "wrong password", t.oauth(), password="not-the-password")
    password_grant(t, "unknown user", t.oauth(), username=t.name("nobody"), password="x")
    from authlib.integrations.requests_client import OAuth2Session

    bad = OAuth2Session("admin-ui", "not-the-secret")
    bad.last_status = None
    bad.hooks["response"].append(lambda r, *a, **k: setattr(bad, "last_status", r.status_code))
    password_grant(t, "wrong client secret", bad)


@scenario("refresh")
def refresh_ok(t: Ctx) -> None:
    """A refresh through Authlib gives new tokens of the same session."""
    session = t.oauth()
    token = password_grant(t, "password grant", session)
    t.expect(token is not None, "the password grant failed")
    again = refresh(t, "refresh", session, (token or {}).get("refresh_token", ""), view="token")
    t.record("same session", same=bool(again) and claims(token, "access_token").get("sid") == claims(again, "access_token").get("sid"))


@scenario("refresh-invalid")
def refresh_invalid(t: Ctx) -> None:
    """A refresh with a token that is not one, and with another client's refresh token."""
    session = t.oauth()
    refresh(t, "garbage refresh token", session, "not-a-token")
    token = password_grant(t, "password grant (admin-ui)", session)
    t.expect(token is not None, "the password grant failed")
    refresh(t, "refresh by jupyterhub", t.oauth("jupyterhub"), (token or {}).get("refresh_token", ""))


@scenario("introspect")
def introspect_tokens(t: Ctx) -> None:
    """Introspection (client_secret_basic) by the client the tokens were issued to. Keycloak 26
    answers `active` for an access token only when the asking client is in its `aud` (admin-ui's
    tokens are for realm-management: inactive), and for a refresh token only with
    `token_type_hint=refresh_token` (then active, with its claims); no token: inactive."""
    session = t.oauth()
    token = password_grant(t, "password grant", session) or {}
    introspect(t, "access token (admin-ui not in aud)", session, token.get("access_token", ""))
    introspect(t, "refresh token, hint refresh_token", session, token.get("refresh_token", ""), hint="refresh_token")
    introspect(t, "refresh token, no hint", session, token.get("refresh_token", ""))
    introspect(t, "ID token (aud admin-ui)", session, token.get("id_token", ""))
    introspect(t, "not a token", session, "not-a-token")


@scenario("introspect-audience")
def introspect_audience(t: Ctx) -> None:
    """A client of its own whose access tokens name it in `aud` (an audience mapper): its
    access token introspects active with the token's claims (plus `client_id`, `username`,
    `token_type`) for that client, and inactive for admin-ui (not in `aud`)."""
    a = t.admin
    client = t.name()
    t.call(
        "create client",
        a.create_client,
        {
            "clientId": client,
            "secret": "kcc-client-secret",
            "publicClient": False,
            "directAccessGrantsEnabled": True,
            "protocolMappers": [{
                "name": "audience",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {"included.client.audience": client, "access.token.claim": "true", "introspection.token.claim": "true"},
            }],
        },
    )
    t.target.secrets.setdefault(client, "kcc-client-secret")
    session = t.oauth(client)
    token = password_grant(t, "password grant", session) or {}
    introspect(t, "access token by the client in aud", session, token.get("access_token", ""))
    introspect(t, "access token by admin-ui", t.oauth(), token.get("access_token", ""))


@scenario("introspect-other-client")
def introspect_other_client(t: Ctx) -> None:
    """`jupyterhub` introspects a token issued to `admin-ui`; a wrong client secret is refused."""
    token = password_grant(t, "password grant", t.oauth()) or {}
    introspect(t, "by jupyterhub", t.oauth("jupyterhub"), token.get("access_token", ""))
    resp = requests.post(
        t.target.endpoint("token/introspect"), data={"token": token.get("access_token", "")}, auth=("admin-ui", "not-the-secret"), timeout=30
    )
    t.record("wrong client secret", status=resp.status_code, body=response_body(t.norm, resp))


@scenario("revoke-refresh")
def revoke_refresh(t: Ctx) -> None:
    """Revoking a refresh token (RFC 7009): 200; the refresh token no longer refreshes and
    introspects inactive."""
    session = t.oauth()
    token = password_grant(t, "password grant", session) or {}
    introspect(t, "introspect refresh token before", session, token.get("refresh_token", ""), hint="refresh_token")
    t.oidc("revoke", session, session.revoke_token, t.target.endpoint("revoke"), token=token.get("refresh_token"), token_type_hint="refresh_token", view="json")
    refresh(t, "refresh after revoke", session, token.get("refresh_token", ""))
    introspect(t, "introspect refresh token after", session, token.get("refresh_token", ""), hint="refresh_token")
    userinfo_status(t, "userinfo with the access token", token.get("access_token", ""))


@scenario("revoke-access")
def revoke_access(t: Ctx) -> None:
    """Revoking an access token: 200; userinfo accepted it before and refuses it after; the
    refresh token of the same grant still refreshes."""
    session = t.oauth()
    token = password_grant(t, "password grant", session) or {}
    userinfo_status(t, "userinfo before", token.get("access_token", ""))
    t.oidc("revoke", session, session.revoke_token, t.target.endpoint("revoke"), token=token.get("access_token"), token_type_hint="access_token", view="json")
    userinfo_status(t, "userinfo after", token.get("access_token", ""))
    refresh(t, "refresh", session, token.get("refresh_token", ""))


@scenario("revoke-unknown")
def revoke_unknown(t: Ctx) -> None:
    """Revoking a string that is no token is 200 (RFC 7009 2.2); another client's token is
    refused."""
    session = t.oauth()
    t.oidc("revoke garbage", session, session.revoke_token, t.target.endpoint("revoke"), token="not-a-token", view="json")
    token = password_grant(t, "password grant (admin-ui)", session) or {}
    hub = t.oauth("jupyterhub")
    t.oidc("revoke by jupyterhub", hub, hub.revoke_token, t.target.endpoint("revoke"), token=token.get("refresh_token"), token_type_hint="refresh_token", view="json")


@scenario("logout-redirect")
def logout_redirect(t: Ctx) -> None:
    """RP-initiated logout in the browser with `id_token_hint`, `post_logout_redirect_uri` and
    `state`: a redirect to that URI with the state; the SSO session is gone (`prompt=none` gets
    login_required) and the refresh token no longer refreshes."""
    browser = t.browser()
    session, location, _, verifier = browser_login(t, browser)
    token = exchange(t, "exchange", session, location, verifier) or {}
    url = t.target.endpoint("logout") + "?" + requests.compat.urlencode(
        {"id_token_hint": token.get("id_token", ""), "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "kcc-logout-state"}
    )
    t.http("logout", browser, "GET", url, expected={"post_logout_redirect_uri": POST_LOGOUT_URI})
    _, url, _, _ = authorize_url(t, prompt="none")
    t.http("authorize prompt=none after logout", browser, "GET", url, expected={"redirect_uri": REDIRECT_URI})
    refresh(t, "refresh after logout", session, token.get("refresh_token", ""))


@scenario("logout-unregistered-redirect")
def logout_unregistered_redirect(t: Ctx) -> None:
    """A logout whose `post_logout_redirect_uri` the client did not register: Keycloak's error
    page, and the session stays."""
    browser = t.browser()
    session, location, _, verifier = browser_login(t, browser)
    token = exchange(t, "exchange", session, location, verifier) or {}
    url = t.target.endpoint("logout") + "?" + requests.compat.urlencode(
        {"id_token_hint": token.get("id_token", ""), "post_logout_redirect_uri": "http://127.0.0.1:1/kc-compat/elsewhere"}
    )
    t.http("logout", browser, "GET", url, texts=("Invalid redirect uri",))
    refresh(t, "refresh (session still there)", session, token.get("refresh_token", ""))


@scenario("logout-backchannel")
def logout_backchannel(t: Ctx) -> None:
    """Back-channel logout with python-keycloak (POST client credentials and the refresh token,
    204): the refresh token no longer refreshes nor introspects active, userinfo refuses the
    access token; a second logout with the same token is 204 again."""
    session = t.oauth()
    token = password_grant(t, "password grant", session) or {}
    t.call("logout", t.openid().logout, token.get("refresh_token", ""))
    refresh(t, "refresh after logout", session, token.get("refresh_token", ""))
    introspect(t, "introspect refresh token", session, token.get("refresh_token", ""), hint="refresh_token")
    userinfo_status(t, "userinfo with the access token", token.get("access_token", ""))
    t.call("logout again", t.openid().logout, token.get("refresh_token", ""))


@scenario("userinfo")
def userinfo(t: Ctx) -> None:
    """Userinfo with the access token (Authlib sends it as a Bearer token), and python-keycloak's
    `userinfo`."""
    session = t.oauth()
    token = password_grant(t, "password grant", session, scope="openid profile email") or {}
    t.oidc("userinfo (Authlib)", session, session.get, t.target.endpoint("userinfo"), view="json")
    t.call("userinfo (python-keycloak)", t.openid().userinfo, token.get("access_token", ""))


@scenario("userinfo-refused")
def userinfo_refused(t: Ctx) -> None:
    """Userinfo without a token, with a garbage token, and with an ID token instead of an
    access token: 401 (and Keycloak's error)."""
    resp = requests.get(t.target.endpoint("userinfo"), timeout=30)
    t.record("no token", status=resp.status_code, www_authenticate=t.norm.text(resp.headers.get("WWW-Authenticate", "")), body=response_body(t.norm, resp))
    userinfo_status(t, "garbage token", "not-a-token")
    token = password_grant(t, "password grant", t.oauth()) or {}
    userinfo_status(t, "id token", token.get("id_token", ""))


@scenario("client-credentials")
def client_credentials(t: Ctx) -> None:
    """The client credentials grant of `admin-ui` (service account): an access token for the
    service account, no refresh token; `jupyterhub` has no service account (unauthorized_client)."""
    session = t.oauth()
    t.oidc("admin-ui", session, session.fetch_token, t.target.endpoint("token"), grant_type="client_credentials")
    hub = t.oauth("jupyterhub")
    t.oidc("jupyterhub", hub, hub.fetch_token, t.target.endpoint("token"), grant_type="client_credentials")


# --------------------------------------------------------------------------------------------
# Admin helpers


def by(key: str) -> Callable[[Any], Any]:
    """A `keep` that sorts a list of representations by `key` (where the order is not part of
    the contract)."""
    return lambda items: sorted(items, key=lambda i: str(i.get(key))) if isinstance(items, list) else items


def mine(t: Ctx, key: str = "name") -> Callable[[Any], Any]:
    """A `keep` that keeps only this scenario's objects of a list (others run in the same realm)."""
    return lambda items: sorted((i for i in items if str(i.get(key, "")).startswith(t.name())), key=lambda i: str(i.get(key)))


def new_user(t: Ctx, suffix: str = "", step: Optional[str] = None, **extra: Any) -> Optional[str]:
    rep = {"username": t.name(suffix), "enabled": True, **extra}
    if step:
        return t.call(step, t.admin.create_user, rep)
    return t.admin.create_user(rep)


def raw(t: Ctx, step: str, method: str, path: str, data: Any = None) -> Any:
    """A request through python-keycloak's admin connection (its token), path relative to the
    server (`admin/realms/<realm>/…`); records status, media type and body."""
    conn = t.admin.connection
    path = path.format(realm=t.target.realm)
    if method == "GET":
        resp = conn.raw_get(path)
    elif method == "POST":
        resp = conn.raw_post(path, data=json.dumps(data))
    elif method == "PUT":
        resp = conn.raw_put(path, data=json.dumps(data))
    else:
        resp = conn.raw_delete(path)
    t.record(step, status=resp.status_code, media=media_of(resp), body=response_body(t.norm, resp))
    return resp


# --------------------------------------------------------------------------------------------
# Admin scenarios: users


@scenario("admin-user-crud")
def admin_user_crud(t: Ctx) -> None:
    """Create, read (by id, by username, by search), count, update, delete a user."""
    a = t.admin
    uid = new_user(t, step="create", email=t.name() + "@example.com", firstName="Ada", lastName="Lovelace", attributes={"team": ["a"]})
    t.call("get", a.get_user, uid)
    t.call("get id by username", a.get_user_id, t.name())
    t.call("search", a.get_users, {"search": t.name()})
    t.call("search exact username", a.get_users, {"username": t.name(), "exact": "true"})
    t.call("count", a.users_count, {"search": t.name()})
    t.call("update", a.update_user, uid, {"firstName": "Grace", "attributes": {"team": ["b"], "site": ["x"]}})
    t.call("get after update", a.get_user, uid)
    t.call("disable", a.disable_user, uid)
    t.call("get disabled", a.get_user, uid, keep=lambda u: {"enabled": u.get("enabled")})
    t.call("delete", a.delete_user, uid)
    t.call("get after delete", a.get_user, uid)


@scenario("admin-user-password")
def admin_user_password(t: Ctx) -> None:
    """Set a user's password: the user then logs in (password grant); a temporary password
    makes the login fail until it is changed, and shows as required action."""
    a = t.admin
    uid = new_user(t, step="create", email=t.name() + "@example.com", firstName="Pat", lastName="Word")
    t.call("set password", a.set_user_password, uid, "Kcc-Password-1", temporary=False)
    password_grant(t, "login", t.oauth(), username=t.name(), password="Kcc-Password-1")
    t.call("credentials", a.get_credentials, uid, keep=lambda cs: [{"type": c.get("type"), "userLabel": c.get("userLabel")} for c in cs])
    t.call("set temporary password", a.set_user_password, uid, "Kcc-Password-2", temporary=True)
    password_grant(t, "login with a temporary password", t.oauth(), username=t.name(), password="Kcc-Password-2")
    t.call("required actions", a.get_user, uid, keep=lambda u: u.get("requiredActions"))
    password_grant(t, "login with the old password", t.oauth(), username=t.name(), password="Kcc-Password-1")


@scenario("admin-user-duplicate")
def admin_user_duplicate(t: Ctx) -> None:
    """A second user with the same username, or the same e-mail: 409 and Keycloak's message."""
    a = t.admin
    new_user(t, step="create", email=t.name() + "@example.com")
    t.call("same username", a.create_user, {"username": t.name(), "enabled": True})
    t.call("same username, other case", a.create_user, {"username": t.name().upper(), "enabled": True})
    t.call("same email", a.create_user, {"username": t.name("b"), "email": t.name() + "@example.com", "enabled": True})
    t.call("exist_ok", a.create_user, {"username": t.name(), "enabled": True}, exist_ok=True)


@scenario("admin-user-invalid")
def admin_user_invalid(t: Ctx) -> None:
    """A user without a username, and with an invalid e-mail: 400 and Keycloak's message."""
    a = t.admin
    t.call("no username", a.create_user, {"enabled": True, "email": t.name() + "@example.com"})
    t.call("invalid email", a.create_user, {"username": t.name(), "email": "not-an-email", "enabled": True})


@scenario("admin-user-unknown")
def admin_user_unknown(t: Ctx) -> None:
    """Every user route with an unknown id: 404 and Keycloak's message."""
    a = t.admin
    t.call("get", a.get_user, UNKNOWN_ID)
    t.call("update", a.update_user, UNKNOWN_ID, {"firstName": "x"})
    t.call("delete", a.delete_user, UNKNOWN_ID)
    t.call("set password", a.set_user_password, UNKNOWN_ID, "x", temporary=False)
    t.call("groups", a.get_user_groups, UNKNOWN_ID)
    t.call("realm roles", a.get_realm_roles_of_user, UNKNOWN_ID)
    t.call("get id of unknown username", a.get_user_id, t.name("nobody"))


@scenario("admin-unknown-route")
def admin_unknown_route(t: Ctx) -> None:
    """Routes that do not exist, under the admin API and under the realm: Keycloak's 404s."""
    raw(t, "admin: unknown collection", "GET", "admin/realms/{realm}/kcc-no-such-thing")
    raw(t, "admin: unknown user sub-resource", "GET", f"admin/realms/{{realm}}/users/{UNKNOWN_ID}/kcc-no-such-thing")
    raw(t, "admin: unknown realm", "GET", "admin/realms/kcc-no-such-realm/users")
    raw(t, "oidc: unknown endpoint", "GET", "realms/{realm}/protocol/openid-connect/kcc-no-such-endpoint")
    raw(t, "unknown realm's discovery", "GET", "realms/kcc-no-such-realm/.well-known/openid-configuration")


@scenario("admin-no-token")
def admin_no_token(t: Ctx) -> None:
    """The admin API without a token, with a garbage token, and with a token of a user who is
    no administrator: 401, 401, 403."""
    url = f"{t.target.base_url}/admin/realms/{t.target.realm}/users"
    resp = requests.get(url, timeout=30)
    t.record("no token", status=resp.status_code, body=response_body(t.norm, resp))
    resp = requests.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    t.record("garbage token", status=resp.status_code, body=response_body(t.norm, resp))
    uid = new_user(t)
    t.admin.set_user_password(uid, "Kcc-Password-1", temporary=False)
    token = password_grant(t, "login as a plain user", t.oauth(), username=t.name(), password="Kcc-Password-1") or {}
    resp = requests.get(url, headers={"Authorization": f"Bearer {token.get('access_token', '')}"}, timeout=30)
    t.record("plain user's token", status=resp.status_code, body=response_body(t.norm, resp))


# --------------------------------------------------------------------------------------------
# Admin scenarios: groups


@scenario("admin-groups")
def admin_groups(t: Ctx) -> None:
    """Groups and subgroups: create a group and a subgroup, read them (by id, children, by
    path, search), update, a duplicate sibling (409), move the subgroup to another parent,
    delete."""
    a = t.admin
    parent = t.call("create", a.create_group, {"name": t.name(), "attributes": {"displayName": ["Parent"]}})
    child = t.call("create subgroup", a.create_group, {"name": "child"}, parent=parent)
    t.call("get", a.get_group, parent)
    t.call("children", a.get_group_children, parent)
    t.call("by path", a.get_group_by_path, f"/{t.name()}/child")
    t.call("search", a.get_groups, {"search": t.name()}, keep=mine(t))
    t.call("duplicate subgroup", a.create_group, {"name": "child"}, parent=parent)
    t.call("duplicate top-level", a.create_group, {"name": t.name()})
    t.call("update", a.update_group, parent, {"name": t.name(), "attributes": {"displayName": ["Renamed"]}})
    t.call("get after update", a.get_group, parent, keep=lambda g: {k: g.get(k) for k in ("name", "path", "attributes", "subGroupCount")})
    other = t.call("create another parent", a.create_group, {"name": t.name("b")})
    raw(t, "move subgroup", "POST", f"admin/realms/{{realm}}/groups/{other}/children", {"id": child, "name": "child"})
    t.call("by new path", a.get_group_by_path, f"/{t.name('b')}/child")
    t.call("by old path", a.get_group_by_path, f"/{t.name()}/child")
    t.call("old parent's children", a.get_group_children, parent)
    raw(t, "move to top level", "POST", "admin/realms/{realm}/groups", {"id": child, "name": "child"})
    t.call("top-level after move", a.get_group, child, keep=lambda g: {k: g.get(k) for k in ("name", "path", "parentId")})
    t.call("delete", a.delete_group, parent)
    t.call("get deleted", a.get_group, parent)
    t.call("unknown group's children", a.get_group_children, UNKNOWN_ID)


@scenario("admin-group-members")
def admin_group_members(t: Ctx) -> None:
    """Members: add two users to a group, list members and a user's groups, remove one."""
    a = t.admin
    gid = t.call("create group", a.create_group, {"name": t.name()})
    sub = t.call("create subgroup", a.create_group, {"name": "sub"}, parent=gid)
    u1 = new_user(t, "u1", step="create u1")
    u2 = new_user(t, "u2", step="create u2")
    t.call("add u1", a.group_user_add, u1, gid)
    t.call("add u2", a.group_user_add, u2, gid)
    t.call("add u1 to subgroup", a.group_user_add, u1, sub)
    t.call("members", a.get_group_members, gid, keep=by("username"))
    t.call("brief members", a.get_group_members, gid, {"briefRepresentation": "true"}, keep=by("username"))
    t.call("u1's groups", a.get_user_groups, u1, keep=by("path"))
    t.call("u1's groups, brief=false", a.get_user_groups, u1, brief_representation=False, keep=by("path"))
    t.call("remove u2", a.group_user_remove, u2, gid)
    t.call("members after remove", a.get_group_members, gid, keep=by("username"))
    t.call("add to unknown group", a.group_user_add, u1, UNKNOWN_ID)


# --------------------------------------------------------------------------------------------
# Admin scenarios: roles and role mappings


@scenario("admin-realm-roles")
def admin_realm_roles(t: Ctx) -> None:
    """Realm roles: create (the id python-keycloak reads from Location is the role's name),
    read, update, a duplicate (409), composites, delete, an unknown role (404)."""
    a = t.admin
    name = t.name()
    t.call("create", a.create_realm_role, {"name": name, "description": "first"})
    t.call("create, a name to encode in Location", a.create_realm_role, {"name": t.name("img:a b")})
    t.call("get", a.get_realm_role, name)
    t.call("update", a.update_realm_role, name, {"name": name, "description": "second", "attributes": {"k": ["v"]}})
    t.call("get after update", a.get_realm_role, name)
    t.call("duplicate", a.create_realm_role, {"name": name})
    t.call("create part", a.create_realm_role, {"name": t.name("part")})
    part = a.get_realm_role(t.name("part"))
    t.call("add composite", a.add_composite_realm_roles_to_role, name, [part])
    t.call("composites", a.get_composite_realm_roles_of_role, name)
    t.call("get composite role", a.get_realm_role, name, keep=lambda r: {"composite": r.get("composite")})
    t.call("search", a.get_realm_roles, search_text=t.name(), keep=mine(t))
    t.call("remove composite", a.remove_composite_realm_roles_to_role, name, [part])
    t.call("composites after remove", a.get_composite_realm_roles_of_role, name)
    t.call("rename", a.update_realm_role, name, {"name": t.name("renamed"), "description": "third"})
    t.call("get by old name", a.get_realm_role, name)
    t.call("get by new name", a.get_realm_role, t.name("renamed"), keep=lambda r: {k: r.get(k) for k in ("name", "description")})
    t.call("delete", a.delete_realm_role, t.name("renamed"))
    t.call("get deleted", a.get_realm_role, t.name("renamed"))
    t.call("update unknown", a.update_realm_role, t.name("nothing"), {"name": t.name("nothing")})


@scenario("admin-role-holders")
def admin_role_holders(t: Ctx) -> None:
    """The users and the groups holding a realm role (directly)."""
    a = t.admin
    t.call("create role", a.create_realm_role, {"name": t.name()})
    role = a.get_realm_role(t.name())
    uid = new_user(t, "u", step="create user")
    gid = t.call("create group", a.create_group, {"name": t.name("g")})
    member = new_user(t, "member", step="create member")
    t.call("member joins group", a.group_user_add, member, gid)
    t.call("assign to user", a.assign_realm_roles, uid, [role])
    t.call("assign to group", a.assign_group_realm_roles, gid, [role])
    t.call("role users", a.get_realm_role_members, t.name(), keep=by("username"))
    t.call("role groups", a.get_realm_role_groups, t.name(), keep=by("name"))
    t.call("unknown role users", a.get_realm_role_members, t.name("nothing"))


@scenario("admin-user-realm-roles")
def admin_user_realm_roles(t: Ctx) -> None:
    """A user's realm role mappings: add, list, effective (composite, with the default roles),
    all mappings, remove, an unknown role (404); the user's token carries the effective roles."""
    a = t.admin
    for suffix in ("r1", "r2", "inner"):
        t.call(f"create {suffix}", a.create_realm_role, {"name": t.name(suffix)})
    r1, r2, inner = (a.get_realm_role(t.name(s)) for s in ("r1", "r2", "inner"))
    t.call("r2 composite of inner", a.add_composite_realm_roles_to_role, t.name("r2"), [inner])
    uid = new_user(t, step="create user")
    t.call("mappings of a new user", a.get_realm_roles_of_user, uid, keep=by("name"))
    t.call("add r1 and r2", a.assign_realm_roles, uid, [r1, r2])
    t.call("mappings", a.get_realm_roles_of_user, uid, keep=by("name"))
    t.call("effective", a.get_composite_realm_roles_of_user, uid, keep=by("name"))
    t.call("all mappings", a.get_all_roles_of_user, uid, keep=lambda m: {"realmMappings": by("name")(m.get("realmMappings", [])), "clientMappings": sorted(m.get("clientMappings", {}))})
    t.call("remove r1", a.delete_realm_roles_of_user, uid, [r1])
    t.call("mappings after remove", a.get_realm_roles_of_user, uid, keep=by("name"))
    t.call("add an unknown role", a.assign_realm_roles, uid, [{"id": UNKNOWN_ID, "name": t.name("nothing")}])
    a.set_user_password(uid, "Kcc-Password-1", temporary=False)
    token = password_grant(t, "login through jupyterhub", t.oauth("jupyterhub"), username=t.name(), password="Kcc-Password-1")
    roles = claims(token, "access_token").get("realm_access", {}).get("roles", []) if token else None
    t.record("realm roles in the access token (composites expanded)", roles=sorted(roles) if roles is not None else None)


@scenario("admin-group-realm-roles")
def admin_group_realm_roles(t: Ctx) -> None:
    """A group's realm role mappings: add, list, remove; a member's effective roles include them."""
    a = t.admin
    t.call("create role", a.create_realm_role, {"name": t.name()})
    role = a.get_realm_role(t.name())
    gid = t.call("create group", a.create_group, {"name": t.name()})
    uid = new_user(t, step="create user")
    t.call("join", a.group_user_add, uid, gid)
    t.call("add", a.assign_group_realm_roles, gid, [role])
    t.call("list", a.get_group_realm_roles, gid, keep=by("name"))
    raw(t, "all mappings", "GET", f"admin/realms/{{realm}}/groups/{gid}/role-mappings")
    t.call("member's effective roles", a.get_composite_realm_roles_of_user, uid, keep=lambda rs: sorted(r["name"] for r in rs if r["name"].startswith(t.name())))
    t.call("remove", a.delete_group_realm_roles, gid, [role])
    t.call("list after remove", a.get_group_realm_roles, gid, keep=by("name"))


# --------------------------------------------------------------------------------------------
# Admin scenarios: clients


@scenario("admin-clients")
def admin_clients(t: Ctx) -> None:
    """Clients: the list (client ids), `get_client_id`, a client's representation, an unknown
    client (404)."""
    a = t.admin
    t.call("list", a.get_clients, keep=lambda cs: sorted(c.get("clientId") for c in cs if not c.get("clientId", "").startswith("kcc-")))
    hub = t.call("jupyterhub id", a.get_client_id, "jupyterhub")
    mappers = lambda c: dict(c, protocolMappers=by("name")(c.get("protocolMappers", [])))  # noqa: E731
    t.call("get jupyterhub", a.get_client, hub, keep=mappers)
    admin_ui = a.get_client_id("admin-ui")
    t.call("get admin-ui", a.get_client, admin_ui, keep=mappers)
    t.call("unknown client id", a.get_client_id, t.name("nothing"))
    t.call("get unknown", a.get_client, UNKNOWN_ID)


@scenario("admin-client-scope-mappings")
def admin_client_scope_mappings(t: Ctx) -> None:
    """Reading a client's scope mappings: `admin-ui` (full scope off) is scoped to
    realm-management/realm-admin; `jupyterhub` has none."""
    a = t.admin
    admin_ui = a.get_client_id("admin-ui")
    rm = a.get_client_id("realm-management")
    hub = a.get_client_id("jupyterhub")
    t.call("admin-ui realm-management scope", a.get_client_roles_of_client_scope, admin_ui, rm, keep=by("name"))
    t.call("admin-ui realm scope", a.get_realm_roles_of_client_scope, admin_ui, keep=by("name"))
    raw(t, "admin-ui all scope mappings", "GET", f"admin/realms/{{realm}}/clients/{admin_ui}/scope-mappings")
    raw(t, "jupyterhub all scope mappings", "GET", f"admin/realms/{{realm}}/clients/{hub}/scope-mappings")
    t.call("jupyterhub realm scope", a.get_realm_roles_of_client_scope, hub, keep=by("name"))
