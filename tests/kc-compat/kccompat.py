"""The machinery of the Keycloak compatibility harness: targets, the per-scenario context that
drives python-keycloak, Authlib and a scripted browser (requests) and records what the server
answered, normalization of those answers, their comparison, and the verdict lists.

Nothing here knows a scenario; `scenarios.py` holds them and `run_kc_compat.py` runs them.
The generic comparison (`differences`, `compare_steps`, `read_list`, `verdict`) follows
tests/compat/compat.py; it is repeated here so that this harness needs no PyYAML and stays
self-contained.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlparse

# --------------------------------------------------------------------------------------------
# Normalization: what is allowed to differ between two servers that behave the same

UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
JWT_RE = re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$")
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")

# keys whose (numeric) value is a point in time: replaced, their presence still counts
TIME_KEYS = {"createdTimestamp", "exp", "iat", "nbf", "auth_time", "expires_at", "client.secret.creation.time"}
# token lifetimes in seconds: Keycloak computes them from its session's last refresh in whole
# seconds, so the same lifetime comes out one second short when a second boundary passes
# between the session's start and the answer; they are compared to the nearest 10 seconds
DURATION_KEYS = {"expires_in", "refresh_expires_in"}
# keys whose value is a per-session, per-token or per-request opaque value
OPAQUE_KEYS = {
    "session_state": "<session>",
    "sid": "<session>",
    "jti": "<jti>",
    "code": "<code>",
    "state": "<state>",
    "at_hash": "<hash>",
    "c_hash": "<hash>",
    "s_hash": "<hash>",
    "secret": "<secret>",
    "refresh_token": "<token>",
    "kid": "<kid>",
}


class IdMap:
    """Numbers the ids (UUIDs) of one run of one scenario by first appearance, so that two runs
    compare equal when the same objects are related in the same way (`<id1>` is the user that
    was created, and the same `<id1>` is the member of the group), whatever their values."""

    def __init__(self) -> None:
        self.ids: Dict[str, str] = {}

    def __call__(self, match: "re.Match[str]") -> str:
        value = match.group(0)
        if value not in self.ids:
            self.ids[value] = f"<id{len(self.ids) + 1}>"
        return self.ids[value]


@dataclass
class Normalizer:
    """Replaces in a JSON value everything that differs between two equal servers: the target's
    base URL (`<base>`), ids (numbered, see `IdMap`), instants (`<time>`), opaque per-session
    values (`<session>`, `<code>`, …) and tokens (`<jwt>`, or their decoded claims where a
    scenario asks for them). Dict keys are kept; their presence counts."""

    base_url: str
    ids: IdMap = field(default_factory=IdMap)

    def text(self, value: str) -> str:
        if self.base_url:
            value = value.replace(self.base_url, "<base>")
        value = UUID_RE.sub(self.ids, value)
        value = TIME_RE.sub("<time>", value)
        if JWT_RE.match(value):
            return "<jwt>"
        return value

    def value(self, value: Any, key: str = "") -> Any:
        """A JSON value normalized; lists of strings come out sorted (Keycloak's order of role
        names, scopes and the like is not part of its contract), `scope` strings as sorted
        lists of their scopes."""
        if key in TIME_KEYS and not isinstance(value, bool) and isinstance(value, (int, float, str)):
            return "<time>" if value not in (0, "", "0") else value
        if key in DURATION_KEYS and isinstance(value, int) and not isinstance(value, bool):
            return (value + 5) // 10 * 10
        if key in OPAQUE_KEYS and isinstance(value, str) and value:
            return OPAQUE_KEYS[key]
        if key == "scope" and isinstance(value, str):
            return sorted(value.split())
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
        if isinstance(value, list):
            # the key's rules (times, opaque values, scope strings) are for scalar values, not
            # for the items of a list under that key
            items = [self.value(v, key if isinstance(v, (dict, list)) else "") for v in value]
            if items and all(isinstance(v, str) for v in items):
                return sorted(items)
            return items
        if isinstance(value, str):
            return self.text(value)
        return value


def jwt_parts(token: str) -> Optional[Tuple[dict, dict]]:
    """The header and claims of a JWT, unverified (None when `token` is not a JWT)."""
    if not isinstance(token, str) or not JWT_RE.match(token):
        return None
    try:
        header, payload = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in token.split(".")[:2]
        )
    except (ValueError, TypeError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return header, payload


def sort_strings(value: Any) -> Any:
    """Lists of strings sorted, recursively (claims such as roles and `aud` are sets)."""
    if isinstance(value, dict):
        return {k: sort_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [sort_strings(v) for v in value]
        if all(isinstance(v, str) for v in items):
            return sorted(items)
        return items
    return value


def claims_view(norm: Normalizer, token: Any) -> Any:
    """A JWT as what a client can read from it: the header's `alg`, `typ` and whether it names a
    key, and the normalized claims (`scope` as a sorted list, string lists sorted). Anything
    that is not a JWT becomes `<opaque>` (or stays empty)."""
    parts = jwt_parts(token) if isinstance(token, str) else None
    if parts is None:
        return "<opaque>" if token else token
    header, claims = parts
    claims = dict(claims)
    if isinstance(claims.get("scope"), str):
        claims["scope"] = sorted(claims["scope"].split())
    return {
        "header": {"alg": header.get("alg"), "typ": header.get("typ"), "kid": "kid" in header},
        "claims": norm.value(sort_strings(claims)),
    }


def token_view(norm: Normalizer, token: Any) -> Any:
    """A token endpoint answer as a client sees it: its keys, `token_type`, the lifespans,
    `scope` as a sorted list, the access and ID tokens decoded (`claims_view`), the refresh
    token only as present."""
    if not isinstance(token, dict):
        return norm.value(token)
    out: Dict[str, Any] = {}
    for key, value in token.items():
        if key in ("access_token", "id_token"):
            out[key] = claims_view(norm, value)
        elif key == "scope" and isinstance(value, str):
            out[key] = sorted(value.split())
        else:
            out[key] = norm.value(value, key)
    return dict(sorted(out.items()))


def response_body(norm: Normalizer, resp: Any) -> Any:
    """A response body: parsed JSON (normalized), `<html>` for a page, the text otherwise."""
    media = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    data = resp.content or b""
    if not data:
        return ""
    if media.endswith("json") or media == "":
        try:
            return norm.value(json.loads(data))
        except ValueError:
            pass
    if media == "text/html":
        return "<html>"
    return norm.text(data.decode("utf-8", "replace"))[:300]


def media_of(resp: Any) -> str:
    return (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def location_view(norm: Normalizer, location: Optional[str], expected: Dict[str, str]) -> Any:
    """A redirect's Location: its target (named `<name>` when it is one of the `expected`
    URIs the scenario sent, else normalized) and its query parameters (normalized by name:
    `code`, `state`, `session_state` are opaque; `iss` and errors compared)."""
    if location is None:
        return None
    parsed = urlparse(location)
    target = f"{parsed.scheme}://{parsed.netloc}{parsed.path}" if parsed.scheme else parsed.path
    for name, uri in expected.items():
        if target == uri:
            target = f"<{name}>"
            break
    else:
        target = norm.text(target)
    query = {k: (v[0] if len(v) == 1 else v) for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
    fragment = {k: (v[0] if len(v) == 1 else v) for k, v in parse_qs(parsed.fragment, keep_blank_values=True).items()}
    out: Dict[str, Any] = {"target": target, "query": norm.value(query)}
    if fragment:
        out["fragment"] = norm.value(fragment)
    return out


# --------------------------------------------------------------------------------------------
# The scripted browser


def is_loopback(host: Optional[str]) -> bool:
    return host in ("127.0.0.1", "localhost", "::1", "[::1]") or bool(host and host.endswith(".localhost"))


class LoopbackSecurePolicy(DefaultCookiePolicy):
    """A browser's cookie policy for a loopback server: `Secure` cookies are sent to
    localhost/127.0.0.1 over plain http, as browsers treat loopback as a secure context
    (Keycloak marks its login cookies `Secure; SameSite=None` even over http)."""

    def return_ok_secure(self, cookie: Any, request: Any) -> bool:  # noqa: D401 - http.cookiejar API
        if is_loopback(urlparse(request.get_full_url()).hostname):
            return True
        return super().return_ok_secure(cookie, request)


def make_browser():
    """A requests session that behaves like a browser for cookies: one jar, Secure cookies sent
    to loopback over http. (requests merges the jar into a fresh default-policy jar when it
    prepares a request, so the Cookie header is computed again here with the session's policy.)"""
    import requests
    from requests.cookies import get_cookie_header

    class Browser(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self.cookies.set_policy(LoopbackSecurePolicy())
            self.headers["User-Agent"] = "Mozilla/5.0 (kc-compat scripted browser)"

        def prepare_request(self, request: Any) -> Any:
            prepared = super().prepare_request(request)
            prepared.headers.pop("Cookie", None)
            header = get_cookie_header(self.cookies, prepared)
            if header:
                prepared.headers["Cookie"] = header
            return prepared

    return Browser()


FORM_RE = re.compile(r"<form\b[^>]*>", re.IGNORECASE | re.DOTALL)
ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*("([^"]*)"|\'([^\']*)\')')
SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
INPUT_RE = re.compile(r"<input\b[^>]*>", re.IGNORECASE | re.DOTALL)


def attrs(tag: str) -> Dict[str, str]:
    return {m.group(1).lower(): html.unescape(m.group(3) if m.group(3) is not None else m.group(4)) for m in ATTR_RE.finditer(tag)}


def login_form(page: str) -> Optional[Dict[str, Any]]:
    """The login form of an HTML page, as a browser reads it: the first form with a password
    input, its (unescaped) action, method, and the names of its inputs (scripts ignored).
    None without one."""
    page = SCRIPT_RE.sub(" ", page)
    for match in FORM_RE.finditer(page):
        end = page.lower().find("</form>", match.end())
        body = page[match.end(): end if end >= 0 else len(page)]
        inputs = [attrs(tag) for tag in INPUT_RE.findall(body)]
        if not any(i.get("type", "").lower() == "password" for i in inputs):
            continue
        form = attrs(match.group(0))
        return {
            "action": form.get("action", ""),
            "method": form.get("method", "get").lower(),
            "inputs": sorted(i.get("name", "") for i in inputs if i.get("name")),
            "hidden": {i["name"]: i.get("value", "") for i in inputs if i.get("type", "").lower() == "hidden" and i.get("name")},
        }
    return None


def page_text(page: str) -> str:
    """The visible text of a page (tags and scripts removed, entities decoded, spaces joined)."""
    page = SCRIPT_RE.sub(" ", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page)).strip()


