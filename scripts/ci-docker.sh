#!/usr/bin/env bash
# Start or stop a Docker daemon for CI runs of the container backend.
#
#   bash scripts/ci-docker.sh start   # install docker.io if missing, start dockerd if not answering
#   bash scripts/ci-docker.sh stop    # stop the dockerd that `start` launched, and nothing else
#
# Needs root (apt-get, dockerd). A daemon that already answers is left alone, so `start` is safe
# to run on a developer machine with Docker Desktop or a system service.
set -euo pipefail

PIDFILE=/var/run/schema-kit-dockerd.pid
LOGFILE=/var/log/schema-kit-dockerd.log
WAIT_S=30
# CI shells and `sudo` without -i often lack the sbin dirs, where dockerd lives and where it
# looks for iptables; without them it dies with "Iptables not found".
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# /usr/local/bin/docker on some images is a newer CLI without buildx that shadows Debian's; the
# Debian CLI matches the daemon we install, so prefer it when it is there.
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=docker

# `timeout` because a half-started daemon can accept the socket and never answer.
daemon_answers() {
  timeout 5 "$DOCKER_CLI" info >/dev/null 2>&1
}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "ci-docker.sh: $1 needs root; rerun with sudo" >&2
    exit 1
  fi
}

# The pid file may outlive its daemon (crash, container restart): only trust it when the pid
# still names a dockerd, so a recycled pid never gets signalled.
our_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(<"$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ] || return 1
  echo "$pid"
}

install_docker() {
  need_root "installing docker.io"
  echo "ci-docker.sh: installing docker.io with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

wait_for_exit() {
  local pid=$1
  for _ in $(seq 1 $((WAIT_S * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

start() {
  if ! command -v dockerd >/dev/null 2>&1; then
    install_docker
    DOCKER_CLI=/usr/bin/docker
  fi
  if daemon_answers; then
    echo "ci-docker.sh: a Docker daemon already answers; nothing to start" >&2
    return 0
  fi
  need_root "starting dockerd"
  local pid
  if pid=$(our_pid); then
    echo "ci-docker.sh: dockerd $pid (ours) is running but not answering yet; waiting" >&2
  else
    rm -f "$PIDFILE"
    # dockerd writes and removes the pid file itself; writing $! here would make dockerd see its
    # own pid in the file and refuse to start. setsid keeps it alive when this shell's process
    # group is torn down by the CI runner.
    setsid dockerd --host=unix:///var/run/docker.sock --pidfile="$PIDFILE" \
      >>"$LOGFILE" 2>&1 </dev/null &
    pid=$!
  fi
  for _ in $(seq 1 $((WAIT_S * 10))); do
    if daemon_answers; then
      echo "ci-docker.sh: dockerd $pid ready (log: $LOGFILE)" >&2
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "ci-docker.sh: dockerd exited or did not answer within ${WAIT_S}s; log tail:" >&2
  tail -n 40 "$LOGFILE" >&2 || true
  # Leave no half-started daemon behind: the next `start` would otherwise wait on it again.
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_for_exit "$pid" || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  return 1
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    echo "ci-docker.sh: no dockerd started by this script is running" >&2
    rm -f "$PIDFILE"
    return 0
  fi
  need_root "stopping dockerd"
  kill -TERM "$pid"
  if ! wait_for_exit "$pid"; then
    echo "ci-docker.sh: dockerd $pid still running after ${WAIT_S}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_for_exit "$pid" || true
  fi
  rm -f "$PIDFILE"
  echo "ci-docker.sh: dockerd $pid stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
