#!/bin/sh
# Installs every Debian package Phalanx needs to build and test, and nothing that
# is already there. Idempotent; called by the Makefile, never by hand.
# Usage: scripts/setup.sh [build|test|bench]   (each level includes the ones before)
set -eu

level=${1:-build}

build_pkgs="build-essential pkg-config meson ninja-build python3
libpcre2-dev libyaml-dev libjansson-dev libcurl4-openssl-dev libxml2-dev
libmaxminddb-dev libssl-dev zlib1g-dev libsqlite3-dev libpq-dev libmicrohttpd-dev libjwt-dev libgnutls28-dev
libcrypt-dev libsystemd-dev"
test_pkgs="clang libclang-rt-14-dev libcmocka-dev bats jq curl python3-yaml libmaxmind-db-writer-perl postgresql
crowdsec crowdsec-firewall-bouncer nftables iproute2"
lint_pkgs="clang-format clang-tidy cppcheck"
bench_pkgs="golang-go golang-github-antonmedv-expr-dev time crowdsec wrk bc"

want=$build_pkgs
case $level in
    test) want="$want $test_pkgs $lint_pkgs" ;;
    lint) want="$want $test_pkgs $lint_pkgs" ;;
    bench) want="$want $test_pkgs $bench_pkgs" ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale on a fresh machine; refresh once, then install.
$SUDO apt-get update -qq >/dev/null 2>&1 || true
# crowdsec's postinst registers with the Central API and fails offline unless
# this file exists (bench/run_parse.sh replays logs through it, never online).
case " $missing " in *" crowdsec "*)
    $SUDO mkdir -p /etc/crowdsec
    [ -e /etc/crowdsec/online_api_credentials.yaml ] ||
        echo '# offline: no Central API' | $SUDO tee /etc/crowdsec/online_api_credentials.yaml >/dev/null ;;
esac
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
