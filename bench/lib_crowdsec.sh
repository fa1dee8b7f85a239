# lib_crowdsec.sh - sourced by bench/run_parse.sh and bench/replay/run.sh: runs
# Debian's CrowdSec 1.4.6 offline in replay (-dsn) mode in a throw-away config
# dir, with the hub items Debian ships (/usr/share/crowdsec/hub) installed as
# symlinks the way its postinst does, its LAPI in the same process on a
# loopback port with a temporary SQLite db, and reads back its alerts.
# The pitfalls these functions work around are listed in
# /work/shared/reference/peers.md (postinst offline, cscli hub_branch, WAL,
# -no-api not headless, the path_traversal.txt data-file alias).
# POSIX sh; needs python3 (hub index, free port) and sqlite3 (alerts).

CS_HUB=${CS_HUB:-/usr/share/crowdsec/hub}
CS_DATA=${CS_DATA:-/usr/share/crowdsec/data}

# cs_ready: true when crowdsec and cscli are usable. The package's postinst
# registers with the Central API and fails offline unless
# online_api_credentials.yaml exists; this finishes a half-configured install.
cs_ready() {
    command -v crowdsec >/dev/null && command -v cscli >/dev/null || return 1
    if ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q 'ok installed'; then
        [ -e /etc/crowdsec/online_api_credentials.yaml ] ||
            echo '# offline: no Central API' > /etc/crowdsec/online_api_credentials.yaml
        dpkg --configure -a >/dev/null 2>&1 || return 1
    fi
    [ -d "$CS_HUB/parsers" ] && [ -f "$CS_HUB/.index.json" ]
}

# cs_resolve TYPE/NAME... : prints the hub-relative paths of the items named
# (collections/crowdsecurity/linux, parsers/crowdsecurity/whitelists, ...) and
# of everything they pull in, from the hub index, one a line, sorted, without
# the collections themselves (they hold no logic).
cs_resolve() {
    python3 - "$CS_HUB/.index.json" "$@" <<'EOF'
import json, sys
idx = json.load(open(sys.argv[1]))
seen, paths = set(), set()
def walk(kind, name):
    if (kind, name) in seen:
        return
    seen.add((kind, name))
    item = idx[kind][name]
    if kind != "collections":
        paths.add(item["path"])
    for sub in ("parsers", "scenarios", "postoverflows", "collections"):
        for n in item.get(sub) or []:
            walk(sub, n)
for arg in sys.argv[2:]:
    kind, name = arg.split("/", 1)
    walk(kind, name)
print("\n".join(sorted(paths)))
EOF
}

# cs_install DIR PATH... : symlinks each hub-relative item PATH
# (parsers/<stage>/<vendor>/<name>.yaml, scenarios/<vendor>/<name>.yaml,
# postoverflows/<stage>/<vendor>/<name>.yaml) into DIR as cscli does: vendor
# stripped, under parsers/<stage>/, scenarios/ or postoverflows/<stage>/.
cs_install() {
    ci_dir=$1
    shift
    for ci_p in "$@"; do
        case $ci_p in
        scenarios/*) ci_dst=$ci_dir/scenarios ;;
        parsers/* | postoverflows/*) ci_dst=$ci_dir/$(echo "$ci_p" | cut -d/ -f1,2) ;;
        *) echo "cs_install: unknown item type: $ci_p" >&2; return 1 ;;
        esac
        mkdir -p "$ci_dst" && ln -sf "$CS_HUB/$ci_p" "$ci_dst/" || return 1
    done
}

# cs_data DIR: the data files Debian ships, copied to DIR, plus the alias for
# the name http-path-traversal-probing asks for (Debian ships the list as
# path_traversal.txt; without the alias the scenario runs with an empty list).
cs_data() {
    mkdir -p "$1" && cp "$CS_DATA"/* "$1/" || return 1
    [ -e "$1/http_path_traversal.txt" ] || cp "$1/path_traversal.txt" "$1/http_path_traversal.txt"
}

# cs_setup T PATH... : a complete crowdsec config under T (T/config.yaml,
# T/etc = config_dir with the items PATH installed, T/data = data_dir with
# cs_data, a machine registered with the in-process LAPI on a free loopback port).
cs_setup() {
    cs_t=$1
    shift
    mkdir -p "$cs_t/etc/parsers" "$cs_t/etc/scenarios" "$cs_t/etc/postoverflows" "$cs_t/etc/collections" || return 1
    cs_install "$cs_t/etc" "$@" || return 1
    cs_data "$cs_t/data" || return 1
    mkdir -p "$cs_t/etc/patterns" && cp -r /etc/crowdsec/patterns/. "$cs_t/etc/patterns/" || return 1
    cp /etc/crowdsec/profiles.yaml "$cs_t/etc/profiles.yaml" || return 1
    printf 'simulation: off\n' > "$cs_t/etc/simulation.yaml"
    : > "$cs_t/etc/acquis.yaml"
    cs_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$cs_t/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: error
  working_dir: $cs_t
config_paths:
  config_dir: $cs_t/etc/
  data_dir: $cs_t/data/
  simulation_path: $cs_t/etc/simulation.yaml
  hub_dir: $CS_HUB/
  index_path: $CS_HUB/.index.json
  notification_dir: $cs_t/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $cs_t/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  hub_branch: master
db_config:
  log_level: error
  type: sqlite
  use_wal: false
  db_path: $cs_t/data/crowdsec.db
api:
  client:
    insecure_skip_verify: false
    credentials_path: $cs_t/etc/local_api_credentials.yaml
  server:
    log_level: error
    listen_uri: 127.0.0.1:$cs_port
    profiles_path: $cs_t/etc/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
    cscli -c "$cs_t/config.yaml" machines add bench --auto --force \
        -f "$cs_t/etc/local_api_credentials.yaml" > "$cs_t/cscli.log" 2>&1
}

# cs_run T TYPE LOG : replays LOG (labels.type TYPE) through the crowdsec set
# up in T; prints "wall_s peak_rss_kib user_s sys_s" (GNU time), or fails.
# Its log is T/run.log.
cs_run() {
    /usr/bin/time -f '%e %M %U %S' -o "$1/time" \
        crowdsec -c "$1/config.yaml" -dsn "file://$3" -type "$2" > "$1/run.log" 2>&1 || return 1
    cat "$1/time"
}

# cs_alerts T : the alerts of the last cs_run in T, one a line (duplicates
# kept), from its SQLite db: scenario, source value, events_count, start and
# stop time (UTC, RFC 3339 to the second), tab-separated.
cs_alerts() {
    sqlite3 -separator '	' "$1/data/crowdsec.db" "SELECT scenario, source_value, events_count,
        strftime('%Y-%m-%dT%H:%M:%SZ', started_at), strftime('%Y-%m-%dT%H:%M:%SZ', stopped_at)
        FROM alerts;"
}
