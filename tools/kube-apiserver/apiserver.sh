#!/usr/bin/env bash
# Build, start, stop and describe a throw-away REAL kube-apiserver (with an etcd embedded in the
# same process) for tests, the way envtest runs one: no kubelet, scheduler or controller-manager.
#
#   tools/kube-apiserver/apiserver.sh build    # build the binary once (cached outside the repo)
#   tools/kube-apiserver/apiserver.sh start    # build if needed, start on a free port, wait for /readyz
#   tools/kube-apiserver/apiserver.sh env      # print the env file (source it: `source <(… env)`)
#   tools/kube-apiserver/apiserver.sh status   # exit 0 if the started instance answers /readyz
#   tools/kube-apiserver/apiserver.sh stop     # stop it and remove its etcd data
#
# The binary is built from the wrapper Go module beside this script (go.mod pins k8s.io/kubernetes)
# into ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/kube-apiserver/<k8s version>/kube-apiserver;
# a stamp (hash of go.mod, go.sum, main.go) next to it triggers a rebuild when the source changes.
# Go's module and build caches stay where `go env GOMODCACHE GOCACHE` say (outside the repo).
# The running instance's state (keys, tokens, serving certs, etcd data, pid, log, kubeconfig,
# env file) lives in <cache>/kube-apiserver/run/.
#
# Environment:
#   PRIMEHUB_CACHE                  cache root (default $HOME/.cache/primehub-rs)
#   KUBE_APISERVER_START_TIMEOUT    seconds to wait for /readyz (default 180)
#   KUBE_APISERVER_PORT             secure port (default: a free one)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -n -E 's/^[[:space:]]*(require[[:space:]]+)?k8s\.io\/kubernetes (v[0-9.]+).*/\2/p' "$here/go.mod" | head -n1)"
[[ -n "$version" ]] || { echo "[kube-apiserver] ERROR: no 'k8s.io/kubernetes vX.Y.Z' requirement in $here/go.mod" >&2; exit 1; }
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
bin_dir="$cache_root/kube-apiserver/$version"
bin="$bin_dir/kube-apiserver"
stamp="$bin_dir/src.sha256"
run_dir="$cache_root/kube-apiserver/run"
pid_file="$run_dir/kube-apiserver.pid"
log_file="$run_dir/kube-apiserver.log"
env_file="$run_dir/env"
kubeconfig="$run_dir/kubeconfig"
timeout="${KUBE_APISERVER_START_TIMEOUT:-180}"

say() { printf '[kube-apiserver] %s\n' "$*" >&2; }
die() { printf '[kube-apiserver] ERROR: %s\n' "$*" >&2; exit 1; }

src_hash() { cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1; }

cmd_build() {
  local want; want="$(src_hash)"
  if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "cached: $bin ($version)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go not found: needed once to build kube-apiserver $version"
  mkdir -p "$bin_dir"
  local minor="${version#v1.}"; minor="${minor%%.*}"
  local ld="-s -w"
  # Stamp the real version in, as the Kubernetes release build does (otherwise v0.0.0-master).
  local p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  say "building kube-apiserver $version + embedded etcd into $bin"
  say "(first build downloads ~300 Go modules and compiles ~2000 packages: several minutes on 2 cores)"
  local start=$SECONDS tmp="$bin.tmp.$$"
  ( cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags="$ld" -o "$tmp" . ) >&2 &
  local gpid=$!
  while kill -0 "$gpid" 2>/dev/null; do
    sleep 15
    kill -0 "$gpid" 2>/dev/null && say "  … still building ($((SECONDS - start)) s)"
  done
  wait "$gpid" || { rm -f "$tmp"; die "go build failed"; }
  mv -f "$tmp" "$bin"
  echo "$want" > "$stamp"
  say "built in $((SECONDS - start)) s: $bin ($(du -h "$bin" | cut -f1))"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port found"
}

rand_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

is_running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

