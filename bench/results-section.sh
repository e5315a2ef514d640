#!/usr/bin/env bash
# Puts a dated sub-section at the end of its section of bench/RESULTS.md, before the next "## "
# heading, so that each bench's figures stay together (the section is added at the end when
# the file has none yet).
#
#   bench/results-section.sh HEADING FILE     e.g. bench/results-section.sh '## DNSBL (`bench/dnsbl.sh`)' out.md
#
# HEADING is the section's whole heading line; a line that starts with it matches.
set -euo pipefail
cd "$(dirname "$0")/.."
heading=$1
part=$2
awk -v section="$part" -v heading="$heading" '
  function flush() { last = ""; while ((getline line < section) > 0) { print line; last = line } done = 1 }
  /^## / && inside && !done { flush(); if (last != "") print "" }
  /^## / { inside = (index($0, heading) == 1); if (inside) seen = 1 }
  { print }
  END {
    if (done) exit
    if (!seen) { print ""; print heading }
    print ""
    flush()
  }
' bench/RESULTS.md >bench/RESULTS.md.new
mv bench/RESULTS.md.new bench/RESULTS.md
