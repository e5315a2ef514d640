#!/usr/bin/env bash
# DNSBL benchmark: Rempart's dnsbl plugin (1M decisions in a DecisionBook) against rbldnsd
# (Debian package, the same list as ip4trie/ip6trie zones), both asked by dnsperf (Debian
# package) on loopback with the same query file. rbldnsd is single-threaded, so the servers
# are pinned to the same core (SERVER_CPUS) and dnsperf to another (CLIENT_CPUS). Rempart runs
# twice, one server per UDP path (UDP_PATHS): the native addon's batches (udp_batching: on) and
# node:dgram (udp_batching: off).
#
# After one warm-up pass through the query file for each server (Rempart's answer cache then
# holds every name of the file, as a resolver's repeated questions would fill it), two phases,
# runs interleaved:
#   1. full speed: dnsperf's default of 100 queries outstanding; p99 there is mostly queueing;
#   2. fixed rates: dnsperf -Q at each of RATE_PERCENTS % of rbldnsd's mean rate in phase 1; at
#      a rate a server sustains, p99 is the latency of an answer, not the length of a queue.
# p50/p99 come from dnsperf -v's per-query latencies; CPU µs/query from the server's
# /proc/PID/stat (user + system, all threads). Inserts a dated sub-section at the end of the
# DNSBL section of bench/RESULTS.md.
#
#   RUNS=2 SECONDS_PER_RUN=15 bench/dnsbl.sh
#   Environment: RUNS (2), SECONDS_PER_RUN (15), RATE_PERCENTS ("80 40"), SERVER_CPUS (0),
#   CLIENT_CPUS (1), REMPART_THREADS (1: dnsbl.threads; more only with as many SERVER_CPUS),
#   UDP_PATHS ("batched dgram"), CHURN (0: changes of decisions a second in Rempart's servers
#   while they answer, as an attack adding bans; see bench/dnsbl-server.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
RUNS="${RUNS:-2}"
LEN="${SECONDS_PER_RUN:-15}"
RATE_PERCENTS="${RATE_PERCENTS:-80 40}"
SERVER_CPUS="${SERVER_CPUS:-0}"
CLIENT_CPUS="${CLIENT_CPUS:-1}"
THREADS="${REMPART_THREADS:-1}"
UDP_PATHS="${UDP_PATHS:-batched dgram}"
export DNSBL_CHURN="${CHURN:-0}"
OUT=bench/out/dnsbl
for p in rbldnsd dnsperf taskset /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "dnsbl bench: needs $p"; exit 1; }
done
[ -f "$OUT/queries.txt" ] || node bench/dnsbl-gen.ts --entries 1000000 --queries 200000 --seed 1 --out "$OUT"

B_PORT=25354
# The daemon's Node flags (npm start's): the server is measured with the heap operators run.
DAEMON_FLAGS=$(node bench/daemon-flags.ts)
# One Rempart server per UDP path: name, port, pid, label.
declare -A R_PORTS R_PIDS R_LABELS
port=25355
for path in $UDP_PATHS; do
  case "$path" in
    batched) batching=on; R_LABELS[$path]="Rempart dnsbl, batched" ;;
    dgram) batching=off; R_LABELS[$path]="Rempart dnsbl, node:dgram" ;;
    *) echo "dnsbl bench: UDP_PATHS: unknown path $path (batched, dgram)"; exit 1 ;;
  esac
  R_PORTS[$path]=$port
  taskset -c "$SERVER_CPUS" node $DAEMON_FLAGS bench/dnsbl-server.ts "$OUT/list.txt" "$port" "$THREADS" "$batching" \
    >"$OUT/rempart-$path.log" 2>&1 &
  R_PIDS[$path]=$!
  port=$((port + 1))
done
(cd "$OUT" && exec taskset -c "$SERVER_CPUS" rbldnsd -n -b "127.0.0.1/$B_PORT" -w . -t 60 -c 1h \
  bl.example.org:ip4trie:v4.zone bl.example.org:ip6trie:v6.zone) >"$OUT/rbldnsd.log" 2>&1 &
B_PID=$!
trap 'kill ${R_PIDS[*]} $B_PID 2>/dev/null || true' EXIT
for path in $UDP_PATHS; do
  log="$OUT/rempart-$path.log"
  for _ in $(seq 1 180); do grep -q '^ready' "$log" && break; sleep 1; done
  grep -q '^ready' "$log" || { cat "$log"; exit 1; }
done

perf_client() { taskset -c "$CLIENT_CPUS" dnsperf -s 127.0.0.1 -d "$OUT/queries.txt" "$@"; }
for path in $UDP_PATHS; do
  perf_client -p "${R_PORTS[$path]}" -n 1 >"$OUT/warmup-rempart-$path.log" 2>&1
