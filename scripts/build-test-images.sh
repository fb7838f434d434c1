#!/usr/bin/env bash
# Builds the images the tests and `npm start` run, locally, because no image registry is reachable:
#   berth-test/busybox:latest and berth-test/busybox:1 — a static busybox with every applet linked.
# Skips in well under a second when the images already carry the current recipe hash (label berth.recipe):
# the hash covers this script and the busybox binary, so editing either rebuilds.
#
# Environment:
#   BERTH_BUSYBOX   the static busybox to package (default /bin/busybox, from Debian's busybox-static)
set -euo pipefail

readonly IMAGE_REPO=berth-test/busybox
readonly IMAGE_TAGS=(latest 1)
readonly RECIPE_LABEL=berth.recipe
readonly BUSYBOX_PATH="${BERTH_BUSYBOX:-/bin/busybox}"
readonly LOCK_FILE=/tmp/berth-build-test-images.lock
readonly LOCK_WAIT_S=600

fail() {
  echo "build-test-images: $*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || fail "the docker CLI is missing; run scripts/ensure-docker.sh first"

# A dynamically linked busybox would need the host's libc inside an image that has none.
is_static_busybox() {
  [ -x "$BUSYBOX_PATH" ] && ! ldd "$BUSYBOX_PATH" >/dev/null 2>&1
}

ensure_static_busybox() {
  is_static_busybox && return 0
  if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ -n "${BERTH_BUSYBOX:-}" ]; then
    fail "$BUSYBOX_PATH is missing or not statically linked; install it (Debian/Ubuntu: apt-get install busybox-static)"
  fi
  echo "build-test-images: installing busybox-static with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null 9>&- || fail "apt-get update failed"
  apt-get -qq -y -o DPkg::Lock::Timeout=300 install --no-install-recommends busybox-static >/dev/null 9>&- ||
    fail "apt-get install busybox-static failed; run it by hand to see why"
  is_static_busybox || fail "busybox-static is installed but $BUSYBOX_PATH is still not a static busybox"
}

recipe_hash() {
  cat "${BASH_SOURCE[0]}" "$BUSYBOX_PATH" | sha256sum | cut -c1-16
}

# True when every tag exists and was built from this recipe.
images_are_current() {
  local wanted="$1" tag found
  for tag in "${IMAGE_TAGS[@]}"; do
    found=$(docker image inspect --format "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$IMAGE_REPO:$tag" 2>/dev/null) ||
      return 1
    [ "$found" = "$wanted" ] || return 1
  done
}

# Lays out a root filesystem: busybox, each applet in /bin (where the official busybox image keeps them, so
# task definitions written for it work) and also at its usual path (so `#!/usr/bin/env sh` works), plus the
# few files `id`, `whoami` and programs writing temp files expect.
write_rootfs() {
  local root="$1" applet_path
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www}
  chmod 1777 "$root/tmp"
  chmod 700 "$root/root"
  cp "$BUSYBOX_PATH" "$root/bin/busybox"
  while IFS= read -r applet_path; do
    # Some builds list busybox itself; linking it would replace the binary with a symlink to itself.
    case "${applet_path##*/}" in '' | busybox) continue ;; esac
    ln -sf /bin/busybox "$root/bin/${applet_path##*/}"
    case "$applet_path" in
      */*) [ -e "$root/$applet_path" ] || ln -s /bin/busybox "$root/$applet_path" ;;
    esac
  done < <("$BUSYBOX_PATH" --list-full 2>/dev/null || "$BUSYBOX_PATH" --list)
  [ -e "$root/bin/sh" ] || fail "$BUSYBOX_PATH has no sh applet"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
}

build_images() {
  local recipe="$1" work_dir previous_id new_id tag
  work_dir=$(mktemp -d /tmp/berth-test-image.XXXXXX)
  # shellcheck disable=SC2064 # expand now: work_dir is local
  trap "rm -rf '$work_dir'" EXIT
  write_rootfs "$work_dir/rootfs"
  previous_id=$(docker image inspect --format '{{.Id}}' "$IMAGE_REPO:${IMAGE_TAGS[0]}" 2>/dev/null || true)
  new_id=$(
    tar -C "$work_dir/rootfs" --numeric-owner --owner=0 --group=0 -c . |
      docker import \
        --change 'CMD ["sh"]' \
        --change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' \
        --change "LABEL $RECIPE_LABEL=$recipe" \
        --message "berth test image, recipe $recipe" \
        -
  ) || fail "docker import failed"
  # Tag only an image that runs: a broken image carrying the current recipe label would never be rebuilt.
  if [ "$(docker run --rm --network none "$new_id" sh -c 'echo ok')" != ok ]; then
    docker image rm "$new_id" >/dev/null 2>&1 || true
    fail "the freshly built image does not run 'sh -c \"echo ok\"'"
  fi
  for tag in "${IMAGE_TAGS[@]}"; do
    docker tag "$new_id" "$IMAGE_REPO:$tag"
  done
  # The superseded image is now untagged; drop it unless a container still uses it.
  if [ -n "$previous_id" ] && [ "$previous_id" != "$new_id" ]; then
    docker image rm "$previous_id" >/dev/null 2>&1 || true
  fi
}

ensure_static_busybox
recipe=$(recipe_hash)
tag_list="$IMAGE_REPO:${IMAGE_TAGS[0]}$(printf ', :%s' "${IMAGE_TAGS[@]:1}")"

if images_are_current "$recipe"; then
  echo "test images: $tag_list up to date (recipe $recipe)"
  exit 0
fi

exec 9>"$LOCK_FILE"
flock -w "$LOCK_WAIT_S" 9 || fail "waited ${LOCK_WAIT_S}s for $LOCK_FILE held by another build"
# A concurrent run may have finished the build while we waited.
if images_are_current "$recipe"; then
  echo "test images: $tag_list up to date (recipe $recipe)"
  exit 0
fi
build_images "$recipe"
echo "test images: $tag_list built (recipe $recipe)"
