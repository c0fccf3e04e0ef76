"""Tests of the comparison itself (no server needed): a harness that calls everything equal
would prove nothing, so deliberately different pairs must be reported as different, and only
the identity fields may be ignored.

Run: tests/compat/run.sh --self-test
"""

import os
import tempfile
import unittest

import compat as c
import scenarios


def obj(name="a", uid="u-1", rv="1", ts="2026-12-04T10:00:00Z", **extra):
    metadata = {"name": name, "uid": uid, "resourceVersion": rv, "creationTimestamp": ts}
    metadata.update(extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, **extra}


class Normalization(unittest.TestCase):
    def test_identity_fields_are_ignored(self):
        a = c.normalize_object(obj(uid="11111111-1111-4111-8111-111111111111", rv="5", ts="2026-12-04T10:00:00Z"))
        b = c.normalize_object(obj(uid="22222222-2222-4222-8222-222222222222", rv="907", ts="2027-01-01T00:00:00.123Z"))
        self.assertEqual(c.differences(a, b), [])

    def test_presence_of_identity_fields_still_counts(self):
        a = c.normalize_object(obj())
        b = c.normalize_object(obj())
        del b["metadata"]["uid"]
        self.assertEqual(c.differences(a, b), [("metadata.uid", "<uid>", "<absent>")])

    def test_everything_else_counts(self):
        self.assertTrue(c.differences(c.normalize_object(obj("a")), c.normalize_object(obj("b"))))
        self.assertTrue(c.differences(c.normalize_object(obj(data={"k": "1"})), c.normalize_object(obj(data={"k": "2"}))))
        # generation is compared (ConfigMaps have none on kube-apiserver)
        self.assertTrue(c.differences(c.normalize_object(obj(metadata={"generation": 1})), c.normalize_object(obj())))
        # a list that is longer, or reordered
        self.assertTrue(c.differences([1, 2], [1, 2, 3]))
        self.assertTrue(c.differences([1, 2], [2, 1]))
        # a type change
        self.assertTrue(c.differences({"a": 1}, {"a": "1"}))
        self.assertTrue(c.differences({"a": None}, {}))

    def test_managed_fields_dropped_cluster_ips_replaced(self):
        a = c.normalize_object({"metadata": {"managedFields": [{"manager": "kubectl"}]}, "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}})
        b = c.normalize_object({"metadata": {}, "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"]}})
        self.assertEqual(c.differences(a, b), [])
        # a headless service's "None" is not an address: compared as is
        self.assertTrue(c.differences(c.normalize_object({"spec": {"clusterIP": "None"}}), c.normalize_object({"spec": {"clusterIP": "10.0.0.7"}})))

    def test_text(self):
        self.assertEqual(
            c.normalize_text('WARNING: version difference between client (1.33) and server (1.37) exceeds\nuid: 11111111-1111-4111-8111-111111111111 resourceVersion: "42" at 2026-12-04T10:00:00Z\n'),
            'uid: <uid> resourceVersion: "<rv>" at <time>\n',
        )

    def test_tables_ignore_ages_not_columns(self):
        real = "NAME   DATA   AGE\nc      2      5s\n"
        same = "NAME   DATA   AGE\nc      2      1m3s\n"
        fewer = "NAME   AGE\nc      5s\n"
        other_value = "NAME   DATA   AGE\nc      3      5s\n"
        self.assertEqual(c.differences(c.normalize_table(real), c.normalize_table(same)), [])
        self.assertTrue(c.differences(c.normalize_table(fewer), c.normalize_table(real)))
        self.assertTrue(c.differences(c.normalize_table(other_value), c.normalize_table(real)))

    def test_ages_in_rows_with_an_empty_cell(self):
        # An empty cell makes the row split into fewer cells than the header: the age is then
        # recognised by its shape, other cells are still compared.
        a = "NAME   DISPLAY NAME   AGE\nimg1                  0s\n"
        b = "NAME   DISPLAY NAME   AGE\nimg1                  1s\n"
        other = "NAME   DISPLAY NAME   AGE\nimg2                  1s\n"
        self.assertEqual(c.differences(c.normalize_table(a), c.normalize_table(b)), [])
        self.assertTrue(c.differences(c.normalize_table(a), c.normalize_table(other)))

    def test_error_reasons(self):
        self.assertEqual(c.normalize_error('Error from server (NotFound): pods "x" not found\n', "reason"), ["NotFound"])
        self.assertEqual(c.normalize_error('The Pod "p" is invalid: spec: Forbidden\n', "reason"), ["Invalid"])
        self.assertEqual(c.normalize_error("error: the server doesn't have a resource type \"po\"\n", "reason"),
                         ["error: the server doesn't have a resource type \"po\""])
        self.assertEqual(c.normalize_error("", "reason"), [])

    def test_api_error(self):
        body = '{"kind":"Status","reason":"NotFound","code":404,"message":"configmaps \\"a\\" not found"}'
        self.assertEqual(c.api_error(404, body), {"status": 404, "reason": "NotFound", "code": 404, "message": 'configmaps "a" not found'})
        self.assertEqual(c.api_error(404, body, message=False), {"status": 404, "reason": "NotFound", "code": 404})
        self.assertEqual(c.api_error(500, "oops"), {"status": 500, "body": "<not a Status>"})


