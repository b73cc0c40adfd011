#!/bin/sh
# wine_run.sh PREFIX EXE [ARGS...]   runs a Windows test program under Wine
# wine_run.sh PREFIX --init          creates the prefix (first start is slow)
# wine_run.sh PREFIX --stop          stops this prefix's wineserver
#
# PREFIX is a WINEPREFIX directory of our own (under build/), created on
# first use. The program's stdout is printed without the CRs of Windows
# text mode; the exit status is the program's.
prefix=$1; shift
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEARCH=win64
# no Mono/Gecko installer prompts, no menu entries, no display
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset DISPLAY WAYLAND_DISPLAY

find_tool() {
  for t in "$@"; do
    if [ -x "$t" ]; then echo "$t"; return 0; fi
    p=$(command -v "$t" 2>/dev/null) && { echo "$p"; return 0; }
  done
  return 1
}
# Debian's wine64 package has the loader in /usr/lib/wine; /usr/bin/wine
# (package wine) is a wrapper around it.
wineserver=$(find_tool /usr/lib/wine/wineserver64 wineserver64 wineserver) || wineserver=
if [ "${1:-}" = --stop ]; then
  [ -n "$wineserver" ] && [ -d "$WINEPREFIX" ] && "$wineserver" --kill 2>/dev/null
  exit 0
fi
wine=$(find_tool /usr/lib/wine/wine64 wine64 wine) || { echo "wine_run.sh: no wine64 found" >&2; exit 127; }

init() {
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "creating the Wine prefix $WINEPREFIX (first start, takes a while)" >&2
    mkdir -p "$WINEPREFIX"
    "$wine" wineboot --init >/dev/null 2>&1
    [ -n "$wineserver" ] && "$wineserver" --wait
    [ -f "$WINEPREFIX/system.reg" ] || { echo "wine_run.sh: could not create $WINEPREFIX" >&2; exit 1; }
  fi
}

[ "${1:-}" = --init ] && { init; exit 0; }

init
out=$(mktemp) || exit 1
"$wine" "$@" > "$out"
rc=$?
tr -d '\r' < "$out"
rm -f "$out"
exit $rc
