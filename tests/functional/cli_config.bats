#!/usr/bin/env bats
# `phalanx config show|backup|restore`: cscli's summary and --key, and a backup
# (installed items as upstream lists, local/tainted ones as files, config files)
# restored into an empty configuration from $HUB used as a local hub.

bats_require_minimum_version 1.5.0

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    TMP="$(mktemp -d)"
    mkdir -p "$TMP/etc"
    cat > "$TMP/etc/config.yaml" <<YAML
common:
  log_media: stdout
  log_level: info
config_paths:
  config_dir: $TMP/etc/
  data_dir: $TMP/data/
crowdsec_service:
  acquisition_path: $TMP/etc/acquis.yaml
cscli:
  hub_url: $HUBDIR
api:
  server:
    listen_uri: 127.0.0.1:8080
    profiles_path: $TMP/etc/profiles.yaml
    trusted_ips:
      - 127.0.0.1
YAML
    export PHALANX_CONFIG="$TMP/etc/config.yaml"
}

teardown() {
    rm -rf "$TMP"
}

@test "config show prints cscli's summary" {
    run "$PHALANX" config show
    [ "$status" -eq 0 ]
    [[ "$output" == *"   - Configuration Folder   : $TMP/etc"* ]]
    [[ "$output" == *"   - Hub Folder             : $TMP/etc/hub"* ]]
    [[ "$output" == *"  - Acquisition File        : $TMP/etc/acquis.yaml"* ]]
    [[ "$output" == *"  - Listen URL              : 127.0.0.1:8080"* ]]
    [[ "$output" == *"      - 127.0.0.1"* ]]
}

@test "config show --key takes cscli's struct paths and YAML paths, with defaults" {
    run "$PHALANX" config show --key Config.ConfigPaths.HubDir
    [ "$status" -eq 0 ]
    [ "$output" = "$TMP/etc/hub" ]
    run "$PHALANX" config show --key Config.API.Server.ListenURI
    [ "$output" = "127.0.0.1:8080" ]
    run "$PHALANX" config show --key Config.Crowdsec.AcquisitionFilePath
    [ "$status" -eq 1 ]
    run "$PHALANX" config show --key crowdsec_service.acquisition_path
    [ "$output" = "$TMP/etc/acquis.yaml" ]
    run "$PHALANX" config show --key config_paths.simulation_path
    [ "$output" = "$TMP/etc/simulation.yaml" ]
    run "$PHALANX" config show --key nope.nope
    [ "$status" -eq 1 ]
}

@test "backup then restore into an empty configuration" {
    [ -f "$HUBDIR/.index.json" ] || skip "no hub index at $HUBDIR/.index.json"
    run "$PHALANX" hub update
    [ "$status" -eq 0 ]
    run "$PHALANX" collections install crowdsecurity/sshd
    [ "$status" -eq 0 ]
    run "$PHALANX" parsers install crowdsecurity/syslog-logs
    [ "$status" -eq 0 ]
    printf 'name: me/mine\ntype: trigger\n' > "$TMP/etc/scenarios/mine.yaml"
    printf 'filenames:\n  - /var/log/auth.log\nlabels:\n  type: syslog\n' > "$TMP/etc/acquis.yaml"
    printf 'name: default\n' > "$TMP/etc/profiles.yaml"
    printf 'simulation: true\n' > "$TMP/etc/simulation.yaml"
    # A tainted parser is saved as a file, in its stage directory.
    echo "# mine" >> "$TMP/etc/parsers/s00-raw/syslog-logs.yaml"

    run "$PHALANX" config backup "$TMP/bk"
    [ "$status" -eq 0 ]
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d == ['crowdsecurity/sshd'], d" "$TMP/bk/collections/upstream-collections.json"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d == ['crowdsecurity/sshd-logs', 'crowdsecurity/sshd-success-logs'], d" "$TMP/bk/parsers/upstream-parsers.json"
    [ -f "$TMP/bk/parsers/s00-raw/syslog-logs.yaml" ]
    [ -f "$TMP/bk/scenarios/mine.yaml" ]
    cmp "$TMP/bk/config.yaml" "$TMP/etc/config.yaml"
    cmp "$TMP/bk/acquis.yaml" "$TMP/etc/acquis.yaml"
    cmp "$TMP/bk/profiles.yaml" "$TMP/etc/profiles.yaml"
    cmp "$TMP/bk/simulation.yaml" "$TMP/etc/simulation.yaml"
    # A second backup to the same place is refused.
    run "$PHALANX" config backup "$TMP/bk"
    [ "$status" -eq 1 ]

    # Wipe the configuration but the index, then restore.
    rm -rf "$TMP/etc/collections" "$TMP/etc/parsers" "$TMP/etc/scenarios" "$TMP/etc/contexts"
    rm -f "$TMP/etc/acquis.yaml" "$TMP/etc/profiles.yaml" "$TMP/etc/simulation.yaml"
    run "$PHALANX" config restore "$TMP/bk"
    [ "$status" -eq 0 ]
    [ -L "$TMP/etc/collections/sshd.yaml" ]
    [ -L "$TMP/etc/scenarios/ssh-bf.yaml" ]
    [ -f "$TMP/etc/scenarios/mine.yaml" ] && [ ! -L "$TMP/etc/scenarios/mine.yaml" ]
    # The tainted parser comes back as a local file with the edit.
    [ -f "$TMP/etc/parsers/s00-raw/syslog-logs.yaml" ] && [ ! -L "$TMP/etc/parsers/s00-raw/syslog-logs.yaml" ]
    grep -q "# mine" "$TMP/etc/parsers/s00-raw/syslog-logs.yaml"
    cmp "$TMP/bk/acquis.yaml" "$TMP/etc/acquis.yaml"
    cmp "$TMP/bk/simulation.yaml" "$TMP/etc/simulation.yaml"
    run "$PHALANX" scenarios list -o raw
    [[ "$output" == *'mine.yaml,"enabled,local"'* ]]
    [[ "$output" == *'crowdsecurity/ssh-bf,enabled,'* ]]
}
