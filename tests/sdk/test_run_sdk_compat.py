"""Tests of the SDK compatibility harness itself (no API server needed).

Run: tests/sdk/run.sh --self-test
"""

import io
import json
import os
import tempfile
import unittest

import run_sdk_compat as h

CLI = os.environ.get("PRIMEHUB_SDK_CLI", "")
CLOSED = "http://127.0.0.1:9/api/graphql"  # nothing listens on the discard port


class ResultParsing(unittest.TestCase):
    def test_json_output(self):
        self.assertIsNone(h.Result([], 0, "", "").json())
        self.assertEqual(h.Result([], 0, '[{"name": "a"}]', "").json(), [{"name": "a"}])
        with self.assertRaises(h.Failure):
            h.Result([], 0, "name: a", "").json()

    def test_error_codes_from_stderr(self):
        err = 'WARNING: x\n[{"message": "dup", "extensions": {"code": "RESOURCE_CONFLICT"}}, {"message": "m"}]'
        r = h.Result([], 1, "", err)
        self.assertEqual(r.error_codes(), ["RESOURCE_CONFLICT"])
        self.assertEqual(h.Result([], 1, "", "Cannot find [x]").error_codes(), [])

    def test_failure_must_come_from_the_server(self):
        refused = h.Result([], 1, "", "HTTPConnectionPool(host='x'): Max retries exceeded")
        with self.assertRaises(h.Failure):
            h.failed(refused)
        h.failed(h.Result([], 1, "", '[{"message": "no", "extensions": {"code": "RESOURCE_NOT_FOUND"}}]'))
        h.failed(h.Result([], 1, "", ""))  # null single read of a return_required command
        with self.assertRaises(h.Failure):
            h.failed(h.Result([], 0, "{}", ""))
        with self.assertRaises(h.Failure):
            h.failed(h.Result([], 1, "", '[{"message": "x", "extensions": {"code": "A"}}]'), code="B")

    def test_field_is_compares_numbers_by_value_not_booleans(self):
        h.field_is({"cpuLimit": 2.0}, "cpuLimit", 2)
        with self.assertRaises(h.Failure):
            h.field_is({"gpuLimit": True}, "gpuLimit", 1)
        with self.assertRaises(h.Failure):
            h.field_is({}, "x", 1)


class KubeUrl(unittest.TestCase):
    def test_the_kubernetes_api_defaults_to_the_servers_root(self):
        old = {k: os.environ.pop(k, None) for k in ("PRIMEHUB_SDK_KUBE_URL", "PRIMEHUB_SDK_NAMESPACE")}
        try:
            k = h.kube_for("http://127.0.0.1:8080/api/graphql")
            self.assertEqual((k.url, k.namespace), ("http://127.0.0.1:8080", "hub"))
            os.environ["PRIMEHUB_SDK_KUBE_URL"] = "http://k8s:6443/"
            os.environ["PRIMEHUB_SDK_NAMESPACE"] = "primehub"
            k = h.kube_for("http://127.0.0.1:8080/api/graphql")
            self.assertEqual((k.url, k.namespace), ("http://k8s:6443", "primehub"))
        finally:
            for key, value in old.items():
                os.environ.pop(key, None)
                if value is not None:
                    os.environ[key] = value


class Reporting(unittest.TestCase):
    def test_lines_summary_and_status(self):
        out = io.StringIO()
        r = h.Report(out)
        r.ok("a")
        r.fail("b", "why")
        self.assertEqual(r.summary(), 1)
        self.assertEqual(out.getvalue().splitlines(), ["ok a", "FAIL b: why", "sdk: 1 passed, 1 failed"])
        clean = h.Report(io.StringIO())
        clean.ok("a")
        self.assertEqual(clean.summary(), 0)
        self.assertEqual(h.Report(io.StringIO()).summary(), 1)  # nothing passed is a failure


def canned(me=None, groups=None):
    """A runner answering `me` and `groups list` with the given outputs, everything else unreachable."""
    def run(args, stdin):
        a = [x for x in args if x not in ("--group", "phusers")]
        if a == ["me"]:
            return h.Result(args, 0, json.dumps(me), "")
        if a == ["groups", "list"]:
            return h.Result(args, 0, json.dumps(groups), "")
        return h.Result(args, 1, "", "HTTPConnectionPool: Max retries exceeded")
    return run


