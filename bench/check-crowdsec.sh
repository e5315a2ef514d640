#!/usr/bin/env bash
# Runs CrowdSec 1.4.6's local API alone (`crowdsec -no-cs`: no agent, no Central API) on
# loopback with a throw-away copy of the packaged SQLite database, registers a bouncer and
# loads N ban decisions into it. The same offline setup as bench/ingest.sh (run
# bench/setup-peers.sh once first). Used by bench/check.sh as the peer of the look-up target.
#
#   bench/check-crowdsec.sh start N   # prints the bouncer key on stdout; leaves the LAPI running
#   bench/check-crowdsec.sh stop
#
# Environment: CS_API_PORT (18080), CS_CPU (the core the LAPI is pinned to, 0).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/check-crowdsec
CS_API_PORT=${CS_API_PORT:-18080}
CS_CPU=${CS_CPU:-0}
B=$PWD/$OUT
die() {
  echo "check-crowdsec.sh: $*" >&2
  exit 1
}

config() {
  rm -rf "$B"
  mkdir -p "$B/etc" "$B/data"
  cp /etc/crowdsec/profiles.yaml /etc/crowdsec/simulation.yaml "$B/etc/"
  for f in crowdsec.db crowdsec.db-wal; do
    [ -f "/var/lib/crowdsec/data/$f" ] && cp "/var/lib/crowdsec/data/$f" "$B/data/"
  done
  [ -f "$B/data/crowdsec.db" ] || die "/var/lib/crowdsec/data/crowdsec.db missing (run bench/setup-peers.sh)"
  sed "s#^url: .*#url: http://127.0.0.1:$CS_API_PORT#" /etc/crowdsec/local_api_credentials.yaml \
    >"$B/etc/local_api_credentials.yaml"
  echo '# offline' >"$B/etc/online_api_credentials.yaml"
  : >"$B/etc/acquis.yaml"
  cat >"$B/config.yaml" <<EOF
common:
  daemonize: false
  log_media: file
  log_dir: $B/
  log_level: warning
  working_dir: .
config_paths:
  config_dir: $B/etc/
  data_dir: $B/data/
  simulation_path: $B/etc/simulation.yaml
  hub_dir: /var/lib/crowdsec/hub/
  index_path: /var/lib/crowdsec/hub/.index.json
  notification_dir: $B/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $B/etc/acquis.yaml
cscli:
  output: human
db_config:
  log_level: warning
  type: sqlite
  db_path: $B/data/crowdsec.db
  use_wal: true
api:
  client:
    insecure_skip_verify: false
    credentials_path: $B/etc/local_api_credentials.yaml
  server:
    log_level: warning
    listen_uri: 127.0.0.1:$CS_API_PORT
    profiles_path: $B/etc/profiles.yaml
    online_client:
      credentials_path: $B/etc/online_api_credentials.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
}

case "${1:-}" in
  start)
    n=${2:?N decisions}
    config
    # 4 hours: none expires during a run. Documentation and benchmarking ranges only.
    node -e '
      const n = Number(process.argv[1]);
      const out = [];
      for (let i = 0; i < n; i++)
        out.push({ duration: "4h", origin: "bench", reason: "bench", scope: "ip", type: "ban",
                   value: `198.18.${(i >> 8) & 255}.${i & 255}` });
      process.stdout.write(JSON.stringify(out));' "$n" >"$B/decisions.json"
    [ "$n" -le 65536 ] || die "at most 65536 decisions (198.18.0.0/16)"
    taskset -c "$CS_CPU" crowdsec -c "$B/config.yaml" -no-cs >"$B/crowdsec.out" 2>&1 &
    echo $! >"$B/pid"
    for _ in $(seq 1 100); do
      curl -s -o /dev/null "http://127.0.0.1:$CS_API_PORT/v1/decisions" && break
      sleep 0.2
    done
    cscli -c "$B/config.yaml" decisions import -i "$B/decisions.json" >"$B/import.out" 2>&1 ||
      die "cscli decisions import failed: $(tail -n 3 "$B/import.out")"
    cscli -c "$B/config.yaml" bouncers add "bench-$$" -o raw | tail -n 1
    ;;
  stop)
    [ -f "$B/pid" ] && kill "$(cat "$B/pid")" 2>/dev/null || true
    rm -f "$B/pid"
    ;;
  *) die "usage: $0 start N | stop" ;;
esac
