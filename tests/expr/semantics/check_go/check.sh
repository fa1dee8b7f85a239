#!/bin/sh
# check.sh - runs the semantics case files through real expr-lang in Go:
# 1.17.8 (what CrowdSec uses; the verdict) and Debian's 1.8.9 (informational).
#
#   tests/expr/semantics/check_go/check.sh [EXPR_1_17_SRC]
#
# EXPR_1_17_SRC is a checkout of github.com/expr-lang/expr at v1.17.8
# (git archive v1.17.8 | tar -x -C DIR); without it only 1.8.9 runs. Offline:
# GO111MODULE=off with GOPATH pointing at Debian's /usr/share/gocode.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cases=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

if [ $# -ge 1 ]; then
    mkdir -p "$tmp/gp/src/github.com/expr-lang" "$tmp/gp/src/check"
    ln -s "$(cd "$1" && pwd)" "$tmp/gp/src/github.com/expr-lang/expr"
    cp "$here"/*.go "$tmp/gp/src/check/"
    (cd "$tmp/gp/src/check" && GO111MODULE=off GOPATH="$tmp/gp:/usr/share/gocode" \
        go build -tags v117 -o "$tmp/check117" .)
    "$tmp/check117" "$cases" || status=1
fi

mkdir -p "$tmp/gp189/src/check"
for f in "$here"/*.go; do
    sed 's#github.com/expr-lang/expr#github.com/antonmedv/expr#' "$f" > "$tmp/gp189/src/check/$(basename "$f")"
done
(cd "$tmp/gp189/src/check" && GO111MODULE=off GOPATH="$tmp/gp189:/usr/share/gocode" \
    go build -o "$tmp/check189" .)
"$tmp/check189" "$cases" || true
exit $status
