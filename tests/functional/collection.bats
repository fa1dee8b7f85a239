#!/usr/bin/env bats
# Phalanx's own default collection (config/hub, laid out like a CrowdSec hub): every
# hubtest of it passes; no log line with an address planted in a user name, path or
# user agent yields that address; each parser has lines that parse and lines that do
# not, each scenario a log that alerts and one that does not; .index.json is what
# scripts/hub-index.py makes of the tree; grok text avoids grokky's group-count quirk.
# Needs PHALANX_BUILD (a meson build dir); python3 with PyYAML for the dump checks.

bats_require_minimum_version 1.5.0

NOW=2024-06-01T00:00:00Z
# The address every injection test plants inside client-chosen text.
EVIL=6.6.6.6

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    COLL="$ROOT/config/hub"
    PATTERNS="$ROOT/config/patterns"
    TMP="$(mktemp -d)"
}

teardown() {
    rm -rf "$TMP"
}

need_yaml() {
    python3 -c 'import yaml' 2> /dev/null || skip "python3 yaml module (python3-yaml) not installed"
}

hubtest() {
    "$PHALANX" hubtest run "$@" --now "$NOW" --patterns "$PATTERNS"
}

# json_get FILE PYTHON-EXPRESSION-ON-d
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# Every source_ip of every event of the parser dumps under DIR, one per line.
dump_source_ips() {
    python3 - "$1" << 'EOF'
import glob, os, sys, yaml
for f in glob.glob(os.path.join(sys.argv[1], "*", "results", "parser-dump.yaml")):
    d = yaml.safe_load(open(f)) or {}
    for stage, nodes in d.items():
        for results in (nodes or {}).values():
            for r in results or []:
                meta = (r.get("evt") or {}).get("Meta") or {}
                if meta.get("source_ip"):
                    print(meta["source_ip"])
EOF
}

@test "every test of the collection passes" {
    ntests=$(find "$COLL/.tests" -mindepth 2 -maxdepth 2 -name config.yaml | wc -l)
    [ "$ntests" -ge 20 ]
    hubtest --all --hub "$COLL" --jobs 2 -o json > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'len(d)')" = "$ntests" ]
    [ "$(json_get "$TMP/out.json" 'sorted(set(t["status"] for t in d))')" = "['pass']" ]
    # the suite states real facts: well over one assertion per test
    [ "$(json_get "$TMP/out.json" 'sum(t["assertions"] for t in d) > 400')" = "True" ]
}

@test "no parsed event of the collection's tests carries the injected address" {
    need_yaml
    TMPDIR="$TMP" hubtest --all --hub "$COLL" --jobs 2 --no-clean -o json > "$TMP/out.json"
    dump_source_ips "$TMP" > "$TMP/ips"
    grep -q '^1\.2\.3\.4$' "$TMP/ips"
    run grep -c "^$EVIL\$" "$TMP/ips"
    [ "$output" = "0" ]
    # nor is it the source of any overflow or of any event in one (it does appear
    # there as a target_user, which is what the client sent)
    grep -q '"source_ip","value":"1.2.3.4"' "$TMP"/phalanx-hubtest-*/results/bucket-dump.yaml
    run grep -lE "\"$EVIL\":|\"source_ip\",\"value\":\"$EVIL\"" "$TMP"/phalanx-hubtest-*/results/bucket-dump.yaml
    [ "$status" -ne 0 ]
}

