#!/bin/sh
# Run as <dir>/wk-NAME (a symlink to this script) by help2man: prints
# $WK_HELP2MAN_BIN/wk-NAME's output with "usage:" as "Usage:" and the further
# usage forms as "  or:" lines, the forms help2man turns into a SYNOPSIS.
out=$("$WK_HELP2MAN_BIN/${0##*/}" "$@") || exit 1
printf '%s\n' "$out" | sed -e '1s/^usage:/Usage:/' -e '2,/^$/s/^       \(wk-\)/  or:  \1/'
