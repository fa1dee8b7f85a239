#!/usr/bin/env bats
# `phalanx hub` and the item commands against the real hub ($HUB) used as a local
# hub (cscli.hub_url pointing at the directory): hub update, installing the sshd and
# nginx collections with their dependencies and data files, list in the three
# output formats, tainted detection after a local edit, the removal guard,
# upgrade --force, inspect. Without the hub the tests skip and say so.

bats_require_minimum_version 1.5.0

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    [ -f "$HUBDIR/.index.json" ] || skip "no hub index at $HUBDIR/.index.json"
    HUBDIR="$(cd "$HUBDIR" && pwd)"
    TMP="$(mktemp -d)"
    mkdir -p "$TMP/etc" "$TMP/data"
    cat > "$TMP/etc/config.yaml" <<YAML
config_paths:
  config_dir: $TMP/etc/
  data_dir: $TMP/data/
  hub_dir: $TMP/etc/hub/
  index_path: $TMP/etc/hub/.index.json
  simulation_path: $TMP/etc/simulation.yaml
cscli:
  hub_url: $HUBDIR
YAML
    export PHALANX_CONFIG="$TMP/etc/config.yaml"
    unset PHALANX_HUB_URL PHALANX_HUB_DATA_DIR
}

teardown() {
    [ -z "${TMP:-}" ] || rm -rf "$TMP"
}

install_sshd_nginx() {
    run "$PHALANX" hub update
    [ "$status" -eq 0 ]
    run "$PHALANX" collections install crowdsecurity/sshd crowdsecurity/nginx
    [ "$status" -eq 0 ]
}

# json_get PYTHON-EXPRESSION-ON-d (reads $output)
json_get() {
    python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)" <<<"$output"
}

@test "without an index, list says to run hub update" {
    run "$PHALANX" collections list
    [ "$status" -eq 1 ]
    [[ "$output" == *"phalanx hub update"* ]]
}

@test "hub update copies the index from a local hub" {
    run "$PHALANX" hub update
    [ "$status" -eq 0 ]
    cmp "$HUBDIR/.index.json" "$TMP/etc/hub/.index.json"
}

@test "PHALANX_HUB_URL overrides cscli.hub_url and a bad hub fails clearly" {
    PHALANX_HUB_URL="file://$TMP/nowhere" run "$PHALANX" hub update
    [ "$status" -eq 1 ]
    [[ "$output" == *"$TMP/nowhere/.index.json"* ]]
    [ ! -e "$TMP/etc/hub/.index.json" ]
}

@test "installing collections links them and their dependencies, with data files" {
    install_sshd_nginx
    [ -L "$TMP/etc/collections/sshd.yaml" ]
    [ -L "$TMP/etc/collections/nginx.yaml" ]
    [ -L "$TMP/etc/parsers/s01-parse/sshd-logs.yaml" ]
    [ -L "$TMP/etc/parsers/s01-parse/nginx-logs.yaml" ]
    [ -L "$TMP/etc/parsers/s02-enrich/http-logs.yaml" ]
    [ -L "$TMP/etc/scenarios/ssh-bf.yaml" ]
    [ -L "$TMP/etc/scenarios/http-bad-user-agent.yaml" ]
    [ -L "$TMP/etc/contexts/bf_base.yaml" ]
    # nginx pulls base-http-scenarios, a collection in a collection.
    [ -L "$TMP/etc/collections/base-http-scenarios.yaml" ]
    [ "$(readlink "$TMP/etc/scenarios/ssh-bf.yaml")" = "$TMP/etc/hub/scenarios/crowdsecurity/ssh-bf.yaml" ]
    [ -s "$TMP/data/bad_user_agents.regex.txt" ]
    cmp "$HUBDIR/scenarios/crowdsecurity/ssh-bf.yaml" "$TMP/etc/hub/scenarios/crowdsecurity/ssh-bf.yaml"
}

@test "list shows the installed items enabled, -a the others too" {
    install_sshd_nginx
    run "$PHALANX" collections list -o raw
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "name,status,version,description" ]
    [[ "$output" == *'crowdsecurity/sshd,enabled,0.9,sshd support : parser and brute-force detection'* ]]
    run "$PHALANX" parsers list -o raw
    [ "${#lines[@]}" -eq 5 ]
    run "$PHALANX" parsers list -a -o raw
    [ "${#lines[@]}" -gt 100 ]
    [[ "$output" == *'crowdsecurity/apache2-logs,"disabled,update-available",n/a,'* ]]
    run "$PHALANX" hub list
    [ "$status" -eq 0 ]
    [[ "$output" == *"COLLECTIONS"* && "$output" == *"PARSERS"* && "$output" == *"SCENARIOS"* ]]
    [[ "$output" == *"POSTOVERFLOWS"* && "$output" == *"CONTEXTS"* ]]
}