@test "parser tests whose log plants the address assert it is not the source" {
    n=0
    for log in "$COLL"/.tests/*/*.log; do
        dir=$(dirname "$log")
        [ -f "$dir/parser.assert" ] || continue
        grep -q "$EVIL" "$log" || continue
        # lines that parse assert the source is not it, lines that do not assert no source
        grep -Eq "Evt.Meta\[\"source_ip\"\] (!= \"$EVIL\"|== \"\")" "$dir/parser.assert"
        n=$((n + 1))
    done
    # sshd, nginx, apache2 and the firewall test plant it
    [ "$n" -ge 3 ]
}

# A scratch hub: our items, the payloads of this test as its only test dir.
injection_hub() {
    mkdir -p "$TMP/hub/.tests/inj"
    for f in parsers scenarios collections data patterns .index.json; do
        ln -s "$COLL/$f" "$TMP/hub/$f"
    done
}

@test "injection payloads in sshd user names and banners never yield the planted address" {
    need_yaml
    injection_hub
    printf 'parsers:\n- phalanx/syslog-logs\n- phalanx/sshd-logs\nlog_file: a.log\nlog_type: syslog\n' \
        > "$TMP/hub/.tests/inj/config.yaml"
    {
        for msg in \
            "Invalid user $EVIL from 1.2.3.4 port 22" \
            "Invalid user $EVIL from 1.2.3.4" \
            "Invalid user x from $EVIL port 22 from 1.2.3.4 port 50000" \
            "Failed password for invalid user root from $EVIL port 22 from 1.2.3.4 port 50000 ssh2" \
            "Failed password for root from $EVIL port 22 ssh2 from 1.2.3.4 port 50000 ssh2" \
            "Connection closed by authenticating user a $EVIL port 22 1.2.3.4 port 50000 [preauth]" \
            "Disconnected from invalid user $EVIL port 1 [preauth] 1.2.3.4 port 50000 [preauth]" \
            "maximum authentication attempts exceeded for x from $EVIL port 1 ssh2 from 1.2.3.4 port 2 ssh2 [preauth]" \
            "Bad protocol version identification 'x' from $EVIL port 22' from 1.2.3.4 port 50000" \
            "Failed password for invalid user root from $EVIL port 22 from 1.2.3.4" \
            "Failed password for root from 1.2.3.4 port 22 ssh2 $EVIL"; do
            echo "Jan 12 10:00:00 host sshd[1]: $msg"
        done
    } > "$TMP/hub/.tests/inj/a.log"
    echo 'len(results) >= 1' > "$TMP/hub/.tests/inj/parser.assert"
    TMPDIR="$TMP" hubtest inj --hub "$TMP/hub" --no-clean -o json > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"]')" = "pass" ]
    dump_source_ips "$TMP" > "$TMP/ips"
    # the first nine parse to the real client (the last address, before "port N"),
    # the last two (no port after the address, text after "ssh2") do not parse
    [ "$(grep -c '^1\.2\.3\.4$' "$TMP/ips")" = 9 ]
    run grep -c "$EVIL" "$TMP/ips"
    [ "$output" = "0" ]
}

@test "injection payloads in HTTP paths, user agents and error messages never yield the planted address" {
    need_yaml
    injection_hub
    printf 'parsers:\n- phalanx/syslog-logs\n- phalanx/nginx-logs\n- phalanx/apache2-logs\nlog_file: a.log\nlog_type: nginx\n' \
        > "$TMP/hub/.tests/inj/config.yaml"
    d='[12/Jan/2024:10:00:00 +0000]'
    {
        echo "1.2.3.4 - - $d \"GET /$EVIL HTTP/1.1\" 404 1 \"-\" \"$EVIL - - $d\""
        echo "1.2.3.4 - - $d \"GET /x\\x22 $EVIL - - HTTP/1.1\" 404 1 \"-\" \"-\""
        echo "1.2.3.4 - $EVIL $d \"GET / HTTP/1.1\" 200 1 \"$EVIL\" \"a\\x22 \\x22$EVIL\""
        echo "2024/01/12 10:00:00 [error] 1#1: *1 open() \"/srv/a, client: $EVIL, server: x\" failed (2: No such file or directory), client: 1.2.3.4, server: example.org, request: \"GET /a HTTP/1.1\", host: \"example.org\""
        echo "2024/01/12 10:00:00 [error] 1#1: *1 open() \"/srv/b, client: $EVIL, server: x, referrer: \" failed (2: No such file or directory), client: 1.2.3.4, server: example.org, request: \"GET /b HTTP/1.1\", host: \"example.org\""
        echo "2024/01/12 10:00:00 [error] 1#1: *1 access forbidden by rule, client: 1.2.3.4, server: example.org, request: \"GET /c, client: $EVIL, server: y HTTP/1.1\", host: \"example.org\""
        echo "$EVIL"
    } > "$TMP/hub/.tests/inj/a.log"
    echo 'len(results) >= 1' > "$TMP/hub/.tests/inj/parser.assert"
    TMPDIR="$TMP" hubtest inj --hub "$TMP/hub" --no-clean -o json > "$TMP/out.json"
    [ "$(json_get "$TMP/out.json" 'd[0]["status"]')" = "pass" ]
    dump_source_ips "$TMP" > "$TMP/ips"
    [ "$(grep -c '^1\.2\.3\.4$' "$TMP/ips")" -ge 5 ]
    run grep -c "$EVIL" "$TMP/ips"
    [ "$output" = "0" ]
}

@test "each parser has lines that parse and lines that do not; each scenario alerts in one test and stays silent in another" {
    for p in $(json_get "$COLL/.index.json" '" ".join(d["parsers"])'); do
        [ "$p" = "phalanx/dateparse-enrich" ] && continue
        node="$p"
        files=$(grep -l "\"$node\"\]\[[0-9]*\].Success == true" "$COLL"/.tests/*/parser.assert)
        [ -n "$files" ] || { echo "no parsing line for $p"; false; }
        grep -q "\"$node\"\]\[[0-9]*\].Success == false" $files || { echo "no failing line for $p"; false; }
    done
    for s in $(json_get "$COLL/.index.json" '" ".join(d["scenarios"])'); do
        grep -lq "GetScenario() == \"$s\"" "$COLL"/.tests/*/scenario.assert || { echo "no alert test for $s"; false; }
        found=0
        for cfg in $(grep -l -- "- $s\$" "$COLL"/.tests/*/config.yaml); do
            [ "$(cat "$(dirname "$cfg")/scenario.assert")" = "len(results) == 0" ] && found=1
        done
        [ "$found" = 1 ] || { echo "no silent test for $s"; false; }
    done
}

