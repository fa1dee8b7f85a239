#!/bin/sh
# run.sh BUILD [SECONDS] - the expression benchmark: Phalanx's engine
# (BUILD/bench/bench_expr) next to expr-lang 1.8.9 in Go (bench/expr_go,
# Debian's golang-github-antonmedv-expr-dev, built offline), on the same
# expressions and event. Prints one table: ns/eval of each, the ratio
# go/phalanx (target: >= 5 on every line), both results (they must agree for
# the comparison to be honest) and the peak RSS of each process. The two
# sides alternate ROUNDS times (default 3) and each keeps its best time.
set -eu
build=${1:?usage: bench/run.sh BUILD [SECONDS]}
secs=${2:-0.7}
here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/bench_expr"
[ -x "$bench" ] || { echo "run.sh: $bench not built (ninja -C $build bench/bench_expr)" >&2; exit 1; }
command -v go >/dev/null || { echo "run.sh: go not found (scripts/setup.sh bench)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/antonmedv/expr ] ||
    { echo "run.sh: golang-github-antonmedv-expr-dev missing (scripts/setup.sh bench)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/expr_go" && GO111MODULE=off GOPATH=/usr/share/gocode \
    go build -o "$tmp/expr_go" .)

# Alternate the two sides ROUNDS times and keep each expression's best time, so
# that a burst of load on a shared machine does not decide the ratio.
rounds=${ROUNDS:-3}
: > "$tmp/c.out"
: > "$tmp/go.out"
i=0
while [ "$i" -lt "$rounds" ]; do
    /usr/bin/time -f %M -a -o "$tmp/c.rss" "$bench" "$secs" >> "$tmp/c.out"
    /usr/bin/time -f %M -a -o "$tmp/go.rss" "$tmp/expr_go" "$secs" >> "$tmp/go.out"
    i=$((i + 1))
done

awk -F '\t' -v crss="$(sort -n "$tmp/c.rss" | tail -n 1)" -v gorss="$(sort -n "$tmp/go.rss" | tail -n 1)" '
    FNR == 1 { file++ }
    /^#/ { next }
    file == 1 && !($1 in cns) { order[++n] = $1 }
    file == 1 && (!($1 in cns) || $3 < cns[$1]) { cns[$1] = $3; cres[$1] = $4 }
    file == 2 && (!($1 in gns) || $3 < gns[$1]) { gns[$1] = $3; gres[$1] = $4 }
    END {
        printf "%-18s %12s %10s %12s %10s %7s  %-8s %-8s %s\n", "expression", "phalanx/s",
            "ns/eval", "expr-lang/s", "ns/eval", "ratio", "phalanx", "go", "same"
        worst = -1; bad = 0
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (!(k in gns)) { printf "%-18s missing on the Go side\n", k; bad = 1; continue }
            r = gns[k] / cns[k]
            same = (cres[k] == gres[k]) ? "yes" : "NO"
            if (same == "NO") bad = 1
            if (worst < 0 || r < worst) worst = r
            printf "%-18s %12.0f %10.1f %12.0f %10.1f %6.1fx  %-8s %-8s %s\n", k, 1e9 / cns[k], cns[k],
                1e9 / gns[k], gns[k], r, cres[k], gres[k], same
        }
        printf "peak RSS: phalanx %d KiB, expr-lang %d KiB; slowest ratio %.1fx (target 5x)\n",
            crss, gorss, worst
        exit bad
    }' "$tmp/c.out" "$tmp/go.out"
