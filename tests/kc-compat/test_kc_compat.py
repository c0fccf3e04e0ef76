"""The harness's own tests: normalization, the scripted browser's cookies and form parsing, the
comparison and the verdicts. No server needed (`run.sh --self-test`)."""

from __future__ import annotations

import base64
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kccompat as k  # noqa: E402


def b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def jwt(header: dict, claims: dict) -> str:
    return f"{b64(header)}.{b64(claims)}.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


UID_A = "3f8b2c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5b"
UID_B = "9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9"


class NormalizeTest(unittest.TestCase):
    def test_ids_are_numbered_by_first_appearance(self) -> None:
        norm = k.Normalizer("http://127.0.0.1:9")
        out = norm.value({"id": UID_A, "parentId": UID_B, "members": [{"id": UID_B}], "self": f"/groups/{UID_A}"})
        self.assertEqual(out, {"id": "<id1>", "members": [{"id": "<id2>"}], "parentId": "<id2>", "self": "/groups/<id1>"})

    def test_same_relations_compare_equal_and_different_ones_do_not(self) -> None:
        one = k.Normalizer("http://127.0.0.1:1").value([{"id": UID_A}, {"ref": UID_A}])
        two = k.Normalizer("http://127.0.0.1:2").value([{"id": UID_B}, {"ref": UID_B}])
        other = k.Normalizer("http://127.0.0.1:3").value([{"id": UID_A}, {"ref": UID_B}])
        self.assertEqual(k.differences(one, two), [])
        self.assertNotEqual(k.differences(one, other), [])

    def test_base_url_times_and_opaque_values(self) -> None:
        norm = k.Normalizer("http://127.0.0.1:9")
        out = norm.value({
            "iss": "http://127.0.0.1:9/realms/r",
            "exp": 1796392301,
            "notBefore": 0,
            "createdTimestamp": 1796392301000,
            "client.secret.creation.time": "1796392301",
            "session_state": "233iY1Pb8K",
            "sid": "abc",
            "code": "x.y.z",
            "secret": "s3cret",
            "when": "2026-12-04T13:42:32.895331Z",
        })
        self.assertEqual(out["iss"], "<base>/realms/r")
        self.assertEqual(out["exp"], "<time>")
        self.assertEqual(out["notBefore"], 0)
        self.assertEqual(out["createdTimestamp"], "<time>")
        self.assertEqual(out["client.secret.creation.time"], "<time>")
        self.assertEqual((out["session_state"], out["sid"], out["code"], out["secret"]), ("<session>", "<session>", "<code>", "<secret>"))
        self.assertEqual(out["when"], "<time>")

    def test_string_lists_and_scopes_sorted(self) -> None:
        norm = k.Normalizer("")
        self.assertEqual(norm.value({"roles": ["b", "a"], "scope": "profile openid email"}), {"roles": ["a", "b"], "scope": ["email", "openid", "profile"]})
        # lists of objects keep their order (a scenario sorts them where order is no contract)
        self.assertEqual(norm.value([{"n": 2}, {"n": 1}]), [{"n": 2}, {"n": 1}])

    def test_lifetimes_compared_to_ten_seconds(self) -> None:
        norm = k.Normalizer("")
        self.assertEqual(norm.value({"refresh_expires_in": 1799, "expires_in": 300}), {"expires_in": 300, "refresh_expires_in": 1800})
        self.assertEqual(norm.value({"expires_in": 0}), {"expires_in": 0})
        self.assertNotEqual(norm.value({"expires_in": 60}), norm.value({"expires_in": 300}))

    def test_jwt_strings_are_replaced(self) -> None:
        token = jwt({"alg": "RS256"}, {"sub": "x"})
        self.assertEqual(k.Normalizer("").value({"assertion": token}), {"assertion": "<jwt>"})

    def test_token_view_decodes_access_and_id_tokens(self) -> None:
        access = jwt({"alg": "RS256", "typ": "JWT", "kid": "k1"}, {"sub": UID_A, "exp": 5, "scope": "openid email", "aud": ["b", "a"]})
        ident = jwt({"alg": "RS256", "typ": "JWT", "kid": "k1"}, {"sub": UID_A, "nonce": "n", "at_hash": "h", "sid": "s"})
        view = k.token_view(k.Normalizer(""), {
            "access_token": access, "id_token": ident, "refresh_token": "r.r.r", "scope": "openid email",
            "expires_in": 300, "token_type": "Bearer", "session_state": "s",
        })
        self.assertEqual(view["access_token"]["header"], {"alg": "RS256", "typ": "JWT", "kid": True})
        self.assertEqual(view["access_token"]["claims"], {"aud": ["a", "b"], "exp": "<time>", "scope": ["email", "openid"], "sub": "<id1>"})
        self.assertEqual(view["id_token"]["claims"], {"at_hash": "<hash>", "nonce": "n", "sid": "<session>", "sub": "<id1>"})
        self.assertEqual(view["refresh_token"], "<token>")
        self.assertEqual(view["scope"], ["email", "openid"])
        self.assertEqual(view["expires_in"], 300)

    def test_opaque_access_token(self) -> None:
        self.assertEqual(k.claims_view(k.Normalizer(""), "not-a-jwt"), "<opaque>")
        self.assertIsNone(k.jwt_parts("a.b"))

    def test_location_view(self) -> None:
        norm = k.Normalizer("http://127.0.0.1:9")
        loc = f"{k.REDIRECT_URI}?state=abc&session_state=x&iss=http%3A%2F%2F127.0.0.1%3A9%2Frealms%2Fr&code=c.d.e"
        self.assertEqual(
            k.location_view(norm, loc, {"redirect_uri": k.REDIRECT_URI}),
            {"target": "<redirect_uri>", "query": {"code": "<code>", "iss": "<base>/realms/r", "session_state": "<session>", "state": "<state>"}},
        )
        other = k.location_view(norm, "http://127.0.0.1:9/realms/r/login-actions/x?error=e", {"redirect_uri": k.REDIRECT_URI})
        self.assertEqual(other, {"target": "<base>/realms/r/login-actions/x", "query": {"error": "e"}})
        self.assertIsNone(k.location_view(norm, None, {}))


