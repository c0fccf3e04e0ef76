#!/usr/bin/env bash
# Start, stop and describe a throw-away Keycloak for tests (no containers).
#
#   tools/keycloak/keycloak.sh start   # download once, start start-dev on free ports, wait until up
#   tools/keycloak/keycloak.sh env     # print the env file (source it: `source <(… env)`)
#   tools/keycloak/keycloak.sh stop    # stop the instance started by `start`
#
# The distribution (org.keycloak:keycloak-quarkus-dist, ~177 MB) is fetched with Maven ONCE into a
# cache outside the repository: ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/keycloak/<version>/.
# The running instance's state (pid, ports, log, env file) lives in <cache>/run/.
#
# Environment:
#   KEYCLOAK_VERSION          distribution version (default 26.7.3)
#   KEYCLOAK_JAVA_HOME        JDK (>= 21) to run Keycloak with; else the newest /usr/lib/jvm/* >= 21
#   KEYCLOAK_ADMIN_USERNAME   bootstrap admin of the master realm (default admin)
#   KEYCLOAK_ADMIN_PASSWORD   its password (default admin)
#   KEYCLOAK_START_TIMEOUT    seconds to wait for /realms/master (default 180)
#   PRIMEHUB_CACHE            cache root (default $HOME/.cache/primehub-rs)
set -euo pipefail

version="${KEYCLOAK_VERSION:-26.7.3}"
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
kc_cache="$cache_root/keycloak/$version"
dist="$kc_cache/keycloak-$version"
run_dir="$kc_cache/run"
pid_file="$run_dir/keycloak.pid"
env_file="$run_dir/env"
log_file="$run_dir/keycloak.log"
admin_user="${KEYCLOAK_ADMIN_USERNAME:-admin}"
admin_password="${KEYCLOAK_ADMIN_PASSWORD:-admin}"
timeout="${KEYCLOAK_START_TIMEOUT:-180}"

say() { printf '[keycloak] %s\n' "$*" >&2; }
die() { printf '[keycloak] ERROR: %s\n' "$*" >&2; exit 1; }

java_major() { # $1 = java binary; prints the major version or nothing
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1
}

