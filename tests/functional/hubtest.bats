#!/usr/bin/env bats
# `phalanx hubtest run`: hub parser and scenario tests passing, the -o json shape, and
# broken or failing test dirs made in a scratch hub (links to the real hub's parsers,
# patterns, data and index) giving error/fail statuses and exit code 1.
# Needs PHALANX_BUILD (a meson build dir) and the hub ($HUB, default
# ../shared/hub from the source root); without the hub the tests skip.

bats_require_minimum_version 1.5.0

NOW=2026-11-27T00:00:00Z

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    # `make test` gives HUB relative to the source root.
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    PATTERNS="$ROOT/config/patterns"
    TMP="$(mktemp -d)"
}

teardown() {
    rm -rf "$TMP"
}

need_hub() {
    [ -d "$HUBDIR/.tests" ] || skip "no hub at $HUBDIR"
}

# A hub whose .tests holds only what the test writes, the rest linked from the real hub.
scratch_hub() {
    mkdir -p "$TMP/hub/.tests"
    for f in parsers postoverflows scenarios patterns data .index.json; do
        ln -s "$(cd "$HUBDIR" && pwd)/$f" "$TMP/hub/$f"
    done
}

# json_get FILE PYTHON-EXPRESSION-ON-d
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

@test "a hub parser test passes and reports its assertions" {
    need_hub
    run --separate-stderr "$PHALANX" hubtest run nginx_http-logs --hub "$HUBDIR" --now "$NOW" --patterns "$PATTERNS"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "nginx_http-logs: pass ("*" assertions)" ]]
    [[ "$output" == *"hubtest: 1 pass, 0 fail, 0 error, 0 not run"* ]]
}

@test "-o json prints one array with the documented keys" {
    need_hub
    "$PHALANX" hubtest run nginx_http-logs sshd-logs --hub "$HUBDIR" --now "$NOW" \
        --patterns "$PATTERNS" --jobs 2 -o json > "$TMP/out.json" 2> "$TMP/err"
    [ "$(json_get "$TMP/out.json" 'len(d)')" = "2" ]
    [ "$(json_get "$TMP/out.json" '[t["name"] for t in d]')" = "['nginx_http-logs', 'sshd-logs']" ]
    [ "$(json_get "$TMP/out.json" 'sorted(set(k for t in d for k in t) & {"name","status","parser","scenario","assertions","first_failure"})')" = "['assertions', 'first_failure', 'name', 'parser', 'scenario', 'status']" ]
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["parser"], d[0]["scenario"], d[0]["first_failure"]')" = "pass pass none None" ]
    [ "$(json_get "$TMP/out.json" 'd[0]["assertions"] > 100')" = "True" ]
}

@test "a test dir naming a parser that does not exist is an error, exit 1" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/broken"
    printf 'parsers:\n- crowdsecurity/no-such-parser\nlog_file: x.log\nlog_type: syslog\n' \
        > "$TMP/hub/.tests/broken/config.yaml"
    echo "hello" > "$TMP/hub/.tests/broken/x.log"
    echo "len(results) == 1" > "$TMP/hub/.tests/broken/parser.assert"
    run --separate-stderr "$PHALANX" hubtest run broken --hub "$TMP/hub" --patterns "$PATTERNS" -o json
    [ "$status" -eq 1 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"]')" = "error" ]
    [[ "$(json_get "$TMP/out.json" 'd[0]["error"]')" == *"crowdsecurity/no-such-parser"* ]]
}

@test "a missing log file is an error" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/nolog"
    printf 'parsers:\n- crowdsecurity/syslog-logs\nlog_file: missing.log\nlog_type: syslog\n' \
        > "$TMP/hub/.tests/nolog/config.yaml"
    echo "len(results) == 1" > "$TMP/hub/.tests/nolog/parser.assert"
    run --separate-stderr "$PHALANX" hubtest run nolog --hub "$TMP/hub" --patterns "$PATTERNS"
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "nolog: error: "*"missing.log"* ]]
}

