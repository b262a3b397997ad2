#!/usr/bin/env bash
# CI: build the container images on this machine (`make images`), for the in-image tests of
# tests/test_containers.py that `make test` runs next. IMAGE_TEST=1 also runs `make image-test`.
# This machine's facts live here, not in the Dockerfiles: podman with runc (crun refuses the mixed
# cgroup layout), no default ulimits (the runtime may not set RLIMIT_NOFILE), Debian bookworm bases
# made with debootstrap (no image registry is reachable), the machine's CA bundle for pip.
#   CI_PLATFORMS   the platforms to build (default linux/amd64,linux/arm64): arm64 is built and run
#                  under qemu's user-mode emulation (qemu-user-static + binfmt_misc), installed when missing
# Kept between runs on the same machine (CACHE, default /var/cache/cnn-nlp-workshop): the base image of
# each platform (rebuilt when older than BASE_DAYS, default 7), pip's wheel cache, and podman's layers,
# so a run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/build/images            # this run's engine config; wiped each run
cache=${CACHE:-/var/cache/cnn-nlp-workshop}
platforms=${CI_PLATFORMS:-linux/amd64,linux/arm64}
base_days=${BASE_DAYS:-7}
base=localhost/cnn-nlp-base:bookworm
started=$SECONDS

step() { echo "== images: $* ($((SECONDS - started)) s)"; }

# Tools, installed when missing.
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [[ $platforms == *arm64* ]]; then
    [ -e /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
    command -v update-binfmts >/dev/null || [ -x /usr/sbin/update-binfmts ] || missing+=(binfmt-support)
fi
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install --yes -q --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin
if [[ $platforms == *arm64* ]] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64
fi

rm -rf "$state"
mkdir -p "$state" "$cache/pip"
chmod 777 "$cache/pip"              # the images' set-up runs as their user, uid 1000
trap 'rm -rf "$state"/rootfs-*' EXIT

export CONTAINERS_CONF=$state/containers.conf
printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"

# pip inside the builds: this machine's CA bundle, one wheel cache kept between runs.
ca=/etc/ssl/certs/ca-certificates.crt
printf '[global]\ncert = /run/ci/ca.crt\ncache-dir = /run/ci/pip-cache\ntimeout = 180\n' >"$state/pip.conf"
flags="--network host -v $ca:/run/ci/ca.crt:ro -v $state/pip.conf:/etc/pip.conf:ro -v $cache/pip:/run/ci/pip-cache"

# One base image per platform, Debian bookworm from the archive this machine's apt uses, made again
# only when missing or older than $base_days days; $base is the manifest list of them.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
podman manifest rm "$base" >/dev/null 2>&1 || podman rmi --ignore --no-prune "$base" >/dev/null
podman manifest create "$base" >/dev/null
for platform in ${platforms//,/ }; do
    arch=${platform#linux/}
    image=$base-$arch
    created=$(podman image inspect --format '{{.Created.Unix}}' "$image" 2>/dev/null || echo 0)
    if [ $(( $(date +%s) - created )) -gt $(( base_days * 86400 )) ]; then
        step "debootstrap bookworm for $arch"
        rootfs=$state/rootfs-$arch
        timeout 900 debootstrap --arch="$arch" --variant=minbase bookworm "$rootfs" "$mirror" \
            >"$state/debootstrap-$arch.log" 2>&1 || { tail -20 "$state/debootstrap-$arch.log"; exit 1; }
        # The host's apt date checks, if it relaxes them, hold for the same archive inside.
        apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$rootfs/etc/apt/apt.conf.d/99host" || true
        rm -f "$rootfs"/var/cache/apt/archives/*.deb
        tar -C "$rootfs" -c . | podman import --arch "$arch" - "$image" >/dev/null
        rm -rf "$rootfs"
    else
        step "base for $arch kept from an earlier run"
    fi
    podman manifest add "$base" "containers-storage:$image" >/dev/null
done

step "make images PLATFORMS=$platforms"
timeout 3000 make images ENGINE=podman ENGINE_FLAGS="$flags" BASE="$base" PLATFORMS="$platforms"
# Layers no image uses any more, from runs more than a day ago.
podman image prune --force --filter until=24h >/dev/null || true

# For the in-image tests (tests/test_containers.py): the engine, its config and the platforms built.
printf 'ENGINE=podman\nCONTAINERS_CONF=%s\nPLATFORMS=%s\n' "$CONTAINERS_CONF" "$platforms" >"$state/engine.env"

if [ "${IMAGE_TEST:-0}" = 1 ]; then
    step "make image-test"
    timeout 3600 make image-test ENGINE=podman ENGINE_FLAGS="$flags" BASE="$base"
fi
step "done"
