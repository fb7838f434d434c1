#!/usr/bin/env bash
# Makes sure a Docker engine answers, starting (and on Debian/Ubuntu as root, installing) one if needed.
# Prints one line on success: `docker: engine <version> ready (<endpoint>)`; the endpoint is what clients
# (docker CLI, dockerode) should use as DOCKER_HOST. Exits 1 with a how-to-fix message otherwise.
#
# Options:
#   --with-registry   also install Debian's docker-registry package (a local registry for pull tests)
#
# Environment:
#   DOCKER_HOST                    an existing engine to use instead of the local socket
#   BERTH_DOCKERD_LOG              where a dockerd started by this script logs (default /var/log/berth-dockerd.log)
#   BERTH_DOCKER_READY_TIMEOUT_S   how long to wait for a started dockerd to answer (default 30)
set -euo pipefail

readonly LOCAL_SOCKET=/var/run/docker.sock
readonly LOCAL_ENDPOINT="unix://$LOCAL_SOCKET"
readonly LOCK_FILE=/tmp/berth-ensure-docker.lock
# Children we start get this descriptor closed (`9>&-`): a long-lived dockerd inheriting it would hold the lock forever.
readonly LOCK_FD=9
# Installing docker.io can take minutes on a slow mirror; a second caller waits for the first instead of failing.
readonly LOCK_WAIT_S=600
# A hung engine must not hang every caller; a healthy one answers in well under a second.
readonly PROBE_TIMEOUT_S=5
readonly READY_TIMEOUT_S="${BERTH_DOCKER_READY_TIMEOUT_S:-30}"
readonly READY_POLL_INTERVAL_S=0.2

with_registry=false
for arg in "$@"; do
  case "$arg" in
    --with-registry) with_registry=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "ensure-docker: unknown option '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done

fail() {
  echo "ensure-docker: $*" >&2
  exit 1
}

is_root() { [ "$EUID" -eq 0 ]; }
has_apt() { command -v apt-get >/dev/null 2>&1; }
# su without `-` and some CI images leave the sbin directories off PATH, where dockerd lives.
find_dockerd() { PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v dockerd 2>/dev/null; }

# Prints the server version if the engine at the given endpoint answers, fails otherwise.
engine_version_at() {
  command -v docker >/dev/null 2>&1 || return 1
  DOCKER_HOST="$1" timeout "$PROBE_TIMEOUT_S" docker version --format '{{.Server.Version}}' 2>/dev/null
}

report_ready() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$2" ]; then
    echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer; clients should use DOCKER_HOST=$2" >&2
  fi
  echo "docker: engine $1 ready ($2)"
}

# Prints the endpoint and version of the first engine that answers, in the documented order of preference.
find_running_engine() {
  local version
  if [ -n "${DOCKER_HOST:-}" ] && version=$(engine_version_at "$DOCKER_HOST"); then
    echo "$DOCKER_HOST $version"
    return 0
  fi
  if [ -S "$LOCAL_SOCKET" ] && version=$(engine_version_at "$LOCAL_ENDPOINT"); then
    echo "$LOCAL_ENDPOINT $version"
    return 0
  fi
  return 1
}

apt_install() {
  echo "ensure-docker: installing $* with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Waiting on the dpkg lock lets this run beside another apt user (e.g. build-test-images.sh) instead of failing.
  apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null 9>&- ||
    fail "apt-get update failed; check the machine's apt sources and network"
  apt-get -qq -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold \
    install --no-install-recommends "$@" >/dev/null 9>&- ||
    fail "apt-get install $* failed; run it by hand to see why"
}

install_registry_if_asked() {
  [ "$with_registry" = true ] || return 0
  command -v docker-registry >/dev/null 2>&1 && return 0
  if ! is_root || ! has_apt; then
    fail "--with-registry needs the docker-registry package: apt-get install docker-registry (as root)"
  fi
  apt_install docker-registry
}

