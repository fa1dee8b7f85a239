#!/usr/bin/env bats
# The Local API over HTTPS with client certificates, as CrowdSec's
# 11_bouncers_tls.bats and 30_machines_tls.bats: a CA, a server certificate,
# clients with the bouncer-ou and agent-ou OUs, one with another OU, one
# revoked by the CRL and one from an unknown CA, all made here by openssl.
# Also the plain-HTTP additions of the same issue that need a running
# daemon: gzip bodies, the login rate limit, refresh_token, trusted proxies
# and auto-registration. Run with PHALANX_BUILD set to a meson build directory.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# name, subject, signing CA prefix, extended key usage
mkcert() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$1.key" \
        -out "$PKI/$1.csr" -subj "$2" 2>/dev/null
    printf 'extendedKeyUsage=%s\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' "$4" > "$PKI/$1.ext"
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$3.pem" -CAkey "$PKI/$3.key" \
        -set_serial "$((RANDOM * 32768 + RANDOM))" -days 2 -extfile "$PKI/$1.ext" \
        -out "$PKI/$1.pem" 2>/dev/null
}

mkca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/$1.key" -out "$PKI/$1.pem" -subj "/CN=$1" -days 2 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>/dev/null
}

start_daemon() { # config file, log file, url for health
    "$PHALANXD" -c "$1" > "$2" 2>&1 &
    echo $! >> "$LTMP/pids"
    for _ in $(seq 100); do
        curl -sf --cacert "$PKI/ca.pem" "$3/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$2" >&2
    return 1
}

write_config() { # file, port, extra yaml under api.server
    cat > "$1" <<YAML
api:
  server:
    listen_uri: 127.0.0.1:$2
$3
db_config:
  type: sqlite
  db_path: $LTMP/phalanx.db
YAML
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    command -v openssl >/dev/null || skip "openssl is not installed"
    export LTMP="$(mktemp -d)"
    export PKI="$LTMP/pki"
    mkdir -p "$PKI"
    mkca ca
    mkca otherca
    mkcert server "/CN=localhost" ca serverAuth
    mkcert bouncer "/OU=bouncer-ou/CN=fw-tls" ca clientAuth
    mkcert agent "/OU=agent-ou/CN=agent-tls" ca clientAuth
    mkcert badou "/OU=other-ou/CN=intruder" ca clientAuth
    mkcert revoked "/OU=bouncer-ou/CN=revoked" ca clientAuth
    mkcert stranger "/OU=bouncer-ou/CN=stranger" otherca clientAuth
    # a CRL of ca revoking "revoked" (openssl ca needs its small database)
    touch "$PKI/index.txt"
    echo 01 > "$PKI/crlnumber"
    cat > "$PKI/ca.cnf" <<CNF
[ca]
default_ca = dflt
[dflt]
database = $PKI/index.txt
crlnumber = $PKI/crlnumber
certificate = $PKI/ca.pem
private_key = $PKI/ca.key
default_md = sha256
default_crl_days = 2
CNF
    openssl ca -config "$PKI/ca.cnf" -revoke "$PKI/revoked.pem" 2>/dev/null
    openssl ca -config "$PKI/ca.cnf" -gencrl -out "$PKI/crl.pem" 2>/dev/null
    [ -s "$PKI/crl.pem" ]

    export PORT="$(free_port)"
    export URL="https://localhost:$PORT"
    export HPORT="$(free_port)"
    export HURL="http://127.0.0.1:$HPORT"
    write_config "$LTMP/config.yaml" "$PORT" "    tls:
      cert_file: $PKI/server.pem
      key_file: $PKI/server.key
      ca_cert_path: $PKI/ca.pem
      crl_path: $PKI/crl.pem"
    # a plain-HTTP node on the same database for the non-TLS features
    write_config "$LTMP/http.yaml" "$HPORT" "    trusted_proxies: [127.0.0.1]
    auto_registration:
      enabled: true
      token: 0123456789abcdef0123456789abcdef
      allowed_ranges: [192.0.2.0/24]"
    export KEY="$("$PHALANX" bouncers add fw-key -o raw -c "$LTMP/config.yaml")"
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$LTMP/config.yaml" 2>/dev/null
    : > "$LTMP/pids"
    start_daemon "$LTMP/config.yaml" "$LTMP/phalanxd.log" "$URL"
    start_daemon "$LTMP/http.yaml" "$LTMP/http.log" "$HURL"
}