OK = [{"step": "create", "rc": 0, "stdout": "configmap/c created\n", "stderr": ""}]
FAILED = [{"step": "create", "rc": 1, "stdout": "", "stderr": "Error from server (BadRequest): nope\n"}]
SSA_REFUSED = [{"step": "ssa", "rc": 1, "stdout": "", "stderr": "error: Server-side apply not available on the server: (x)\n"},
               {"step": "get", "rc": 1, "stdout": None, "stderr": "Error from server (NotFound): x\n"}]
SSA_OK = [{"step": "ssa", "rc": 0, "stdout": "configmap/c serverside-applied\n", "stderr": ""},
          {"step": "get", "rc": 0, "stdout": {"data": {}}, "stderr": ""}]


class Verdicts(unittest.TestCase):
    def test_a_different_pair_is_different(self):
        outcome, ok, diffs = c.verdict("s", FAILED, OK, {}, {})
        self.assertEqual((outcome, ok), ("unexpected", False))
        self.assertIn(("0:create.rc", 1, 0), diffs)

    def test_agree(self):
        self.assertEqual(c.verdict("s", OK, [dict(OK[0])], {}, {})[:2], ("agree", True))

    def test_a_run_that_stops_early_differs(self):
        self.assertEqual(c.verdict("s", OK, OK + OK, {}, {})[:2], ("unexpected", False))

    def test_known_differences_must_differ(self):
        self.assertEqual(c.verdict("s", FAILED, OK, {"s": "why"}, {})[:2], ("known", True))
        self.assertEqual(c.verdict("s", OK, OK, {"s": "why"}, {})[:2], ("stale-known", False))

    def test_allowed_only_for_the_named_refusal(self):
        allowed = {"s": (415, "no SSA")}
        self.assertEqual(c.verdict("s", SSA_REFUSED, SSA_OK, {}, allowed)[:2], ("allowed", True))
        # another failure of the fake is not the allowed 415
        self.assertEqual(c.verdict("s", FAILED, OK, {}, allowed)[:2], ("not-allowed", False))
        self.assertEqual(c.verdict("s", SSA_OK, SSA_OK, {}, allowed)[:2], ("stale-allowed", False))
        python_415 = [{"step": "ssa", "error": {"status": 415, "reason": "UnsupportedMediaType"}}]
        self.assertEqual(c.verdict("s", python_415, [{"step": "ssa", "ok": {}}], {}, allowed)[:2], ("allowed", True))

    def test_a_scenario_that_breaks_on_the_real_server_is_a_harness_error(self):
        broken = [{"step": "exception", "exception": "TypeError: x", "api": False}]
        self.assertEqual(c.verdict("s", broken, broken, {}, {})[:2], ("harness-error", False))
        self.assertEqual(c.verdict("s", broken, broken, {"s": "known"}, {})[:2], ("harness-error", False))
        api = [{"step": "exception", "exception": "ApiException: (404)", "api": True}]
        self.assertEqual(c.verdict("s", api, api, {}, {})[:2], ("agree", True))
        # the fake breaking the client where the real server does not is a difference
        self.assertEqual(c.verdict("s", broken, OK, {}, {})[:2], ("unexpected", False))


class Lists(unittest.TestCase):
    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_read_list(self):
        path = self.write("# comment\n\na-b   the reason # with a hash\nc d\n")
        self.assertEqual(c.read_list(path), {"a-b": "the reason # with a hash", "c": "d"})
        with self.assertRaises(ValueError):
            c.read_list(self.write("lonely-id\n"))
        with self.assertRaises(ValueError):
            c.read_list(self.write("x a\nx b\n"))

    def test_allowed_needs_a_refusal_status(self):
        self.assertEqual(c.parse_allowed({"s": "415 no SSA"}), {"s": (415, "no SSA")})
        for bad in ("200 fine", "no status", "415"):
            with self.assertRaises(ValueError):
                c.parse_allowed({"s": bad})

    def test_the_repository_lists_name_existing_scenarios(self):
        here = os.path.dirname(os.path.abspath(__file__))
        known = c.read_list(os.path.join(here, "known_differences.txt"))
        allowed = c.parse_allowed(c.read_list(os.path.join(here, "allowed_differences.txt")))
        self.assertEqual(sorted(set(known) - set(scenarios.SCENARIOS)), [])
        self.assertEqual(sorted(set(allowed) - set(scenarios.SCENARIOS)), [])
        self.assertEqual(set(known) & set(allowed), set())


if __name__ == "__main__":
    unittest.main()
