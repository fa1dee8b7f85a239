#!/usr/bin/env bats
# `phalanxd -dsn` (CrowdSec's replay / forensic mode): an sshd log replayed
# against the hub's ssh-bf gives one alert per attacking IP with the right
# events_count; the alert file is byte-identical for 1, 2 and 8 parser
# routines and bucket shards; .gz input; hostile lines (binary, 64 KiB+)
# do not crash it; -dump-data writes CrowdSec's three dumps; the alert carries
# the alert context (hub contexts + console_context_path); bad flags fail.
# Needs PHALANX_BUILD (a meson build dir) and the hub ($HUB, default
# ../shared/hub from the source root); without the hub the tests skip.

bats_require_minimum_version 1.5.0

setup() {
    PHALANXD="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanxd"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    export PHALANX_SOURCE_ROOT="$ROOT"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    TMP="$(mktemp -d)"
}

teardown() {
    rm -rf "$TMP"
}

# A config dir of symlinks to the hub's sshd parsers and ssh-bf, as `cscli install` makes.
make_config() {
    [ -f "$HUBDIR/scenarios/crowdsecurity/ssh-bf.yaml" ] || skip "no hub at $HUBDIR"
    local c="$TMP/etc"
    mkdir -p "$c/parsers/s00-raw" "$c/parsers/s01-parse" "$c/parsers/s02-enrich" "$c/scenarios" "$c/data"
    ln -s "$HUBDIR/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$c/parsers/s00-raw/"
    ln -s "$HUBDIR/parsers/s01-parse/crowdsecurity/sshd-logs.yaml" "$c/parsers/s01-parse/"
    ln -s "$HUBDIR/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" "$c/parsers/s02-enrich/"
    ln -s "$HUBDIR/scenarios/crowdsecurity/ssh-bf.yaml" "$c/scenarios/"
    ln -s "$HUBDIR/patterns" "$c/patterns"
    for n in 1 2 8; do
        cat > "$c/config-$n.yaml" <<EOT
config_paths:
  config_dir: $c
  data_dir: $c/data
  hub_dir: $HUBDIR
crowdsec_service:
  parser_routines: $n
  buckets_routines: $n
  output_routines: $n
EOT
    done
    CONFIG="$c/config-1.yaml"
}

# N failed logins from IP, one a second from 12:00:S0.
attack() {
    local ip=$1 n=$2 s0=$3
    awk -v ip="$ip" -v n="$n" -v s0="$s0" 'BEGIN { for (i = 0; i < n; i++)
        printf "Sep 30 12:%02d:%02d host sshd[%d]: Invalid user admin from %s port %d\n",
            int((s0 + i) / 60), (s0 + i) % 60, 100 + i, ip, 4000 + i }'
}

# jq over every alert line of a file
alerts() {
    jq -c "$2" "$1"
}

@test "replay: ssh-bf alerts once for the attacker, with events_count = capacity + 1" {
    make_config
    { attack 1.2.3.4 10 0; attack 5.6.7.8 3 30; } > "$TMP/auth.log"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/auth.log" -type syslog -no-api \
        -alerts-file "$TMP/alerts.json"
    [[ "$output" == *"13 lines (13 parsed"* ]]
    run -0 alerts "$TMP/alerts.json" 'select(.scenario == "crowdsecurity/ssh-bf") | [.source.value, .events_count, .capacity, .start_at, .stop_at]'
    [ "$output" = '["1.2.3.4",6,5,"2026-09-30T12:00:00Z","2026-09-30T12:00:05Z"]' ] ||
        [[ "$output" == '["1.2.3.4",6,5,"'*'-09-30T12:00:00Z","'*'-09-30T12:00:05Z"]' ]]
    run -0 alerts "$TMP/alerts.json" '.source.value'
    [[ "$output" != *5.6.7.8* ]]
    run -0 alerts "$TMP/alerts.json" '.scenario_version'
    [[ "${lines[0]}" =~ ^\"[0-9]+\.[0-9]+\"$ ]]
}

@test "replay: byte-identical alerts with 1, 2 and 8 parser routines and bucket shards" {
    make_config
    # 30k lines, 3 a second: every third line from one of 33 attackers taking turns (900 lines
    # each), the rest background noise from 15,000 addresses.
    awk 'BEGIN { srand(11); for (i = 0; i < 30000; i++) { s = int(i / 3);
        ip = (i % 3 == 0) ? "10.0." int(i / 900) ".1" : "192.168." int(rand() * 60) "." int(rand() * 250);
        printf "Sep 30 %02d:%02d:%02d host sshd[%d]: Invalid user u%d from %s port %d\n",
            10 + int(s / 3600), int(s / 60) % 60, s % 60, i, i % 17, ip, 1024 + i % 6000 } }' \
        > "$TMP/auth.log"
    for n in 1 2 8; do
        run -0 "$PHALANXD" -c "$TMP/etc/config-$n.yaml" -dsn "file://$TMP/auth.log" -type syslog \
            -alerts-file "$TMP/alerts-$n.json"
    done
    [ "$(wc -l < "$TMP/alerts-1.json")" -gt 40 ]
    cmp "$TMP/alerts-1.json" "$TMP/alerts-2.json"
    cmp "$TMP/alerts-1.json" "$TMP/alerts-8.json"
}

