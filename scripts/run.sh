#!/bin/sh
# `make run`: phalanxd in the foreground on the embedded default: state under
# ./var/, SQLite, our own collection (config/hub, phalanx/linux) installed as a
# CrowdSec hub would be, the Local API on 127.0.0.1:8080 and the agent tailing
# whichever of /var/log/auth.log, /var/log/syslog and /var/log/nginx/*.log
# exist (and the journal when there is one), its alerts sent to that Local API.
# Ctrl-C stops it.
set -eu
build=${1:-build}
state=${PHALANX_STATE:-var}
phalanx="$build/phalanx"
phalanxd="$build/phalanxd"
# a meson build dir without make build's links (the tests run this script on the sanitizer build)
[ -x "$phalanx" ] || phalanx="$build/src/bin/phalanx"
[ -x "$phalanxd" ] || phalanxd="$build/src/bin/phalanxd"
listen=${PHALANX_LISTEN:-127.0.0.1:8080}
top=$PWD

mkdir -p "$state/data" "$state/acquis.d" "$state/log"
state=$(cd "$state" && pwd)
conf="$state/config.yaml"
# Our shipped config.yaml with every path moved under the state directory, and the hub
# being our own collection in config/hub.
sed -e "s|/etc/phalanx/profiles.yaml|$top/config/profiles.yaml|" \
    -e "s|/etc/phalanx/hub/|$top/config/hub/|g" \
    -e "s|/etc/phalanx/|$state/|g" \
    -e "s|/var/lib/phalanx/data/|$state/data/|g" \
    -e "s|listen_uri: .*|listen_uri: $listen|" \
    config/config.yaml >"$conf"
ln -sfn "$top/config/patterns/base" "$state/patterns"

# The hub is our own collection: items and data files come from config/hub.
export PHALANX_HUB_URL="$top/config/hub"
echo "== items: our default collection (phalanx/linux) from config/hub"
"$phalanx" collections install phalanx/linux -c "$conf" >/dev/null
"$phalanx" collections list -c "$conf"

echo "== datasources"
acquis="$state/acquis.yaml"
: >"$acquis"
found=""
add_file() { # type, files...
    type=$1
    shift
    {
        [ -s "$acquis" ] && echo "---"
        echo "filenames:"
        for f in "$@"; do echo "  - $f"; done
        echo "labels:"
        echo "  type: $type"
    } >>"$acquis"
    found="$found $*"
}
[ -r /var/log/auth.log ] && add_file syslog /var/log/auth.log
[ -r /var/log/syslog ] && add_file syslog /var/log/syslog
if ls /var/log/nginx/*.log >/dev/null 2>&1; then add_file nginx '/var/log/nginx/*.log'; fi
if [ -S /run/systemd/journal/socket ] && command -v journalctl >/dev/null; then
    { [ -s "$acquis" ] && echo "---"
      printf 'source: journalctl\njournalctl_filter:\n  - _SYSTEMD_UNIT=ssh.service\nlabels:\n  type: syslog\n'
    } >>"$acquis"
    found="$found journald(ssh.service)"
fi
if [ -z "$found" ]; then
    add_file syslog "$state/log/demo.log"
    touch "$state/log/demo.log"
    echo "   none of /var/log/auth.log, /var/log/syslog, /var/log/nginx/*.log or a journal here:"
    echo "   tailing $state/log/demo.log instead; append sshd lines to it to see alerts"
else
    echo "   found:$found"
fi

# The agent's machine account and a bouncer key, made once.
if [ ! -s "$state/local_api_credentials.yaml" ]; then
    "$phalanx" machines add make-run-agent --auto -f "$state/local_api_credentials.yaml" \
        --url "http://$listen/" -c "$conf" >/dev/null
fi
if [ ! -s "$state/bouncer.key" ]; then
    "$phalanx" bouncers add make-run-bouncer -c "$conf" -o raw >"$state/bouncer.key"
fi

echo "== configuration check: phalanxd -t -c $conf"
"$phalanxd" -t -c "$conf"

echo "== phalanxd: Local API on http://$listen (SQLite: $state/data/phalanx.db) + agent"
echo "   decisions: $phalanx decisions list -c $conf"
echo "   a bouncer's view: curl -s -H \"X-Api-Key: \$(cat $state/bouncer.key)\" http://$listen/v1/decisions/stream?startup=true"
exec "$phalanxd" -c "$conf"
