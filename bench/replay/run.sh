#!/bin/sh
# run.sh BUILD - the end-to-end replay benchmark: phalanxd against Debian's
# CrowdSec 1.4.6 on the same generated logs with the same hub items.
#
# Logs: BUILD/bench/parse/gen_logs (deterministic, seed 42) sshd and nginx,
# LINES lines each (default 1,000,000), with deterministic attack bursts
# mixed in by bench/replay/inject.awk (gen_logs alone overflows no bucket).
# Items: what Debian enables by default - the crowdsecurity/linux, nginx and
# apache2 collections and everything they pull in, plus the whitelists parser
# - resolved from /usr/share/crowdsec/hub/.index.json and symlinked into two
# config dirs (one per engine) from the very same hub files, with the same
# data files (Debian's, plus the http_path_traversal.txt alias) and patterns.
# Runs: phalanxd on the whole logs (the rate that counts), then both engines
# on a prefix (PEER_SSHD_LINES, default 200,000; PEER_NGINX_LINES, default
# 30,000: CrowdSec needs hours for 1M nginx lines) for the rate ratio and the
# alert comparison. CrowdSec's rate is lines / (wall of the prefix replay -
# wall of a 1-line replay), i.e. without its start-up; phalanxd's is lines /
# whole wall time, start-up included. CPU = user + sys, peak RSS from GNU
# time. Alerts are compared as sets of (scenario, source IP), then line by
# line with events_count, start and stop time: phalanxd's from its
# -alerts-file, CrowdSec's from its SQLite db. docs/bench.md explains every
# difference.
#
# Environment: LINES, PEER_SSHD_LINES, PEER_NGINX_LINES, PEER=0 (phalanxd
# only), KEEP=DIR (keep the logs, configs and alert sets there).
# Exit status 1 if a run failed; missed targets are printed, not fatal.
set -eu
build=${1:?usage: bench/replay/run.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$build" && pwd)
# shellcheck source=../lib_crowdsec.sh
. "$root/bench/lib_crowdsec.sh"
lines=${LINES:-1000000}
gen="$build/bench/parse/gen_logs"
phalanxd="$build/src/bin/phalanxd"
for b in "$gen" "$phalanxd"; do
    [ -x "$b" ] || { echo "replay/run.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done
# phalanxd finds its base grok set (what grokky has built in) under the source root.
PHALANX_SOURCE_ROOT=$root
export PHALANX_SOURCE_ROOT

if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    tmp=$(cd "$KEEP" && pwd)
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi
status=0

"$gen" sshd "$lines" 42 | awk -v kind=sshd -f "$here/inject.awk" > "$tmp/sshd.log"
"$gen" nginx "$lines" 42 | awk -v kind=nginx -f "$here/inject.awk" > "$tmp/nginx.log"

items=$(cs_resolve collections/crowdsecurity/linux collections/crowdsecurity/nginx \
    collections/crowdsecurity/apache2 parsers/crowdsecurity/whitelists)
nitems=$(echo "$items" | wc -l)
nscen=$(echo "$items" | grep -c '^scenarios/')

# phalanxd's config dir: the same symlinks, data files and patterns as crowdsec's.
P="$tmp/phalanxd"
mkdir -p "$P/etc"
# shellcheck disable=SC2086
cs_install "$P/etc" $items
cs_data "$P/data"
mkdir -p "$P/etc/patterns"
cp -r /etc/crowdsec/patterns/. "$P/etc/patterns/"
cat > "$P/config.yaml" <<EOF
config_paths:
  config_dir: $P/etc/
  data_dir: $P/data/
  hub_dir: $CS_HUB/
  index_path: $CS_HUB/.index.json
crowdsec_service:
  parser_routines: 2
  buckets_routines: 2
  output_routines: 1
EOF

# ph_run NAME TYPE LOG: prints "wall_s peak_rss_kib user_s sys_s"; alerts in $tmp/NAME.json.
ph_run() {
    /usr/bin/time -f '%e %M %U %S' -o "$tmp/$1.time" "$phalanxd" -c "$P/config.yaml" \
        -dsn "file://$3" -type "$2" -alerts-file "$tmp/$1.json" > "$tmp/$1.out" 2>&1 || return 1
    cat "$tmp/$1.time"
}

# A table row: LOG ENGINE LINES "wall rss user sys" [START-UP]: lines/s = LINES / (wall - START-UP).
row() {
    echo "$4 ${5:-0}" | awk -v lg="$1" -v eng="$2" -v n="$3" '{
        d = $1 - $5
        rate = d > 0 ? sprintf("%.0f", n / d) : "n/a"
        cpu = $3 + $4
        crate = cpu > 0 ? sprintf("%.0f", n / cpu) : "n/a"
        printf "%-6s %-18s %8d %8.2f %9s %8.2f %11s %8.1f\n", lg, eng, n, $1, rate, cpu, crate, $2 / 1024 }'
}

# rate LINES "wall ..." [START-UP]
rate() {
    echo "$2 ${3:-0}" | awk -v n="$1" '{ d = $1 - $5; print (d > 0 ? n / d : 0) }'
}

# The (scenario, source IP) set of "scenario<TAB>IP<TAB>..." alert lines.
pairs() { cut -f1,2 | sort -u; }

summary="$tmp/summary"
: > "$summary"
printf '%-6s %-18s %8s %8s %9s %8s %11s %8s\n' log engine lines "wall s" "lines/s" "CPU s" "lines/CPU-s" \
    "RSS MiB" \
    > "$tmp/table"
for kind in sshd nginx; do
    if [ "$kind" = sshd ]; then
        type=syslog prefix=${PEER_SSHD_LINES:-200000} rate_target=200000
    else
        type=nginx prefix=${PEER_NGINX_LINES:-30000} rate_target=50000
    fi
    log="$tmp/$kind.log"
    n=$(wc -l < "$log")
    head -n "$prefix" "$log" > "$tmp/$kind-prefix.log"
    head -n 1 "$log" > "$tmp/$kind-1.log"

    full="" ph_pre="" cs_pre="" cs_one=""
    if full=$(ph_run "$kind-full" "$type" "$log"); then
        row "$kind" "phalanxd" "$n" "$full" >> "$tmp/table"
    else
        echo "$kind: phalanxd failed on the whole log: $(tail -n 3 "$tmp/$kind-full.out")" >> "$summary"
        full="" status=1
    fi
    if ph_pre=$(ph_run "$kind-prefix" "$type" "$tmp/$kind-prefix.log"); then
        row "$kind" "phalanxd (prefix)" "$prefix" "$ph_pre" >> "$tmp/table"
        jq -r '[.scenario, .source.value, .events_count, .start_at, .stop_at] | @tsv' \
            "$tmp/$kind-prefix.json" | sort > "$tmp/$kind-ph.alerts"
        pairs < "$tmp/$kind-ph.alerts" > "$tmp/$kind-ph.pairs"
    else
        echo "$kind: phalanxd failed on the prefix: $(tail -n 3 "$tmp/$kind-prefix.out")" >> "$summary"
        ph_pre="" status=1
    fi

    if [ "${PEER:-1}" = 0 ]; then
        echo "$kind: crowdsec not run (PEER=0)" >> "$summary"
        continue
    fi
    if ! cs_ready; then
        echo "$kind: crowdsec not run: not installed (scripts/setup.sh bench)" >> "$summary"
        continue
    fi
    C1="$tmp/cs-$kind-1" CP="$tmp/cs-$kind-prefix"
    rm -rf "$C1" "$CP"
    mkdir -p "$C1" "$CP"
    # shellcheck disable=SC2086
    if cs_setup "$C1" $items && cs_one=$(cs_run "$C1" "$type" "$tmp/$kind-1.log") &&
        cs_setup "$CP" $items && cs_pre=$(cs_run "$CP" "$type" "$tmp/$kind-prefix.log"); then
        row "$kind" "crowdsec 1.4.6" "$prefix" "$cs_pre" "${cs_one%% *}" >> "$tmp/table"
        cs_alerts "$CP" | sort > "$tmp/$kind-cs.alerts"
        pairs < "$tmp/$kind-cs.alerts" > "$tmp/$kind-cs.pairs"
    else
        echo "$kind: the crowdsec replay failed: $(tail -n 3 "$CP/run.log" "$C1/run.log" 2>/dev/null)" \
            >> "$summary"
        cs_pre="" status=1
        continue
    fi

    # Ratios: phalanxd's whole-log rate against crowdsec's prefix rate; crowdsec's peak RSS
    # on the prefix (it grows with the log: replay never frees buckets) against phalanxd's on
    # the whole log, which understates phalanxd's advantage.
    cs_rate=$(rate "$prefix" "$cs_pre" "${cs_one%% *}")
    if [ -n "$full" ]; then
        ph_rate=$(rate "$n" "$full")
        echo "$full $cs_pre" | awk -v k="$kind" -v pr="$ph_rate" -v cr="$cs_rate" -v t="$rate_target" '{
            sp = cr > 0 ? pr / cr : 0; mem = $2 > 0 ? $6 / $2 : 0
            printf "%s: phalanxd/crowdsec lines/s %.1fx (target >= 10x: %s), crowdsec/phalanxd peak RSS %.1fx (target >= 5x: %s), phalanxd %.0f lines/s (target >= %d: %s)\n",
                k, sp, (sp >= 10 ? "met" : "MISSED"), mem, (mem >= 5 ? "met" : "MISSED"),
                pr, t, (pr >= t ? "met" : "MISSED") }' >> "$summary"
    fi
    if [ -n "$ph_pre" ]; then
        nph=$(wc -l < "$tmp/$kind-ph.pairs")
        ncs=$(wc -l < "$tmp/$kind-cs.pairs")
        both=$(comm -12 "$tmp/$kind-ph.pairs" "$tmp/$kind-cs.pairs" | wc -l)
        echo "$kind: alerts on the $prefix-line prefix: phalanxd $(wc -l < "$tmp/$kind-ph.alerts") ($nph (scenario, IP) pairs), crowdsec $(wc -l < "$tmp/$kind-cs.alerts") ($ncs pairs), $both pairs in both" >> "$summary"
        ndiff=$(diff "$tmp/$kind-ph.alerts" "$tmp/$kind-cs.alerts" | grep -c '^[<>]' || true)
        echo "$kind: alerts compared with events_count, start and stop time too: $ndiff lines differ" >> "$summary"
        comm -23 "$tmp/$kind-ph.pairs" "$tmp/$kind-cs.pairs" | sed "s/^/  only phalanxd: /" >> "$summary"
        comm -13 "$tmp/$kind-ph.pairs" "$tmp/$kind-cs.pairs" | sed "s/^/  only crowdsec: /" >> "$summary"
    fi
done

echo "replay benchmark: $nitems hub items ($nscen scenarios) from $CS_HUB, 2 cores"
cat "$tmp/table" "$summary"
exit $status