class UserChecks(unittest.TestCase):
    def lines(self, runner):
        out = io.StringIO()
        c = h.Compat(runner, h.Report(out), "t")
        c.user_commands()
        status = {}
        for line in out.getvalue().splitlines():
            if line.startswith("ok "):
                status[line[3:]] = "ok"
            elif line.startswith("FAIL "):
                name, why = line[5:].split(": ", 1)
                status[name] = "FAIL " + why
        return status, c

    def test_good_answers_pass(self):
        me = {"id": "u1", "username": "phadmin", "firstName": None, "lastName": None, "email": None, "isAdmin": True}
        g = {"id": "g1", "name": "phusers", "displayName": "", "quotaCpu": None, "quotaGpu": None, "quotaMemory": None,
             "projectQuotaCpu": None, "projectQuotaGpu": None, "projectQuotaMemory": None}
        lines, c = self.lines(canned(me, [g]))
        self.assertEqual(lines["me"], "ok")
        self.assertEqual(lines["groups list"], "ok")
        self.assertEqual(c.state.admin_id, "u1")
        self.assertEqual(c.state.group_id, "g1")
        self.assertTrue(lines["images list"].startswith("FAIL"))

    def test_wrong_answers_fail(self):
        me = {"id": "u1", "username": "phadmin", "firstName": None, "lastName": None, "email": None, "isAdmin": False}
        lines, _ = self.lines(canned(me, [{"id": "e", "name": "everyone"}]))
        self.assertIn("isAdmin", lines["me"])
        self.assertIn("'phusers' not in", lines["groups list"])


def recording_runner(calls):
    """Records every call and answers with just enough for the run to issue all its commands."""
    def run(args, stdin):
        calls.append((list(args), stdin))
        a = [x for x in args if x not in ("--group", "phusers")]
        if a == ["me"]:
            return h.Result(args, 0, json.dumps({"id": "u1", "username": "phadmin", "isAdmin": True}), "")
        if a == ["groups", "list"]:
            return h.Result(args, 0, json.dumps([{"id": "g1", "name": "phusers"}]), "")
        if len(a) >= 3 and a[0] == "admin" and a[2] == "create":
            return h.Result(args, 0, json.dumps({"id": "created-" + str(len(calls))}), "")
        return h.Result(args, 0, "", "")
    return run


@unittest.skipUnless(CLI and os.access(CLI, os.X_OK), "PRIMEHUB_SDK_CLI not set (run through tests/sdk/run.sh)")
class RealCli(unittest.TestCase):
    """Every command line and document the harness produces passes the real SDK's own argument
    parsing and validation and reaches the HTTP request (a connection error on a closed port)."""

    def test_every_invocation_reaches_the_server(self):
        calls = []
        h.Compat(recording_runner(calls), h.Report(io.StringIO()), "t").run_all()
        kinds = {tuple(a[:3]) if a and a[0] == "admin" else tuple(x for x in a if x not in ("--group", "phusers"))[:2]
                 for a, _ in calls}
        for expected in [("me",), ("groups", "list"), ("groups", "get"), ("images", "list"), ("images", "get"),
                         ("instancetypes", "list"), ("instancetypes", "get"), ("volumes", "list"), ("volumes", "get")] + \
                [("admin", k, op) for k in ("users", "groups", "images", "instancetypes", "volumes", "secrets")
                 for op in ("create", "get", "list", "update", "delete")]:
            self.assertIn(expected, kinds)
        with tempfile.TemporaryDirectory() as home:
            cli = h.Cli(CLI, CLOSED, "token", home, 60)
            for args, stdin in calls:
                r = cli(args, stdin)
                self.assertNotEqual(r.rc, 0, r.describe())
                if args[:3] == ["admin", "secrets", "delete"] and "--yes-i-really-mean-it" not in args:
                    self.assertIn("User rejects action", r.err)  # refused locally, as the check expects
                    continue
                self.assertIn("Connection refused", r.err, f"{args} {stdin}: {r.describe()}")

    def test_whole_run_without_server_fails_every_check(self):
        out = io.StringIO()
        with tempfile.TemporaryDirectory() as home:
            report = h.Report(out)
            h.Compat(h.Cli(CLI, CLOSED, "token", home, 60), report, "t").run_all()
        self.assertEqual(report.passed, 0, out.getvalue())
        self.assertGreater(report.failed, 70)
        self.assertNotIn("harness error", out.getvalue())
        self.assertEqual(report.summary(), 1)


if __name__ == "__main__":
    unittest.main()
