"""The machinery of the compatibility harness: targets, the per-scenario context that runs
kubectl and the Python client and records what they answered, normalization of those answers,
their comparison, and the verdict lists (known and allowed differences).

Nothing here knows a scenario; `scenarios.py` holds them and `run_compat.py` runs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

# --------------------------------------------------------------------------------------------
# Normalization: what is allowed to differ between two servers that behave the same


TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
RV_TEXT_RE = re.compile(r'(resourceVersion"?:\s*)"\d+"')
IP_RE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
# kubectl 1.33 against a 1.37 server warns about the skew; the warning says nothing about the server.
SKEW_RE = re.compile(r"^WARNING: version difference between client .*$\n?", re.MULTILINE)

# metadata fields the server sets per object that can never agree between two servers
IDENTITY_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "selfLink")
AGE_CELL_RE = re.compile(r"^(?:\d+[smhdy]){1,2}$")
AGE_COLUMNS = {"AGE", "LAST SEEN", "FIRST SEEN", "CREATED AT"}
IP_COLUMNS = {"CLUSTER-IP", "IP", "EXTERNAL-IP"}


def normalize_text(text: str) -> str:
    """Text with timestamps, UUIDs and resourceVersions replaced by placeholders."""
    text = SKEW_RE.sub("", text)
    text = TIME_RE.sub("<time>", text)
    text = UUID_RE.sub("<uid>", text)
    text = RV_TEXT_RE.sub(r'\1"<rv>"', text)
    return text


def normalize_object(value: Any, path: Tuple[str, ...] = ()) -> Any:
    """A JSON value with the server-set identity fields replaced by placeholders (their presence
    still counts), managedFields dropped (server-side apply bookkeeping), cluster IPs and
    continue tokens replaced, and every timestamp in a string replaced."""
    if isinstance(value, dict):
        out: Dict[str, Any] = {}
        for key, item in value.items():
            if key == "managedFields" and path and path[-1] == "metadata":
                continue
            if path and path[-1] == "metadata" and key in IDENTITY_FIELDS:
                out[key] = f"<{key}>" if item not in ("", None) else item
                continue
            if key == "uid" and isinstance(item, str) and item:
                out[key] = "<uid>"
                continue
            if key == "continue" and isinstance(item, str) and item:
                out[key] = "<continue>"
                continue
            if key in ("clusterIP", "podIP", "hostIP") and isinstance(item, str) and IP_RE.match(item):
                out[key] = "<ip>"
                continue
            if key in ("clusterIPs", "podIPs", "hostIPs") and isinstance(item, list):
                out[key] = [
                    "<ip>" if isinstance(i, str) and IP_RE.match(i) else normalize_object(i, path + (key,))
                    for i in item
                ]
                continue
            out[key] = normalize_object(item, path + (key,))
        return out
    if isinstance(value, list):
        return [normalize_object(i, path) for i in value]
    if isinstance(value, str):
        return TIME_RE.sub("<time>", value)
    return value


def split_table_row(line: str) -> List[str]:
    """The cells of one row of kubectl's Table output (columns are padded with 2+ spaces)."""
    return re.split(r"\s{2,}", line.strip())


def normalize_table(text: str) -> List[Any]:
    """kubectl's human-readable Table output as rows of cells, with the age columns and IP
    addresses replaced by placeholders. A blank line starts a new table (`kubectl get all`)."""
    rows: List[Any] = []
    header: Optional[List[str]] = None
    for line in normalize_text(text).splitlines():
        if not line.strip():
            header = None
            rows.append("")
            continue
        cells = split_table_row(line)
        if header is None:
            header = cells
            rows.append(cells)
            continue
        fixed = []
        for i, cell in enumerate(cells):
            column = header[i] if i < len(header) and len(cells) == len(header) else ""
            if column in AGE_COLUMNS or (column == "" and AGE_CELL_RE.match(cell)):
                # Without a column name (a row with an empty cell splits into fewer cells than
                # the header), an age is recognised by its shape (`0s`, `3d10h`).
                cell = "<age>"
            elif column in IP_COLUMNS and IP_RE.match(cell):
                cell = "<ip>"
            fixed.append(cell)
        rows.append(fixed)
    return rows


