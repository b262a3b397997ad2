#!/usr/bin/env bash
# CI: build the container images on this machine (`make images`), for the in-image tests of
# tests/test_containers.py that `make test` runs next. IMAGE_TEST=1 also runs `make image-test`.
# This machine's facts live here, not in the Dockerfiles: podman with runc (crun refuses the mixed
# cgroup layout), no default ulimits (the runtime may not set RLIMIT_NOFILE), a Debian bookworm base
# made with debootstrap (no image registry is reachable), the machine's CA bundle for pip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/build/images            # this run's engine config, pip cache and base; wiped each run
base=localhost/cnn-nlp-base:bookworm
started=$SECONDS

step() { echo "== images: $* ($((SECONDS - started)) s)"; }

# Tools, installed when missing.
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install --yes -q --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin

rm -rf "$state"
mkdir -p "$state/pip-cache"
chmod 777 "$state/pip-cache"        # the images' set-up runs as their user, uid 1000
trap 'rm -rf "$state/rootfs"' EXIT

export CONTAINERS_CONF=$state/containers.conf
printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"

# pip inside the builds: this machine's CA bundle, one wheel cache shared by this run's builds.
ca=/etc/ssl/certs/ca-certificates.crt
printf '[global]\ncert = /run/ci/ca.crt\ncache-dir = /run/ci/pip-cache\ntimeout = 180\n' >"$state/pip.conf"
flags="--network host -v $ca:/run/ci/ca.crt:ro -v $state/pip.conf:/etc/pip.conf:ro -v $state/pip-cache:/run/ci/pip-cache"

# The base image, once per run: Debian bookworm from the archive this machine's apt uses.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
step "debootstrap bookworm"
timeout 600 debootstrap --variant=minbase bookworm "$state/rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 \
    || { tail -20 "$state/debootstrap.log"; exit 1; }
# The host's apt date checks, if it relaxes them, hold for the same archive inside.
apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$state/rootfs/etc/apt/apt.conf.d/99host" || true
rm -f "$state"/rootfs/var/cache/apt/archives/*.deb
podman rmi --ignore --force cnn-nlp-workshop cnn-nlp-serve "$base" >/dev/null
podman image prune --force >/dev/null     # the earlier runs' build layers, now untagged
tar -C "$state/rootfs" -c . | podman import - "$base" >/dev/null
rm -rf "$state/rootfs"

step "make images"
timeout 2700 make images ENGINE=podman ENGINE_FLAGS="$flags" BASE="$base"

# For the in-image tests (tests/test_containers.py): the engine and its config.
printf 'ENGINE=podman\nCONTAINERS_CONF=%s\n' "$CONTAINERS_CONF" >"$state/engine.env"

if [ "${IMAGE_TEST:-0}" = 1 ]; then
    step "make image-test"
    timeout 3600 make image-test ENGINE=podman ENGINE_FLAGS="$flags" BASE="$base"
fi
step "done"
