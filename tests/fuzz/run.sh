#!/bin/sh
# Runs every libFuzzer target of a `-Dfuzz=true` build for a bounded time on its corpus.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]      (default 60 s per target; make fuzz)
# New interesting inputs go to BUILD_DIR/fuzz-corpus/<target>/, never into the committed corpus;
# crashes are written to BUILD_DIR/fuzz-artifacts/ and make the script fail. To keep a finding,
# copy it into tests/fuzz/corpus/<target>/ so the replay test guards it from then on.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for target in expr parser_yaml grok syslog acquis alert_json profiles gzip hub_index credentials; do
    bin="$build/tests/fuzz/fuzz_$target"
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin not built (meson setup -Dfuzz=true, clang)" >&2
        exit 1
    fi
    # index slices and alert bodies are bigger than the rest
    case $target in hub_index | alert_json) max_len=65536 ;; *) max_len=4096 ;; esac
    work="$build/fuzz-corpus/$target"
    arts="$build/fuzz-artifacts"
    mkdir -p "$work" "$arts"
    echo "fuzz_$target: ${secs}s on $(ls "$here/corpus/$target" | wc -l) seeds"
    # First dir = where new inputs go; the committed corpus is only read.
    if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
        "$bin" "$work" "$here/corpus/$target" \
        -max_total_time="$secs" -max_len="$max_len" -timeout=30 -rss_limit_mb=2048 \
        -artifact_prefix="$arts/$target-" -print_final_stats=1 2>"$build/fuzz-$target.log"; then
        status=1
        echo "fuzz_$target: FAILED, see $build/fuzz-$target.log and $arts/" >&2
        tail -n 40 "$build/fuzz-$target.log" >&2
    else
        grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' \
            "$build/fuzz-$target.log" || true
    fi
done
exit $status