def normalize_output(text: str, mode: str) -> Any:
    """kubectl's stdout in the given comparison mode:
    `text` (exact after `normalize_text`), `lines` (sorted non-empty lines), `table`
    (`normalize_table`), `json` / `yaml` (parsed and `normalize_object`), `diff` (a unified
    diff without its file-name headers), `ignore`."""
    if mode == "ignore":
        return None
    if mode == "text":
        return normalize_text(text)
    if mode == "lines":
        return sorted(line for line in normalize_text(text).splitlines() if line.strip())
    if mode == "table":
        return normalize_table(text)
    if mode in ("json", "yaml"):
        if not text.strip():
            return None
        try:
            parsed = json.loads(text) if mode == "json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            return {"unparsable": normalize_text(text)}
        return normalize_object(parsed)
    if mode == "diff":
        kept = [
            line
            for line in normalize_text(text).splitlines()
            if not line.startswith(("diff -u", "--- ", "+++ "))
        ]
        return kept
    raise ValueError(f"unknown output mode {mode}")


def normalize_error(text: str, mode: str) -> Any:
    """kubectl's stderr: `text` (exact after `normalize_text`), `reason` (only the reasons in
    `Error from server (Reason)` and the `error:` prefix of client errors), `ignore`."""
    text = normalize_text(text)
    if mode == "ignore":
        return None
    if mode == "text":
        return text
    if mode == "reason":
        reasons = []
        for line in text.splitlines():
            server = re.match(r"Error from server \((\w+)\)", line)
            if server:
                reasons.append(server.group(1))
            elif re.match(r'(error: .*: )?The \S+ "[^"]*" is invalid', line):
                reasons.append("Invalid")  # how kubectl prints a 422 with causes
            elif line.startswith("error: "):
                reasons.append("error: " + line[len("error: "):].split(":")[0])
        return reasons
    raise ValueError(f"unknown error mode {mode}")


def api_error(status: int, body: str, message: bool = True) -> Dict[str, Any]:
    """The comparable part of a failed API call: HTTP status, and from the Status body its
    reason, code, message (when `message`) and details' causes."""
    out: Dict[str, Any] = {"status": status}
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        out["reason"] = parsed.get("reason")
        out["code"] = parsed.get("code")
        if message:
            out["message"] = normalize_text(parsed.get("message") or "")
            causes = (parsed.get("details") or {}).get("causes")
            if causes:
                out["causes"] = normalize_object(causes)
    else:
        out["body"] = "<not a Status>" if body else ""
    return out


# --------------------------------------------------------------------------------------------
# Comparison


def differences(fake: Any, real: Any, path: str = "") -> List[Tuple[str, Any, Any]]:
    """Every place where two normalized values differ: (path, fake value, real value).
    Dicts compare by key (a missing key is `<absent>`), lists element by element."""
    if isinstance(fake, dict) and isinstance(real, dict):
        out: List[Tuple[str, Any, Any]] = []
        for key in sorted(set(fake) | set(real), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in fake:
                out.append((sub, "<absent>", real[key]))
            elif key not in real:
                out.append((sub, fake[key], "<absent>"))
            else:
                out.extend(differences(fake[key], real[key], sub))
        return out
    if isinstance(fake, list) and isinstance(real, list):
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
    its name under `step`); a run that stopped early shows its missing steps as `<absent>`."""
    out: List[Tuple[str, Any, Any]] = []
    for i in range(max(len(fake), len(real))):
        f = fake[i] if i < len(fake) else None
        r = real[i] if i < len(real) else None
        name = (f or r or {}).get("step", f"#{i}")
        if f is None or r is None:
            out.append((f"{i}:{name}", f if f is not None else "<absent>", r if r is not None else "<absent>"))
            continue
        out.extend(differences(f, r, f"{i}:{name}"))
    return out


# Markers of an honest refusal in kubectl's stderr, by HTTP status.
REFUSAL_MARKERS = {
    415: ("Server-side apply not available on the server", "(UnsupportedMediaType)"),
    406: ("(NotAcceptable)",),
    422: ("(Invalid)",),
    501: ("(NotImplemented)",),
}


def first_fake_step_refuses(fake: List[dict], real: List[dict], status: int) -> bool:
    """Whether the first step where the fake differs from the real server is the fake answering
    `status` (an honest refusal): a Python call's or raw request's `status`, or kubectl's stderr
    carrying the refusal's marker."""
    for i, step in enumerate(fake):
        other = real[i] if i < len(real) else None
        if other is not None and not differences(step, other):
            continue
        error = step.get("error") if isinstance(step.get("error"), dict) else None
        if step.get("status") == status or (error and error.get("status") == status):
            return True
        stderr = step.get("stderr")
        text = stderr if isinstance(stderr, str) else json.dumps(stderr)
        return any(marker in (text or "") for marker in REFUSAL_MARKERS.get(status, ()))
    return False


