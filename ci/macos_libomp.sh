#!/usr/bin/env bash
# Give Apple clang an OpenMP runtime (LLVM's libomp) for nmfkit's macOS wheels, and export
# what the build and delocate need. Run it on the macOS runner before cibuildwheel:
#
#   bash ci/macos_libomp.sh              # GitHub Actions: appends the variables to $GITHUB_ENV
#   eval "$(bash ci/macos_libomp.sh)"    # elsewhere: prints `export ...` lines
#
# Apple clang accepts OpenMP pragmas only as `-Xpreprocessor -fopenmp` and ships neither
# omp.h nor a runtime. So:
#   CPPFLAGS  += -Xpreprocessor -fopenmp -I<libomp>/include
#   LDFLAGS   += -L<libomp>/lib -lomp -Wl,-rpath,<libomp>/lib
# meson adds CPPFLAGS/CFLAGS to the C compile arguments and LDFLAGS to the link arguments.
# Recent meson (its AppleClang support, checked in 1.12) also finds Homebrew's libomp by
# itself (`brew --prefix libomp`) for dependency('openmp'); older meson reports OpenMP "not
# found" with Apple clang, and then these flags are what still compiles the kernels with
# OpenMP. Either way the wheel's test command checks nmfkit.HAVE_OPENMP.
#
# delocate-wheel copies libomp.dylib into nmfkit/.dylibs/ and refuses a library whose minimum
# macOS (LC_BUILD_VERSION minos) is newer than MACOSX_DEPLOYMENT_TARGET. Homebrew bottles are
# built for the runner's own macOS, so MACOSX_DEPLOYMENT_TARGET is set here to the larger of
# that minos and cibuildwheel's default for the architecture (10.13 x86_64, 11.0 arm64); the
# wheel's platform tag follows it (e.g. macosx_14_0_arm64 on a macos-14 runner).
#
# Environment:
#   LIBOMP_PREFIX  use the libomp installed there (lib/libomp.dylib, include/omp.h) instead
#                  of Homebrew's, e.g. conda-forge's llvm-openmp (built for macOS 10.13 /
#                  11.0, hence wheels for older macOS):
#                    micromamba create -y -p "$HOME/libomp" -c conda-forge llvm-openmp
#                    LIBOMP_PREFIX="$HOME/libomp" bash ci/macos_libomp.sh
#   ARCH           the architecture being built (default: CIBW_ARCHS_MACOS, else CIBW_ARCHS,
#                  else uname -m)
set -euo pipefail

die() { echo "macos_libomp.sh: $*" >&2; exit 1; }

[[ "$(uname -s)" == Darwin ]] || die "this script is for macOS runners"

ARCH=${ARCH:-${CIBW_ARCHS_MACOS:-${CIBW_ARCHS:-$(uname -m)}}}
case "$ARCH" in
    x86_64) default_target=10.13 ;;
    arm64) default_target=11.0 ;;
    *) die "build one architecture per run (x86_64 or arm64), got ARCH='$ARCH'" ;;
esac

if [[ -z "${LIBOMP_PREFIX:-}" ]]; then
    command -v brew >/dev/null || die "Homebrew not found; install it or set LIBOMP_PREFIX"
    if ! brew list --versions libomp >/dev/null 2>&1; then
        HOMEBREW_NO_AUTO_UPDATE=1 HOMEBREW_NO_INSTALL_CLEANUP=1 brew install libomp >&2
    fi
    LIBOMP_PREFIX=$(brew --prefix libomp)
fi
dylib="$LIBOMP_PREFIX/lib/libomp.dylib"
[[ -f "$dylib" ]] || die "no $dylib"
[[ -f "$LIBOMP_PREFIX/include/omp.h" ]] || die "no $LIBOMP_PREFIX/include/omp.h"

# The library must contain the architecture being built (a Homebrew bottle holds only the
# runner's own one: build x86_64 on an Intel runner and arm64 on an Apple silicon runner).
archs=$(lipo -archs "$dylib")
[[ " $archs " == *" $ARCH "* ]] || die "$dylib is built for '$archs', not for $ARCH"

# Minimum macOS of libomp.dylib: `minos` of LC_BUILD_VERSION (or `version` of the older
# LC_VERSION_MIN_MACOSX load command).
minos=$(otool -l "$dylib" | awk '
    /cmd LC_BUILD_VERSION/ { b = 1 } b && $1 == "minos" { print $2; exit }
    /cmd LC_VERSION_MIN_MACOSX/ { v = 1 } v && $1 == "version" { print $2; exit }')
[[ -n "$minos" ]] || die "could not read the minimum macOS version of $dylib"

# max(minos, default, any MACOSX_DEPLOYMENT_TARGET already set), as a version.
target=$(printf '%s\n' "$minos" "$default_target" ${MACOSX_DEPLOYMENT_TARGET:+"$MACOSX_DEPLOYMENT_TARGET"} \
         | sort -t. -k1,1n -k2,2n | tail -n1)
# (Not rounded: from macOS 11 on, meson-python and delocate tag the wheel by the major version
# alone, e.g. 14.4 -> macosx_14_0, while delocate still checks libomp's minos against 14.4.)

cppflags="${CPPFLAGS:+$CPPFLAGS }-Xpreprocessor -fopenmp -I$LIBOMP_PREFIX/include"
ldflags="${LDFLAGS:+$LDFLAGS }-L$LIBOMP_PREFIX/lib -lomp -Wl,-rpath,$LIBOMP_PREFIX/lib"

{
    echo "libomp:   $dylib ($archs, minimum macOS $minos)"
    echo "building: $ARCH, MACOSX_DEPLOYMENT_TARGET=$target"
} >&2

if [[ -n "${GITHUB_ENV:-}" ]]; then
    {
        echo "MACOSX_DEPLOYMENT_TARGET=$target"
        echo "CPPFLAGS=$cppflags"
        echo "LDFLAGS=$ldflags"
        echo "NMFKIT_LIBOMP_PREFIX=$LIBOMP_PREFIX"
    } >> "$GITHUB_ENV"
    echo "written to \$GITHUB_ENV" >&2
else
    printf 'export MACOSX_DEPLOYMENT_TARGET=%q\n' "$target"
    printf 'export CPPFLAGS=%q\n' "$cppflags"
    printf 'export LDFLAGS=%q\n' "$ldflags"
    printf 'export NMFKIT_LIBOMP_PREFIX=%q\n' "$LIBOMP_PREFIX"
fi