KEYCLOAK_LIKE_PAGE = """<!DOCTYPE html><html><head><script>var x = "<form>";</script></head><body>
<form id="kc-form-login" onsubmit="login.disabled = true; return true;"
      action="http://127.0.0.1:9/realms/r/login-actions/authenticate?session_code=a&amp;execution=b&amp;client_id=admin-ui" method="post" novalidate="novalidate">
  <input tabindex="1" id="username" name="username" value="" type="text" autofocus autocomplete="username" />
  <input tabindex="2" id="password" name="password" type="password" autocomplete="current-password" />
  <input type="hidden" id="id-hidden-input" name="credentialId" value="c1"/>
  <span id="input-error" aria-live="polite">Invalid username or password.</span>
  <input tabindex="4" name="login" id="kc-login" type="submit" value="Sign In"/>
</form></body></html>"""


class BrowserTest(unittest.TestCase):
    def test_login_form(self) -> None:
        form = k.login_form(KEYCLOAK_LIKE_PAGE)
        assert form is not None
        self.assertEqual(form["action"], "http://127.0.0.1:9/realms/r/login-actions/authenticate?session_code=a&execution=b&client_id=admin-ui")
        self.assertEqual(form["method"], "post")
        self.assertEqual(form["inputs"], ["credentialId", "login", "password", "username"])
        self.assertEqual(form["hidden"], {"credentialId": "c1"})

    def test_no_form_without_a_password_input(self) -> None:
        self.assertIsNone(k.login_form('<form action="/x" method="post"><input name="q"></form>'))
        self.assertIsNone(k.login_form("<p>We are sorry...</p>"))

    def test_page_text(self) -> None:
        text = k.page_text(KEYCLOAK_LIKE_PAGE)
        self.assertIn("Invalid username or password.", text)
        self.assertNotIn("<form>", text)

    def cookie(self, domain: str, secure: bool):
        from http.cookiejar import Cookie

        return Cookie(0, "KEYCLOAK_SESSION", "v", None, False, domain, False, False, "/realms/r/", True, secure, None, False, None, None, {})

    def cookie_header(self, url: str, domain: str, secure: bool = True):
        import requests

        browser = k.make_browser()
        browser.cookies.set_cookie(self.cookie(domain, secure))
        return browser.prepare_request(requests.Request("GET", url)).headers.get("Cookie")

    def test_secure_cookies_go_to_loopback_over_http(self) -> None:
        self.assertEqual(self.cookie_header("http://127.0.0.1:9/realms/r/protocol/openid-connect/auth", "127.0.0.1"), "KEYCLOAK_SESSION=v")
        self.assertEqual(self.cookie_header("http://localhost:9/realms/r/x", "localhost.local"), "KEYCLOAK_SESSION=v")

    def test_secure_cookies_do_not_go_elsewhere_over_http(self) -> None:
        self.assertIsNone(self.cookie_header("http://example.com/realms/r/x", "example.com"))
        self.assertEqual(self.cookie_header("https://example.com/realms/r/x", "example.com"), "KEYCLOAK_SESSION=v")

    def test_cookie_path_still_applies(self) -> None:
        self.assertIsNone(self.cookie_header("http://127.0.0.1:9/admin/realms", "127.0.0.1"))

    def test_plain_requests_would_not_send_them(self) -> None:
        """Why the browser exists: requests' own jar drops Secure cookies over http."""
        import requests

        session = requests.Session()
        session.cookies.set_cookie(self.cookie("127.0.0.1", True))
        prepared = session.prepare_request(requests.Request("GET", "http://127.0.0.1:9/realms/r/x"))
        self.assertIsNone(prepared.headers.get("Cookie"))