def read_list(path: str) -> Dict[str, str]:
    """A differences list: one `scenario-id  reason…` per line, `#` comments and blank lines
    ignored. Returns id → the rest of the line."""
    entries: Dict[str, str] = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if not line:
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
        if not status.isdigit() or int(status) not in REFUSAL_MARKERS or not reason.strip():
            raise ValueError(
                f"allowed difference {sid}: expected `<status> <reason>` with a status in "
                f"{sorted(REFUSAL_MARKERS)}, got `{rest}`"
            )
        out[sid] = (int(status), reason.strip())
    return out


def harness_error(steps: List[dict]) -> bool:
    """Whether a run ended in an exception that is not an answer of the API server (a bug of the
    scenario, or of the harness)."""
    return any(step.get("step") == "exception" and not step.get("api") for step in steps)


def verdict(
    sid: str,
    fake: List[dict],
    real: List[dict],
    known: Dict[str, str],
    allowed: Dict[str, Tuple[int, str]],
) -> Tuple[str, bool, List[Tuple[str, Any, Any]]]:
    """The verdict of one scenario: (`agree` | `known` | `allowed` | `unexpected` |
    `stale-known` | `stale-allowed` | `not-allowed` | `harness-error`, whether it passes, the
    differences). A scenario that raised anything but an API error on the real server is a
    `harness-error` whatever the fake did."""
    diffs = compare_steps(fake, real)
    if harness_error(real):
        # the real server is the reference: a scenario must run through on it
        return "harness-error", False, diffs
    if not diffs:
        if sid in known:
            return "stale-known", False, diffs
        if sid in allowed:
            return "stale-allowed", False, diffs
        return "agree", True, diffs
    if sid in allowed:
        status, _ = allowed[sid]
        if first_fake_step_refuses(fake, real, status):
            return "allowed", True, diffs
        return "not-allowed", False, diffs
    if sid in known:
        return "known", True, diffs
    return "unexpected", False, diffs


# --------------------------------------------------------------------------------------------
# Targets and the context a scenario runs in


@dataclass
class Target:
    """One API server: a name (`fake`, `real`), its kubeconfig, the kubectl to drive it with,
    and a kubectl discovery cache directory of its own."""

    name: str
    kubeconfig: str
    kubectl: str
    cache_dir: str

    def api_client(self):
        from kubernetes import config

        return config.new_client_from_config(config_file=self.kubeconfig)


class ScenarioFailed(Exception):
    """A scenario could not go on (a precondition it needs did not hold on this target)."""


