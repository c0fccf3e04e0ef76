#!/usr/bin/env python3
"""Runs every scenario of scenarios.py against the fake Keycloak (`primehub dev`) and a real
Keycloak 26, compares the outcomes, and judges them against known_differences.txt and
allowed_differences.txt. Normally started by run.sh, which sets both realms up.

    run_kc_compat.py --fake-url U --real-url U --realm R --admin-password P
                     [--fake-master USER:PASSWORD] [--real-master USER:PASSWORD]
                     [--report out.json] [--only REGEX] [--jobs N] [--verbose]

Exit status: 0 when every scenario agrees, or differs as listed; 1 on an unexpected difference,
a listed scenario that now agrees, or a scenario that breaks on the real server; 2 on a usage
or setup error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kccompat import (  # noqa: E402
    POST_LOGOUT_URI,
    REDIRECT_URI,
    USER,
    WILDCARD_URI,
    Ctx,
    Expectation,
    Target,
    parse_allowed,
    read_list,
    verdict,
)
from scenarios import SCENARIOS  # noqa: E402

# the redirect URIs the harness registers on both targets, replacing what is there (`primehub
# dev` registers its own, `primehub bootstrap` none): the scenarios' URIs and a wildcard
CLIENTS = {"admin-ui": [REDIRECT_URI, WILDCARD_URI], "jupyterhub": [REDIRECT_URI]}


def prepare(target: Target) -> None:
    """As the master administrator: reads the client secrets of `admin-ui` and `jupyterhub`
    into `target.secrets`, sets their redirect URIs (`CLIENTS`) and post-logout redirect URI
    (`POST_LOGOUT_URI`) to the same values on both targets, as `primehub bootstrap
    --admin-ui-redirect-uri` does for a real deployment, and creates the user the OIDC
    scenarios log in as (`USER`)."""
    from keycloak import KeycloakAdmin

    master = KeycloakAdmin(
        server_url=target.base_url + "/",
        username=target.master_user,
        password=target.master_password,
        realm_name=target.realm,
        user_realm_name="master",
        client_id="admin-cli",
        timeout=30,
    )
    for client_id, uris in CLIENTS.items():
        cid = master.get_client_id(client_id)
        if not cid:
            raise RuntimeError(f"{target.name}: realm {target.realm} has no client {client_id}")
        target.secrets[client_id] = master.get_client_secrets(cid)["value"]
        rep = master.get_client(cid)
        rep["redirectUris"] = list(uris)
        rep["attributes"] = dict(rep.get("attributes") or {}, **{"post.logout.redirect.uris": POST_LOGOUT_URI})
        master.update_client(cid, rep)
        check = master.get_client(cid)
        if sorted(check.get("redirectUris") or []) != sorted(uris):
            raise RuntimeError(f"{target.name}: {client_id}'s redirect URIs are {check.get('redirectUris')} after setting {uris}")
    uid = master.create_user(dict(USER), exist_ok=True)
    master.set_user_password(uid, target.phadmin_password, temporary=False)


def run_one(target: Target, sid: str) -> Tuple[List[dict], float]:
    """Runs scenario `sid` on `target`; returns its steps and duration. A scenario that raises
    records the exception as its last step (compared like any step); its cleanups run after."""
    from keycloak.exceptions import KeycloakError

    ctx = Ctx(target=target, sid=sid)
    start = time.monotonic()
    try:
        SCENARIOS[sid](ctx)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome
        server = isinstance(e, KeycloakError)
        text = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
        entry: Dict[str, Any] = {"exception": ctx.norm.text(re.sub(r"0x[0-9a-f]+", "0x…", text))[:400], "server": server}
        if isinstance(e, Expectation):
            entry["expectation"] = True
        ctx.record("exception", **entry)
        if os.environ.get("KC_COMPAT_TRACEBACK"):
            print(f"--- {sid} on {target.name}", file=sys.stderr)
            traceback.print_exc()
    finally:
        for cleanup in reversed(ctx.cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
    return ctx.steps, time.monotonic() - start


def show(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def credentials(text: str) -> Tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fake-url", required=True, help="primehub dev's base URL")
    parser.add_argument("--real-url", required=True, help="the real Keycloak's base URL")
    parser.add_argument("--realm", required=True, help="the realm, the same name on both")
    parser.add_argument("--admin-password", required=True, help="phadmin's password, the same on both")
    parser.add_argument("--fake-master", type=credentials, default=("admin", "admin"))
    parser.add_argument("--real-master", type=credentials, default=None)
    parser.add_argument("--report", default="")
    parser.add_argument("--only", default="", help="run only the scenarios whose id matches this regex")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("KC_COMPAT_JOBS", "4")))
    parser.add_argument("--verbose", action="store_true", help="print the differences of passing scenarios too")
    parser.add_argument("--known", default=os.path.join(HERE, "known_differences.txt"))
    parser.add_argument("--allowed", default=os.path.join(HERE, "allowed_differences.txt"))
    args = parser.parse_args(argv)
    if args.real_master is None:
        args.real_master = (os.environ.get("PRIMEHUB_TEST_KEYCLOAK_ADMIN", "admin"), os.environ.get("PRIMEHUB_TEST_KEYCLOAK_PASSWORD", ""))

    # The comparison must be able to say "different": a deliberately different pair.
    if verdict("self-check", [{"step": "s", "status": 200}], [{"step": "s", "status": 404}], {}, {})[0] != "unexpected":
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

    targets = [
        Target("fake", args.fake_url.rstrip("/"), args.realm, *args.fake_master, args.admin_password),
        Target("real", args.real_url.rstrip("/"), args.realm, *args.real_master, args.admin_password),
    ]
    for target in targets:
        try:
            prepare(target)
        except Exception as e:  # noqa: BLE001 - setup errors end the run
            print(f"ERROR: setting up realm {target.realm} on the {target.name} Keycloak ({target.base_url}) failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 2
    print(f"kc-compat: {len(selected)} scenarios on fake and real, realm {args.realm}, {args.jobs} jobs")

    results: Dict[str, Dict[str, Any]] = {}
    lock = threading.Lock()

    def job(sid: str, target: Target) -> None:
        steps, seconds = run_one(target, sid)
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
        print(f"{'ok  ' if ok else 'FAIL'} {sid:40s} {outcome:12s} fake {fake_s:5.2f}s real {real_s:5.2f}s"
              + (f"  ({reason})" if reason and outcome in ("known", "allowed") else ""))
        shown = diffs if args.verbose or not ok else []
        for path, f, r in shown[:40]:
            print(f"       {path}\n         fake: {show(f)}\n         real: {show(r)}")
        if outcome == "harness-error":
            for step in real_steps:
                if step.get("step") == "exception":
                    print(f"       real: {step.get('exception')}")
        if not ok:
            failures.append(sid)
            hint = {
                "stale-known": f"agrees now: remove {sid} from known_differences.txt",
                "stale-allowed": f"agrees now: remove {sid} from allowed_differences.txt",
                "not-allowed": f"the fake's first difference is not the allowed HTTP {allowed.get(sid, (0,))[0]} refusal",
                "harness-error": "the scenario broke on the real Keycloak: fix the scenario (KC_COMPAT_TRACEBACK=1 prints it)",
                "unexpected": "a difference not listed in known_differences.txt",
            }.get(outcome)
            if hint:
                print(f"       {hint}")
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
            json.dump({"realm": args.realm, "seconds": round(total, 1), "counts": counts, "scenarios": report}, f, indent=1, default=str)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"\nkc-compat: {len(selected)} scenarios in {total:.1f}s: {summary}")
    if args.report:
        print(f"kc-compat: report in {args.report}")
    if failures:
        print(f"kc-compat: FAILED: {' '.join(failures)}")
    print(f"kc-compat: {len(selected) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
