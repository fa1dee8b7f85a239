#!/bin/sh
# run_parse.sh BUILD - the parse benchmark: generates 1M-line sshd (syslog) and
# nginx access logs (BUILD/bench/parse/gen_logs, deterministic), runs the hub
# chains syslog-logs + sshd-logs + dateparse-enrich and syslog-logs (its
# non-syslog node sets the program) + nginx-logs + http-logs + dateparse-enrich
# over them on one thread (BUILD/bench/parse/bench_parse), and prints lines/s,
# parsed count and peak RSS; then replays the same files (the first PEER_LINES
# lines) through CrowdSec 1.4.6 with only those parsers installed, no
# scenarios, and its LAPI in-process on loopback, and prints the ratio of the
# rates. The peer's rate is lines / (wall time of the replay - wall time of the
# same replay of 1 line), i.e. without its start-up and shutdown; its own
# parsers are Debian's 1.4.6 hub copies. If crowdsec is not installed or the
# replay fails, the Phalanx numbers are printed alone and the peer line says why.
#
# Environment: HUB (default ../shared/hub), LINES (default 1000000),
# PEER_LINES (default 200000 for sshd, 30000 for nginx: CrowdSec parses nginx
# at ~1k lines/s here), PEER=0 to skip the peer.
set -eu
build=${1:?usage: bench/run_parse.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
hub=$(cd "${HUB:-$root/../shared/hub}" && pwd)
lines=${LINES:-1000000}
gen="$build/bench/parse/gen_logs"
bench="$build/bench/parse/bench_parse"
for b in "$gen" "$bench"; do
    [ -x "$b" ] || { echo "run_parse.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" sshd "$lines" 42 > "$tmp/sshd.log"
"$gen" nginx "$lines" 42 > "$tmp/nginx.log"

p="$hub/parsers"
sshd_chain="$p/s00-raw/crowdsecurity/syslog-logs.yaml $p/s01-parse/crowdsecurity/sshd-logs.yaml
$p/s02-enrich/crowdsecurity/dateparse-enrich.yaml"
nginx_chain="$p/s00-raw/crowdsecurity/syslog-logs.yaml $p/s01-parse/crowdsecurity/nginx-logs.yaml
$p/s02-enrich/crowdsecurity/http-logs.yaml $p/s02-enrich/crowdsecurity/dateparse-enrich.yaml"

# --- the peer: CrowdSec 1.4.6 in replay (-dsn) mode, in a throw-away config ---

# peer_run TYPE LOG S01 S02... : prints "wall_seconds peak_rss_kib", or fails.
peer_run() {
    ptype=$1; plog=$2; shift 2
    T=$(mktemp -d "$tmp/cs.XXXXXX")
    chub=/usr/share/crowdsec/hub
    mkdir -p "$T/etc/parsers/s00-raw" "$T/etc/parsers/s01-parse" "$T/etc/parsers/s02-enrich" \
        "$T/etc/scenarios" "$T/etc/postoverflows" "$T/etc/collections" "$T/data"
    ln -s "$chub/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$T/etc/parsers/s00-raw/"
    for item in "$@"; do
        ln -s "$chub/parsers/$item.yaml" "$T/etc/parsers/$(dirname "$item" | cut -d/ -f1)/"
    done
    cp -r /etc/crowdsec/patterns "$T/etc/patterns"
    cp /etc/crowdsec/profiles.yaml "$T/etc/profiles.yaml"
    printf 'simulation: off\n' > "$T/etc/simulation.yaml"
    : > "$T/etc/acquis.yaml"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$T/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: error
  working_dir: $T
config_paths:
  config_dir: $T/etc/
  data_dir: $T/data/
  simulation_path: $T/etc/simulation.yaml
  hub_dir: $chub/
  index_path: $chub/.index.json
  notification_dir: $T/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $T/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  hub_branch: master
db_config:
  log_level: error
  type: sqlite
  use_wal: false
  db_path: $T/data/crowdsec.db
api:
  client:
    insecure_skip_verify: false
    credentials_path: $T/etc/local_api_credentials.yaml
  server:
    log_level: error
    listen_uri: 127.0.0.1:$port
    profiles_path: $T/etc/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
    cscli -c "$T/config.yaml" machines add bench --auto --force \
        -f "$T/etc/local_api_credentials.yaml" > "$T/cscli.log" 2>&1 || return 1
    /usr/bin/time -f '%e %M' -o "$T/time" \
        crowdsec -c "$T/config.yaml" -dsn "file://$plog" -type "$ptype" > "$T/run.log" 2>&1 ||
        return 1
    cat "$T/time"
}

# The package's postinst registers with the Central API and fails offline
# unless online_api_credentials.yaml exists; finish a half-configured install.
peer_ready() {
    command -v crowdsec >/dev/null && command -v cscli >/dev/null || return 1
    if ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q 'ok installed'; then
        [ -e /etc/crowdsec/online_api_credentials.yaml ] ||
            echo '# offline: no Central API' > /etc/crowdsec/online_api_credentials.yaml
        dpkg --configure -a >/dev/null 2>&1 || return 1
    fi
    [ -d /usr/share/crowdsec/hub/parsers ]
}

printf '%-7s %9s %9s %9s %8s %12s %10s  %s\n' chain lines parsed unparsed seconds lines/s \
    "peak RSS" "peer (CrowdSec 1.4.6)"
status=0
for kind in sshd nginx; do
    if [ "$kind" = sshd ]; then
        type=syslog chain=$sshd_chain peer_items="s01-parse/crowdsecurity/sshd-logs
s02-enrich/crowdsecurity/dateparse-enrich" peer_lines=${PEER_LINES:-200000}
    else
        type=nginx chain=$nginx_chain peer_items="s01-parse/crowdsecurity/nginx-logs
s02-enrich/crowdsecurity/http-logs s02-enrich/crowdsecurity/dateparse-enrich"
        peer_lines=${PEER_LINES:-30000}
    fi
    # shellcheck disable=SC2086
    out=$("$bench" "$type" "$tmp/$kind.log" "$root/config/patterns" "$hub/patterns" -- $chain) ||
        { echo "$kind: bench_parse failed" >&2; status=1; continue; }
    # shellcheck disable=SC2086
    set -- $out
    ph_rate=$6
    peer="not run (PEER=0)"
    if [ "${PEER:-1}" != 0 ]; then
        if ! peer_ready; then
            peer="not run: crowdsec is not installed (scripts/setup.sh bench)"
        else
            head -n "$peer_lines" "$tmp/$kind.log" > "$tmp/peer-$kind.log"
            head -n 1 "$tmp/$kind.log" > "$tmp/peer-$kind-1.log"
            # shellcheck disable=SC2086
            if base=$(peer_run "$type" "$tmp/peer-$kind-1.log" $peer_items) &&
                full=$(peer_run "$type" "$tmp/peer-$kind.log" $peer_items); then
                peer=$(echo "$base $full" | awk -v n="$peer_lines" -v ph="$ph_rate" '{
                    d = $3 - $1; if (d <= 0) { print "not measurable (replay too short)"; exit }
                    r = n / d
                    printf "%.0f lines/s on the first %d lines (%.2f s wall, %.2f s start-up), %d KiB; phalanx/crowdsec %.1fx", r, n, $3, $1, $4, ph / r }')
            else
                peer="not run: the crowdsec replay failed"
            fi
        fi
    fi
    printf '%-7s %9s %9s %9s %8s %12s %7s KiB  %s\n' "$kind" "$1" "$2" "$3" "$5" "$6" "$7" "$peer"
done
exit $status