@test "list -o json has cscli's shape" {
    install_sshd_nginx
    run "$PHALANX" hub list -o json
    [ "$status" -eq 0 ]
    [ "$(json_get 'list(d)')" = "['collections', 'contexts', 'parsers', 'postoverflows', 'scenarios']" ]
    [ "$(json_get 'list(d["parsers"][0])')" = "['name', 'local_version', 'local_path', 'description', 'utf8_status', 'status']" ]
    [ "$(json_get '[c for c in d["collections"] if c["name"] == "crowdsecurity/sshd"][0]["status"]')" = "enabled" ]
    [ "$(json_get '[c for c in d["collections"] if c["name"] == "crowdsecurity/sshd"][0]["local_path"]')" = "$TMP/etc/collections/sshd.yaml" ]
    [ "$(json_get 'd["postoverflows"]')" = "[]" ]
}

@test "a local edit makes an item tainted, and its collection with it" {
    install_sshd_nginx
    echo "# local change" >> "$TMP/etc/parsers/s01-parse/sshd-logs.yaml"
    run "$PHALANX" parsers list -o json
    [ "$(json_get '[c for c in d["parsers"] if c["name"] == "crowdsecurity/sshd-logs"][0]["status"]')" = "enabled,tainted" ]
    [ "$(json_get '[c for c in d["parsers"] if c["name"] == "crowdsecurity/sshd-logs"][0]["local_version"]')" = "?" ]
    run "$PHALANX" collections list -o json
    [ "$(json_get '[c for c in d["collections"] if c["name"] == "crowdsecurity/sshd"][0]["status"]')" = "enabled,tainted" ]
    [ "$(json_get '[c for c in d["collections"] if c["name"] == "crowdsecurity/nginx"][0]["status"]')" = "enabled" ]
    # A tainted item is not upgraded without --force; with it, it is restored.
    run "$PHALANX" parsers upgrade crowdsecurity/sshd-logs
    [[ "$output" == *"tainted"* ]]
    run "$PHALANX" parsers list -o raw
    [[ "$output" == *'crowdsecurity/sshd-logs,"enabled,tainted",?,'* ]]
    run "$PHALANX" parsers upgrade crowdsecurity/sshd-logs --force
    [ "$status" -eq 0 ]
    run "$PHALANX" collections list -o raw
    [[ "$output" == *'crowdsecurity/sshd,enabled,0.9,'* ]]
}

@test "a plain file is a local item" {
    install_sshd_nginx
    printf 'name: me/mine\n' > "$TMP/etc/scenarios/mine.yaml"
    run "$PHALANX" scenarios list -o raw
    [[ "$output" == *'mine.yaml,"enabled,local",n/a,'* ]]
    run "$PHALANX" scenarios remove mine.yaml
    [ "$status" -eq 1 ]
    [[ "$output" == *"isn't managed by hub"* ]]
}

@test "remove refuses an item a collection needs, unless --force" {
    install_sshd_nginx
    run "$PHALANX" scenarios remove crowdsecurity/ssh-bf
    [ "$status" -eq 1 ]
    [[ "$output" == *"crowdsecurity/sshd"* && "$output" == *"--force"* ]]
    [ -L "$TMP/etc/scenarios/ssh-bf.yaml" ]
    run "$PHALANX" scenarios remove crowdsecurity/ssh-bf --force
    [ "$status" -eq 0 ]
    [ ! -e "$TMP/etc/scenarios/ssh-bf.yaml" ]
    # The collection misses a dependency now: tainted, as cscli says.
    run "$PHALANX" collections list -o raw
    [[ "$output" == *'crowdsecurity/sshd,"enabled,tainted"'* ]]
}