@test "a false assert fails with its line and the actual value; CRLF and the basename shim work" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/mine"
    printf 'parsers:\n- crowdsecurity/syslog-logs\n- crowdsecurity/sshd-logs\nscenarios:\n- ""\nlog_file: auth.log\nlog_type: syslog\n' \
        > "$TMP/hub/.tests/mine/config.yaml"
    printf 'Jan 12 10:00:00 host sshd[42]: Invalid user bob from 6.7.8.9 port 4242\n\n' \
        > "$TMP/hub/.tests/mine/auth.log"
    printf 'len(results["s01-parse"]["crowdsecurity/sshd-logs"]) == 1\r\nresults["s00-raw"]["crowdsecurity/syslog-logs"][0].Evt.Meta["datasource_path"] == "auth.log"\r\n\r\nresults["s01-parse"]["crowdsecurity/sshd-logs"][0].Evt.Meta["source_ip"] == "6.7.8.9"\r\n' \
        > "$TMP/hub/.tests/mine/parser.assert"
    run --separate-stderr "$PHALANX" hubtest run mine --hub "$TMP/hub" --now "$NOW" \
        --patterns "$PATTERNS"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "mine: pass (3 assertions)" ]

    echo 'results["s01-parse"]["crowdsecurity/sshd-logs"][0].Evt.Meta["source_ip"] == "1.1.1.1"' \
        >> "$TMP/hub/.tests/mine/parser.assert"
    run --separate-stderr "$PHALANX" hubtest run mine --hub "$TMP/hub" --now "$NOW" \
        --patterns "$PATTERNS" -o json
    [ "$status" -eq 1 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["parser"], d[0]["assertions"]')" = "fail fail 4" ]
    [ "$(json_get "$TMP/out.json" 'd[0]["first_failure"]')" = 'results["s01-parse"]["crowdsecurity/sshd-logs"][0].Evt.Meta["source_ip"] == "1.1.1.1"' ]
    [ "$(json_get "$TMP/out.json" 'd[0]["actual"]')" = '"6.7.8.9"' ]
}

@test "override_statics become an s00-raw node named overrides; --no-clean keeps the dump" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/ovr"
    printf 'parsers:\n- crowdsecurity/syslog-logs\nlog_file: a.log\nlog_type: syslog\nlabels:\n  program: envoy\noverride_statics:\n- target: evt.Line.Module\n  value: wineventlog\n' \
        > "$TMP/hub/.tests/ovr/config.yaml"
    echo 'Jan 12 10:00:00 host sshd[42]: hello' > "$TMP/hub/.tests/ovr/a.log"
    printf '%s\n' 'results["s00-raw"]["overrides"][0].Evt.Line.Module == "wineventlog"' \
        'results["s00-raw"]["overrides"][0].Evt.Line.Labels["program"] == "envoy"' \
        'results["s00-raw"]["overrides"][0].Evt.Line.Labels["type"] == "syslog"' \
        'len(results["success"][""]) == 0' > "$TMP/hub/.tests/ovr/parser.assert"
    # The kept runtime goes under $TMP, so teardown removes it even if a check fails.
    TMPDIR="$TMP" run --separate-stderr "$PHALANX" hubtest run ovr --hub "$TMP/hub" --now "$NOW" --patterns "$PATTERNS" \
        --no-clean -o json
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["assertions"]')" = "pass 4" ]
    dir="$(json_get "$TMP/out.json" 'd[0]["runtime_dir"]')"
    [[ "$dir" == "$TMP/phalanx-hubtest-"* ]]
    [ -f "$dir/results/parser-dump.yaml" ]
    grep -q '"overrides":' "$dir/results/parser-dump.yaml"
    rm -rf "$dir"
}

