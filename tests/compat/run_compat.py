#!/usr/bin/env python3
"""Runs every scenario of scenarios.py against the fake (`primehub dev`) and a real
kube-apiserver, compares the outcomes, and judges them against known_differences.txt and
allowed_differences.txt. Normally started by run.sh, which sets everything up.

    run_compat.py --fake-kubeconfig F --real-kubeconfig R --kubectl K [--report out.json]
                  [--only REGEX] [--jobs N] [--verbose]

Exit status: 0 when every scenario agrees, or differs as listed; 1 on an unexpected difference
or a listed scenario that now agrees (the lists must be kept exact); 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compat import Ctx, Target, normalize_text, parse_allowed, raw_request, read_list, verdict  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

# kinds deleted before a scenario's namespace goes (the real test server has no namespace
# controller: a deleted namespace's objects would stay in etcd)
CLEANUP = [
    ("", "v1", "configmaps"), ("", "v1", "pods"), ("", "v1", "services"), ("", "v1", "secrets"),
    ("", "v1", "serviceaccounts"), ("apps", "v1", "deployments"),
    ("primehub.io", "v1alpha1", "phjobs"), ("primehub.io", "v1alpha1", "images"),
]


def namespace_of(run_id: str, sid: str) -> str:
    name = f"compat-{run_id}-{sid}"[:60].rstrip("-")
    return name


def delete_namespace(ctx: Ctx, name: str) -> None:
    """Best effort: the namespace's objects (finalizers removed from ConfigMaps), the namespace,
    then its `kubernetes` finalizer (no namespace controller runs on the real test server)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = ctx.api
    for group, version, plural in CLEANUP:
        path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        try:
            if plural == "configmaps":
                for cm in client.CoreV1Api(api).list_namespaced_config_map(name).items:
                    if cm.metadata.finalizers:
                        client.CoreV1Api(api).patch_namespaced_config_map(cm.metadata.name, name, {"metadata": {"finalizers": None}})
            raw_request(api, "DELETE", f"{path}/namespaces/{name}/{plural}")
        except (ApiException, Exception):  # noqa: BLE001 - cleanup is best effort
            pass
    core = client.CoreV1Api(api)
    try:
        core.delete_namespace(name)
    except ApiException:
        pass
    try:
        ns = core.read_namespace(name)
        if ns.spec and ns.spec.finalizers:
            ns.spec.finalizers = []
            core.replace_namespace_finalize(name, ns)
    except ApiException:
        pass


def run_one(target: Target, sid: str, run_id: str, workroot: str) -> Tuple[List[dict], float]:
    """Runs scenario `sid` on `target` in a fresh namespace; returns its steps and duration.
    A scenario that raises records the exception as its last step (compared like any step)."""
    from kubernetes import client

    ns = namespace_of(run_id, sid)
    workdir = tempfile.mkdtemp(prefix=f"{target.name}-{sid}-", dir=workroot)
    ctx = Ctx(target=target, ns=ns, workdir=workdir)
    start = time.monotonic()
    try:
        client.CoreV1Api(ctx.api).create_namespace({"metadata": {"name": ns}})
        SCENARIOS[sid](ctx)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome
        from kubernetes.client.exceptions import ApiException

        text = f"{type(e).__name__}: {e}"
        ctx.record(
            "exception",
            exception=normalize_text(re.sub(r"0x[0-9a-f]+", "0x…", text.splitlines()[0] if text else "")),
            api=isinstance(e, ApiException),
        )
        if os.environ.get("COMPAT_TRACEBACK"):
            traceback.print_exc()
    finally:
        for name in ctx.extra_namespaces + [ns]:
            delete_namespace(ctx, name)
    return ctx.steps, time.monotonic() - start