teardown_file() {
    if [ -f "$LTMP/pids" ]; then
        while read -r pid; do
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done < "$LTMP/pids"
    fi
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$LTMP"
}

req() {
    curl -s -o "$LTMP/body" -w '%{http_code}' "$@" > "$LTMP/code"
    CODE="$(cat "$LTMP/code")"
    BODY="$(cat "$LTMP/body")"
}

cert() { # client name -> curl options
    echo --cacert "$PKI/ca.pem" --cert "$PKI/$1.pem" --key "$PKI/$1.key"
}

@test "HTTPS: health with the CA, and plain HTTP on the TLS port is not served" {
    req --cacert "$PKI/ca.pem" "$URL/health"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"status":"up"}' ]
    run curl -s --max-time 5 "http://127.0.0.1:$PORT/health"
    [ "$output" != '{"status":"up"}' ]
    # TLS below 1.2 is refused, as Go's MinVersion
    run curl -s --max-time 5 --cacert "$PKI/ca.pem" --tls-max 1.1 "$URL/health"
    [ "$status" -ne 0 ]
}

@test "a bouncer with a bouncer-ou certificate needs no key; CrowdSec's <CN>@<ip> is created" {
    req $(cert bouncer) -A 'cs-firewall-bouncer/v0.0.25' "$URL/v1/decisions?ip=42.42.42.42"
    [ "$CODE" = 200 ]
    [ "$BODY" = null ]
    run -0 "$PHALANX" bouncers list -o json -c "$LTMP/config.yaml"
    [ "$(jq -r '.[] | select(.name == "fw-tls@127.0.0.1") | .auth_type' <<< "$output")" = tls ]
    # the stream works the same, and a second request reuses the bouncer
    req $(cert bouncer) "$URL/v1/decisions/stream?startup=true"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"deleted":null,"new":null}' ]
    run -0 "$PHALANX" bouncers list -o json -c "$LTMP/config.yaml"
    [ "$(jq '[.[] | select(.name | startswith("fw-tls"))] | length' <<< "$output")" = 1 ]
}

@test "an API key still works over HTTPS without a certificate" {
    req --cacert "$PKI/ca.pem" -H "X-Api-Key: $KEY" "$URL/v1/decisions"
    [ "$CODE" = 200 ]
    req --cacert "$PKI/ca.pem" -H "X-Api-Key: ${KEY}x" "$URL/v1/decisions"
    [ "$CODE" = 403 ]
}

@test "a certificate with another OU is 403 and creates nothing" {
    req $(cert badou) "$URL/v1/decisions?ip=42.42.42.42"
    [ "$CODE" = 403 ]
    [ "$BODY" = '{"message":"access forbidden"}' ]
    grep -q "client certificate OU \[other-ou\] doesn't match expected OU \[bouncer-ou\]" "$LTMP/phalanxd.log"
    run -0 "$PHALANX" bouncers list -o json -c "$LTMP/config.yaml"
    [ "$(jq '[.[] | select(.name | startswith("intruder"))] | length' <<< "$output")" = 0 ]
}

@test "a revoked certificate is 403, twice, with 'certificate revoked by CRL' logged" {
    for _ in 1 2; do
        req $(cert revoked) "$URL/v1/decisions?ip=42.42.42.42"
        [ "$CODE" = 403 ]
        [ "$BODY" = '{"message":"access forbidden"}' ]
    done
    grep -q "certificate revoked by CRL" "$LTMP/phalanxd.log"
    run -0 "$PHALANX" bouncers list -o json -c "$LTMP/config.yaml"
    [ "$(jq '[.[] | select(.name | startswith("revoked"))] | length' <<< "$output")" = 0 ]
}

@test "a certificate from an unknown CA fails the TLS handshake (VerifyClientCertIfGiven)" {
    run curl -s --max-time 5 $(cert stranger) "$URL/v1/decisions"
    [ "$status" -ne 0 ]
    [ "$status" -ne 22 ]
}

