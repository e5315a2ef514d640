#!/usr/bin/env bash
# Look-up over HTTP: Rempart with 1M active decisions (`/v1/check?ip=` and the
# CrowdSec-compatible `/v1/decisions?ip=`) against CrowdSec 1.4.6's local API
# (`/v1/decisions?ip=`) with 5K decisions, the same client (wrk, Debian package `wrk`) and the
# same mix of look-ups (half hit a decision, half miss). Each server is pinned to core 0 with
# taskset, wrk to core 1; everything on loopback.
#
#   bench/setup-peers.sh        # once, as root (CrowdSec offline)
#   bench/check.sh              # adds its table to its section of bench/RESULTS.md
#
# Environment: ROUNDS (2), SECONDS_EACH (10), CONNECTIONS (16), DECISIONS (1000000),
# CS_DECISIONS (5000), NO_RESULTS=1 to print only, OPEN_RATE (requests/s of the open-loop runs;
# default 10x CrowdSec's rate in the same round, the issue's throughput target), SERVERS
# ("server daemon"): which Rempart to measure, bench/check-server.ts (the API over a DecisionBook
# loaded in process) and/or bench/check-daemon.ts (`rempart start` over a SQLite database of the
# same decisions, what operators run; it takes a minute more per round to make and load).
#
# wrk runs closed loop at full speed: the capacity. Rempart is then also loaded open loop at
# OPEN_RATE (bench/open-loop-http.c, built here with cc; the same paths and connections, one
# second of warm-up not counted): p99 at a fixed rate, where a stall counts against every request
# that waited behind it. Each open-loop row also gives the client's longest pause and the time the
# hypervisor took from this machine's CPUs during the run (steal, /proc/stat): a VM's pauses
# reach the tail of any server, and they tell the server's stalls from the machine's.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/node_modules/.bin:$PATH
ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS_EACH:-10}
CONNECTIONS=${CONNECTIONS:-16}
DECISIONS=${DECISIONS:-1000000}
SERVERS=${SERVERS:-server daemon}
CS_DECISIONS=${CS_DECISIONS:-5000}
OUT=bench/out/check
# The daemon's Node flags (npm start's): the server is measured with the heap operators run.
DAEMON_FLAGS=$(node bench/daemon-flags.ts)
mkdir -p "$OUT"
die() {
  echo "check.sh: $*" >&2
  exit 1
}
for c in wrk taskset crowdsec cscli curl cc; do
  command -v "$c" >/dev/null || die "needs $c (Debian packages wrk, util-linux, crowdsec, curl, gcc; run bench/setup-peers.sh)"
done
cc -O2 -Wall -o "$OUT/open-loop-http" bench/open-loop-http.c

node bench/check-paths.ts rempart "$DECISIONS" check >"$OUT/rempart-check.txt"
node bench/check-paths.ts rempart "$DECISIONS" decisions >"$OUT/rempart-decisions.txt"
node bench/check-paths.ts crowdsec "$CS_DECISIONS" decisions >"$OUT/crowdsec-decisions.txt"

# load URL KEY PATHS LABEL: one wrk run; prints "LABEL|req/s|p50|p99|non-2xx|max|pause|steal"
# (the last three only in open-loop rows).
load() {
  local url=$1 key=$2 paths=$3 label=$4 log
  log="$OUT/wrk-$label-$(date +%s%N).txt"
  CHECK_PATHS=$paths taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
    -H "X-Api-Key: $key" -s bench/check-wrk.lua "$url" >"$log"
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$log")
  p50=$(awk '$1 == "50%" { print $2 }' "$log")
  p99=$(awk '$1 == "99%" { print $2 }' "$log")
  bad=$(awk '/Non-2xx/ { print $NF }' "$log")
  echo "$label|$rps|$p50|$p99|${bad:-0}|—|—|—"
}

# requests PATHS KEY: each path as a whole GET request, NUL-terminated (open-loop-http's input).
requests() {
  while read -r path; do
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: %s\r\nConnection: keep-alive\r\n\r\n\0' "$path" "$2"
  done <"$1"
}
# Time stolen by the hypervisor from all CPUs so far, ms (/proc/stat's 8th column, in ticks).
steal_ms() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d", $9 * 1000 / hz }' /proc/stat
}