done
perf_client -p "$B_PORT" -n 1 >"$OUT/warmup-rbldnsd.log" 2>&1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One dnsperf run: prints "qps p50_ms p99_ms completed lost cpu_us_per_query client_cpu_%".
# dnsperf's own CPU share tells when the client, not the server, set the full-speed rate.
measure() {
  local port=$1 pid=$2 log=$3
  shift 3
  local t0 t1
  t0=$(cpu_ticks "$pid")
  /usr/bin/time -o "$log.time" -f "%e %U %S" \
    taskset -c "$CLIENT_CPUS" dnsperf -s 127.0.0.1 -d "$OUT/queries.txt" -p "$port" -l "$LEN" -v "$@" >"$log" 2>&1
  t1=$(cpu_ticks "$pid")
  local client
  client=$(awk '{printf "%.0f", ($2 + $3) * 100 / $1}' "$log.time")
  local qps completed lost
  qps=$(awk '/Queries per second:/ {print $4}' "$log")
  completed=$(awk '/Queries completed:/ {print $3}' "$log")
  lost=$(awk '/Queries lost:/ {print $3}' "$log")
  awk '/^> / {print $NF}' "$log" | sort -g | awk -v qps="$qps" -v c="$completed" -v l="$lost" \
    -v cpu="$(((t1 - t0) * 1000000 / $(getconf CLK_TCK)))" \
    -v client="$client" \
    '{a[NR]=$1} END {printf "%.0f %.3f %.3f %s %s %.1f %s\n", qps, a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000, c, l, cpu/c, client}'
}

rows=()
b_sum=0
for run in $(seq 1 "$RUNS"); do
  for path in $UDP_PATHS; do
    r=$(measure "${R_PORTS[$path]}" "${R_PIDS[$path]}" "$OUT/dnsperf-max-rempart-$path-$run.log")
    echo "full speed, run $run: ${R_LABELS[$path]} $r"
    rows+=("| full speed | $run | ${R_LABELS[$path]} | ${r// / | } |")
  done
  b=$(measure "$B_PORT" "$B_PID" "$OUT/dnsperf-max-rbldnsd-$run.log")
  echo "full speed, run $run: rbldnsd $b"
  rows+=("| full speed | $run | rbldnsd | ${b// / | } |")
  b_sum=$((b_sum + ${b%% *}))
done
rates=()
for pct in $RATE_PERCENTS; do
  rate=$((b_sum * pct / 100 / RUNS))
  rates+=("\`-Q $rate\` ($pct %)")
  for run in $(seq 1 "$RUNS"); do
    for path in $UDP_PATHS; do
      r=$(measure "${R_PORTS[$path]}" "${R_PIDS[$path]}" "$OUT/dnsperf-rate$pct-rempart-$path-$run.log" -Q "$rate")
      echo "at $rate q/s, run $run: ${R_LABELS[$path]} $r"
      rows+=("| $rate q/s | $run | ${R_LABELS[$path]} | ${r// / | } |")
    done
    b=$(measure "$B_PORT" "$B_PID" "$OUT/dnsperf-rate$pct-rbldnsd-$run.log" -Q "$rate")
    echo "at $rate q/s, run $run: rbldnsd $b"
    rows+=("| $rate q/s | $run | rbldnsd | ${b// / | } |")
  done
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
ready=$(for path in $UDP_PATHS; do printf '%s: %s; ' "$path" "$(grep '^ready' "$OUT/rempart-$path.log")"; done)
ready=${ready%; }
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — 1M entries, $RUNS runs of ${LEN} s per phase"
  echo
  echo "- machine: $(nproc) CPUs; load average at the end: $load (other sessions' work on the same cores)"
  echo "- versions: rbldnsd $(dpkg-query -W -f '${Version}' rbldnsd); dnsperf $(dpkg-query -W -f '${Version}' dnsperf); node $(node -v); rempart $(git rev-parse --short HEAD)$(git diff --quiet -- src/enforcers/dnsbl native || echo -dirty)"
  echo "- data: \`node bench/dnsbl-gen.ts --entries 1000000 --queries 200000 --seed 1\` (70 % IPv4, 30 % IPv6, 10 % ranges; queries half listed, half random)"
  echo "- command: \`RUNS=$RUNS SECONDS_PER_RUN=$LEN UDP_PATHS=\"$UDP_PATHS\" CHURN=$DNSBL_CHURN bench/dnsbl.sh\`; servers pinned to CPU $SERVER_CPUS, dnsperf to CPU $CLIENT_CPUS (\`taskset\`); Rempart \`dnsbl.threads: $THREADS\`, \`node $DAEMON_FLAGS\` as the daemon runs"
  echo "- one warm-up pass (\`dnsperf -n 1\`) per server, then dnsperf \`-s 127.0.0.1 -p PORT -d queries.txt -l $LEN -v\`: full speed (100 queries outstanding), then fixed rates of rbldnsd's mean full-speed rate: ${rates[*]}; runs interleaved"
  echo "- CPU µs/query: the server's user + system time over the run, divided by the queries completed; dnsperf CPU: the client's user + system time over its wall time (near 100 %: the client, not the server, set the rate)"
  [ "$DNSBL_CHURN" = 0 ] || echo "- churn: Rempart's decisions changed $DNSBL_CHURN times a second during every run (a ban on a random IPv4 address added, one from 10 s before removed); rbldnsd's zone did not change"
  echo "- Rempart: $ready"
  echo
  echo "| phase | run | server | queries/s | p50 ms | p99 ms | completed | lost | CPU µs/query | dnsperf CPU % |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  echo
} >"$OUT/section.md"
bench/results-section.sh '## DNSBL (`bench/dnsbl.sh`)' "$OUT/section.md"
cat "$OUT/section.md"
