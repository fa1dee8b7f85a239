#!/bin/sh
# `make run`: phalanxd in the foreground on the embedded default, as far as the
# daemon exists today: the Local API on 127.0.0.1:8080 with SQLite under ./var/
# and CrowdSec's default profiles. The agent's live acquisition is not built
# yet (forensic replay is: phalanxd -dsn). Ctrl-C stops it.
set -eu
build=${1:-build}
state=${PHALANX_STATE:-var}
phalanx="$build/phalanx"
phalanxd="$build/phalanxd"
listen=${PHALANX_LISTEN:-127.0.0.1:8080}

mkdir -p "$state/data"
conf="$state/config.yaml"
# Our shipped config.yaml with every path moved under the state directory.
sed -e "s|/etc/phalanx/profiles.yaml|$PWD/config/profiles.yaml|" \
    -e "s|/etc/phalanx/|$PWD/$state/|g" \
    -e "s|/var/lib/phalanx/data/|$PWD/$state/data/|g" \
    -e "s|listen_uri: .*|listen_uri: $listen|" \
    config/config.yaml >"$conf"

echo "== configuration check: phalanxd -t -c $conf"
"$phalanxd" -t -c "$conf"

echo "== a quick look at the expression engine (phalanx expr)"
"$phalanx" expr "IpInRange('192.0.2.7', '192.0.2.0/24') && Upper('root') == 'ROOT'"

if ! "$phalanx" bouncers list -c "$conf" 2>/dev/null | grep -q 'make-run-bouncer'; then
    key=$("$phalanx" bouncers add make-run-bouncer -c "$conf" -o raw)
    echo "$key" >"$state/bouncer.key"
fi
echo "== Local API on http://$listen (SQLite: $state/data/phalanx.db)"
echo "   a bouncer key is in $state/bouncer.key; try:"
echo "   curl -s -H \"X-Api-Key: \$(cat $state/bouncer.key)\" http://$listen/v1/decisions/stream?startup=true"
echo "   live log acquisition is not built yet: replay a log with"
echo "   $phalanxd -c $conf -dsn file:///var/log/auth.log -type syslog"
exec "$phalanxd" -c "$conf"
