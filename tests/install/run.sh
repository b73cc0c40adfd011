#!/bin/sh
# tests/install/run.sh WORKDIR - the install test (make test-install).
#
# Installs with `make install DESTDIR=WORKDIR/dest PREFIX=/opt/arena`, then
# builds and runs tests/install/consumer.c against it via pkg-config and
# via CMake's find_package, and against the repository via add_subdirectory
# and FetchContent; checks that CMake's install() puts the same files in
# the same places, and that `make uninstall` removes them all. Prints one
# line per check and ends with "install: N passed, M failed".
# Run from the repository root; $MAKE and $CC are used if set.
set -u
MAKE=${MAKE:-make}
CC=${CC:-cc}
repo=$(pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
prefix=/opt/arena
dest=$work/dest
unset MAKEFLAGS MFLAGS MAKELEVEL   # the cmake builds run their own make
export CC

passed=0
failed=0
rm -rf "$work"/*

# check NAME COMMAND...: runs the command with its output in WORKDIR/NAME.log
check() {
    name=$1
    shift
    if "$@" > "$work/$name.log" 2>&1; then
        echo "ok    $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name (log: $work/$name.log)"
        tail -n 30 "$work/$name.log" | sed 's/^/      /'
        failed=$((failed + 1))
    fi
}

installed="include/arena.h include/pool.h lib/pkgconfig/arena.pc
           lib/cmake/arena/arenaConfig.cmake lib/cmake/arena/arenaConfigVersion.cmake"

make_install() {
    "$MAKE" --no-print-directory install DESTDIR="$dest" PREFIX="$prefix" || return 1
    for f in $installed; do
        test -f "$dest$prefix/$f" || { echo "missing: $dest$prefix/$f"; return 1; }
    done
    grep -qx "prefix=$prefix" "$dest$prefix/lib/pkgconfig/arena.pc" || { echo "arena.pc: wrong prefix"; return 1; }
    cmp arena.h "$dest$prefix/include/arena.h" && cmp pool.h "$dest$prefix/include/pool.h"
}

# pkg-config on the staged tree: the sysroot maps /opt/arena to dest/opt/arena.
via_pkg_config() {
    export PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
    flags=$(pkg-config --cflags --libs arena) || return 1
    echo "pkg-config --cflags --libs arena: $flags (version $(pkg-config --modversion arena))"
    cp tests/install/consumer.c "$work/consumer.c" &&
    $CC -std=c99 -Wall -Wextra -Wpedantic -Werror -DCONSUMER_VIA='"pkg-config"' \
        "$work/consumer.c" -o "$work/consumer-pkg-config" $flags &&
    "$work/consumer-pkg-config"
}

# cmake_consumer VIA ARGS...: configures, builds and runs the consumer project.
cmake_consumer() {
    via=$1
    shift
    cmake -S tests/install -B "$work/cmake-$via" -DARENA_VIA="$via" "$@" &&
    cmake --build "$work/cmake-$via" &&
    "$work/cmake-$via/consumer"
}

via_find_package() {
    cmake_consumer find -DCMAKE_PREFIX_PATH="$dest$prefix" || return 1
    grep -q "^arena_DIR:PATH=$dest$prefix/lib/cmake/arena\$" "$work/cmake-find/CMakeCache.txt" ||
        { echo "find_package found another arena"; return 1; }
}

# CMake's install() of the repository: the same files as make install.
cmake_install_matches() {
    cmake -S "$repo" -B "$work/cmake-self" -DCMAKE_INSTALL_PREFIX="$prefix" &&
    DESTDIR="$work/cmake-dest" cmake --install "$work/cmake-self" &&
    diff -r "$dest" "$work/cmake-dest" && echo "identical trees"
}

make_uninstall() {
    "$MAKE" --no-print-directory uninstall DESTDIR="$dest" PREFIX="$prefix" || return 1
    left=$(find "$dest" -type f)
    test -z "$left" || { echo "left behind: $left"; return 1; }
}

check make-install make_install
check pkg-config via_pkg_config
check find_package via_find_package
check add_subdirectory cmake_consumer subdir -DARENA_SOURCE_DIR="$repo"
check FetchContent cmake_consumer fetch -DFETCHCONTENT_SOURCE_DIR_ARENA="$repo" \
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON
check cmake-install-matches cmake_install_matches
check make-uninstall make_uninstall

echo "$passed passed, $failed failed"
echo "install: $passed passed, $failed failed"
test "$failed" = 0
