#!/usr/bin/env bash
# Builds and runs the C tests of softmaxce against libsoftmaxce.so:
#   hostile   bad input through every C function; outputs stay untouched
#   threads   16 threads, 10,000 calls, bit-identical to serial calls
#   fork      a forked child gets SCE_ERROR_FORKED at once, never a hang
# then builds them again, with examples/example.c when it exists, under
# AddressSanitizer and UndefinedBehaviorSanitizer and runs them once more,
# and runs tests/python/test_fastpath.py against the extension module of the
# Python fast path built with the same sanitizers. The sanitizers instrument
# the C side only; the Go library is not instrumented.
#
# Usage: tests/c/run.sh [--no-asan]
# Environment: CC (default cc), GO (default go), BUILD_DIR (default
# build/tests-c), PYTHON (default python3, with numpy and pytest, for the
# extension module's run under the sanitizers). The library is rebuilt with `go build` when it is missing
# or older than a Go or C source file, as `make lib` would.
set -euo pipefail
cd "$(dirname "$0")/../.."

CC=${CC:-cc}
GO=${GO:-go}
BUILD_DIR=${BUILD_DIR:-build/tests-c}
LIB_DIR=python/softmaxce
LIB=$LIB_DIR/libsoftmaxce.so
ASAN=1
if [[ "${1:-}" == "--no-asan" ]]; then
    ASAN=0
fi

if [[ ! -f $LIB ]] || [[ -n "$(find core capi go.mod -newer "$LIB" -print -quit)" ]]; then
    echo "run.sh: building $LIB"
    CGO_ENABLED=1 "$GO" build -buildmode=c-shared -o "$LIB" ./capi
    rm -f "${LIB%.so}.h"
fi

mkdir -p "$BUILD_DIR"
CFLAGS=(-std=c99 -Wall -Wextra -pedantic -Werror -O1 -g -Icapi -Itests/c)
LDFLAGS=(-L"$LIB_DIR" -lsoftmaxce -Wl,-rpath,"$PWD/$LIB_DIR" -lpthread -lm)
PROGRAMS=(hostile threads fork)

build_and_run() { # suffix, extra flags...
    local suffix=$1
    shift
    local sources=()
    for name in "${PROGRAMS[@]}"; do
        sources+=("tests/c/$name.c")
    done
    if [[ "$suffix" == "-asan" && -f examples/example.c ]]; then
        sources+=(examples/example.c)
    fi
    for source in "${sources[@]}"; do
        local name
        name=$(basename "$source" .c)
        "$CC" "${CFLAGS[@]}" "$@" -o "$BUILD_DIR/$name$suffix" "$source" "${LDFLAGS[@]}"
    done
    for source in "${sources[@]}"; do
        local name
        name=$(basename "$source" .c)
        echo "run.sh: $name$suffix"
        "$BUILD_DIR/$name$suffix"
    done
}

build_and_run ""

if [[ $ASAN == 1 ]]; then
    # halt_on_error makes any report fail the run. The Go runtime allocates
    # with mmap, not malloc, so leak checking sees only the C side.
    export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    build_and_run "-asan" -fsanitize=address,undefined -fno-omit-frame-pointer \
        -fno-sanitize-recover=all

    # The extension module of the Python fast path, built with the same
    # sanitizers into a copy of the package, against the tests that feed it
    # every kind of argument. Python itself is not instrumented, so the
    # sanitizer runtimes are preloaded and leak checking is off.
    PYTHON=${PYTHON:-python3}
    PACKAGE_COPY=$BUILD_DIR/python-asan
    rm -rf "$PACKAGE_COPY"
    mkdir -p "$PACKAGE_COPY"
    cp -r "$LIB_DIR" "$PACKAGE_COPY/"
    rm -f "$PACKAGE_COPY"/softmaxce/_fastpath*.so
    read -r SUFFIX PY_INCLUDE NUMPY_INCLUDE < <("$PYTHON" -c 'import sysconfig, numpy
print(sysconfig.get_config_var("EXT_SUFFIX"), sysconfig.get_paths()["include"],
      numpy.get_include())')
    "$CC" -O1 -g -Wall -Wextra -Werror -shared -fPIC -fsanitize=address,undefined \
        -fno-omit-frame-pointer -fno-sanitize-recover=all -Icapi -I"$PY_INCLUDE" \
        -I"$NUMPY_INCLUDE" -o "$PACKAGE_COPY/softmaxce/_fastpath$SUFFIX" \
        python/softmaxce/_fastpath.c
    echo "run.sh: _fastpath$SUFFIX under the sanitizers"
    LD_PRELOAD="$("$CC" -print-file-name=libasan.so) $("$CC" -print-file-name=libubsan.so)" \
        ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 PYTHONPATH="$PACKAGE_COPY" \
        SOFTMAXCE_REQUIRE_EXTENSION=1 \
        "$PYTHON" -m pytest -q -p no:cacheprovider tests/python/test_fastpath.py
fi
echo "run.sh: all C tests passed"