readyz() { # $1 url, $2 token
  [[ "$(curl -ks -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $2" "$1/readyz")" == 200 ]]
}

cmd_status() {
  is_running || { say "not running"; return 1; }
  [[ -f "$env_file" ]] || { say "running (pid $(cat "$pid_file")) but no env file yet"; return 1; }
  # shellcheck disable=SC1090
  ( source "$env_file"; readyz "$PRIMEHUB_TEST_KUBE_URL" "$PRIMEHUB_TEST_KUBE_TOKEN" ) \
    && { say "ready (pid $(cat "$pid_file"))"; return 0; }
  say "running (pid $(cat "$pid_file")) but /readyz is not ok"; return 1
}

cmd_start() {
  if is_running; then
    if cmd_status 2>/dev/null; then say "already running (pid $(cat "$pid_file")); env: $env_file"; return; fi
    say "a previous instance (pid $(cat "$pid_file")) is not ready: stopping it"
    cmd_stop
  fi
  command -v curl >/dev/null 2>&1 || die "curl not found"
  cmd_build

  rm -rf "$run_dir"
  mkdir -p "$run_dir/certs" "$run_dir/etcd"
  chmod 700 "$run_dir"
  "$bin" gen-sa-key "$run_dir" || die "could not generate the service-account key pair"

  local admin_token user_token
  admin_token="$(rand_token)"; user_token="$(rand_token)"
  # token,user,uid,"group1,group2"
  {
    printf '%s,admin,admin-uid,"system:masters"\n' "$admin_token"
    printf '%s,alice,alice-uid\n' "$user_token"
  } > "$run_dir/tokens.csv"
  chmod 600 "$run_dir/tokens.csv"

  local port="${KUBE_APISERVER_PORT:-$(free_port)}"
  local url="https://127.0.0.1:$port"
  say "starting kube-apiserver $version on $url (log: $log_file)"
  local t0=$SECONDS
  # setsid: own session, so the caller's Ctrl-C or exit doesn't take it down; stop kills it by pid.
  setsid "$bin" \
    --embedded-etcd-dir="$run_dir/etcd" \
    --cert-dir="$run_dir/certs" \
    --secure-port="$port" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$run_dir/sa.pub" \
    --service-account-signing-key-file="$run_dir/sa.key" \
    --authorization-mode=RBAC \
    --token-auth-file="$run_dir/tokens.csv" \
    --enable-priority-and-fairness=false \
    --endpoint-reconciler-type=none \
    </dev/null >"$log_file" 2>&1 &
  echo $! > "$pid_file"

  printf '[kube-apiserver] waiting for %s/readyz ' "$url" >&2
  local deadline=$((SECONDS + timeout))
  until readyz "$url" "$admin_token"; do
    if ! is_running; then
      echo >&2; tail -n 40 "$log_file" >&2 || true
      die "kube-apiserver exited during start (log above: $log_file)"
    fi
    if (( SECONDS >= deadline )); then
      echo >&2; tail -n 40 "$log_file" >&2 || true
      cmd_stop || true
      die "kube-apiserver not ready after ${timeout} s"
    fi
    printf '.' >&2; sleep 1
  done
  echo " ok ($((SECONDS - t0)) s)" >&2

  # The self-signed serving cert the apiserver generated: leaf first, then its CA.
  local crt="$run_dir/certs/apiserver.crt" ca="$run_dir/ca.crt"
  [[ -f "$crt" ]] || die "no serving certificate at $crt"
  awk '/BEGIN CERTIFICATE/{n++} n>=2' "$crt" > "$ca"
  [[ -s "$ca" ]] || cp "$crt" "$ca"
  curl -s -o /dev/null --max-time 5 --cacert "$ca" -H "Authorization: Bearer $admin_token" "$url/readyz" \
    || say "warning: TLS verification against $ca failed (clients may need insecure-skip-tls-verify)"

  cat > "$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 < "$ca")
users:
- name: admin
  user:
    token: $admin_token
- name: alice
  user:
    token: $user_token
contexts:
- name: admin
  context: {cluster: test, user: admin}
- name: alice
  context: {cluster: test, user: alice}
current-context: admin
EOF
  chmod 600 "$kubeconfig"
  cat > "$env_file" <<EOF
export PRIMEHUB_TEST_KUBECONFIG='$kubeconfig'
export PRIMEHUB_TEST_KUBE_URL='$url'
export PRIMEHUB_TEST_KUBE_TOKEN='$admin_token'
export PRIMEHUB_TEST_KUBE_USER_TOKEN='$user_token'
export PRIMEHUB_TEST_KUBE_CA_FILE='$ca'
EOF
  say "ready: pid $(cat "$pid_file"), env file $env_file"
}

cmd_stop() {
  if [[ -f "$pid_file" ]]; then
    local pid; pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then
        say "still alive after 30 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
      fi
    fi
    rm -f "$pid_file"
  else
    say "not running"
  fi
  rm -rf "$run_dir/etcd" "$env_file" "$kubeconfig"
}

cmd_env() {
  [[ -f "$env_file" ]] || die "no env file: run '$0 start' first"
  cat "$env_file"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) echo "usage: $0 {build|start|stop|env|status}" >&2; exit 2 ;;
esac