explain_unreachable_and_exit() {
  local reasons=()
  if [ -n "${DOCKER_HOST:-}" ]; then
    reasons+=("DOCKER_HOST=$DOCKER_HOST does not answer (is the engine up, and the address right?)")
  fi
  if ! command -v docker >/dev/null 2>&1; then
    reasons+=("the docker CLI is not installed (Debian/Ubuntu: apt-get install docker.io)")
  elif [ -S "$LOCAL_SOCKET" ] && ! [ -w "$LOCAL_SOCKET" ]; then
    reasons+=("$LOCAL_SOCKET exists but user $(id -un 2>/dev/null || echo "$EUID") may not write to it (add the user to the docker group, or run as root)")
  elif [ -S "$LOCAL_SOCKET" ]; then
    reasons+=("$LOCAL_SOCKET exists but the engine behind it does not answer (restart dockerd)")
  else
    reasons+=("no engine listens on $LOCAL_SOCKET")
  fi
  if ! is_root; then
    reasons+=("not root, so this script will not install or start dockerd itself")
  elif ! has_apt; then
    reasons+=("no apt-get, so this script cannot install docker.io here")
  fi
  {
    echo "Docker engine not reachable: set DOCKER_HOST or start dockerd; on Debian/Ubuntu as root this script installs docker.io."
    for reason in "${reasons[@]}"; do echo "  - $reason"; done
  } >&2
  exit 1
}

dockerd_is_running() {
  command -v pgrep >/dev/null 2>&1 && pgrep -x dockerd >/dev/null 2>&1 && return 0
  [ -r /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null
}

start_dockerd() {
  local dockerd_path="$1" log_file="${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}"
  # /var/log may be read-only in slim containers; the log must never land in the repository.
  if ! touch "$log_file" 2>/dev/null; then
    log_file=/tmp/berth-dockerd.log
  fi
  echo "ensure-docker: starting dockerd (log: $log_file)" >&2
  # setsid keeps the daemon out of this script's process group, so a Ctrl-C on a test run does not kill it.
  nohup setsid "$dockerd_path" >>"$log_file" 2>&1 </dev/null 9>&- &
  DOCKERD_PID=$!
  DOCKERD_LOG="$log_file"
}

wait_for_local_engine() {
  local deadline=$((SECONDS + READY_TIMEOUT_S)) version
  while [ "$SECONDS" -lt "$deadline" ]; do
    if version=$(engine_version_at "$LOCAL_ENDPOINT"); then
      echo "$version"
      return 0
    fi
    # A daemon that already exited (bad config, no privileges) will not answer however long we wait.
    if [ -n "$DOCKERD_PID" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null && ! dockerd_is_running; then
      echo "ensure-docker: dockerd exited during start-up" >&2
      return 1
    fi
    sleep "$READY_POLL_INTERVAL_S"
  done
  return 1
}

# Fast path: an engine already answers; no lock, no apt.
if running=$(find_running_engine); then
  install_registry_if_asked
  report_ready "${running#* }" "${running%% *}"
  exit 0
fi

if ! is_root || ! has_apt; then
  explain_unreachable_and_exit
fi

exec 9>"$LOCK_FILE"
flock -w "$LOCK_WAIT_S" "$LOCK_FD" || fail "waited ${LOCK_WAIT_S}s for $LOCK_FILE held by another ensure-docker run"

# Whoever held the lock before us may have just brought the engine up.
if running=$(find_running_engine); then
  install_registry_if_asked
  report_ready "${running#* }" "${running%% *}"
  exit 0
fi

if ! dockerd_path=$(find_dockerd) || ! command -v docker >/dev/null 2>&1; then
  apt_install docker.io
  dockerd_path=$(find_dockerd) || fail "docker.io is installed but dockerd is still not on PATH"
fi
install_registry_if_asked

DOCKERD_LOG=""
DOCKERD_PID=""
if dockerd_is_running; then
  echo "ensure-docker: dockerd is already running; waiting for it to answer" >&2
else
  start_dockerd "$dockerd_path"
fi

if ! version=$(wait_for_local_engine); then
  echo "ensure-docker: dockerd did not come up on $LOCAL_SOCKET (waited up to ${READY_TIMEOUT_S}s)" >&2
  if [ -n "$DOCKERD_LOG" ]; then
    echo "--- last lines of $DOCKERD_LOG ---" >&2
    tail -n 20 "$DOCKERD_LOG" >&2 || true
  fi
  exit 1
fi
report_ready "$version" "$LOCAL_ENDPOINT"