@test "a hub scenario test passes; the negative proxmox-logs test passes with no overflow" {
    need_hub
    run --separate-stderr "$PHALANX" hubtest run ssh-slow-bf proxmox-logs --hub "$HUBDIR" --now "$NOW" \
        --patterns "$PATTERNS" -o json
    [ "$status" -eq 0 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["parser"], d[0]["scenario"]')" = "pass none pass" ]
    [ "$(json_get "$TMP/out.json" 'd[0]["assertions"] > 50')" = "True" ]
    [ "$(json_get "$TMP/out.json" 'd[1]["status"], d[1]["scenario"]')" = "pass pass" ]
}

@test "a false scenario assert fails with its line and the actual value; --no-clean keeps the bucket dump" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/scen"
    cp "$HUBDIR/.tests/ssh-slow-bf/config.yaml" "$HUBDIR/.tests/ssh-slow-bf/ssh-slow-bf.log" \
        "$TMP/hub/.tests/scen/"
    printf '%s\n' 'len(results) == 1' \
        'results[0].Overflow.Alert.GetScenario() == "crowdsecurity/ssh-slow-bf"' \
        > "$TMP/hub/.tests/scen/scenario.assert"
    run --separate-stderr "$PHALANX" hubtest run scen --hub "$TMP/hub" --now "$NOW" --patterns "$PATTERNS"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "scen: pass (2 assertions)" ]

    echo 'results[0].Overflow.Alert.GetScenario() == "crowdsecurity/ssh-bf"' \
        >> "$TMP/hub/.tests/scen/scenario.assert"
    TMPDIR="$TMP" run --separate-stderr "$PHALANX" hubtest run scen --hub "$TMP/hub" --now "$NOW" \
        --patterns "$PATTERNS" --no-clean -o json
    [ "$status" -eq 1 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["parser"], d[0]["scenario"], d[0]["assertions"]')" = "fail none fail 3" ]
    [ "$(json_get "$TMP/out.json" 'd[0]["first_failure"]')" = 'results[0].Overflow.Alert.GetScenario() == "crowdsecurity/ssh-bf"' ]
    [ "$(json_get "$TMP/out.json" 'd[0]["actual"]')" = '"crowdsecurity/ssh-slow-bf"' ]
    dir="$(json_get "$TMP/out.json" 'd[0]["runtime_dir"]')"
    [[ "$dir" == "$TMP/phalanx-hubtest-"* ]]
    grep -q '"scenario":"crowdsecurity/ssh-slow-bf"' "$dir/results/bucket-dump.yaml"
    grep -q '^"crowdsecurity/ssh-slow-bf":' "$dir/results/bucketpour-dump.yaml"
    rm -rf "$dir"
}

@test "a scenario that does not exist is an error" {
    need_hub
    scratch_hub
    mkdir "$TMP/hub/.tests/noscen"
    printf 'parsers:\n- crowdsecurity/syslog-logs\nscenarios:\n- crowdsecurity/no-such-scenario\nignore_parsers: true\nlog_file: a.log\nlog_type: syslog\n' \
        > "$TMP/hub/.tests/noscen/config.yaml"
    echo 'x' > "$TMP/hub/.tests/noscen/a.log"
    echo 'len(results) == 1' > "$TMP/hub/.tests/noscen/scenario.assert"
    run --separate-stderr "$PHALANX" hubtest run noscen --hub "$TMP/hub" --patterns "$PATTERNS" -o json
    [ "$status" -eq 1 ]
    echo "$output" > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"], d[0]["scenario"]')" = "error not run" ]
    [[ "$(json_get "$TMP/out.json" 'd[0]["error"]')" == *"crowdsecurity/no-such-scenario"* ]]
}

@test "usage errors exit 1" {
    run "$PHALANX" hubtest run --all
    [ "$status" -eq 1 ]
    [[ "$output" == *"--hub DIR is required"* ]]
    run "$PHALANX" hubtest run x --hub "$TMP" -o yaml
    [ "$status" -eq 1 ]
    run "$PHALANX" hubtest frobnicate
    [ "$status" -eq 1 ]
}
