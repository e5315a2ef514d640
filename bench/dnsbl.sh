#!/usr/bin/env bash
# DNSBL benchmark: Rempart's dnsbl plugin (1M decisions in a DecisionBook) against rbldnsd
# (Debian package, the same list as ip4trie/ip6trie zones), both asked by dnsperf (Debian
# package) on loopback with the same query file, interleaved, RUNS times each. p99 comes from
# dnsperf -v's per-query latencies. Appends a section to bench/RESULTS.md.
#
#   RUNS=2 SECONDS_PER_RUN=15 bench/dnsbl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
RUNS="${RUNS:-2}"
LEN="${SECONDS_PER_RUN:-15}"
OUT=bench/out/dnsbl
for p in rbldnsd dnsperf; do
  command -v "$p" >/dev/null || { echo "dnsbl bench: needs $p (Debian package $p)"; exit 1; }
done
[ -f "$OUT/queries.txt" ] || node bench/dnsbl-gen.ts --entries 1000000 --queries 200000 --seed 1 --out "$OUT"

R_PORT=25353
B_PORT=25354
node bench/dnsbl-server.ts "$OUT/list.txt" "$R_PORT" >"$OUT/rempart.log" 2>&1 &
R_PID=$!
(cd "$OUT" && exec rbldnsd -n -b "127.0.0.1/$B_PORT" -w . -t 60 -c 1h \
  bl.example.org:ip4trie:v4.zone bl.example.org:ip6trie:v6.zone) >"$OUT/rbldnsd.log" 2>&1 &
B_PID=$!
trap 'kill $R_PID $B_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q '^ready' "$OUT/rempart.log" && break; sleep 1; done
grep -q '^ready' "$OUT/rempart.log" || { cat "$OUT/rempart.log"; exit 1; }
sleep 2

# One dnsperf run: prints "qps p50_ms p99_ms completed lost".
measure() {
  local port=$1 log=$2
  dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/queries.txt" -l "$LEN" -v >"$log" 2>&1
  local qps completed lost
  qps=$(awk '/Queries per second:/ {print $4}' "$log")
  completed=$(awk '/Queries completed:/ {print $3}' "$log")
  lost=$(awk '/Queries lost:/ {print $3}' "$log")
  awk '/^> / {print $NF}' "$log" | sort -g | awk -v qps="$qps" -v c="$completed" -v l="$lost" \
    '{a[NR]=$1} END {printf "%.0f %.3f %.3f %s %s\n", qps, a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000, c, l}'
}

rows=()
for run in $(seq 1 "$RUNS"); do
  r=$(measure "$R_PORT" "$OUT/dnsperf-rempart-$run.log")
  b=$(measure "$B_PORT" "$OUT/dnsperf-rbldnsd-$run.log")
  echo "run $run: rempart $r | rbldnsd $b"
  rows+=("| $run | Rempart dnsbl | ${r// / | } |" "| $run | rbldnsd | ${b// / | } |")
done
load=$(cut -d' ' -f1-3 /proc/loadavg)
ready=$(grep '^ready' "$OUT/rempart.log")
{
  echo
  echo "## DNSBL (\`bench/dnsbl.sh\`)"
  echo
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — 1M entries, $RUNS runs of ${LEN} s each"
  echo
  echo "- machine: $(nproc) CPUs; load average at the end: $load (other sessions' work on the same cores)"
  echo "- versions: rbldnsd $(dpkg-query -W -f '${Version}' rbldnsd); dnsperf $(dpkg-query -W -f '${Version}' dnsperf); node $(node -v); rempart $(git rev-parse --short HEAD)$(git diff --quiet -- src/enforcers/dnsbl || echo -dirty)"
  echo "- data: \`node bench/dnsbl-gen.ts --entries 1000000 --queries 200000 --seed 1\` (70 % IPv4, 30 % IPv6, 10 % ranges; queries half listed, half random)"
  echo "- command: \`RUNS=$RUNS SECONDS_PER_RUN=$LEN bench/dnsbl.sh\`; dnsperf \`-s 127.0.0.1 -p PORT -d queries.txt -l $LEN -v\` (100 queries outstanding), runs interleaved"
  echo "- Rempart: $ready"
  echo
  echo "| run | server | queries/s | p50 ms | p99 ms | completed | lost |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
} >>bench/RESULTS.md
tail -n $((2 * RUNS + 4)) bench/RESULTS.md