def show(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fake-kubeconfig", required=True)
    parser.add_argument("--real-kubeconfig", required=True)
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--report", default="")
    parser.add_argument("--only", default="", help="run only the scenarios whose id matches this regex")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("COMPAT_JOBS", "4")))
    parser.add_argument("--verbose", action="store_true", help="print every difference, not only the first few")
    parser.add_argument("--known", default=os.path.join(HERE, "known_differences.txt"))
    parser.add_argument("--allowed", default=os.path.join(HERE, "allowed_differences.txt"))
    args = parser.parse_args(argv)

    # The comparison must be able to say "different": a deliberately different pair.
    if verdict("self-check", [{"step": "s", "rc": 0}], [{"step": "s", "rc": 1}], {}, {})[0] != "unexpected":
        print("ERROR: the comparison calls a different pair equal", file=sys.stderr)
        return 2
    known = read_list(args.known)
    allowed = parse_allowed(read_list(args.allowed))
    for sid in list(known) + list(allowed):
        if sid not in SCENARIOS:
            print(f"ERROR: {sid} is listed but no such scenario exists", file=sys.stderr)
            return 2
    both = set(known) & set(allowed)
    if both:
        print(f"ERROR: listed as known and as allowed: {sorted(both)}", file=sys.stderr)
        return 2

    selected = [sid for sid in SCENARIOS if re.search(args.only, sid)]
    if not selected:
        print(f"ERROR: no scenario matches {args.only!r}", file=sys.stderr)
        return 2
    run_id = secrets.token_hex(3)
    workroot = tempfile.mkdtemp(prefix="compat-")
    targets = [
        Target("fake", args.fake_kubeconfig, args.kubectl, os.path.join(workroot, "cache-fake")),
        Target("real", args.real_kubeconfig, args.kubectl, os.path.join(workroot, "cache-real")),
    ]
    print(f"compat: {len(selected)} scenarios on fake and real, run id {run_id}, {args.jobs} jobs")

    results: Dict[str, Dict[str, Any]] = {}
    lock = threading.Lock()

    def job(sid: str, target: Target) -> None:
        steps, seconds = run_one(target, sid, run_id, workroot)
        with lock:
            results.setdefault(sid, {})[target.name] = (steps, seconds)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(job, sid, target) for sid in selected for target in targets]
        for f in futures:
            f.result()
    total = time.monotonic() - started

    report: List[Dict[str, Any]] = []
    counts: Dict[str, int] = {}
    failures: List[str] = []
    for sid in selected:
        fake_steps, fake_s = results[sid]["fake"]
        real_steps, real_s = results[sid]["real"]
        outcome, ok, diffs = verdict(sid, fake_steps, real_steps, known, allowed)
        counts[outcome] = counts.get(outcome, 0) + 1
        reason = known.get(sid) or (allowed[sid][1] if sid in allowed else "")
        print(f"{'ok  ' if ok else 'FAIL'} {sid:45s} {outcome:12s} fake {fake_s:5.2f}s real {real_s:5.2f}s"
              + (f"  ({reason})" if reason and outcome in ("known", "allowed") else ""))
        shown = diffs if args.verbose or not ok else diffs[:0]
        for path, f, r in shown[:40]:
            print(f"       {path}\n         fake: {show(f)}\n         real: {show(r)}")
        if not ok:
            failures.append(sid)
            if outcome == "stale-known":
                print(f"       agrees now: remove {sid} from known_differences.txt")
            elif outcome == "stale-allowed":
                print(f"       agrees now: remove {sid} from allowed_differences.txt")
            elif outcome == "not-allowed":
                print(f"       the fake's first difference is not the allowed HTTP {allowed[sid][0]} refusal")
            elif outcome == "harness-error":
                print("       the scenario raised on the real server: fix the scenario (COMPAT_TRACEBACK=1 prints it)")
            elif outcome == "unexpected":
                print(f"       a difference not listed in known_differences.txt")
        report.append({
            "id": sid,
            "doc": (SCENARIOS[sid].__doc__ or "").strip(),
            "verdict": outcome,
            "pass": ok,
            "reason": reason,
            "seconds": {"fake": round(fake_s, 3), "real": round(real_s, 3)},
            "fake": fake_steps,
            "real": real_steps,
            "differences": [{"path": p, "fake": f, "real": r} for p, f, r in diffs],
        })

    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump({"run": run_id, "seconds": round(total, 1), "counts": counts, "scenarios": report}, f, indent=1, default=str)
    shutil.rmtree(workroot, ignore_errors=True)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"\ncompat: {len(selected)} scenarios in {total:.1f}s: {summary}")
    if args.report:
        print(f"compat: report in {args.report}")
    if failures:
        print(f"compat: FAILED: {' '.join(failures)}")
    print(f"compat: {len(selected) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