@test ".index.json is what scripts/hub-index.py makes of the tree" {
    python3 "$ROOT/scripts/hub-index.py" --hub "$COLL" -o "$TMP/index.json"
    if ! cmp -s "$COLL/.index.json" "$TMP/index.json"; then
        echo "config/hub/.index.json is stale: run scripts/hub-index.py"
        diff -u "$COLL/.index.json" "$TMP/index.json" | grep -v '"content"' | head -40
        false
    fi
    # the digest of each item's latest version is the sha256 of its file
    python3 - "$COLL" << 'EOF'
import hashlib, json, os, sys
hub = sys.argv[1]
idx = json.load(open(os.path.join(hub, ".index.json")))
assert set(idx) >= {"parsers", "scenarios", "collections"}
for kind, items in idx.items():
    for name, it in items.items():
        raw = open(os.path.join(hub, it["path"]), "rb").read()
        assert it["versions"][it["version"]]["digest"] == hashlib.sha256(raw).hexdigest(), name
assert "phalanx/sshd" in idx["collections"]["phalanx/linux"]["collections"]
EOF
}

@test "the index script bumps the version of a changed item and keeps the old digest" {
    cp -r "$COLL" "$TMP/hub"
    echo "# changed" >> "$TMP/hub/scenarios/phalanx/ssh-bf.yaml"
    python3 "$ROOT/scripts/hub-index.py" --hub "$TMP/hub"
    old=$(json_get "$COLL/.index.json" 'd["scenarios"]["phalanx/ssh-bf"]["version"]')
    new=$(json_get "$TMP/hub/.index.json" 'd["scenarios"]["phalanx/ssh-bf"]["version"]')
    [ "$old" != "$new" ]
    [ "$(json_get "$TMP/hub/.index.json" "sorted(d['scenarios']['phalanx/ssh-bf']['versions'])")" = "['$old', '$new']" ]
    # a collection naming an item the hub lacks is refused
    printf 'name: phalanx/bad\nscenarios:\n  - phalanx/nope\n' > "$TMP/hub/collections/phalanx/bad.yaml"
    run python3 "$ROOT/scripts/hub-index.py" --hub "$TMP/hub" -o -
    [ "$status" -ne 0 ]
    [[ "$output" == *"phalanx/nope"* ]]
}

@test "grok text of the collection avoids grokky's flag-group miscount" {
    need_yaml
    # grokky counts "x)" with x in [imsU-] in literal text as a flag group, which
    # shifts every later field: e.g. "(?:a|from) %{IP:ip}" would read the wrong group.
    python3 - "$COLL" << 'EOF'
import glob, os, re, sys, yaml
bad = []
for f in glob.glob(os.path.join(sys.argv[1], "parsers", "*", "*", "*.yaml")):
    for doc in yaml.safe_load_all(open(f)):
        pats = []
        def walk(n):
            if isinstance(n, dict):
                for k, v in n.items():
                    if k == "pattern" and isinstance(v, str):
                        pats.append(v)
                    elif k == "pattern_syntax" and isinstance(v, dict):
                        pats.extend(str(x) for x in v.values())
                    else:
                        walk(v)
            elif isinstance(n, list):
                for x in n:
                    walk(x)
        walk(doc)
        for p in pats:
            if "%{" not in p:
                continue
            text = re.sub(r"%\{[^}]*\}", "", p)
            text = re.sub(r"\\.", "", text)
            text = re.sub(r"\[[^\]]*\]", "", text)
            if re.search(r"[imsU-]\)", text):
                bad.append(f"{os.path.basename(f)}: {p}")
if bad:
    sys.exit("\n".join(bad))
EOF
}

@test "phalanx/linux installs from config/hub with every item and the user agent list" {
    sed -e "s|/etc/phalanx/profiles.yaml|$ROOT/config/profiles.yaml|" \
        -e "s|/etc/phalanx/hub/|$COLL/|g" -e "s|/etc/phalanx/|$TMP/|g" \
        -e "s|/var/lib/phalanx/data/|$TMP/data/|g" "$ROOT/config/config.yaml" > "$TMP/config.yaml"
    mkdir -p "$TMP/data"
    PHALANX_HUB_DATA_DIR="$COLL/data" run "$PHALANX" collections install phalanx/linux -c "$TMP/config.yaml"
    [ "$status" -eq 0 ]
    cmp "$COLL/data/phalanx-bad-user-agents.txt" "$TMP/data/phalanx-bad-user-agents.txt"
    for f in parsers/s00-raw/syslog-logs.yaml parsers/s01-parse/sshd-logs.yaml \
        parsers/s01-parse/nginx-logs.yaml parsers/s01-parse/apache2-logs.yaml \
        parsers/s01-parse/iptables-logs.yaml parsers/s02-enrich/dateparse-enrich.yaml \
        scenarios/ssh-bf.yaml scenarios/http-bad-user-agent.yaml scenarios/iptables-port-scan.yaml; do
        [ -e "$TMP/$f" ] || { echo "missing $f"; false; }
    done
}
