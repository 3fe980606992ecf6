#!/usr/bin/env bash
# Run nmfkit's kernel tests and end-to-end fits under AddressSanitizer + UndefinedBehaviorSanitizer
# (and, on request, valgrind), from a throw-away build of this checkout.
#
#   bash ci/sanitize.sh                              # ASan + UBSan (1-2 minutes on 2 cores)
#   NMFKIT_VALGRIND=1 bash ci/sanitize.sh            # + valgrind memcheck of small fits (+2 min)
#   NMFKIT_SANITIZE_SELFTEST=1 bash ci/sanitize.sh   # + prove that injected bugs are caught (+2 min)
#
# Not run by CI by default. Needs only Python (>= 3.10, with venv), pip, gcc and git, plus
# PyPI: the build and test tools go into a venv in a temporary directory. Valgrind (Debian:
# apt-get install valgrind) only for NMFKIT_VALGRIND=1. Nothing in the checkout is touched.
#
# Steps, each timed:
#   1. venv        venv with meson-python, meson, ninja, Cython, numpy, scipy, threadpoolctl,
#                  pytest, hypothesis, scikit-learn (the build requirements + the test extra)
#   2. snapshot    copy of the work tree (tracked + untracked, minus .gitignore'd files), so
#                  that the build and the tests see one consistent state of the files
#   3. build-asan  `pip install --no-build-isolation --target DIR` of the snapshot with
#                  meson setup-args -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
#                  and c_args -fno-omit-frame-pointer -fno-sanitize-recover=all, in its own
#                  build dir (see "Why this build" below); checks that every kernel module
#                  carries ASan instrumentation
#   4. asan-tests  pytest the kernel tests (tests/test_kernels_*.py) with the sanitizer runtimes preloaded
#   5. asan-e2e    ci/sanitize_tests.py: ~400 small fits + transforms (dense C/F-ordered and
#                  CSR, Frobenius mu/amu/hals and KL mu/amu, float32/64, awkward shapes, 1-3
#                  OpenMP threads; once as users run them, once with every kernel call forced
#                  onto all threads) with the runtimes preloaded
#   NMFKIT_VALGRIND=1:
#   6. build-plain the same build without sanitizers (valgrind and ASan do not mix)
#   7. valgrind    ci/sanitize_tests.py --quick (27 small fits, every kernel call on all
#                  threads) under valgrind memcheck
#   NMFKIT_SANITIZE_SELFTEST=1 (the sanitizers must catch bugs put in on purpose):
#   8. selftest-build  a copy of the snapshot with two bugs injected into the kernels:
#                  _sparse.stored_terms writes partials[ch + 1] (an off-by-one heap write from
#                  the OpenMP loop) and _steps.mu_div_step adds k to INT_MAX (signed overflow);
#                  built as in step 3 (and as in step 6 with NMFKIT_VALGRIND=1)
#   9. selftest    each bug must be reported (heap-buffer-overflow by ASan, signed integer
#                  overflow by UBSan, Invalid write by valgrind) and must fail its run
#
# How a sanitized run is judged. The kernels are instrumented, the interpreter and numpy are
# not, so the sanitizer runtimes are preloaded into python (LD_PRELOAD=libasan.so libubsan.so
# of the same gcc; libasan must come first). Options:
#   ASAN_OPTIONS  detect_leaks=0 (CPython keeps much of its memory until exit: LeakSanitizer
#                 reports would be noise), halt_on_error=1, abort_on_error=0, exitcode=86,
#                 allocator_may_return_null=1 (a huge allocation raises MemoryError as without
#                 ASan), log_path=<reports>/asan
#   UBSAN_OPTIONS halt_on_error=1, print_stacktrace=1, exitcode=87
#   PYTHONMALLOC=malloc  Python objects come from malloc, not pymalloc arenas, so ASan sees
#                 their bounds too.
# The first report stops the process. ASan's go to files <reports>/asan.<pid>; UBSan's to the
# run's stderr (gcc's libubsan ignores log_path next to libasan), which the script keeps and
# reads ("FILE:LINE:COL: runtime error: ..."). A run fails if the process itself left a report
# or exited non-zero (a test failure). Reports of child processes that a test started itself
# (a test that runs a crash in a subprocess) are printed and listed too, but do not fail the
# run by themselves: such a test fails anyway if its child was meant to succeed.
#
# Valgrind. PYTHONMALLOC=malloc, --leak-check=no (as detect_leaks=0), OMP_NUM_THREADS=2, and a
# suppression file written by this script (valgrind-python.supp in the temp dir) with two
# kinds of entries, each matched on the innermost frame only:
#   - uninitialised-value errors (Memcheck:Cond, Value1/4/8) whose innermost frame is the
#     Python interpreter itself (libpython3*.so or a statically linked bin/python3*): for an
#     int equal to 0, CPython 3.11's maybe_small_long (via int.from_bytes at start-up) reads
#     its never-written digit (multiplied by the size, 0), so the cached small int 0 gets
#     "undefined" pointer bits that valgrind follows through the whole interpreter (~5000
#     reports from ~60 places in a plain `import nmfkit` plus a fit, none real);
#   - Memcheck:Addr8 inside the dynamic loader (ld-linux*.so: word-wise strncmp in is_dst).
# Nothing in numpy, scipy, OpenBLAS, libgomp or nmfkit is suppressed: an invalid read or write
# anywhere, and an uninitialised value first branched on outside the interpreter (e.g. by
# numpy's isfinite on a factor a kernel left unwritten), still fail the run. The one blind
# spot: an uninitialised value that the interpreter itself is the first to branch on.
#
# Why this build. pip with --no-build-isolation builds against the venv's numpy/scipy/Cython
# and accepts meson-python's config settings; -Cbuild-dir keeps the meson build out of the
# checkout; --target installs next to, not into, the venv, so several builds (sanitized,
# plain, self-test) share one venv and each run picks one through PYTHONPATH. meson's
# b_sanitize adds -fsanitize=address,undefined to compiling and linking every kernel.
# debugoptimized (-O2 -g) keeps the code close to the release build (-O3) and gives reports
# with line numbers; CYTHON="cython --line-directives" (meson reads the Cython compiler and its
# arguments from $CYTHON; a -Dcython_args setup option is accepted but not applied) makes
# those lines the .pyx ones (nmfkit/kernels/sparse.pyx:N in a report is line N of
# src/nmfkit/kernels/sparse.pyx). -fno-sanitize-recover=all makes every UBSan check fatal.
#
# Environment:
#   NMFKIT_SANITIZE_TESTS     pytest paths, relative to the checkout (default:
#                             tests/test_kernels_*.py)
#   NMFKIT_PYTEST_ARGS        extra pytest arguments (default: -q)
#   NMFKIT_VALGRIND=1         also steps 6-7
#   NMFKIT_VALGRIND_ARGS      extra valgrind arguments (e.g. --track-origins=yes)
#   NMFKIT_SANITIZE_SELFTEST=1  also steps 8-9
#   NMFKIT_SANITIZE_JOBS      parallel compile jobs (default: 2)
#   NMFKIT_KEEP_TMP=1         keep the temporary directory (builds, logs, reports)
#   OMP_NUM_THREADS           OpenMP threads of the runs (default: 2)
#   OMP_WAIT_POLICY           default: passive (see below)
#   PYTHON                    interpreter for the venv (default: python3)
#   CC                        C compiler (default: gcc; its libasan/libubsan are preloaded)
# Exit status: 0 when every step passed; non-zero at a failed build at once, or at the end
# after all runs when a run left a sanitizer report or failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PYTHON=${PYTHON:-python3}
export CC=${CC:-gcc}
TESTS=${NMFKIT_SANITIZE_TESTS:-tests/test_kernels_dense.py tests/test_kernels_sparse.py tests/test_kernels_steps.py}
PYTEST_ARGS=${NMFKIT_PYTEST_ARGS:--q}
VALGRIND=${NMFKIT_VALGRIND:-0}
VALGRIND_ARGS=${NMFKIT_VALGRIND_ARGS:-}
SELFTEST=${NMFKIT_SANITIZE_SELFTEST:-0}
JOBS=${NMFKIT_SANITIZE_JOBS:-2}
KEEP=${NMFKIT_KEEP_TMP:-0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
# Idle OpenMP threads sleep instead of spinning: the fits start thousands of tiny parallel
# regions, and spinning threads on a shared or small machine made them 15x slower. Only how
# threads wait changes, not which code runs.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PIP_USER LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS || true
export PYTHONNOUSERSITE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nmfkit-sanitize.XXXXXX")
TMP=$(cd "$TMP" && pwd -P)
case "$TMP/" in
    "$ROOT"/*) echo "error: the temporary directory $TMP lies inside the checkout $ROOT" >&2; exit 2 ;;
esac

# shellcheck source=ci/steps.sh
source "$ROOT/ci/steps.sh"
FAILURES=()        # one line per failed run
FINDINGS=()        # one line per sanitizer report (any process)

on_exit() {
    local rc=$?
    local failed=$CURRENT
    finish_step
    printf '\n==== summary ====\n'
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-15s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_TIMES[$i]}"
    done
    if [[ "$KEEP" == 1 ]]; then
        echo "  kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    printf '  %-15s %5ss\n' "total" "$(( $(date +%s) - T_START ))"
    if [[ ${#FINDINGS[@]} -gt 0 ]]; then
        echo "sanitizer reports:"
        printf '  %s\n' "${FINDINGS[@]}"
    else
        echo "sanitizer reports: none"
    fi
    if [[ ${#FAILURES[@]} -gt 0 ]]; then
        echo "failed runs:"
        printf '  %s\n' "${FAILURES[@]}"
    fi
    if [[ $rc -eq 0 ]]; then
        echo "sanitize.sh: OK"
    else
        echo "sanitize.sh: FAILED${failed:+ in step [$failed]} (exit $rc)" >&2
    fi
    exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

die() { echo "error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Checks before anything slow happens.
command -v git >/dev/null || die "git is needed (to list the checkout's files)"
command -v "$CC" >/dev/null || die "no C compiler '$CC'"
SAN_LIBS=()
for lib in libasan.so libubsan.so; do
    path=$("$CC" -print-file-name="$lib")
    [[ "$path" == /* && -e "$path" ]] || die "$CC has no $lib (Debian: it comes with gcc)"
    SAN_LIBS+=("$path")
done
SAN_PRELOAD="${SAN_LIBS[*]}"  # libasan first: ASan insists on being the first DSO loaded
if [[ "$VALGRIND" == 1 ]]; then
    command -v valgrind >/dev/null || die "NMFKIT_VALGRIND=1 needs valgrind (apt-get install valgrind)"
fi
TEST_PATHS=()
for t in $TESTS; do
    [[ -e "$ROOT/${t%%::*}" ]] || die "NMFKIT_SANITIZE_TESTS: no such test path: $t"
    TEST_PATHS+=("$t")
done
[[ ${#TEST_PATHS[@]} -gt 0 ]] || die "no test paths given"

echo "checkout: $ROOT"
echo "temp dir: $TMP"
echo "python:   $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
echo "compiler: $CC ($("$CC" -dumpfullversion 2>/dev/null || "$CC" -dumpversion))"
echo "preload:  $SAN_PRELOAD"
echo "tests:    ${TEST_PATHS[*]}; OMP_NUM_THREADS=$OMP_NUM_THREADS" \
     "OMP_WAIT_POLICY=$OMP_WAIT_POLICY;" \
     "valgrind: $VALGRIND; self-test: $SELFTEST"

# ---------------------------------------------------------------------------------------------
step venv "venv with the build requirements and the test tools"
"$PYTHON" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
# The [build-system] requirements of pyproject.toml, ninja, and the [test] extra (with it,
# nmfkit's estimator takes scikit-learn's base classes, as in CI).
"$VPY" -m pip install -q "meson-python>=0.15" "meson>=1.1" ninja "Cython>=3.0.10" \
    "scipy>=1.10" "numpy>=1.23" "threadpoolctl>=3.1" "pytest>=7" "hypothesis>=6" \
    "scikit-learn>=1.2"
"$VPY" -m pip list 2>/dev/null \
    | grep -iE '^(meson|meson-python|ninja|cython|numpy|scipy|threadpoolctl|pytest|scikit-learn) '

# ---------------------------------------------------------------------------------------------
step snapshot "copy of the checkout's files"
SRC="$TMP/src"
mkdir -p "$SRC"
copy_worktree "$VPY" "$ROOT" "$SRC"
echo "snapshot of $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "+ $(git -C "$ROOT" --no-optional-locks status --porcelain | wc -l | tr -d ' ') uncommitted path(s)"
[[ -f "$SRC/ci/sanitize_tests.py" ]] || die "ci/sanitize_tests.py is missing from the checkout"

# build_nmfkit KIND SRC_DIR NAME: build SRC_DIR (KIND asan or plain) into $TMP/inst/NAME, with
# the meson build dir $TMP/build/NAME and the log $TMP/logs/build-NAME.log.
build_nmfkit() {
    local kind=$1 src=$2 name=$3
    local log="$TMP/logs/build-$name.log"
    local args=(--no-build-isolation --no-deps --target "$TMP/inst/$name"
                "-Cbuild-dir=$TMP/build/$name" "-Ccompile-args=-j$JOBS"
                -Csetup-args=-Dbuildtype=debugoptimized)
    if [[ "$kind" == asan ]]; then
        args+=("-Csetup-args=-Db_sanitize=address,undefined"
               "-Csetup-args=-Dc_args=-fno-omit-frame-pointer -fno-sanitize-recover=all")
    else
        args+=("-Csetup-args=-Dc_args=-fno-omit-frame-pointer")
    fi
    mkdir -p "$TMP/logs" "$TMP/build"
    if ! CYTHON="$TMP/venv/bin/cython --line-directives" \
            "$VPY" -m pip install -v "${args[@]}" "$src" > "$log" 2>&1; then
        tail -n 60 "$log"
        die "the $name build failed (log above)"
    fi
    grep -E 'b_sanitize|buildtype|Run-time dependency OpenMP|Cython compiler for' "$log" \
        | sed 's/^ */  /' | sort -u
    echo "  compiler warnings: $(grep -c 'warning:' "$log" || true) (log: $log)"
    local so n=0
    for so in "$TMP/inst/$name"/nmfkit/kernels/*.so; do
        n=$((n + 1))
        if grep -qa '__asan_report_' "$so"; then
            [[ "$kind" == asan ]] || die "$so is ASan-instrumented in a plain build"
        else
            [[ "$kind" != asan ]] || die "$so carries no ASan instrumentation"
        fi
    done
    [[ $n -eq 3 ]] || die "expected 3 kernel modules in $TMP/inst/$name, found $n"
    echo "  $n kernel modules, $( [[ "$kind" == asan ]] && echo "all instrumented" || echo "not instrumented")"
}

# run_sanitized NAME INST CMD...: run the python command CMD from $TMP/run with the build
# $TMP/inst/INST first on sys.path and the sanitizer runtimes preloaded; its stdout is shown as
# it comes (and kept), its stderr kept and shown after it ends. ASan writes each report to
# $TMP/reports/NAME/asan.<pid>. UBSan writes to stderr whatever UBSAN_OPTIONS says (gcc's
# libubsan takes its report path from libasan's __sanitizer_set_report_path, which libasan,
# loaded first, interposes), so its reports are read from the run's stderr; one that stopped
# the run itself shows as UBSan's exit code 87. Sets RUN_RC (exit status), RUN_OWN (reports
# of the process itself) and RUN_CHILD (of processes it started).
run_sanitized() {
    local name=$1 inst=$2
    shift 2
    local dir="$TMP/reports/$name" pid f what
    mkdir -p "$dir" "$TMP/run"
    set +e
    (
        echo "$BASHPID" > "$dir/pid"  # this subshell execs python: the same pid
        cd "$TMP/run" || exit 1
        LD_PRELOAD="$SAN_PRELOAD" \
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:allocator_may_return_null=1:log_path=$dir/asan" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87" \
        PYTHONMALLOC=malloc PYTHONPATH="$TMP/inst/$inst:$TMP/run" \
        NMFKIT_EXPECT_DIR="$TMP/inst/$inst" \
            exec "$@" 2> "$dir/stderr.log"
    ) | tee "$dir/stdout.log"
    RUN_RC=${PIPESTATUS[0]}
    set -e
    pid=$(cat "$dir/pid")
    if [[ -s "$dir/stderr.log" ]]; then
        printf -- '---- stderr of the run ----\n'
        if [[ $(wc -l < "$dir/stderr.log") -gt 200 ]]; then
            echo "... (last 200 of $(wc -l < "$dir/stderr.log") lines)"
        fi
        tail -n 200 "$dir/stderr.log"
    fi
    RUN_OWN=0
    RUN_CHILD=0
    shopt -s nullglob
    for f in "$dir"/asan.*; do
        local owner="child process ${f##*.}"
        if [[ "${f##*.}" == "$pid" ]]; then
            owner="the run itself"
            RUN_OWN=$((RUN_OWN + 1))
        else
            RUN_CHILD=$((RUN_CHILD + 1))
        fi
        what=$(grep -m1 -E '^SUMMARY: AddressSanitizer' "$f" | sed 's/^SUMMARY: //' || true)
        [[ -n "$what" ]] || what=$(grep -m1 'ERROR: ' "$f" | sed 's/^==[0-9]*==//' || true)
        FINDINGS+=("[$name] $owner: ${what:-see the report} (reports/$name/$(basename "$f"))")
        printf '\n---- AddressSanitizer report (%s, %s): %s ----\n' "$name" "$owner" "$(basename "$f")"
        head -n 60 "$f"
        [[ $(wc -l < "$f") -le 60 ]] || echo "... ($(wc -l < "$f") lines; NMFKIT_KEEP_TMP=1 keeps the file)"
    done
    shopt -u nullglob
    # UBSan: "FILE:LINE:COL: runtime error: WHAT" (stderr shared with children that do not
    # capture theirs).
    while IFS= read -r what; do
        if [[ $RUN_RC -eq 87 && $RUN_OWN -eq 0 ]]; then
            RUN_OWN=$((RUN_OWN + 1))
            FINDINGS+=("[$name] the run itself: UBSan $what")
        else
            RUN_CHILD=$((RUN_CHILD + 1))
            FINDINGS+=("[$name] a child process: UBSan $what")
        fi
    done < <(grep -E ': runtime error: ' "$dir/stderr.log" || true)
    echo "[$name] exit status $RUN_RC; sanitizer reports: $RUN_OWN of the run itself," \
         "$RUN_CHILD of child processes"
}

# judge NAME: record a failure unless the last run exited 0 with no report of its own.
judge() {
    local name=$1
    if [[ $RUN_OWN -gt 0 ]]; then
        FAILURES+=("[$name] sanitizer report(s) in the run itself (exit $RUN_RC)")
    elif [[ $RUN_RC -ne 0 ]]; then
        FAILURES+=("[$name] exited $RUN_RC without a sanitizer report of its own (test failures?)")
    fi
}

# A pytest plugin that refuses to run unless nmfkit comes from the build under test.
mkdir -p "$TMP/run"
cat > "$TMP/run/nmfkit_where.py" <<'PY'
"""pytest plugin (-p nmfkit_where): nmfkit must be imported from $NMFKIT_EXPECT_DIR."""
import os

import pytest


def pytest_configure(config):
    import nmfkit

    path = os.path.realpath(nmfkit.__file__)
    root = os.path.realpath(os.environ["NMFKIT_EXPECT_DIR"])
    if not path.startswith(root + os.sep):
        raise pytest.UsageError(f"nmfkit is imported from {path}, not from {root}")


def pytest_report_header(config):
    import nmfkit

    return [f"nmfkit from {os.path.dirname(nmfkit.__file__)} (OpenMP: {nmfkit.HAVE_OPENMP}, "
            f"{nmfkit.effective_n_threads()} threads)"]
PY

# ---------------------------------------------------------------------------------------------
step build-asan "nmfkit with -fsanitize=address,undefined (debugoptimized)"
build_nmfkit asan "$SRC" asan

step asan-tests "pytest ${TEST_PATHS[*]} under ASan + UBSan"
ABS_TESTS=()
for t in "${TEST_PATHS[@]}"; do ABS_TESTS+=("$SRC/$t"); done
# shellcheck disable=SC2086
run_sanitized asan-tests asan "$VPY" -m pytest -p nmfkit_where -p no:cacheprovider \
    $PYTEST_ARGS "${ABS_TESTS[@]}"
judge asan-tests

step asan-e2e "end-to-end fits (ci/sanitize_tests.py) under ASan + UBSan"
run_sanitized asan-e2e asan "$VPY" "$SRC/ci/sanitize_tests.py" --expect asan \
    --expect-dir "$TMP/inst/asan"
judge asan-e2e

# ---------------------------------------------------------------------------------------------
# valgrind_run NAME INST ARGS...: python ARGS under valgrind memcheck with the build INST;
# sets RUN_RC and VG_ERRORS (from valgrind's ERROR SUMMARY), prints the errors.
SUPP="$TMP/valgrind-python.supp"
cat > "$SUPP" <<'SUPP'
# See the header of ci/sanitize.sh: interpreter-only uninitialised-value false positives and
# the dynamic loader's word-wise strncmp. Each entry matches the innermost frame only.
{
   cpython-uninit-cond-libpython
   Memcheck:Cond
   obj:*/libpython3*
}
{
   cpython-uninit-value8-libpython
   Memcheck:Value8
   obj:*/libpython3*
}
{
   cpython-uninit-value4-libpython
   Memcheck:Value4
   obj:*/libpython3*
}
{
   cpython-uninit-value1-libpython
   Memcheck:Value1
   obj:*/libpython3*
}
{
   cpython-uninit-cond-static-python
   Memcheck:Cond
   obj:*/bin/python3*
}
{
   cpython-uninit-value8-static-python
   Memcheck:Value8
   obj:*/bin/python3*
}
{
   cpython-uninit-value4-static-python
   Memcheck:Value4
   obj:*/bin/python3*
}
{
   cpython-uninit-value1-static-python
   Memcheck:Value1
   obj:*/bin/python3*
}
{
   ld.so-strncmp-overread
   Memcheck:Addr8
   obj:*/ld-linux*.so*
}
SUPP

