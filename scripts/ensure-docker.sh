#!/usr/bin/env bash
# Makes sure a Docker engine answers, starting (and on Debian/Ubuntu as root, installing) one if needed.
# Prints one line on success: `docker: engine <version> ready (<endpoint>)`; the endpoint is what clients
# (docker CLI, dockerode) should use as DOCKER_HOST. Exits 1 with a how-to-fix message otherwise.
#
# Options:
#   --with-registry   also install Debian's docker-registry package (a local registry for pull tests)
#
# Engines are tried in this order, and the first that answers is used (the docker CLI's own order, then the
# places an engine it would not pick up may listen): DOCKER_HOST; the current docker context's endpoint; the local
# socket; the rootless sockets; every unix socket of a running dockerd (its -H/--host flags, or the `hosts` of
# its daemon.json). A dockerd that is starting on the local socket is waited for; otherwise, as root with apt,
# the script starts its own on the local socket.
#
# Environment:
#   DOCKER_HOST                    an existing engine to use first
#   BERTH_DOCKERD_LOG              where a dockerd started by this script logs (default /var/log/berth-dockerd.log)
#   BERTH_DOCKER_READY_TIMEOUT_S   how long to wait for a started dockerd to answer (default 30)
#   BERTH_DOCKER_LOCAL_SOCKET      the local socket (default /var/run/docker.sock); a dockerd this script starts
#                                  listens there
#   BERTH_DOCKER_ROOTLESS_SOCKETS  colon-separated rootless sockets (default $XDG_RUNTIME_DIR/docker.sock and
#                                  /run/user/$UID/docker.sock; empty: none)
set -euo pipefail

readonly DEFAULT_LOCAL_SOCKET=/var/run/docker.sock
# Overridable so a test can hide the machine's engine from this script without stopping it for everyone else.
readonly LOCAL_SOCKET="${BERTH_DOCKER_LOCAL_SOCKET:-$DEFAULT_LOCAL_SOCKET}"
readonly LOCAL_ENDPOINT="unix://$LOCAL_SOCKET"
# Where rootless Docker listens; `-` rather than `:-`, so an empty value means "none" (tests set it so).
readonly ROOTLESS_SOCKETS="${BERTH_DOCKER_ROOTLESS_SOCKETS-${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/docker.sock:}/run/user/$UID/docker.sock}"
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
  DOCKER_HOST="$1" timeout "$PROBE_TIMEOUT_S" docker version --format '{{.Server.Version}}' 2>/dev/null </dev/null
}

# Symlinks resolved (/var/run is usually /run), so one socket named two ways is recognised as one.
canonical_socket() { readlink -m "$1" 2>/dev/null || echo "$1"; }

# Prints `<name> <endpoint>` of the current docker context, unless that is the default context, whose endpoint is
# DOCKER_HOST or the local socket, both tried on their own.
current_context_endpoint() {
  command -v docker >/dev/null 2>&1 || return 1
  # Reading the config first keeps the common case (no context chosen) free of one more CLI start.
  if [ -z "${DOCKER_CONTEXT:-}" ] && ! grep -qs '"currentContext"' "${DOCKER_CONFIG:-${HOME:-/root}/.docker}/config.json"; then
    return 1
  fi
  local line
  # Without DOCKER_HOST, which overrides any context, this is the context the CLI would use. Its endpoint is probed
  # as a DOCKER_HOST value, since that is all the tests' dockerode reads: a context that needs the TLS material in
  # the context store does not answer that way, and is passed over.
  line=$(env -u DOCKER_HOST timeout "$PROBE_TIMEOUT_S" docker context inspect \
    --format '{{.Name}} {{.Endpoints.docker.Host}}' 2>/dev/null </dev/null) || return 1
  [ "${line%% *}" != default ] && [ -n "${line#* }" ] || return 1
  echo "$line"
}

