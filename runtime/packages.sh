#!/usr/bin/env bash
# Prints the Debian packages of the given sections of runtime/packages.txt, one per line.
# Usage: runtime/packages.sh task [host]
set -euo pipefail
list=$(dirname "${BASH_SOURCE[0]}")/packages.txt
want=" $* "
awk -v want="$want" '
  /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
  /^\[.*\]$/ { section = substr($0, 2, length($0) - 2); next }
  index(want, " " section " ") { for (i = 1; i <= NF; i++) print $i }
' "$list"