@dataclass
class Ctx:
    """What one scenario sees on one target: its namespace `ns`, a kubectl runner, the Python
    client's APIs, and the list of recorded steps that is compared with the other target's."""

    target: Target
    ns: str
    workdir: str
    steps: List[dict] = field(default_factory=list)
    extra_namespaces: List[str] = field(default_factory=list)
    _api: Any = None

    # ---- the Python client

    @property
    def api(self):
        if self._api is None:
            self._api = self.target.api_client()
        return self._api

    @property
    def core(self):
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def apps(self):
        from kubernetes import client

        return client.AppsV1Api(self.api)

    @property
    def custom(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    def serialize(self, obj: Any) -> Any:
        return self.api.sanitize_for_serialization(obj)

    # ---- recording

    def record(self, step: str, **values: Any) -> dict:
        entry = {"step": step, **values}
        self.steps.append(entry)
        return entry

    def file(self, name: str, content: Any) -> str:
        """Writes `content` (a dict or list of dicts as YAML documents, or text) to a file in the
        scenario's work directory and returns its path."""
        path = os.path.join(self.workdir, name)
        with open(path, "w", encoding="utf-8") as f:
            if isinstance(content, str):
                f.write(content)
            elif isinstance(content, list):
                yaml.safe_dump_all(content, f)
            else:
                yaml.safe_dump(content, f)
        return path

    def kubectl_argv(self, args: List[str], namespaced: bool = True) -> List[str]:
        argv = [self.target.kubectl, "--kubeconfig", self.target.kubeconfig, "--cache-dir", self.target.cache_dir]
        if namespaced:
            argv += ["-n", self.ns]
        return argv + list(args)

    def kubectl(
        self,
        step: str,
        *args: str,
        stdin: Optional[str] = None,
        out: str = "text",
        err: str = "text",
        namespaced: bool = True,
        timeout: float = 30,
        env: Optional[Dict[str, str]] = None,
    ) -> subprocess.CompletedProcess:
        """Runs kubectl with the target's kubeconfig (and `-n <ns>` unless `namespaced=False`)
        and records its exit code, stdout (`out` mode, see `normalize_output`) and stderr (`err`
        mode, see `normalize_error`)."""
        argv = self.kubectl_argv(list(args), namespaced)
        proc_env = dict(os.environ)
        proc_env.update(env or {})
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=proc_env
        )
        self.record(
            step,
            rc=proc.returncode,
            # The scenario's files live in a per-target directory: kubectl quotes their paths.
            stdout=normalize_output(proc.stdout.replace(self.workdir, "<workdir>"), out),
            stderr=normalize_error(proc.stderr.replace(self.workdir, "<workdir>"), err),
        )
        return proc

    def call(self, step: str, fn: Callable[..., Any], *args: Any, message: bool = True, keep: Optional[Callable[[Any], Any]] = None, **kwargs: Any) -> Any:
        """Calls a Python client method and records its normalized result (`keep` picks the part
        to compare from the serialized result) or its error (`api_error`). Returns the result,
        or None on an API error."""
        from kubernetes.client.exceptions import ApiException

        try:
            result = fn(*args, **kwargs)
        except ApiException as e:
            self.record(step, error=api_error(e.status, e.body if isinstance(e.body, str) else "", message))
            return None
        value = normalize_object(self.serialize(result))
        if keep is not None:
            value = keep(value)
        self.record(step, ok=value)
        return result

    def raw(
        self,
        step: str,
        method: str,
        path: str,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
        query: Optional[List[Tuple[str, str]]] = None,
        message: bool = True,
        keep_body: bool = True,
    ) -> Tuple[int, str, bytes]:
        """A raw HTTP request through the Python client's configuration (auth, TLS); records the
        status, the response's media type and its body (parsed JSON or YAML when
        `keep_body`, or its Status when failed). Returns (status, content type, body)."""
        header_params = {"Accept": "application/json"}
        header_params.update(headers or {})
        status, ctype, data = raw_request(self.api, method, path, query=query, headers=header_params, body=body)
        media = ctype.split(";")[0].strip()
        entry: Dict[str, Any] = {"status": status, "media": media}
        if status >= 400:
            text = data.decode("utf-8", "replace")
            if media == "application/yaml":
                try:
                    text = json.dumps(yaml.safe_load(text))
                except yaml.YAMLError:
                    pass
            entry["error"] = api_error(status, text, message)
        elif keep_body:
            text = data.decode("utf-8", "replace")
            if media == "application/json":
                entry["body"] = normalize_object(json.loads(text)) if text.strip() else None
            elif media == "application/yaml":
                entry["body"] = normalize_object(yaml.safe_load(text))
            else:
                entry["body"] = f"<{len(data)} bytes>" if data else ""
        self.record(step, **entry)
        return status, media, data


def raw_request(
    api: Any,
    method: str,
    path: str,
    query: Optional[List[Tuple[str, str]]] = None,
    headers: Optional[Dict[str, str]] = None,
    body: Any = None,
) -> Tuple[int, str, bytes]:
    """One HTTP request with a Python client's configuration (server, auth, TLS), whatever the
    answer: (status, Content-Type, body)."""
    from kubernetes.client.exceptions import ApiException

    method, url, header_params, body, post_params = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params=dict(headers or {"Accept": "application/json"}),
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(method, url, header_params=header_params, body=body, post_params=post_params, _request_timeout=30)
        data = response.read() or b""
        return response.status, response.headers.get("Content-Type", ""), data
    except ApiException as e:
        data = e.body.encode() if isinstance(e.body, str) else (e.body or b"")
        return e.status, (e.headers or {}).get("Content-Type", "") if e.headers else "", data


def timed(fn: Callable[[], Any]) -> Tuple[Any, float]:
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start