# --------------------------------------------------------------------------------------------
# Comparison (as tests/compat/compat.py)

SUBSET = "fake-subset"


def differences(fake: Any, real: Any, path: str = "", subset: bool = False) -> List[Tuple[str, Any, Any]]:
    """Every place where two normalized values differ: (path, fake value, real value). Dicts
    compare by key (a missing key is `<absent>`), lists element by element. With `subset`,
    the fake's value only has to be contained in the real one: dict keys and list items the
    real server has beyond the fake's are not differences (a fake may serve less, but what it
    serves must be the real server's)."""
    if isinstance(fake, dict) and isinstance(real, dict):
        out: List[Tuple[str, Any, Any]] = []
        keys = set(fake) if subset else set(fake) | set(real)
        for key in sorted(keys, key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in fake:
                out.append((sub, "<absent>", real[key]))
            elif key not in real:
                out.append((sub, fake[key], "<absent>"))
            else:
                out.extend(differences(fake[key], real[key], sub, subset))
        return out
    if isinstance(fake, list) and isinstance(real, list):
        if subset:
            return [(f"{path}[{i}]", item, "<not in the real list>") for i, item in enumerate(fake) if item not in real]
        out = []
        for i in range(max(len(fake), len(real))):
            sub = f"{path}[{i}]"
            if i >= len(fake):
                out.append((sub, "<absent>", real[i]))
            elif i >= len(real):
                out.append((sub, fake[i], "<absent>"))
            else:
                out.extend(differences(fake[i], real[i], sub))
        return out
    if type(fake) is not type(real) or fake != real:
        return [(path or "<root>", fake, real)]
    return []


def compare_steps(fake: List[dict], real: List[dict]) -> List[Tuple[str, Any, Any]]:
    """The differences between two runs of one scenario, step by step (a step is a dict with
    its name under `step`); a run that stopped early shows its missing steps as `<absent>`.
    A step recorded with `compare="fake-subset"` on both sides is compared with `subset`."""
    out: List[Tuple[str, Any, Any]] = []
    for i in range(max(len(fake), len(real))):
        f = fake[i] if i < len(fake) else None
        r = real[i] if i < len(real) else None
        name = (f or r or {}).get("step", f"#{i}")
        if f is None or r is None:
            out.append((f"{i}:{name}", f if f is not None else "<absent>", r if r is not None else "<absent>"))
            continue
        subset = f.get("compare") == SUBSET and r.get("compare") == SUBSET
        out.extend(differences(f, r, f"{i}:{name}", subset))
    return out


def read_list(path: str) -> Dict[str, str]:
    """A differences list: one `scenario-id  reason…` per line, `#` comments and blank lines
    ignored. Returns id → the rest of the line."""
    entries: Dict[str, str] = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                raise ValueError(f"{path}:{number}: `{line}` has no reason")
            if parts[0] in entries:
                raise ValueError(f"{path}:{number}: {parts[0]} listed twice")
            entries[parts[0]] = parts[1]
    return entries


def parse_allowed(entries: Dict[str, str]) -> Dict[str, Tuple[int, str]]:
    """The allowed-differences list: `scenario-id  <HTTP status of the fake's refusal>  reason`."""
    out: Dict[str, Tuple[int, str]] = {}
    for sid, rest in entries.items():
        status, _, reason = rest.partition(" ")
        if not status.isdigit() or not (400 <= int(status) <= 599) or not reason.strip():
            raise ValueError(f"allowed difference {sid}: expected `<4xx/5xx status> <reason>`, got `{rest}`")
        out[sid] = (int(status), reason.strip())
    return out


def step_status(step: dict) -> Optional[int]:
    """The HTTP status a recorded step carries (a raw request's, or an error's)."""
    if isinstance(step.get("status"), int):
        return step["status"]
    error = step.get("error")
    if isinstance(error, dict) and isinstance(error.get("status"), int):
        return error["status"]
    return None


def first_fake_step_refuses(fake: List[dict], real: List[dict], status: int) -> bool:
    """Whether the first step where the fake differs from the real server is the fake answering
    `status` (an honest refusal)."""
    for i, step in enumerate(fake):
        other = real[i] if i < len(real) else None
        if other is not None and not differences(step, other):
            continue
        return step_status(step) == status
    return False


def harness_error(steps: List[dict]) -> bool:
    """Whether a run ended in an exception. Every answer a scenario means to compare is
    recorded by `Ctx.call`/`oidc`/`http`, so on the real Keycloak any exception (a client
    error not wrapped in a step, a broken expectation, a bug) means the scenario is wrong."""
    return any(step.get("step") == "exception" for step in steps)


def verdict(
    sid: str,
    fake: List[dict],
    real: List[dict],
    known: Dict[str, str],
    allowed: Dict[str, Tuple[int, str]],
) -> Tuple[str, bool, List[Tuple[str, Any, Any]]]:
    """The verdict of one scenario: (`agree` | `known` | `allowed` | `unexpected` |
    `stale-known` | `stale-allowed` | `not-allowed` | `harness-error`, whether it passes, the
    differences). A scenario that raised on the real server is a `harness-error` whatever the
    fake did: the real Keycloak is the reference, a scenario must run through on it."""
    diffs = compare_steps(fake, real)
    if harness_error(real):
        return "harness-error", False, diffs
    if not diffs:
        if sid in known:
            return "stale-known", False, diffs
        if sid in allowed:
            return "stale-allowed", False, diffs
        return "agree", True, diffs
    if sid in allowed:
        if first_fake_step_refuses(fake, real, allowed[sid][0]):
            return "allowed", True, diffs
        return "not-allowed", False, diffs
    if sid in known:
        return "known", True, diffs
    return "unexpected", False, diffs


# --------------------------------------------------------------------------------------------
# Targets and the context a scenario runs in


@dataclass
class Target:
    """One Keycloak (`fake` or `real`): its base URL, the realm (PrimeHub's shape, set up by
    `primehub dev` or `primehub bootstrap`), the master administrator, PrimeHub's
    administrator `phadmin`'s password, and the client secrets of `admin-ui` and `jupyterhub`."""

    name: str
    base_url: str
    realm: str
    master_user: str
    master_password: str
    phadmin_password: str
    secrets: Dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{self.realm}"

    def endpoint(self, name: str) -> str:
        """An OpenID Connect endpoint at its Keycloak path (`auth`, `token`, `logout`, …)."""
        return f"{self.issuer}/protocol/openid-connect/{name}"


class Expectation(Exception):
    """A scenario's expectation did not hold (e.g. a login page without a form): the scenario
    cannot go on. On the real server it is a harness error (the scenario is wrong); on the fake
    it is an outcome, compared like any other."""


# the redirect URIs the scenarios send (registered on both targets' clients by the harness)
REDIRECT_URI = "http://127.0.0.1:1/kc-compat/callback"
POST_LOGOUT_URI = "http://127.0.0.1:1/kc-compat/logged-out"
# the user the OIDC scenarios log in as (created by the harness on both targets, password: the
# run's phadmin password); a plain user, member of the default group `everyone` only
USER = {"username": "kcc-user", "email": "kcc-user@example.com", "firstName": "Kay", "lastName": "Compat", "enabled": True}
# registered on `admin-ui` next to REDIRECT_URI: a wildcard, as Keycloak matches it
WILDCARD_URI = "http://127.0.0.1:1/kc-compat/wild/*"


@dataclass
class Ctx:
    """What one scenario sees on one target: its id, its target, the clients (python-keycloak's
    `KeycloakAdmin` and `KeycloakOpenID`, Authlib's `OAuth2Session`, a scripted browser), and
    the list of recorded steps that is compared with the other target's."""

    target: Target
    sid: str
    steps: List[dict] = field(default_factory=list)
    norm: Normalizer = None  # type: ignore[assignment]
    _admin: Any = None
    cleanups: List[Callable[[], Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.norm is None:
            self.norm = Normalizer(self.target.base_url)

    # ---- names and recording

    def name(self, suffix: str = "") -> str:
        """A name of this scenario's own (the same on both targets): `kcc-<id>[-suffix]`."""
        return f"kcc-{self.sid}" + (f"-{suffix}" if suffix else "")

    def record(self, step: str, **values: Any) -> dict:
        entry = {"step": step, **values}
        self.steps.append(entry)
        return entry

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            raise Expectation(what)

    # ---- python-keycloak

    @property
    def admin(self):
        """`KeycloakAdmin` for the realm as PrimeHub's server calls it: the `admin-ui` client's
        service account (client credentials), which holds realm-management/realm-admin."""
        if self._admin is None:
            from keycloak import KeycloakAdmin

            self._admin = KeycloakAdmin(
                server_url=self.target.base_url + "/",
                realm_name=self.target.realm,
                client_id="admin-ui",
                client_secret_key=self.target.secrets["admin-ui"],
                timeout=30,
            )
        return self._admin

    def openid(self, client: str = "admin-ui"):
        """python-keycloak's `KeycloakOpenID` for a client of the realm."""
        from keycloak import KeycloakOpenID

        return KeycloakOpenID(
            server_url=self.target.base_url + "/",
            realm_name=self.target.realm,
            client_id=client,
            client_secret_key=self.target.secrets[client],
            timeout=30,
        )

    def kc_error(self, e: Any) -> Dict[str, Any]:
        """The comparable part of a python-keycloak error: HTTP status and the parsed body."""
        body = getattr(e, "response_body", b"") or b""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        try:
            parsed: Any = self.norm.value(json.loads(body)) if body else ""
        except ValueError:
            parsed = "<html>" if "<html" in body.lower() else self.norm.text(body)[:300]
        return {"status": getattr(e, "response_code", None), "body": parsed}

    def call(self, step: str, fn: Callable[..., Any], *args: Any, keep: Optional[Callable[[Any], Any]] = None, **kwargs: Any) -> Any:
        """Calls a python-keycloak method and records its normalized result (`keep` picks the
        part to compare from the raw result, before normalization) or its error (`kc_error`).
        Returns the result, or None on an error."""
        from keycloak.exceptions import KeycloakError

        try:
            result = fn(*args, **kwargs)
        except KeycloakError as e:
            self.record(step, error=self.kc_error(e))
            return None
        value = keep(result) if keep is not None else result
        self.record(step, ok=self.norm.value(value))
        return result

    # ---- HTTP (the scripted browser, raw admin calls)

    def browser(self):
        return make_browser()

    def http(
        self,
        step: str,
        session: Any,
        method: str,
        url: str,
        expected: Optional[Dict[str, str]] = None,
        texts: Tuple[str, ...] = (),
        **kwargs: Any,
    ) -> Any:
        """One request without following redirects; records the status, media type, the
        Location (`location_view`, `expected` names the URIs the scenario sent), for a page
        whether it carries a login form and which of `texts` it shows, else the body."""
        kwargs.setdefault("timeout", 30)
        resp = session.request(method, url, allow_redirects=False, **kwargs)
        entry: Dict[str, Any] = {"status": resp.status_code, "media": media_of(resp)}
        location = resp.headers.get("Location")
        if location is not None:
            entry["location"] = location_view(self.norm, location, expected or {})
        if entry["media"] == "text/html":
            page = resp.text
            form = login_form(page)
            entry["login_form"] = form is not None and {"username", "password"} <= set(form["inputs"])
            visible = page_text(page)
            if texts:
                entry["shows"] = {text: text in visible for text in texts}
        else:
            entry["body"] = response_body(self.norm, resp)
        self.record(step, **entry)
        return resp

    # ---- Authlib

    def oauth(self, client: str = "admin-ui", **kwargs: Any):
        """Authlib's `OAuth2Session` for a client (client_secret_basic), remembering the HTTP
        status of its last response in `.last_status` (Authlib's errors do not carry it)."""
        from authlib.integrations.requests_client import OAuth2Session

        session = OAuth2Session(client, self.target.secrets[client], **kwargs)
        session.last_status = None

        def remember(resp: Any, *args: Any, **kw: Any) -> Any:
            session.last_status = resp.status_code
            return resp

        session.hooks["response"].append(remember)
        return session

    def oidc(self, step: str, session: Any, fn: Callable[..., Any], *args: Any, view: str = "token", **kwargs: Any) -> Any:
        """Calls an Authlib method of `session` and records the outcome: a token (`token_view`;
        `view="brief"`: only the names of its fields, for a grant that is a scenario's
        precondition rather than its point), a JSON answer (`view="json"`: a requests
        Response, its status and body), or Authlib's OAuthError (`status`, `error`,
        `description`). Returns the result, or None on an error."""
        from authlib.integrations.base_client.errors import OAuthError

        try:
            result = fn(*args, **kwargs)
        except OAuthError as e:
            self.record(step, error={"status": session.last_status, "error": e.error, "description": e.description})
            return None
        if view == "json":
            self.record(step, status=result.status_code, media=media_of(result), body=response_body(self.norm, result))
        elif view == "brief":
            self.record(step, status=session.last_status, fields=sorted(dict(result)))
        else:
            self.record(step, status=session.last_status, ok=token_view(self.norm, dict(result)))
        return result