# rempart_rows ROUND WHO SCRIPT LABEL RATE: starts SCRIPT (check-server.ts or check-daemon.ts)
# pinned to core 0, loads it with wrk then open loop at RATE, adds its rows to ROWS.
rempart_rows() {
  local round=$1 who=$2 script=$3 label=$4 rate=$5 url key pid route line stolen
  taskset -c 0 node $DAEMON_FLAGS "$script" "$DECISIONS" >"$OUT/$label.out" 2>"$OUT/$label.err" &
  local runner=$!
  for _ in $(seq 1 900); do
    grep -q '^ready' "$OUT/$label.out" 2>/dev/null && break
    sleep 0.2
  done
  read -r _ url key pid <"$OUT/$label.out" || die "$script did not start: $(cat "$OUT/$label.err")"
  pid=${pid:-$runner}
  ROWS+=("$round|$who|full speed|$(load "$url" "$key" "$OUT/rempart-decisions.txt" "$label-decisions")")
  ROWS+=("$round|$who|full speed|$(load "$url" "$key" "$OUT/rempart-check.txt" "$label-check")")
  for route in decisions check; do
    requests "$OUT/rempart-$route.txt" "$key" >"$OUT/rempart-$route.req"
    stolen=$(steal_ms)
    line=$(taskset -c 1 "$OUT/open-loop-http" --port "${url##*:}" --requests "$OUT/rempart-$route.req" \
      --rate "$rate" --seconds "$SECONDS_EACH" --connections "$CONNECTIONS" --label "$label-$route")
    ROWS+=("$round|$who|$rate/s offered|$line|$(($(steal_ms) - stolen))")
  done
  RSS+=("$who: $(awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$pid/status") MB")
  kill "$runner"
  wait "$runner" 2>/dev/null || true
}

ROWS=()
LOADS=()
RSS=()
for round in $(seq 1 "$ROUNDS"); do
  # CrowdSec's LAPI, 5K decisions in its throw-away SQLite database.
  CS_CPU=0 bench/check-crowdsec.sh stop
  key=$(CS_CPU=0 bench/check-crowdsec.sh start "$CS_DECISIONS")
  [ -n "$key" ] || die "no bouncer key from bench/check-crowdsec.sh"
  hits=$(curl -s -H "X-Api-Key: $key" "http://127.0.0.1:${CS_API_PORT:-18080}$(head -n 1 "$OUT/crowdsec-decisions.txt")")
  case $hits in \[*) ;; *) die "CrowdSec did not find a decision it holds: $hits" ;; esac
  LOADS+=("$(uptime | sed 's/.*load average: //')")
  ROWS+=("$round|crowdsec $CS_DECISIONS|full speed|$(load "http://127.0.0.1:${CS_API_PORT:-18080}" "$key" "$OUT/crowdsec-decisions.txt" "crowdsec-decisions")")
  bench/check-crowdsec.sh stop

  cs_rps=$(echo "${ROWS[-1]}" | cut -d'|' -f5)
  rate=${OPEN_RATE:-$((10 * cs_rps))}
  # Rempart, 1M decisions: the API over a bare DecisionBook, then `rempart start` itself.
  for server in $SERVERS; do
    case $server in
      server) rempart_rows "$round" "rempart API $DECISIONS" bench/check-server.ts rempart "$rate" ;;
      daemon) rempart_rows "$round" "rempart start $DECISIONS" bench/check-daemon.ts daemon "$rate" ;;
      *) die "SERVERS: server or daemon, not $server" ;;
    esac
  done
done

VERSIONS="crowdsec $(crowdsec -version 2>&1 | sed -n 's/.*version: //p' | head -n 1); wrk $(dpkg-query -W -f='${Version}' wrk); node $(node --version); rempart $(git describe --always --dirty 2>/dev/null || echo '?')"
{
  echo
  echo "### $(date -u +%Y-%m-%dT%H:%MZ) — \`bench/check.sh\` (ROUNDS=$ROUNDS SECONDS_EACH=$SECONDS_EACH CONNECTIONS=$CONNECTIONS)"
  echo
  echo "Versions: $VERSIONS. Load average before each CrowdSec run: $(printf '%s; ' "${LOADS[@]}")Rempart's RSS after its runs: $(printf '%s; ' "${RSS[@]}" | sed 's/; $//')."
  echo
  echo "| round | server, decisions | route | load | req/s | p50 | p99 | non-2xx | max | client's longest pause | steal ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r round who how label rps p50 p99 bad max pause steal <<<"$r"
    route=$([ "${label#*-}" = check ] && echo '/v1/check?ip=' || echo '/v1/decisions?ip=')
    echo "| $round | $who | \`$route\` | $how | $rps | $p50 | $p99 | $bad | $max | $pause | $steal |"
  done
} >"$OUT/table.md"
cat "$OUT/table.md"
[ "${NO_RESULTS:-}" = 1 ] || bench/results-section.sh '## Look-up over HTTP (`bench/check.sh`)' "$OUT/table.md"