@test "an agent logs in with an agent-ou certificate; its machine is created validated" {
    req $(cert agent) -A 'crowdsec/v1.6.0' "$URL/v1/watchers/login" -d '{"scenarios":["crowdsecurity/ssh-bf"]}'
    [ "$CODE" = 200 ]
    token="$(jq -r .token <<< "$BODY")"
    [ -n "$token" ] && [ "$token" != null ]
    req --cacert "$PKI/ca.pem" -H "Authorization: Bearer $token" "$URL/v1/heartbeat"
    [ "$CODE" = 200 ]
    run -0 "$PHALANX" machines list -o json -c "$LTMP/config.yaml"
    [ "$(jq -r '.[] | select(.machineId == "agent-tls@127.0.0.1") | .auth_type' <<< "$output")" = tls ]
}

@test "agent login with a certificate: wrong OU or no body is 401" {
    req $(cert bouncer) -A 'crowdsec/v1.6.0' "$URL/v1/watchers/login" -d '{"scenarios":[]}'
    [ "$CODE" = 401 ]
    [ "$(jq -r .message <<< "$BODY")" = "client certificate OU [bouncer-ou] doesn't match expected OU [agent-ou]" ]
    req $(cert agent) -A 'crowdsec/v1.6.0' -X POST "$URL/v1/watchers/login"
    [ "$CODE" = 401 ]
    [ "$(jq -r .message <<< "$BODY")" = "missing scenarios list in login request for TLS auth: EOF" ]
}

@test "RequireAndVerifyClientCert: no certificate, no handshake; a good one is served" {
    port="$(free_port)"
    write_config "$LTMP/req.yaml" "$port" "    tls:
      cert_file: $PKI/server.pem
      key_file: $PKI/server.key
      ca_cert_path: $PKI/ca.pem
      client_verification: RequireAndVerifyClientCert"
    "$PHALANXD" -c "$LTMP/req.yaml" > "$LTMP/req.log" 2>&1 &
    pid=$!
    echo "$pid" >> "$LTMP/pids"
    for _ in $(seq 100); do
        curl -sf $(cert bouncer) "https://localhost:$port/health" >/dev/null && break
        sleep 0.1
    done
    req $(cert bouncer) "https://localhost:$port/health"
    [ "$CODE" = 200 ]
    run curl -s --max-time 5 --cacert "$PKI/ca.pem" "https://localhost:$port/health"
    [ "$status" -ne 0 ]
    kill -TERM "$pid"
    wait "$pid" || true
}

@test "a TLS config with a missing key file is refused at start with CrowdSec's words" {
    write_config "$LTMP/bad.yaml" "$(free_port)" "    tls:
      cert_file: $PKI/server.pem"
    run "$PHALANXD" -c "$LTMP/bad.yaml"
    [ "$status" -ne 0 ]
    [[ "$output" == *"missing TLS key file"* ]]
}

@test "gzip bodies are inflated; corrupt gzip is 400; a gzip bomb is 413" {
    body='{"machine_id":"gzagent","password":"pw123456"}'
    printf '%s' "$body" | gzip -c > "$LTMP/body.gz"
    req "$HURL/v1/watchers" -H 'Content-Encoding: gzip' --data-binary "@$LTMP/body.gz"
    [ "$CODE" = 201 ]
    printf 'not gzip at all' > "$LTMP/bad.gz"
    req "$HURL/v1/watchers" -H 'Content-Encoding: gzip' --data-binary "@$LTMP/bad.gz"
    [ "$CODE" = 400 ]
    # 3 MiB of spaces inflate past the 2 MiB unauthenticated limit
    head -c 3145728 /dev/zero | tr '\0' ' ' | gzip -9 -c > "$LTMP/bomb.gz"
    [ "$(stat -c %s "$LTMP/bomb.gz")" -lt 65536 ]
    req "$HURL/v1/watchers" -H 'Content-Encoding: gzip' --data-binary "@$LTMP/bomb.gz"
    [ "$CODE" = 413 ]
}

