#!/usr/bin/env bash
# Installs and configures the peer programs that bench/ingest.sh compares
# Rempart against, from Debian's packages only (no hub or other download):
#   - CrowdSec 1.4.6 (Debian `crowdsec`), with the postfix and dovecot
#     collections enabled from the offline hub copy the package ships;
#   - fail2ban (for `fail2ban-regex` and its postfix/dovecot filters);
#   - GNU time (peak RSS) and util-linux (taskset).
# Idempotent: running it again changes nothing. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-peers.sh: must run as root (apt-get, /etc/crowdsec)" >&2
  exit 1
fi

# 1. Keep the crowdsec package offline. Its postinst registers with the
#    Central API unless this file already exists holding only a comment
#    (see /usr/share/doc/crowdsec/README.Debian). It must exist BEFORE the
#    package is installed; the package leaves it alone afterwards.
mkdir -p /etc/crowdsec
if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
  echo '# offline: no Central API registration (rempart bench)' >/etc/crowdsec/online_api_credentials.yaml
fi

# 2. Packages.
need=()
for p in crowdsec fail2ban time util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# 3. Enable the postfix and dovecot collections from the offline hub.
#    `cscli collections install` downloads from the online hub even when the
#    items are in the local copy, so it fails offline. The Debian package
#    itself enables items by symlinking /etc/crowdsec/<kind>/[<stage>/]<name>.yaml
#    to /var/lib/crowdsec/hub/<kind>/[<stage>/]<author>/<name>.yaml (the
#    author directory must be stripped on the /etc side); do the same here.
#    cscli then reports them as enabled.
HUB=/var/lib/crowdsec/hub
enable_item() { # $1 = path below the hub, e.g. parsers/s01-parse/crowdsecurity/postfix-logs.yaml
  local src="$HUB/$1"
  if [ ! -f "$src" ]; then
    echo "setup-peers.sh: $src missing from the offline hub" >&2
    exit 1
  fi
  local rel dst
  rel="$(dirname "$(dirname "$1")")/$(basename "$1")"
  dst="/etc/crowdsec/$rel"
  mkdir -p "$(dirname "$dst")"
  ln -sfn "$src" "$dst"
}
for item in \
  collections/crowdsecurity/postfix.yaml \
  collections/crowdsecurity/dovecot.yaml \
  parsers/s01-parse/crowdsecurity/postfix-logs.yaml \
  parsers/s01-parse/crowdsecurity/postscreen-logs.yaml \
  parsers/s01-parse/crowdsecurity/dovecot-logs.yaml \
  scenarios/crowdsecurity/postfix-spam.yaml \
  scenarios/crowdsecurity/dovecot-spam.yaml \
  parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
  parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml; do
  enable_item "$item"
done

# 4. The benchmark runs crowdsec in replay (time-machine) mode by hand; the
#    packaged daemon must not run alongside it (nor hold the SQLite file).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet crowdsec 2>/dev/null; then
  systemctl stop crowdsec || true
fi

# 5. Check: the collections show as enabled and the filters fail2ban-regex
#    uses exist.
cscli --branch master collections list -o raw 2>/dev/null | grep -E 'crowdsecurity/(postfix|dovecot),' || {
  echo "setup-peers.sh: postfix/dovecot collections not enabled" >&2
  exit 1
}
for f in postfix dovecot; do
  [ -f "/etc/fail2ban/filter.d/$f.conf" ] || {
    echo "setup-peers.sh: fail2ban filter $f missing" >&2
    exit 1
  }
done
echo "setup-peers.sh: peers ready: $(crowdsec -version 2>&1 | grep -m1 -i version), fail2ban $(fail2ban-regex --version 2>&1 | head -n1)"