valgrind_run() {
    local name=$1 inst=$2
    shift 2
    local log="$TMP/logs/valgrind-$name.log"
    mkdir -p "$TMP/logs" "$TMP/run"
    RUN_RC=0
    # shellcheck disable=SC2086
    (
        cd "$TMP/run"
        PYTHONMALLOC=malloc PYTHONPATH="$TMP/inst/$inst" \
            exec valgrind --tool=memcheck --error-exitcode=1 --leak-check=no \
            --num-callers=40 --suppressions="$SUPP" --log-file="$log" $VALGRIND_ARGS \
            "$VPY" "$@"
    ) || RUN_RC=$?
    VG_ERRORS=$(grep -m1 -oE 'ERROR SUMMARY: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    if [[ "$VG_ERRORS" != 0 ]]; then
        printf '\n---- valgrind errors (%s) ----\n' "$name"
        # every error block: from its headline to the blank line after its stack
        awk '/^==[0-9]+== [A-Z][a-z]/ && !/Memcheck|Copyright|Using Valgrind|Command:|Parent PID|HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|in use at exit|total heap usage|For lists|Use --track|Rerun with/ {p=1}
             p {print} /^==[0-9]+== $/ {p=0}' "$log" | head -n 150
        FINDINGS+=("[$name] valgrind: $VG_ERRORS error(s), see above (log: $log)")
    fi
    grep -m1 'ERROR SUMMARY' "$log" || true
    echo "[$name] exit status $RUN_RC; valgrind errors: $VG_ERRORS"
}

if [[ "$VALGRIND" == 1 ]]; then
    step build-plain "nmfkit without sanitizers, for valgrind (debugoptimized)"
    build_nmfkit plain "$SRC" plain

    step valgrind "ci/sanitize_tests.py --quick under valgrind memcheck"
    valgrind_run valgrind plain "$SRC/ci/sanitize_tests.py" --quick --expect plain \
        --expect-dir "$TMP/inst/plain"
    if [[ "$VG_ERRORS" != 0 || $RUN_RC -ne 0 ]]; then
        FAILURES+=("[valgrind] exit $RUN_RC, $VG_ERRORS valgrind error(s)")
    fi
fi

# ---------------------------------------------------------------------------------------------
if [[ "$SELFTEST" == 1 ]]; then
    step selftest-build "kernels with two injected bugs, built as above"
    BAD="$TMP/src-selftest"
    cp -a "$SRC" "$BAD"
    "$VPY" - "$BAD/src/nmfkit/kernels" <<'PY'
import pathlib, sys

kernels = pathlib.Path(sys.argv[1])


def inject(name, old, new):
    path = kernels / name
    text = path.read_text()
    if text.count(old) != 1:
        sys.exit(f"self-test: the anchor {old!r} occurs {text.count(old)} times in {name}, "
                 "expected once: update the injection in ci/sanitize.sh")
    path.write_text(text.replace(old, new))
    print(f"  {name}: {old.strip()!r} -> {new.strip()!r}")


# Off-by-one heap write from inside the OpenMP loop: the last chunk writes one double past
# the calloc'd partials.
inject("sparse.pyx", "        partials[ch] = part\n",
       "        partials[ch + 1] = part  # SELFTEST: heap-buffer-overflow\n")
# Signed int overflow: INT_MAX + k, k >= 1, used in the result.
inject("steps.pyx", "    cdef double s_delta, a, d, new\n",
       "    cdef double s_delta, a, d, new\n    cdef int selftest_big = 2147483647\n")
inject("steps.pyx", "    result = total(partials, n_chunks, 1, 0)\n",
       "    result = total(partials, n_chunks, 1, 0)\n"
       "    if selftest_big + <int> k < 0:  # SELFTEST: signed integer overflow\n"
       "        result = -1.0\n")
PY
    build_nmfkit asan "$BAD" selftest-asan
    if [[ "$VALGRIND" == 1 ]]; then
        build_nmfkit plain "$BAD" selftest-plain
    fi

    step selftest "the injected bugs must be reported"
    cat > "$TMP/run/selftest_overflow.py" <<'PY'
import numpy as np
import scipy.sparse as sp
from nmfkit.kernels import sparse as _sparse

X = sp.random(130, 20, density=0.3, format="csr", random_state=0)
A, B = np.random.rand(130, 3), np.random.rand(20, 3)
print(_sparse.stored_terms(X.indptr.astype(np.int32), X.indices.astype(np.int32), X.data,
                           A, B, 2.0, 1e-9, 2))
print("selftest: the off-by-one write went unnoticed")
PY
    cat > "$TMP/run/selftest_ub.py" <<'PY'
import numpy as np
from nmfkit.kernels import steps as _steps

A, num, den = np.random.rand(70, 3), np.random.rand(70, 3), np.random.rand(3)
print(_steps.mu_div_step(A, num, den, 0.0, 0.0, 0.0, 1e-9, 2))
print("selftest: the signed overflow went unnoticed")
PY
    # expect_caught NAME PATTERN: the last run must have failed with PATTERN in its own report.
    expect_caught() {
        local name=$1 pattern=$2
        if [[ $RUN_RC -ne 0 && $RUN_OWN -gt 0 ]] \
                && grep -qs "$pattern" "$TMP/reports/$name"/asan.* "$TMP/reports/$name/stderr.log"; then
            echo "[$name] caught as expected: $pattern"
        else
            FAILURES+=("[$name] the injected bug was NOT reported ($pattern expected)")
        fi
    }
    FINDINGS_BEFORE=${#FINDINGS[@]}
    run_sanitized selftest-asan selftest-asan "$VPY" selftest_overflow.py
    expect_caught selftest-asan "ERROR: AddressSanitizer: heap-buffer-overflow"
    run_sanitized selftest-ubsan selftest-asan "$VPY" selftest_ub.py
    expect_caught selftest-ubsan "runtime error: signed integer overflow"
    if [[ "$VALGRIND" == 1 ]]; then
        valgrind_run selftest-valgrind selftest-plain selftest_overflow.py
        if [[ $RUN_RC -ne 0 && "$VG_ERRORS" != 0 ]] \
                && grep -q "Invalid write of size 8" "$TMP/logs/valgrind-selftest-valgrind.log"; then
            echo "[selftest-valgrind] caught as expected: Invalid write of size 8"
        else
            FAILURES+=("[selftest-valgrind] the injected bug was NOT reported")
        fi
    fi
    # The injected bugs' reports are expected: keep them out of the findings.
    FINDINGS=("${FINDINGS[@]:0:$FINDINGS_BEFORE}")
fi

finish_step
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    exit 1
fi