# Prints `<pid><TAB>unix://<socket>` for every unix socket a running dockerd listens on: its -H/--host flags, else
# the `hosts` of its daemon.json, else its default (the local socket for root, /run/user/<uid>/docker.sock for a
# rootless engine). fd:// (systemd socket activation) is the local socket. TCP hosts are left out: binding to
# 0.0.0.0 says nothing about the address a client should dial.
running_dockerd_endpoints() {
  local proc comm args hosts host config_file uid key value i
  for proc in /proc/[0-9]*; do
    # 2>/dev/null first: a process may exit between the glob and the read.
    read -r comm 2>/dev/null <"$proc/comm" || continue
    [ "$comm" = dockerd ] || continue
    mapfile -d '' -t args 2>/dev/null <"$proc/cmdline" || continue
    hosts=()
    config_file=/etc/docker/daemon.json
    for ((i = 1; i < ${#args[@]}; i++)); do
      case "${args[i]}" in
        -H | --host) hosts+=("${args[i + 1]:-}") && i=$((i + 1)) ;;
        -H=* | --host=*) hosts+=("${args[i]#*=}") ;;
        -H*) hosts+=("${args[i]#-H}") ;;
        --config-file) config_file=${args[i + 1]:-} && i=$((i + 1)) ;;
        --config-file=*) config_file=${args[i]#*=} ;;
      esac
    done
    # dockerd refuses hosts in both places, so the file matters only when the flags name none.
    if [ "${#hosts[@]}" -eq 0 ] && [ -r "$config_file" ]; then
      mapfile -t hosts < <(grep -o '"unix://[^"]*"' "$config_file" 2>/dev/null | tr -d '"')
    fi
    [ "${#hosts[@]}" -gt 0 ] || hosts=("unix://")
    uid=0
    while read -r key value _; do
      [ "$key" = Uid: ] && uid=$value && break
    done 2>/dev/null <"$proc/status" || true
    for host in "${hosts[@]}"; do
      case "$host" in
        unix:// | fd://*)
          if [ "$uid" = 0 ]; then host=$LOCAL_ENDPOINT; else host="unix:///run/user/$uid/docker.sock"; fi
          ;;
        unix://*) ;;
        *) continue ;;
      esac
      printf '%s\t%s\n' "${proc#/proc/}" "$host"
    done
  done
}

