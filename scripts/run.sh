#!/bin/sh
# `make run`: the main job on the embedded default, as far as it exists today.
# There is no agent or Local API yet, so this checks the shipped configuration and
# shows the expression engine evaluating real CrowdSec hub expressions. It grows
# into `phalanxd` in the foreground as the daemon lands.
set -eu
build=${1:-build}
phalanx="$build/phalanx"
phalanxd="$build/phalanxd"

echo "== phalanxd -t -c config/config.yaml (configuration check)"
"$phalanxd" -t -c config/config.yaml

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
cat >"$state/event.json" <<'JSON'
{"evt": {"Line": {"Raw": "Nov 27 10:00:01 host sshd[42]: Failed password for root from 192.0.2.7 port 4242 ssh2",
                  "Labels": {"type": "syslog"}},
         "Parsed": {"program": "sshd", "sshd_client_ip": "192.0.2.7", "user": "root"},
         "Meta": {"log_type": "ssh_failed-auth", "service": "ssh", "source_ip": "192.0.2.7"}}}
JSON

run() {
    echo "== phalanx expr --context $1 \"$2\""
    "$phalanx" expr --context "$1" --env "$state/event.json" "$2"
}
run parser "evt.Parsed.program in ['sshd-session', 'sshd']"
run scenario "evt.Meta.log_type == 'ssh_failed-auth'"
run scenario "evt.Meta.source_ip"
run parser "IpInRange(evt.Meta.source_ip, '192.0.2.0/24') && Upper(evt.Parsed.user) == 'ROOT'"
run parser "Split(evt.Line.Raw, ' ') | filter(# contains '.') | map(trimSuffix(#, ':'))"
echo "== done: the daemon (agent + Local API) is not built yet; see README.md, Roadmap"
