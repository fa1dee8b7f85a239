#!/usr/bin/env bats
# `phalanx explain`: the stage-by-stage tree of what each parser of the hub
# did to a line, as `cscli explain` prints it, and its errors (stderr, exit 1).
# Run with PHALANX_BUILD set to a meson build directory; HUB defaults to
# ../shared/hub relative to the source tree.

bats_require_minimum_version 1.5.0

SSHD_LINE='Sep 19 18:33:22 scw-d95986 sshd[24347]: Failed password for invalid user admin from 1.2.3.4 port 4242 ssh2'

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    SRC="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    HUB="${HUB:-$SRC/../shared/hub}"
    TMP="$(mktemp -d)"
    cd "$SRC"
}

teardown() {
    rm -rf "$TMP"
}

@test "an sshd line goes through syslog-logs, sshd-logs and dateparse-enrich" {
    run "$PHALANX" explain --hub "$HUB" --type syslog --log "$SSHD_LINE"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "line: $SSHD_LINE" ]
    [[ "$output" == *$'\t├ s00-raw\n'* ]]
    [[ "$output" == *$'\t|\t└ 🟢 crowdsecurity/syslog-logs ('* ]]
    [[ "$output" == *$'\t├ s01-parse\n'* ]]
    [[ "$output" == *"🟢 crowdsecurity/sshd-logs ("* ]]
    [[ "$output" == *"🟢 crowdsecurity/dateparse-enrich ("* ]]
    [[ "$output" == *$'\t├-------- parser success 🟢\n'* ]]
    [[ "$output" != *"parser failure"* ]]
}

@test "-v lists the changed fields of each parser" {
    run "$PHALANX" explain --hub "$HUB" --type syslog --log "$SSHD_LINE" -v
    [ "$status" -eq 0 ]
    [[ "$output" == *"create evt.Parsed.program : sshd"* ]]
    [[ "$output" == *"create evt.Meta.source_ip : 1.2.3.4"* ]]
    [[ "$output" == *"create evt.Meta.target_user : admin"* ]]
    # A node that succeeds with onsuccess: next_stage promotes the event before the dump sees it.
    [[ "$output" == *"update evt.Stage :  -> s01-parse"* ]]
    [[ "$output" == *"update evt.Stage : s01-parse -> s02-enrich"* ]]
    [[ "$output" == *"update evt.Line.Process : %!s(bool=false) -> true"* ]]
    [[ "$output" == *$'\t|\t└ 🟢 crowdsecurity/syslog-logs (+12 ~9)\n'* ]]
}

@test "a garbage line fails in s01-parse with every parser red" {
    run "$PHALANX" explain --hub "$HUB" --type syslog --log 'Sep 19 18:33:22 host sshd[1]: this is not an sshd message'
    [ "$status" -eq 0 ]
    [[ "$output" == *"🔴 crowdsecurity/sshd-logs"* ]]
    [[ "$output" == *$'\t└-------- parser failure 🔴'* ]]
    [[ "$output" != *"parser success"* ]]
    run "$PHALANX" explain --hub "$HUB" --type syslog --log 'not even syslog'
    [ "$status" -eq 0 ]
    [[ "$output" == *"🔴 crowdsecurity/syslog-logs"* ]]
    [[ "$output" == *"parser failure 🔴"* ]]
}

@test "a file is explained line by line, in order" {
    printf '%s\n\n%s\n' "$SSHD_LINE" 'garbage' > "$TMP/auth.log"
    run "$PHALANX" explain --hub "$HUB" --type syslog --file "$TMP/auth.log"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^line: ' <<< "$output")" -eq 2 ]
    [ "$(grep -m1 '^line: ' <<< "$output")" = "line: $SSHD_LINE" ]
    [ "$(grep -c 'parser success' <<< "$output")" -eq 1 ]
    [ "$(grep -c 'parser failure' <<< "$output")" -eq 1 ]
}

@test "a missing file is an error on stderr with exit 1" {
    run --separate-stderr "$PHALANX" explain --hub "$HUB" --type syslog --file "$TMP/nope.log"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == *"nope.log: No such file or directory"* ]]
}

@test "a broken parser file is reported with its file and line" {
    mkdir -p "$TMP/s01-parse/me"
    printf 'name: me/broken\nfilter: "1 == 1"\nonsuccess: next_stage\nbogus_key: 1\n' > "$TMP/s01-parse/me/broken.yaml"
    run --separate-stderr "$PHALANX" explain --hub "$HUB" --type syslog --log "$SSHD_LINE" \
        --parsers "crowdsecurity/syslog-logs,$TMP/s01-parse/me/broken.yaml"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"broken.yaml:4"* ]]
}

@test "usage errors: no --type, unknown parser" {
    run --separate-stderr "$PHALANX" explain --hub "$HUB" --log "$SSHD_LINE"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *'"type"'* ]]
    run --separate-stderr "$PHALANX" explain --hub "$HUB" --type syslog --log x --parsers crowdsecurity/nope
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"crowdsecurity/nope"* ]]
}