# Prints the pid of a running dockerd that listens (or is about to) on the local socket.
dockerd_serving_local_socket() {
  local pid endpoint local_socket
  local_socket=$(canonical_socket "$LOCAL_SOCKET")
  while IFS=$'\t' read -r pid endpoint; do
    if [ "$(canonical_socket "${endpoint#unix://}")" = "$local_socket" ]; then
      echo "$pid"
      return 0
    fi
  done < <(running_dockerd_endpoints)
  return 1
}

PROBED_ENDPOINTS=()
FOUND_ENDPOINT=""
FOUND_VERSION=""
FOUND_SOURCE=""

# Uses the engine at the endpoint if it answers; each endpoint is probed once per search.
try_engine() {
  local endpoint="$1" source="$2" probed version
  [ -n "$endpoint" ] || return 1
  for probed in "${PROBED_ENDPOINTS[@]}"; do
    [ "$probed" != "$endpoint" ] || return 1
  done
  PROBED_ENDPOINTS+=("$endpoint")
  # A missing socket fails fast here instead of costing a CLI start.
  if [[ "$endpoint" == unix://* ]] && ! [ -S "${endpoint#unix://}" ]; then
    return 1
  fi
  version=$(engine_version_at "$endpoint") || return 1
  FOUND_ENDPOINT=$endpoint
  FOUND_VERSION=$version
  FOUND_SOURCE=$source
}

# Finds the first engine that answers, in the order the header describes; the slower probes (the context CLI call,
# the process scan) run only when the usual places are empty.
find_running_engine() {
  PROBED_ENDPOINTS=()
  local context socket sockets pid endpoint
  if [ -n "${DOCKER_HOST:-}" ] && try_engine "$DOCKER_HOST" "DOCKER_HOST"; then return 0; fi
  if context=$(current_context_endpoint) && try_engine "${context#* }" "docker context '${context%% *}'"; then
    return 0
  fi
  if try_engine "$LOCAL_ENDPOINT" "the local socket"; then return 0; fi
  IFS=: read -r -a sockets <<<"$ROOTLESS_SOCKETS"
  for socket in "${sockets[@]}"; do
    if [ -n "$socket" ] && try_engine "unix://$socket" "the rootless socket"; then return 0; fi
  done
  while IFS=$'\t' read -r pid endpoint; do
    if try_engine "$endpoint" "the running dockerd (pid $pid)"; then return 0; fi
  done < <(running_dockerd_endpoints)
  return 1
}

report_ready() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$FOUND_ENDPOINT" ]; then
    echo "ensure-docker: DOCKER_HOST=$DOCKER_HOST does not answer; clients should use DOCKER_HOST=$FOUND_ENDPOINT" >&2
  fi
  # The usual two places need no explanation (a ready machine prints one line); anywhere else, say where it was found.
  case "$FOUND_SOURCE" in
    DOCKER_HOST | "the local socket") ;;
    *) echo "ensure-docker: using the engine of $FOUND_SOURCE" >&2 ;;
  esac
  echo "docker: engine $FOUND_VERSION ready ($FOUND_ENDPOINT)"
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
  local reasons=() pid endpoint
  if [ "${#PROBED_ENDPOINTS[@]}" -gt 0 ]; then
    reasons+=("none of these answers: ${PROBED_ENDPOINTS[*]}")
  fi
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
  while IFS=$'\t' read -r pid endpoint; do
    reasons+=("dockerd (pid $pid) is running, but $endpoint does not answer")
  done < <(running_dockerd_endpoints)
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

start_dockerd() {
  local dockerd_path="$1" log_file="${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}"
  # /var/log may be read-only in slim containers; the log must never land in the repository.
  if ! touch "$log_file" 2>/dev/null; then
    log_file=/tmp/berth-dockerd.log
  fi
  local args=()
  # dockerd's default is the default socket; a moved local socket is where this script waits for it.
  if [ "$LOCAL_SOCKET" != "$DEFAULT_LOCAL_SOCKET" ]; then
    args+=("--host=$LOCAL_ENDPOINT")
  fi
  echo "ensure-docker: starting dockerd on $LOCAL_SOCKET (log: $log_file)" >&2
  # setsid keeps the daemon out of this script's process group, so a Ctrl-C on a test run does not kill it.
  nohup setsid "$dockerd_path" "${args[@]}" >>"$log_file" 2>&1 </dev/null 9>&- &
  DOCKERD_PID=$!
  DOCKERD_LOG="$log_file"
}

# Waits for the engine on the local socket that the given dockerd is bringing up.
wait_for_local_engine() {
  local awaited_pid="$1" deadline=$((SECONDS + READY_TIMEOUT_S)) version
  while [ "$SECONDS" -lt "$deadline" ]; do
    if version=$(engine_version_at "$LOCAL_ENDPOINT"); then
      echo "$version"
      return 0
    fi
    # A daemon that already exited (bad config, no privileges) will not answer however long we wait, unless another
    # dockerd (say, one the package's init script launched) has taken the socket over meanwhile.
    if ! kill -0 "$awaited_pid" 2>/dev/null && ! dockerd_serving_local_socket >/dev/null; then
      echo "ensure-docker: dockerd exited during start-up" >&2
      return 1
    fi
    sleep "$READY_POLL_INTERVAL_S"
  done
  return 1
}

# Fast path: an engine already answers; no lock, no apt.
if find_running_engine; then
  install_registry_if_asked
  report_ready
  exit 0
fi

if ! is_root || ! has_apt; then
  explain_unreachable_and_exit
fi

exec 9>"$LOCK_FILE"
flock -w "$LOCK_WAIT_S" "$LOCK_FD" || fail "waited ${LOCK_WAIT_S}s for $LOCK_FILE held by another ensure-docker run"

# Whoever held the lock before us may have just brought the engine up.
if find_running_engine; then
  install_registry_if_asked
  report_ready
  exit 0
fi

if ! dockerd_path=$(find_dockerd) || ! command -v docker >/dev/null 2>&1; then
  apt_install docker.io
  dockerd_path=$(find_dockerd) || fail "docker.io is installed but dockerd is still not on PATH"
fi
install_registry_if_asked

DOCKERD_LOG=""
DOCKERD_PID=""
# Only a dockerd that is bringing up the local socket is worth waiting for; one that listens elsewhere and does not
# answer there (found above) would leave the local socket empty however long we waited.
if awaited_pid=$(dockerd_serving_local_socket); then
  echo "ensure-docker: dockerd (pid $awaited_pid) listens on $LOCAL_SOCKET but does not answer yet; waiting for it" >&2
else
  if others=$(running_dockerd_endpoints) && [ -n "$others" ]; then
    echo "ensure-docker: no running dockerd answers on its sockets ($(echo "$others" | cut -f2 | tr '\n' ' ' | sed 's/ $//'))" >&2
  fi
  start_dockerd "$dockerd_path"
  awaited_pid=$DOCKERD_PID
fi

if ! version=$(wait_for_local_engine "$awaited_pid"); then
  echo "ensure-docker: dockerd did not come up on $LOCAL_SOCKET (waited up to ${READY_TIMEOUT_S}s)" >&2
  if [ -n "$DOCKERD_LOG" ]; then
    echo "--- last lines of $DOCKERD_LOG ---" >&2
    tail -n 20 "$DOCKERD_LOG" >&2 || true
  fi
  exit 1
fi
FOUND_ENDPOINT=$LOCAL_ENDPOINT
FOUND_VERSION=$version
FOUND_SOURCE=${DOCKERD_PID:+"the dockerd this script started (pid $DOCKERD_PID)"}
FOUND_SOURCE=${FOUND_SOURCE:-"the local socket"}
report_ready