@test "removing a collection keeps what another collection needs; --purge deletes downloads" {
    install_sshd_nginx
    run "$PHALANX" collections install crowdsecurity/apache2
    [ "$status" -eq 0 ]
    run "$PHALANX" collections remove crowdsecurity/nginx --purge
    [ "$status" -eq 0 ]
    [ ! -e "$TMP/etc/collections/nginx.yaml" ]
    [ ! -e "$TMP/etc/parsers/s01-parse/nginx-logs.yaml" ]
    [ ! -e "$TMP/etc/hub/parsers/s01-parse/crowdsecurity/nginx-logs.yaml" ]
    # apache2 needs these too.
    [ -L "$TMP/etc/parsers/s02-enrich/http-logs.yaml" ]
    [ -L "$TMP/etc/collections/base-http-scenarios.yaml" ]
    [ -L "$TMP/etc/collections/sshd.yaml" ]
    run "$PHALANX" collections remove --all
    [ "$status" -eq 0 ]
    run "$PHALANX" hub list -o raw
    [[ "$output" != *enabled* ]]
}

@test "an outdated item shows update-available; a failed upgrade keeps it installed" {
    install_sshd_nginx
    # The index now says a version 9.9 is the latest: the installed 0.3 is outdated.
    python3 - "$TMP/etc/hub/.index.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
it = d["scenarios"]["crowdsecurity/ssh-bf"]
it["versions"]["9.9"] = {"deprecated": False, "digest": "0" * 64}
it["version"] = "9.9"
json.dump(d, open(p, "w"))
PY
    run "$PHALANX" scenarios list -o raw
    [[ "$output" == *'crowdsecurity/ssh-bf,"enabled,update-available",0.3,'* ]]
    run "$PHALANX" collections list -o raw
    [[ "$output" == *'crowdsecurity/sshd,"enabled,update-available"'* ]]
    # The fake 9.9 cannot be fetched with its digest: the upgrade says so and fails.
    run "$PHALANX" scenarios upgrade crowdsecurity/ssh-bf
    [ "$status" -eq 1 ]
    [[ "$output" == *"hash mismatch"* ]]
    [ -L "$TMP/etc/scenarios/ssh-bf.yaml" ]
}

@test "install --download-only fetches without enabling; unknown items fail" {
    run "$PHALANX" hub update
    run "$PHALANX" parsers install crowdsecurity/sshd-logs --download-only
    [ "$status" -eq 0 ]
    [ -f "$TMP/etc/hub/parsers/s01-parse/crowdsecurity/sshd-logs.yaml" ]
    [ ! -e "$TMP/etc/parsers/s01-parse/sshd-logs.yaml" ]
    run "$PHALANX" parsers install crowdsecurity/nope
    [ "$status" -eq 1 ]
    [[ "$output" == *"can't find 'crowdsecurity/nope'"* ]]
    run "$PHALANX" parsers install crowdsecurity/nope crowdsecurity/syslog-logs --ignore
    [ "$status" -eq 1 ]
    [ -L "$TMP/etc/parsers/s00-raw/syslog-logs.yaml" ]
}

@test "a data file missing from the local mirror fails the install clearly" {
    run "$PHALANX" hub update
    mkdir -p "$TMP/mirror"
    PHALANX_HUB_DATA_DIR="$TMP/mirror" run "$PHALANX" scenarios install crowdsecurity/http-bad-user-agent
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad_user_agents.regex.txt"* && "$output" == *"PHALANX_HUB_DATA_DIR"* ]]
    [ ! -e "$TMP/etc/scenarios/http-bad-user-agent.yaml" ]
}

@test "inspect prints the index entry and the state" {
    install_sshd_nginx
    run "$PHALANX" parsers inspect crowdsecurity/sshd-logs
    [ "$status" -eq 0 ]
    [[ "$output" == *"remote_path: parsers/s01-parse/crowdsecurity/sshd-logs.yaml"* ]]
    [[ "$output" == *"belongs_to_collections:"* && "$output" == *"- crowdsecurity/sshd"* ]]
    [[ "$output" == *"installed: true"* && "$output" == *"tainted: false"* ]]
    run "$PHALANX" collections inspect crowdsecurity/sshd -o json
    [ "$(json_get 'd["parsers"]')" = "['crowdsecurity/sshd-logs', 'crowdsecurity/sshd-success-logs']" ]
    [ "$(json_get 'd["uptodate"]')" = "True" ]
}

@test "hub upgrade goes over every installed item" {
    install_sshd_nginx
    run "$PHALANX" hub upgrade
    [ "$status" -eq 0 ]
    [[ "$output" == *"up-to-date"* ]]
}
