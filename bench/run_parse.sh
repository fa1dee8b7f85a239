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
# (bench/lib_crowdsec.sh: offline set-up, in-process LAPI, item symlinks)
# shellcheck source=lib_crowdsec.sh
. "$here/lib_crowdsec.sh"

# peer_run TYPE LOG S01 S02... : prints "wall_seconds peak_rss_kib", or fails.
peer_run() {
    ptype=$1; plog=$2; shift 2
    T=$(mktemp -d "$tmp/cs.XXXXXX")
    pitems="parsers/s00-raw/crowdsecurity/syslog-logs.yaml"
    for item in "$@"; do
        pitems="$pitems parsers/$item.yaml"
    done
    # shellcheck disable=SC2086
    cs_setup "$T" $pitems || return 1
    pres=$(cs_run "$T" "$ptype" "$plog") || return 1
    echo "$pres" | cut -d' ' -f1,2
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
        if ! cs_ready; then
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
