#!/usr/bin/env bash
# Install what the integration tests' real servers need (see tests/services/servers.py).
# Idempotent and quick when everything is there; `make services` runs it.
#
#   apt: influxdb victoria-metrics zookeeper haproxy nagios4-core rpm hyperfine icinga2-bin
#        monitoring-plugins-basic unzip   (apt-get update once, only when one is missing;
#        their services are not started: a policy-rc.d forbids it during the install)
#   Elasticsearch integ-test zip, through Maven, cached in .cache/es and unpacked once
#        into .cache/elasticsearch-$ES_VERSION
#   system user cwtest: Elasticsearch refuses root; Nagios runs as it too
#
# Needs root (or sudo), a JDK (java) and Maven (mvn) for the Elasticsearch download.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
ES_VERSION=8.19.3
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_ZIP="$CACHE/es/elasticsearch-$ES_VERSION.zip"
ES_HOME="$CACHE/elasticsearch-$ES_VERSION"
SERVICE_USER=cwtest
APT_PACKAGES=(influxdb victoria-metrics zookeeper haproxy nagios4-core rpm hyperfine
              monitoring-plugins-basic unzip icinga2-bin)

log() { echo "services: $*"; }
die() { echo "services: ERROR: $*" >&2; exit 1; }

# Run a command as root (through sudo when we are not root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) for: $*"
    fi
}

# --- apt packages --------------------------------------------------------------------
missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
for pkg in "${APT_PACKAGES[@]}"; do
    grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    # Package scripts must not start influxdb/victoria-metrics/nagios/haproxy services:
    # they would listen on all interfaces. policy-rc.d exit 101 = "action forbidden".
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        created_policy=1
    fi
    cleanup_policy() { if [ "$created_policy" = 1 ]; then as_root rm -f "$policy"; fi; }
    trap cleanup_policy EXIT
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
    cleanup_policy
    trap - EXIT
fi

# --- Elasticsearch integ-test zip ------------------------------------------------------
if [ ! -x "$ES_HOME/bin/elasticsearch" ]; then
    if [ ! -s "$ES_ZIP" ]; then
        command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch $ES_ARTIFACT"
        log "fetching Elasticsearch $ES_VERSION (integ-test zip) with Maven"
        mkdir -p "$CACHE/es"
        (cd "$ROOT" && mvn -q -B dependency:copy "-Dartifact=$ES_ARTIFACT" \
            "-DoutputDirectory=$CACHE/es" "-Dmaven.repo.local=$CACHE/m2")
        [ -s "$ES_ZIP" ] || die "Maven finished but $ES_ZIP is missing"
    fi
    log "unpacking $ES_ZIP"
    rm -rf "$ES_HOME" "$CACHE/elasticsearch-$ES_VERSION.partial"
    mkdir -p "$CACHE/elasticsearch-$ES_VERSION.partial"
    unzip -q "$ES_ZIP" -d "$CACHE/elasticsearch-$ES_VERSION.partial"
    mv "$CACHE/elasticsearch-$ES_VERSION.partial/elasticsearch-$ES_VERSION" "$ES_HOME"
    rmdir "$CACHE/elasticsearch-$ES_VERSION.partial"
fi

# --- the non-root user for Elasticsearch and Nagios -------------------------------------
if ! getent passwd "$SERVICE_USER" >/dev/null; then
    log "creating system user $SERVICE_USER"
    as_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$SERVICE_USER"
fi

# The service user must be able to reach the Elasticsearch files (and plugins in .venv).
dir="$ES_HOME"
while [ "$dir" != "/" ]; do
    mode=$(stat -c %a "$dir")
    if [ $(( 8#$mode & 1 )) -eq 0 ]; then
        log "WARNING: $dir (mode $mode) is not searchable by $SERVICE_USER;" \
            "Elasticsearch and Nagios tests will fail: chmod o+x it or move the checkout"
        break
    fi
    dir=$(dirname "$dir")
done

for tool in java haproxy influxd victoria-metrics nagios4 rpmbuild; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool still missing"
done
log "ready"
