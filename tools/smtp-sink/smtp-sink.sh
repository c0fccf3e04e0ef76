#!/usr/bin/env bash
# Start, stop and describe a local SMTP sink for tests (Python aiosmtpd; nothing is relayed).
#
#   tools/smtp-sink/smtp-sink.sh start   # create the virtualenv once, start the sink on a free port
#   tools/smtp-sink/smtp-sink.sh env     # print the env file (source it: `source <(… env)`)
#   tools/smtp-sink/smtp-sink.sh stop    # stop the sink started by `start`
#
# Every message the sink accepts is written as one file `<dir>/<epoch-ns>-<n>.eml` (raw message,
# preceded by `X-Sink-Mail-From:` and `X-Sink-Rcpt-To:` lines with the envelope). The env file
# exports PRIMEHUB_TEST_SMTP_HOST, PRIMEHUB_TEST_SMTP_PORT and PRIMEHUB_TEST_SMTP_DIR.
#
# aiosmtpd comes from PyPI, installed ONCE into a virtualenv outside the repository, keyed by
# version: ${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}/smtp-sink/venv-<version>/. The running
# sink's state (pid, env file, log, mail directory) lives in <cache>/smtp-sink/run/.
#
# Environment:
#   AIOSMTPD_VERSION   aiosmtpd version (default 1.4.6)
#   PYTHON             Python >= 3.8 to build the virtualenv with (default python3)
#   PRIMEHUB_CACHE     cache root (default $HOME/.cache/primehub-rs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
version="${AIOSMTPD_VERSION:-1.4.6}"
python="${PYTHON:-python3}"
cache_root="${PRIMEHUB_CACHE:-$HOME/.cache/primehub-rs}"
sink_cache="$cache_root/smtp-sink"
venv="$sink_cache/venv-$version"
run_dir="$sink_cache/run"
pid_file="$run_dir/sink.pid"
env_file="$run_dir/env"
log_file="$run_dir/sink.log"
mail_dir="$run_dir/mail"

say() { printf '[smtp-sink] %s\n' "$*" >&2; }
die() { printf '[smtp-sink] ERROR: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null && return
  command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON)"
  say "creating $venv with aiosmtpd==$version (once)"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "python -m venv failed (install the venv module)"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "aiosmtpd==$version"; then
    rm -rf "$venv"; die "pip install aiosmtpd==$version failed"
  fi
  "$venv/bin/python" -c 'import aiosmtpd' || { rm -rf "$venv"; die "aiosmtpd not importable after install"; }
}

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

is_running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

cmd_start() {
  if is_running; then
    say "already running (pid $(cat "$pid_file")); env in $env_file"
    cat "$env_file"; return
  fi
  ensure_venv
  rm -rf "$mail_dir"
  mkdir -p "$run_dir" "$mail_dir"
  local port; port=$(free_port)
  setsid "$venv/bin/python" "$here/sink.py" --host 127.0.0.1 --port "$port" --dir "$mail_dir" \
    >"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local i
  for i in $(seq 1 100); do
    if "$python" -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$port),0.2); s.close()" 2>/dev/null; then
      break
    fi
    is_running || { cat "$log_file" >&2; rm -f "$pid_file"; die "sink exited during start"; }
    sleep 0.1
  done
  is_running || die "sink did not start (log $log_file)"
  cat >"$env_file" <<ENV
export PRIMEHUB_TEST_SMTP_HOST=127.0.0.1
export PRIMEHUB_TEST_SMTP_PORT=$port
export PRIMEHUB_TEST_SMTP_DIR=$mail_dir
ENV
  say "up on 127.0.0.1:$port, writing to $mail_dir"
  cat "$env_file"
}

cmd_stop() {
  if ! [[ -f "$pid_file" ]]; then say "not running"; return 0; fi
  local pid; pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
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