class CompareTest(unittest.TestCase):
    def test_differences(self) -> None:
        self.assertEqual(k.differences({"a": 1}, {"a": 1}), [])
        self.assertEqual(k.differences({"a": 1}, {"a": 2}), [("a", 1, 2)])
        self.assertEqual(k.differences({"a": 1}, {}), [("a", 1, "<absent>")])
        self.assertEqual(k.differences([1], [1, 2]), [("[1]", "<absent>", 2)])
        self.assertEqual(k.differences(1, True), [("<root>", 1, True)])

    def test_subset(self) -> None:
        fake = {"a": 1, "l": ["x"]}
        self.assertEqual(k.differences(fake, {"a": 1, "b": 2, "l": ["y", "x"]}, subset=True), [])
        self.assertEqual(k.differences(fake, {"a": 1, "l": ["y"]}, subset=True), [("l[0]", "x", "<not in the real list>")])
        self.assertEqual(k.differences({"c": 1}, {"a": 1}, subset=True), [("c", 1, "<absent>")])

    def test_compare_steps_subset_only_when_both_say_so(self) -> None:
        fake = [{"step": "doc", "compare": k.SUBSET, "doc": {"a": 1}}]
        real = [{"step": "doc", "compare": k.SUBSET, "doc": {"a": 1, "b": 2}}]
        self.assertEqual(k.compare_steps(fake, real), [])
        self.assertNotEqual(k.compare_steps([{"step": "doc", "doc": {"a": 1}}], [{"step": "doc", "doc": {"a": 1, "b": 2}}]), [])

    def test_missing_steps(self) -> None:
        diffs = k.compare_steps([{"step": "a"}], [{"step": "a"}, {"step": "b", "status": 200}])
        self.assertEqual(diffs, [("1:b", "<absent>", {"step": "b", "status": 200})])


class VerdictTest(unittest.TestCase):
    same = [{"step": "s", "status": 200}]
    other = [{"step": "s", "status": 404}]

    def test_verdicts(self) -> None:
        self.assertEqual(k.verdict("x", self.same, self.same, {}, {})[:2], ("agree", True))
        self.assertEqual(k.verdict("x", self.other, self.same, {}, {})[:2], ("unexpected", False))
        self.assertEqual(k.verdict("x", self.other, self.same, {"x": "why"}, {})[:2], ("known", True))
        self.assertEqual(k.verdict("x", self.same, self.same, {"x": "why"}, {})[:2], ("stale-known", False))
        self.assertEqual(k.verdict("x", self.same, self.same, {}, {"x": (404, "r")})[:2], ("stale-allowed", False))

    def test_allowed_needs_the_listed_refusal_first(self) -> None:
        self.assertEqual(k.verdict("x", self.other, self.same, {}, {"x": (404, "r")})[:2], ("allowed", True))
        self.assertEqual(k.verdict("x", self.other, self.same, {}, {"x": (501, "r")})[:2], ("not-allowed", False))
        refused = [{"step": "s", "error": {"status": 501}}]
        self.assertEqual(k.verdict("x", refused, self.same, {}, {"x": (501, "r")})[:2], ("allowed", True))

    def test_an_exception_on_the_real_side_is_a_harness_error(self) -> None:
        broken = [{"step": "exception", "exception": "Expectation: no form", "server": False}]
        self.assertEqual(k.verdict("x", broken, broken, {"x": "why"}, {})[:2], ("harness-error", False))
        self.assertEqual(k.verdict("x", broken, self.same, {"x": "why"}, {})[:2], ("known", True))


class ListsTest(unittest.TestCase):
    def write(self, text: str) -> str:
        import tempfile

        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def test_read_list(self) -> None:
        self.assertEqual(k.read_list(self.write("# c\n\nabc  the reason  here\n")), {"abc": "the reason  here"})
        with self.assertRaises(ValueError):
            k.read_list(self.write("abc\n"))
        with self.assertRaises(ValueError):
            k.read_list(self.write("abc r\nabc s\n"))

    def test_parse_allowed(self) -> None:
        self.assertEqual(k.parse_allowed({"x": "501 not implemented"}), {"x": (501, "not implemented")})
        for bad in ("200 ok", "x y", "501"):
            with self.assertRaises(ValueError):
                k.parse_allowed({"x": bad})

    def test_the_lists_name_existing_scenarios_once(self) -> None:
        from scenarios import SCENARIOS

        known = k.read_list(os.path.join(HERE, "known_differences.txt"))
        allowed = k.parse_allowed(k.read_list(os.path.join(HERE, "allowed_differences.txt")))
        self.assertEqual([sid for sid in list(known) + list(allowed) if sid not in SCENARIOS], [])
        self.assertEqual(set(known) & set(allowed), set())

    def test_scenarios_are_documented(self) -> None:
        from scenarios import SCENARIOS

        self.assertGreater(len(SCENARIOS), 30)
        for sid, fn in SCENARIOS.items():
            self.assertNotEqual((fn.__doc__ or sid).strip(), sid, f"{sid} has no docstring")


if __name__ == "__main__":
    unittest.main()
