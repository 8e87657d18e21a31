#!/bin/sh
# Installs softmaxce into a temporary prefix with `make install`, then builds
# examples/example.c against the installed header and library, found through
# the installed pkg-config file, and runs it. Needs make, cc and pkg-config.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make -C "$root" install PREFIX="$tmp"

export PKG_CONFIG_PATH="$tmp/lib/pkgconfig"
version=$(pkg-config --modversion softmaxce)
flags=$(pkg-config --cflags --libs softmaxce)
echo "pkg-config: softmaxce $version: $flags"

# No -I or -L into the source tree: only the installed files can be found.
# shellcheck disable=SC2086 # flags holds several words
cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$tmp/example" "$root/examples/example.c" \
    $flags -lm

library=$(LD_LIBRARY_PATH="$tmp/lib" ldd "$tmp/example" | awk '/libsoftmaxce/ { print $3 }')
if [ "$library" != "$tmp/lib/libsoftmaxce.so" ]; then
    echo "FAIL: the example loads libsoftmaxce from '$library', not from $tmp/lib" >&2
    exit 1
fi

LD_LIBRARY_PATH="$tmp/lib" "$tmp/example"
