#!/usr/bin/env bash
# Prints the Debian archive's URL from this machine's apt sources (the bookworm entry), as
# .ci/install-deps reads it, so the repository names no host.
set -euo pipefail
uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
    { uris = ""; main = 0
      for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) main = 1
      }
      if (main && uris != "") { print uris; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -n -E 's/^deb[ \t]+(\[[^]]*\][ \t]+)?([^ \t]+)[ \t]+bookworm[ \t].*/\2/p' | head -n 1)
fi
[ -n "$uri" ] || { echo "archive-uri: no Debian bookworm entry in /etc/apt sources" >&2; exit 1; }
printf '%s\n' "${uri%/}"
