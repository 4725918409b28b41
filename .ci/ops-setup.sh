#!/usr/bin/env bash
# Prepares this machine for the operations tests (tests/test_units.py, test_install.py,
# test_scripts_verify.py, test_e2e_nspawn.py). Idempotent and quick when nothing is missing.
#
#   bash .ci/ops-setup.sh              install missing Debian packages, then build (or reuse)
#                                      the cached Debian root for systemd-nspawn
#   bash .ci/ops-setup.sh --root-only  only the cached root (what the e2e test calls)
#
# The last line printed is the root's path. The root lives under /var/cache/ctvdb-nspawn/KEY,
# KEY being a hash of everything that goes into it, so changing the recipe builds a new one and
# older ones are removed.
set -euo pipefail

PACKAGES=(systemd passwd util-linux debootstrap debian-archive-keyring systemd-container)
SUITE=bookworm
MIRROR=${CTVDB_NSPAWN_MIRROR:-http://deb.debian.org/debian}
# What the container needs: systemd to boot, dbus for systemctl, python3 for the scripts and
# the venv uv builds (the venv's packages come from the host's uv cache, offline).
INCLUDE=systemd,systemd-sysv,dbus,python3,procps,iproute2
RECIPE_VERSION=1
CACHE=/var/cache/ctvdb-nspawn

log() { echo "ops-setup: $*" >&2; }

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "packages present: ${PACKAGES[*]}"
        return
    fi
    log "installing ${missing[*]}"
    # Other jobs on the machine may hold the dpkg lock for a while: wait for it, do not fail.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

prepare_root() {
    local arch key dir
    arch=$(dpkg --print-architecture)
    key=$(printf '%s\n' "$RECIPE_VERSION" "$SUITE" "$MIRROR" "$INCLUDE" "$arch" | sha256sum | cut -c1-16)
    dir=$CACHE/$key
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9  # one builder at a time; the others wait and reuse its root
    if [ ! -e "$dir/ready" ]; then
        log "building the nspawn root $dir (debootstrap $SUITE, about a minute)"
        rm -rf "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$dir/root.tmp" "$MIRROR" \
            >"$dir/debootstrap.log" 2>&1 || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
        # Boot faster and quieter: nothing in the tests needs these.
        for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
                    fstrim.timer console-getty.service getty@.service systemd-timesyncd.service; do
            ln -sf /dev/null "$dir/root.tmp/etc/systemd/system/$unit"
        done
        rm -rf "$dir/root.tmp/var/cache/apt/archives/"*.deb "$dir/root.tmp/var/lib/apt/lists/"*
        : >"$dir/root.tmp/etc/machine-id"
        mv "$dir/root.tmp" "$dir/root"
        touch "$dir/ready"
        for old in "$CACHE"/*/; do
            [ "${old%/}" = "$dir" ] || rm -rf "${old%/}"
        done
    fi
    flock -u 9
    echo "$dir/root"
}

if [ "$(id -u)" != 0 ]; then
    log "needs root (apt-get, debootstrap, /var/cache); the tests that need these skip without them"
    exit 1
fi

case "${1:-}" in
    --root-only) prepare_root ;;
    "") install_packages; prepare_root ;;
    *) echo "usage: $0 [--root-only]" >&2; exit 2 ;;
esac
