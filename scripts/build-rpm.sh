#!/usr/bin/env bash
# Build the clusterwatch RPM and SRPM (packaging/rpm/README.md says why this way).
#
#   scripts/build-rpm.sh            -> dist/rpm/RPMS/noarch/clusterwatch-*.noarch.rpm
#
# 1. sdist + wheel of this tree: `python -m build --no-isolation` (the venv's hatchling);
# 2. the wheels of [project.dependencies] and everything they need, pure-Python
#    (py3-none-any) only, so the RPM is noarch: `pip download`, kept in .cache/rpm/wheels;
#    without a package index it falls back to that cache (CW_RPM_OFFLINE=1 forces it);
# 3. rpmbuild -ba with packaging/rpm/clusterwatch.spec, cw_version written into the spec copy.
#
# Environment: PYTHON (default .venv/bin/python), RPMBUILD (default rpmbuild),
# CW_RPM_TOPDIR (default dist/rpm, emptied first), CW_RPM_CACHE (default .cache/rpm/wheels),
# CW_RPM_RELEASE (default 1), CW_PYTHON_VERSION (default 3.11: the target's interpreter),
# CW_RPM_OFFLINE=1, CW_RPM_CONSTRAINTS (a pip constraints file pinning the bundled versions).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
RPMBUILD=${RPMBUILD:-rpmbuild}
TOPDIR=${CW_RPM_TOPDIR:-$ROOT/dist/rpm}
CACHE=${CW_RPM_CACHE:-$ROOT/.cache/rpm/wheels}
RELEASE=${CW_RPM_RELEASE:-1}
TARGET_PY=${CW_PYTHON_VERSION:-3.11}
OFFLINE=${CW_RPM_OFFLINE:-0}
CONSTRAINTS=${CW_RPM_CONSTRAINTS:-}

log() { printf 'build-rpm: %s\n' "$*" >&2; }

started=$SECONDS
rm -rf "$TOPDIR"
mkdir -p "$TOPDIR"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,work/dist,work/vendor} "$CACHE"
TOPDIR=$(cd "$TOPDIR" && pwd)
WORK=$TOPDIR/work

# 1. sdist and wheel ---------------------------------------------------------------------
log "sdist + wheel of $ROOT"
"$PYTHON" -m build --sdist --wheel --no-isolation --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; exit 1; }
wheels=("$WORK"/dist/clusterwatch-*-py3-none-any.whl)
[ "${#wheels[@]}" -eq 1 ] || { log "expected one wheel, got: ${wheels[*]}"; exit 1; }
WHEEL=${wheels[0]}
VERSION=$(basename "$WHEEL" | sed -E 's/^clusterwatch-([^-]+)-.*/\1/')
SDIST=$WORK/dist/clusterwatch-$VERSION.tar.gz
[ -f "$SDIST" ] || { log "no sdist $SDIST"; exit 1; }
log "version $VERSION"

# 2. bundled dependencies ----------------------------------------------------------------
mapfile -t REQUIREMENTS < <("$PYTHON" - "$ROOT/pyproject.toml" <<'EOF'
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
EOF
)
VENDOR=$WORK/vendor/vendor
mkdir -p "$VENDOR"
download() {
    # pure-Python wheels for the target interpreter, whatever this machine is
    "$PYTHON" -m pip download --quiet --disable-pip-version-check \
        --only-binary :all: --implementation py --abi none --platform any \
        --python-version "$TARGET_PY" --find-links "$CACHE" \
        ${CONSTRAINTS:+--constraint "$CONSTRAINTS"} --dest "$VENDOR" "$@" "${REQUIREMENTS[@]}"
}
if [ "$OFFLINE" = 1 ]; then
    download --no-index
elif ! download 2>"$WORK/download.log"; then
    cat "$WORK/download.log" >&2
    log "no package index: using the wheels cached in $CACHE"
    rm -rf "$VENDOR" && mkdir -p "$VENDOR"
    download --no-index
fi
for wheel in "$VENDOR"/*.whl; do
    [ -e "$CACHE/${wheel##*/}" ] || cp "$wheel" "$CACHE/"
done

# name==version and licence of each bundled wheel (the spec makes Provides: bundled(...))
BUNDLED=$TOPDIR/SOURCES/clusterwatch-$VERSION-bundled.txt
"$PYTHON" - "$VENDOR" >"$BUNDLED" <<'EOF'
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

print("# Python libraries bundled in /opt/clusterwatch/lib: name==version  licence")
for wheel in sorted(Path(sys.argv[1]).glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        [meta] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        msg = HeaderParser().parsestr(z.read(meta).decode("utf-8"))
    licence = msg.get("License-Expression") or ""
    if not licence:
        licence = "; ".join(
            c.split(" :: ")[-1] for c in msg.get_all("Classifier") or [] if c.startswith("License ::")
        ) or (msg.get("License") or "see its dist-info").splitlines()[0]
    print(f"{msg['Name']}=={msg['Version']}  {licence}")
EOF

# 3. rpmbuild ------------------------------------------------------------------------------
cp "$SDIST" "$TOPDIR/SOURCES/"
cp "$WHEEL" "$TOPDIR/SOURCES/clusterwatch-$VERSION-py3-none-any.whl"
tar -C "$WORK/vendor" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -cf "$TOPDIR/SOURCES/clusterwatch-$VERSION-vendor.tar" vendor
SPEC=$TOPDIR/SPECS/clusterwatch.spec
{
    printf '%%global cw_version %s\n%%global cw_release %s\n' "$VERSION" "$RELEASE"
    if [ "$TARGET_PY" != 3.11 ]; then printf '%%global cw_python_version %s\n' "$TARGET_PY"; fi
    cat "$ROOT/packaging/rpm/clusterwatch.spec"
} >"$SPEC"

args=(--define "_topdir $TOPDIR")
# On a host whose rpm database does not hold the system (Debian's rpm, for the tests),
# BuildRequires cannot be checked: skip that check there, keep it on EL.
if ! rpm -q rpm >/dev/null 2>&1; then
    args+=(--nodeps)
    log "rpm database has no system packages: BuildRequires not checked (--nodeps)"
fi
log "rpmbuild -ba $SPEC"
"$RPMBUILD" -ba "${args[@]}" "$SPEC" >"$WORK/rpmbuild.log" 2>&1 \
    || { tail -n 60 "$WORK/rpmbuild.log" >&2; exit 1; }

for f in "$TOPDIR"/RPMS/noarch/*.rpm "$TOPDIR"/SRPMS/*.rpm; do
    log "$(du -h "$f" | cut -f1) $f"
done
log "done in $((SECONDS - started)) s"