@test "replay: .gz input gives the same alerts as the plain file" {
    make_config
    attack 9.9.9.9 20 0 > "$TMP/auth.log"
    gzip -c "$TMP/auth.log" > "$TMP/auth.log.gz"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/auth.log" -type syslog -alerts-file "$TMP/a.json"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/auth.log.gz" -type syslog -alerts-file "$TMP/b.json"
    [ "$(wc -l < "$TMP/a.json")" -ge 1 ]
    diff <(sed 's/auth\.log\.gz/auth.log/g' "$TMP/b.json") "$TMP/a.json"
}

@test "replay: binary garbage and 64 KiB+ lines are dropped, the rest still alerts" {
    make_config
    {
        head -c 200000 /dev/urandom
        echo
        head -c 70000 /dev/zero | tr '\0' 'A'
        echo
        attack 7.7.7.7 8 0
        printf 'Sep 30 12:00:59 host sshd[1]: Invalid user \x00\xff\xfe from 7.7.7.7 port 1\n'
    } > "$TMP/auth.log"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/auth.log" -type syslog -alerts-file "$TMP/a.json"
    [[ "$output" =~ \ [1-9][0-9]*\ too\ long\) ]]
    run -0 alerts "$TMP/a.json" 'select(.scenario == "crowdsecurity/ssh-bf") | .source.value'
    [ "$output" = '"7.7.7.7"' ]
}

@test "replay: -dump-data writes parser, bucket pour and bucket dumps and no alerts" {
    make_config
    attack 1.2.3.4 7 0 > "$TMP/auth.log"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/auth.log" -type syslog -dump-data "$TMP/dump"
    [ -z "$(grep '^{' <<< "$output")" ]
    for f in parser-dump.yaml bucketpour-dump.yaml bucket-dump.yaml; do [ -s "$TMP/dump/$f" ]; done
    python3 - "$TMP/dump" <<'EOP'
import sys, yaml
d = sys.argv[1]
pour = yaml.safe_load(open(d + "/bucketpour-dump.yaml"))
# the 7 lines and ssh-bf's overflow, poured again (reprocess: true)
assert len(pour["OK"]) == 8, len(pour["OK"])
assert sum(1 for e in pour["OK"] if e.get("Type") == 1) == 1
assert len(pour["crowdsecurity/ssh-bf"]) == 7
ov = yaml.safe_load(open(d + "/bucket-dump.yaml"))
names = sorted(o["Overflow"]["Alert"]["scenario"] for o in ov)
assert "crowdsecurity/ssh-bf" in names, names
parse = yaml.safe_load(open(d + "/parser-dump.yaml"))
assert len(parse["s01-parse"]["crowdsecurity/sshd-logs"]) == 7
EOP
}

@test "replay: the alert carries the hub's bf_base context and the console context as meta" {
    make_config
    [ -f "$HUBDIR/contexts/crowdsecurity/bf_base.yaml" ] || skip "no contexts/crowdsecurity/bf_base.yaml in $HUBDIR"
    mkdir -p "$TMP/etc/contexts"
    ln -s "$HUBDIR/contexts/crowdsecurity/bf_base.yaml" "$TMP/etc/contexts/"
    printf 'pids:\n  - evt.Parsed.pid\n  - evt.Meta.nothing\n' > "$TMP/console-context.yaml"
    printf 'crowdsec_service:\n  console_context_path: %s\n  console_context_value_length: 30\n' \
        "$TMP/console-context.yaml" > "$TMP/etc/config-ctx.yaml"
    sed '/^crowdsec_service:/,$d' "$CONFIG" >> "$TMP/etc/config-ctx.yaml"
    for i in 0 1 2 3 4 5 6; do
        printf 'Sep 30 12:00:%02d host sshd[400%d]: Invalid user u%d from 4.4.4.4 port 1\n' $i $i $((i % 3))
    done > "$TMP/auth.log"
    run -0 "$PHALANXD" -c "$TMP/etc/config-ctx.yaml" -dsn "file://$TMP/auth.log" -type syslog -no-api \
        -alerts-file "$TMP/alerts.json"
    run -0 alerts "$TMP/alerts.json" 'select(.scenario == "crowdsecurity/ssh-bf") | .meta'
    # unique users in first-seen order; the pids cut to 30 bytes by dropping trailing values
    [ "$output" = '[{"key":"pids","value":"[\"4000\",\"4001\",\"4002\",\"4003\"]"},{"key":"target_user","value":"[\"u0\",\"u1\",\"u2\"]"}]' ]
    # a context file that does not compile stops the agent, naming the file and line
    printf 'pids:\n  - evt.Parsed.pid +\n' > "$TMP/console-context.yaml"
    run -1 "$PHALANXD" -c "$TMP/etc/config-ctx.yaml" -dsn "file://$TMP/auth.log" -type syslog -no-api
    [[ "$output" == *"console-context.yaml:2: compilation of 'evt.Parsed.pid +'"* ]]
}

@test "replay: wrong flags and DSNs fail with a message" {
    make_config
    run -2 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/none.log"
    [[ "$output" == *"-type is mandatory"* ]]
    run -1 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/none.log" -type syslog
    [[ "$output" == *"no file matches"* ]]
    run -1 "$PHALANXD" -c "$CONFIG" -dsn "journalctl://filters=x" -type syslog
    [[ "$output" == *"only file://"* ]]
    run -2 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/x" -type syslog -label nocolon
    [[ "$output" == *"key:value"* ]]
}