@test "GET /v1/refresh_token gives a new token; garbage is 401" {
    tok="$(curl -s "$HURL/v1/watchers/login" -A 'crowdsec/v1.6.0' \
        -d '{"machine_id":"agent1","password":"S3cret!pw"}' | jq -r .token)"
    req -H "Authorization: Bearer $tok" "$HURL/v1/refresh_token"
    [ "$CODE" = 200 ]
    [ "$(jq -r .code <<< "$BODY")" = 200 ]
    new="$(jq -r .token <<< "$BODY")"
    req -H "Authorization: Bearer $new" "$HURL/v1/heartbeat"
    [ "$CODE" = 200 ]
    req -H "Authorization: Bearer ${tok}x" "$HURL/v1/refresh_token"
    [ "$CODE" = 401 ]
    [ "$BODY" = '{"code":401,"message":"signature is invalid"}' ]
    req "$HURL/v1/refresh_token"
    [ "$CODE" = 401 ]
    [ "$(jq -r .message <<< "$BODY")" = "auth header is empty" ]
}

@test "auto-registration: right token from an allowed range (via a trusted proxy) is 202 and validated" {
    tokn=0123456789abcdef0123456789abcdef
    # from 127.0.0.1 itself: not in 192.0.2.0/24
    req "$HURL/v1/watchers" -d '{"machine_id":"auto1","password":"pw123456","registration_token":"'$tokn'"}'
    [ "$CODE" = 401 ]
    [ "$(jq -r .message <<< "$BODY")" = "IP not in allowed range for auto registration" ]
    # 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client
    req -H 'X-Forwarded-For: 192.0.2.10' "$HURL/v1/watchers" \
        -d '{"machine_id":"auto1","password":"pw123456","registration_token":"wrong-token"}'
    [ "$CODE" = 401 ]
    [ "$(jq -r .message <<< "$BODY")" = "invalid token for auto registration" ]
    req -H 'X-Forwarded-For: 192.0.2.10' "$HURL/v1/watchers" \
        -d '{"machine_id":"auto1","password":"pw123456","registration_token":"'$tokn'"}'
    [ "$CODE" = 202 ]
    run -0 "$PHALANX" machines list -o json -c "$LTMP/config.yaml"
    [ "$(jq -r '.[] | select(.machineId == "auto1") | .isValidated' <<< "$output")" = true ]
    [ "$(jq -r '.[] | select(.machineId == "auto1") | .ipAddress' <<< "$output")" = 192.0.2.10 ]
    # no token: an ordinary, unvalidated registration
    req -H 'X-Forwarded-For: 192.0.2.11' "$HURL/v1/watchers" -d '{"machine_id":"auto2","password":"pw123456"}'
    [ "$CODE" = 201 ]
}

@test "alert deletion from a forwarded untrusted client is 403" {
    tok="$(curl -s "$HURL/v1/watchers/login" -A 'crowdsec/v1.6.0' \
        -d '{"machine_id":"agent1","password":"S3cret!pw"}' | jq -r .token)"
    req -X DELETE -H "Authorization: Bearer $tok" -H 'X-Forwarded-For: 198.51.100.7' "$HURL/v1/alerts"
    [ "$CODE" = 403 ]
    [ "$(jq -r .message <<< "$BODY")" = "access forbidden from this IP (198.51.100.7)" ]
}

@test "login and registration are rate-limited per client (429 with Retry-After)" {
    seen=0
    for i in $(seq 60); do
        # registration and login share the client's bucket
        path=/v1/watchers/login
        [ $((i % 2)) = 0 ] && path=/v1/watchers
        curl -s -D "$LTMP/headers" -o /dev/null -H 'X-Forwarded-For: 203.0.113.50' \
            "$HURL$path" -d '{"machine_id":"nobody"}'
        code="$(head -1 "$LTMP/headers" | cut -d' ' -f2)"
        if [ "$code" = 429 ]; then seen=$i; break; fi
        [ "$code" = 401 ] || [ "$code" = 422 ]
    done
    [ "$seen" -gt 15 ]
    grep -q '^Retry-After: 1' "$LTMP/headers"
    # another client is unaffected
    code="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.51' \
        "$HURL/v1/watchers/login" -d '{"machine_id":"nobody","password":"x"}')"
    [ "$code" = 401 ]
}
