#!/usr/bin/env bats
# `phalanx hub update` and `collections install` from a hub served over HTTP
# (the libcurl path; cli_hub.bats covers local hubs): `python3 -m
# http.server` on loopback serves a part of the real hub ($HUB: the sshd and
# nginx collections with everything they pull, 64 items) whose data files'
# source_url are rewritten to the same server, with an index whose digests
# are recomputed for the rewritten files. Two items are broken on purpose: one
# the index lists but the server does not have (404), one whose served file is
# not the one the index vouches for (sha256 mismatch); both are refused with
# a clear error and leave nothing enabled. Also: the progress bar of hub
# update / collections install / hub upgrade shows on a TTY (util-linux
# `script`) and not on a pipe. Skips when the hub or python3 is absent.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup_file() {
    local root hubdir
    root="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    hubdir="${HUB:-$root/../shared/hub}"
    if [[ "$hubdir" != /* && -d "$root/$hubdir" ]]; then hubdir="$root/$hubdir"; fi
    export HTTP_SKIP=""
    if [ ! -f "$hubdir/.index.json" ]; then
        export HTTP_SKIP="no hub index at $hubdir/.index.json"
        return 0
    fi
    command -v python3 >/dev/null || {
        export HTTP_SKIP="python3 (http.server) is absent"
        return 0
    }
    export SRV_TMP="$(mktemp -d)"
    export HPORT="$(free_port)"
    export HURL="http://127.0.0.1:$HPORT"
    # The served hub: the items the two collections need plus the two broken
    # ones, data files renamed into /data/ of the same server.
    python3 - "$hubdir" "$SRV_TMP/srv" "$HURL" <<'EOF'
import base64, hashlib, json, os, re, shutil, sys

hub, srv, url = sys.argv[1:4]
idx = json.load(open(os.path.join(hub, ".index.json")))
kinds = [k for k in idx]
seen = set()


def walk(kind, name):
    if (kind, name) in seen:
        return
    seen.add((kind, name))
    for sub in kinds:
        for n in idx[kind][name].get(sub) or []:
            walk(sub, n)


walk("collections", "crowdsecurity/sshd")
walk("collections", "crowdsecurity/nginx")
BAD404, BADSHA = "crowdsecurity/postfix-spam", "crowdsecurity/mysql-bf"
assert ("scenarios", BAD404) not in seen and ("scenarios", BADSHA) not in seen
seen |= {("scenarios", BAD404), ("scenarios", BADSHA)}

out = {k: {} for k in kinds}
src_re = re.compile(r"(source_url:\s*)(\S+)")
for kind, name in sorted(seen):
    item = dict(idx[kind][name])
    item.pop("long_description", None)
    path = item["path"]
    text = open(os.path.join(hub, path)).read()
    # Data files come from this server: the hub's own copies, or a stand-in
    # line for those its data directory lacks (only the transfer is tested).
    for m in src_re.finditer(text):
        base = m.group(2).rsplit("/", 1)[-1]
        os.makedirs(os.path.join(srv, "data"), exist_ok=True)
        if os.path.exists(os.path.join(hub, "data", base)):
            shutil.copy(os.path.join(hub, "data", base), os.path.join(srv, "data", base))
        else:
            with open(os.path.join(srv, "data", base), "w") as f:
                f.write("stand-in for " + base + "\n")
    text = src_re.sub(lambda m: m.group(1) + url + "/data/" + m.group(2).rsplit("/", 1)[-1], text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    item["versions"] = dict(item["versions"])
    item["versions"][item["version"]] = {"deprecated": False, "digest": digest}
    if "content" in item:
        item["content"] = base64.b64encode(text.encode()).decode()
    out[kind][name] = item
    if name == BAD404:
        continue
    if name == BADSHA:
        text += "# altered after the index was made\n"
    os.makedirs(os.path.dirname(os.path.join(srv, path)), exist_ok=True)
    with open(os.path.join(srv, path), "w") as f:
        f.write(text)
with open(os.path.join(srv, ".index.json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
print(len(seen))
EOF
    python3 -m http.server "$HPORT" --bind 127.0.0.1 --directory "$SRV_TMP/srv" \
        > "$SRV_TMP/http.log" 2>&1 &
    echo $! > "$SRV_TMP/pid"
    for _ in $(seq 100); do
        curl -sf -o /dev/null "$HURL/.index.json" && return 0
        sleep 0.1
    done
    cat "$SRV_TMP/http.log" >&2
    return 1
}

teardown_file() {
    if [ -f "${SRV_TMP:-/nonexistent}/pid" ]; then
        kill "$(cat "$SRV_TMP/pid")" 2>/dev/null || true
        wait "$(cat "$SRV_TMP/pid")" 2>/dev/null || true
    fi
    [ -z "${SRV_TMP:-}" ] || rm -rf "$SRV_TMP"
}

setup() {
    [ -z "$HTTP_SKIP" ] || skip "$HTTP_SKIP"
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
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
  hub_url: $HURL/
YAML
    export PHALANX_CONFIG="$TMP/etc/config.yaml"
    unset PHALANX_HUB_URL PHALANX_HUB_DATA_DIR
}

teardown() {
    [ -z "${TMP:-}" ] || rm -rf "$TMP"
}

# json_get PYTHON-EXPRESSION-ON-d (reads $output)
json_get() {
    python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)" <<<"$output"
}

@test "hub update fetches the index over http" {
    run "$PHALANX" hub update
    [ "$status" -eq 0 ]
    [[ "$output" == *"Wrote the new index from $HURL"* ]]
    cmp "$SRV_TMP/srv/.index.json" "$TMP/etc/hub/.index.json"
    grep -q '"GET /.index.json HTTP/1.1" 200' "$SRV_TMP/http.log"
}

@test "hub update from a server without an index fails and keeps no index" {
    sed -i "s|hub_url: .*|hub_url: $HURL/nowhere/|" "$TMP/etc/config.yaml"
    run "$PHALANX" hub update
    [ "$status" -eq 1 ]
    [[ "$output" == *"$HURL/nowhere/.index.json: the server answered HTTP 404"* ]]
    [ ! -e "$TMP/etc/hub/.index.json" ]
}

@test "collections install over http: items, dependencies and data files" {
    "$PHALANX" hub update 2>/dev/null
    run "$PHALANX" collections install crowdsecurity/nginx crowdsecurity/sshd
    [ "$status" -eq 0 ]
    # Every item of both collections is enabled, as a link into the hub directory.
    run "$PHALANX" hub list -o json
    [ "$status" -eq 0 ]
    [ "$(json_get 'sum(len(d[k]) for k in d)')" -eq 64 ]
    [ "$(json_get 'sorted({i["status"] for k in d for i in d[k]})')" = "['enabled']" ]
    [ "$(readlink "$TMP/etc/scenarios/ssh-bf.yaml")" = "$TMP/etc/hub/scenarios/crowdsecurity/ssh-bf.yaml" ]
    # The data files came from the server, byte for byte.
    cmp "$SRV_TMP/srv/data/bad_user_agents.regex.txt" "$TMP/data/bad_user_agents.regex.txt"
    grep -q '"GET /data/bad_user_agents.regex.txt HTTP/1.1" 200' "$SRV_TMP/http.log"
    grep -q '"GET /scenarios/crowdsecurity/ssh-bf.yaml HTTP/1.1" 200' "$SRV_TMP/http.log"
}

@test "an item the server does not have (404) is refused with the URL and the status" {
    "$PHALANX" hub update 2>/dev/null
    run "$PHALANX" scenarios install crowdsecurity/postfix-spam
    [ "$status" -eq 1 ]
    [[ "$output" == *"Error: $HURL/scenarios/crowdsecurity/postfix-spam.yaml: the server answered HTTP 404 (not found"* ]]
    [ ! -e "$TMP/etc/scenarios/postfix-spam.yaml" ]
    [ ! -e "$TMP/etc/hub/scenarios/crowdsecurity/postfix-spam.yaml" ]
}

@test "an item whose sha256 is not the index's is refused, nothing is enabled" {
    "$PHALANX" hub update 2>/dev/null
    run "$PHALANX" scenarios install crowdsecurity/mysql-bf
    [ "$status" -eq 1 ]
    [[ "$output" == *"Error: crowdsecurity/mysql-bf: refused, hash mismatch: the index expects sha256 "* ]]
    [[ "$output" == *"update the index and retry"* ]]
    [ ! -e "$TMP/etc/scenarios/mysql-bf.yaml" ]
    [ ! -e "$TMP/etc/hub/scenarios/crowdsecurity/mysql-bf.yaml" ]
    run "$PHALANX" scenarios list -a -o json
    [ "$(json_get '[i["status"] for i in d["scenarios"] if i["name"] == "crowdsecurity/mysql-bf"][0]')" = disabled,update-available ]
}

# On a TTY (script gives the command one) a bar is drawn on stderr; through a pipe nothing.
@test "hub update and collections install draw a progress bar on a TTY only" {
    command -v script >/dev/null || skip "util-linux script is absent"
    run script -qec "$PHALANX hub update" /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"Downloading the index ["*"] 100%"* ]]
    run script -qec "$PHALANX collections install crowdsecurity/nginx" /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"Installing ["*"  0% 0/54"* ]]
    [[ "$output" == *"Installing ["*"] 100% 54/54"* ]]
    # Notes are printed above the bar, which is cleared at the end.
    [[ "$output" == *"Enabled crowdsecurity/nginx"* ]]
    [[ "$output" == *$'\r\033[K'* ]]
    run script -qec "$PHALANX hub upgrade --force" /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"Upgrading ["*"] 100% 54/54"* ]]
}

@test "hub update and collections install print no progress bar on a pipe" {
    run bash -c "'$PHALANX' hub update 2>&1 | cat"
    [ "$status" -eq 0 ]
    [[ "$output" != *"["* ]]
    [[ "$output" != *$'\r'* ]]
    run bash -c "'$PHALANX' collections install crowdsecurity/nginx crowdsecurity/sshd 2>&1 | cat"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Enabled crowdsecurity/sshd"* ]]
    [[ "$output" != *"Installing ["* ]]
    [[ "$output" != *$'\r'* ]]
}