find_java_home() {
  local candidates=() jh major
  if [[ -n "${KEYCLOAK_JAVA_HOME:-}" ]]; then
    [[ -x "$KEYCLOAK_JAVA_HOME/bin/java" ]] || die "KEYCLOAK_JAVA_HOME=$KEYCLOAK_JAVA_HOME has no bin/java"
    major=$(java_major "$KEYCLOAK_JAVA_HOME/bin/java")
    [[ -n "$major" && "$major" -ge 21 ]] || die "KEYCLOAK_JAVA_HOME=$KEYCLOAK_JAVA_HOME is Java ${major:-?}; Keycloak $version needs JDK >= 21"
    echo "$KEYCLOAK_JAVA_HOME"; return
  fi
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
  for jh in /usr/lib/jvm/*; do [[ -d "$jh" && ! -L "$jh" ]] && candidates+=("$jh"); done
  local best="" best_major=0
  for jh in "${candidates[@]}"; do
    [[ -x "$jh/bin/java" ]] || continue
    major=$(java_major "$jh/bin/java")
    [[ -n "$major" ]] || continue
    if (( major >= 21 && major > best_major )); then best="$jh"; best_major=$major; fi
  done
  [[ -n "$best" ]] || die "no JDK >= 21 found (looked at \$KEYCLOAK_JAVA_HOME, \$JAVA_HOME, /usr/lib/jvm/*). Install one (e.g. Temurin 25) or set KEYCLOAK_JAVA_HOME."
  echo "$best"
}

ensure_dist() {
  [[ -x "$dist/bin/kc.sh" ]] && return
  mkdir -p "$kc_cache"
  local zip="$kc_cache/keycloak-quarkus-dist-$version.zip"
  if [[ ! -f "$zip" ]]; then
    command -v mvn >/dev/null 2>&1 || die "mvn not found: needed once to download org.keycloak:keycloak-quarkus-dist:$version:zip"
    say "downloading org.keycloak:keycloak-quarkus-dist:$version:zip (once) into $kc_cache"
    mvn -q -B -Dstyle.color=never dependency:copy "-Dartifact=org.keycloak:keycloak-quarkus-dist:$version:zip" "-DoutputDirectory=$kc_cache" >&2 \
      || die "maven download failed"
  fi
  command -v unzip >/dev/null 2>&1 || die "unzip not found"
  say "unpacking $zip"
  local tmp="$kc_cache/unpack.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$dist"; mv "$tmp/keycloak-$version" "$dist"; rm -rf "$tmp"
  [[ -x "$dist/bin/kc.sh" ]] || die "unpacked distribution has no bin/kc.sh"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || echo $(( 20000 + RANDOM % 20000 ))
}

is_running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

cmd_start() {
  if is_running; then
    say "already running (pid $(cat "$pid_file")); env in $env_file"
    cat "$env_file"; return
  fi
  command -v curl >/dev/null 2>&1 || die "curl not found"
  ensure_dist
  local java_home; java_home=$(find_java_home)
  say "using JDK $java_home"
  mkdir -p "$run_dir"
  local http_port mgmt_port
  http_port=$(free_port); mgmt_port=$(free_port)
  while [[ "$mgmt_port" == "$http_port" ]]; do mgmt_port=$(free_port); done
  say "starting Keycloak $version on http://127.0.0.1:$http_port (management $mgmt_port), log $log_file"
  local started; started=$(date +%s)
  # setsid: its own process group, so `stop` can end the whole tree (kc.sh execs java).
  JAVA_HOME="$java_home" \
  JAVA_OPTS_KC_HEAP="${JAVA_OPTS_KC_HEAP:--Xms256m -Xmx768m}" \
  KC_BOOTSTRAP_ADMIN_USERNAME="$admin_user" \
  KC_BOOTSTRAP_ADMIN_PASSWORD="$admin_password" \
    setsid "$dist/bin/kc.sh" start-dev \
      --http-host=127.0.0.1 --http-port="$http_port" --http-management-port="$mgmt_port" \
      --db=dev-mem >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local url="http://127.0.0.1:$http_port" elapsed=0
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/realms/master" 2>/dev/null || true)" == 200 ]]; do
    is_running || { tail -n 40 "$log_file" >&2; rm -f "$pid_file"; die "Keycloak exited during start (log above, full log $log_file)"; }
    elapsed=$(( $(date +%s) - started ))
    if (( elapsed >= timeout )); then
      tail -n 40 "$log_file" >&2; cmd_stop; die "Keycloak not up after ${timeout}s (log $log_file)"
    fi
    (( elapsed % 10 == 0 )) && say "waiting for $url/realms/master (${elapsed}s)"
    sleep 1
  done
  elapsed=$(( $(date +%s) - started ))
  cat >"$env_file" <<ENV
export PRIMEHUB_TEST_KEYCLOAK_URL=$url
export PRIMEHUB_TEST_KEYCLOAK_ADMIN=$admin_user
export PRIMEHUB_TEST_KEYCLOAK_PASSWORD=$admin_password
ENV
  local rss; rss=$(ps -o rss= -p "$(cat "$pid_file")" 2>/dev/null | tr -d ' ' || true)
  [[ -n "$rss" ]] || rss=0
  # kc.sh may exec java or keep a child; report the largest RSS in the process group.
  rss=$(ps -o rss= -g "$(cat "$pid_file")" 2>/dev/null | sort -n | tail -n1 | tr -d ' ' || echo "$rss")
  say "up after ${elapsed}s at $url (RSS $(( ${rss:-0} / 1024 )) MiB); env file $env_file"
  cat "$env_file"
}

cmd_stop() {
  if ! [[ -f "$pid_file" ]]; then say "not running"; return 0; fi
  local pid; pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping pid $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "still running after 30s, killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file" "$env_file"
}

cmd_env() {
  is_running && [[ -f "$env_file" ]] || die "not running (start it with: $0 start)"
  cat "$env_file"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
