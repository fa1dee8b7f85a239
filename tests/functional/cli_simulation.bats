#!/usr/bin/env bats
# `phalanx simulation enable|disable|status`: simulation.yaml edited as cscli edits
# it (global switch, exclusions meaning the opposite of it). Scenario names are
# checked against the hub index when there is one ($HUB as a local hub); the
# tests needing it skip without it.

bats_require_minimum_version 1.5.0

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    TMP="$(mktemp -d)"
    mkdir -p "$TMP/etc"
    cat > "$TMP/etc/config.yaml" <<YAML
config_paths:
  config_dir: $TMP/etc/
  data_dir: $TMP/data/
  simulation_path: $TMP/etc/simulation.yaml
cscli:
  hub_url: $HUBDIR
YAML
    export PHALANX_CONFIG="$TMP/etc/config.yaml"
    SIM="$TMP/etc/simulation.yaml"
}

teardown() {
    rm -rf "$TMP"
}

@test "status of a missing file: simulation off" {
    run "$PHALANX" simulation status
    [ "$status" -eq 0 ]
    [ "$output" = "global simulation: disabled" ]
}

@test "enable/disable a scenario adds and removes an exclusion" {
    printf 'simulation: off\n' > "$SIM"
    run "$PHALANX" simulation enable crowdsecurity/ssh-bf
    [ "$status" -eq 0 ]
    [ "$(cat "$SIM")" = "$(printf 'simulation: false\nexclusions:\n- crowdsecurity/ssh-bf')" ]
    run --separate-stderr "$PHALANX" simulation status
    [ "$output" = "$(printf 'global simulation: disabled\nScenarios in simulation mode :\n  - crowdsecurity/ssh-bf')" ]
    run "$PHALANX" simulation enable crowdsecurity/ssh-bf
    [[ "$output" == *"already enabled"* ]]
    run "$PHALANX" simulation disable crowdsecurity/ssh-bf
    [ "$status" -eq 0 ]
    [ "$(cat "$SIM")" = "simulation: false" ]
    run "$PHALANX" simulation disable crowdsecurity/ssh-bf
    [[ "$output" == *"isn't in simulation mode"* ]]
}

@test "global mode: exclusions take scenarios out of the simulation" {
    run "$PHALANX" simulation enable --global
    [ "$status" -eq 0 ]
    [ "$(cat "$SIM")" = "simulation: true" ]
    run "$PHALANX" simulation disable crowdsecurity/ssh-bf
    [ "$(cat "$SIM")" = "$(printf 'simulation: true\nexclusions:\n- crowdsecurity/ssh-bf')" ]
    run --separate-stderr "$PHALANX" simulation status
    [ "$output" = "$(printf 'global simulation: enabled\nScenarios not in simulation mode :\n  - crowdsecurity/ssh-bf')" ]
    run "$PHALANX" simulation enable crowdsecurity/ssh-bf
    [ "$(cat "$SIM")" = "simulation: true" ]
    # Switching the global mode drops the exclusions.
    run "$PHALANX" simulation disable crowdsecurity/ssh-bf
    run "$PHALANX" simulation disable --global
    [ "$(cat "$SIM")" = "simulation: false" ]
}

@test "unknown scenarios are refused when the hub index is there" {
    [ -f "$HUBDIR/.index.json" ] || skip "no hub index at $HUBDIR/.index.json"
    mkdir -p "$TMP/etc/hub"
    cp "$HUBDIR/.index.json" "$TMP/etc/hub/.index.json"
    run "$PHALANX" simulation enable crowdsecurity/nope
    [ "$status" -eq 1 ]
    [[ "$output" == *"'crowdsecurity/nope' doesn't exist or is not a scenario"* ]]
    run "$PHALANX" simulation enable crowdsecurity/ssh-bf
    [ "$status" -eq 0 ]
    [[ "$output" == *"'crowdsecurity/ssh-bf' isn't enabled"* ]]
}

@test "a broken simulation file is an error" {
    printf 'simulation: maybe\n' > "$SIM"
    run "$PHALANX" simulation status
    [ "$status" -eq 1 ]
    [[ "$output" == *"simulation must be a boolean"* ]]
}
