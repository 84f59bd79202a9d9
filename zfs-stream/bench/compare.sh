#!/usr/bin/env bash
# Throughput of zfs-stream's pipe vs the usual helper tools, as ratios measured
# in the same run (best of N runs each, the two sides of a row interleaved),
# plus peak RSS of the buffer stages.
#
#   zfs-stream/bench/compare.sh [SIZE] [RUNS]      # default 1G, 3 runs
#
# Needs: cat, mbuffer, zstd, lz4, /usr/bin/time (skips a row whose tool is missing).
# Data: a synthetic send stream (random blocks for the copy rows, text-like
# blocks for the compression rows), written to a temp dir first.
set -euo pipefail
export LC_ALL=C
size="${1:-1G}"
runs="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --quiet --release -p zfs-stream --features encode --example zpipe
Z="$root/target/release/examples/zpipe"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$Z" --gen "$size" > "$dir/rand.zs"
"$Z" --gen "$size" --compressible > "$dir/text.zs"
bytes=$(stat -c %s "$dir/rand.zs")

# wall time in ms of one run of a bash snippet
once() {
    local s e
    s=$(date +%s%N)
    bash -c "$1" > /dev/null 2>&1
    e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
}
# best-of-N of two snippets, runs interleaved (A B A B ...) so that load
# changes on a shared machine hit both alike; prints "A_ms B_ms"
pair() {
    local ba=999999999 bb=999999999 t
    for _ in $(seq "$runs"); do
        t=$(once "$1"); [ "$t" -lt "$ba" ] && ba=$t
        t=$(once "$2"); [ "$t" -lt "$bb" ] && bb=$t
    done
    echo "$ba $bb"
}
# row NAME OURS_CMD BASE_CMD BASE_NAME
cmp_row() {
    local r
    r=$(pair "$2" "$3")
    row "$1" "${r% *}" "${r#* }" "$4"
}
rss() { /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -n 1; }
have() { command -v "$1" > /dev/null 2>&1; }
mibs() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.0f", (ms > 0 ? b / 1048576 / (ms / 1000) : 0) }'; }
row() { # name ours_ms base_ms baseline_name
    awk -v n="$1" -v o="$2" -v b="$3" -v bn="$4" -v ob="$(mibs "$2")" -v bb="$(mibs "$3")" \
        'BEGIN { printf "%-34s %8d ms %7s MiB/s | %-26s %8d ms %7s MiB/s | ratio %.2fx\n", n, o, ob, bn, b, bb, (o > 0 ? b / o : 0) }'
}

R="$dir/rand.zs"
T="$dir/text.zs"
echo "zfs-stream compare: $bytes bytes per run, best of $runs, $(nproc) cores, $(date -u +%FT%TZ)"

cmp_row "splice file->pipe->/dev/null" "$Z --quiet < $R > /dev/null" "cat $R | cat > /dev/null" "cat | cat"
cmp_row "splice file->pipe->cat" "$Z --quiet < $R | cat > /dev/null" "cat $R | cat | cat > /dev/null" "cat | cat | cat"
if have mbuffer; then
    cmp_row "buffer 64M" "$Z --quiet --buffer 64M < $R > /dev/null" "mbuffer -q -m 64M -i $R -o /dev/null" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "$Z --quiet --buffer 64M < $R > /dev/null"), mbuffer $(rss "mbuffer -q -m 64M -i $R -o /dev/null")"
    cmp_row "buffer 64M between pipes" "cat $R | $Z --quiet --buffer 64M | cat > /dev/null" "cat $R | mbuffer -q -m 64M | cat > /dev/null" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "cat $R | $Z --quiet --buffer 64M | cat > /dev/null"), mbuffer $(rss "cat $R | mbuffer -q -m 64M | cat > /dev/null")"
fi
cmp_row "buffer 64M + inspect (fletcher-4)" "$Z --quiet --buffer 64M --inspect < $R > /dev/null" "$Z --quiet --buffer 64M < $R > /dev/null" "buffer 64M, no inspect"
cmp_row "  same between pipes" "cat $R | $Z --quiet --buffer 64M --inspect | cat > /dev/null" "cat $R | $Z --quiet --buffer 64M | cat > /dev/null" "buffer 64M, no inspect"

bytes=$(stat -c %s "$T")
if have zstd; then
    cmp_row "zstd -1 compress" "$Z --quiet --compress zstd-1 < $T > /dev/null" "zstd -q -1 -c $T > /dev/null" "zstd -1 -c"
    cmp_row "zstd -1 compress + inspect" "$Z --quiet --compress zstd-1 --inspect < $T > /dev/null" "zstd -q -1 -c $T > /dev/null" "zstd -1 -c"
fi
if have lz4; then
    cmp_row "lz4 compress" "$Z --quiet --compress lz4 < $T > /dev/null" "lz4 -q -1 -c $T > /dev/null" "lz4 -1 -c"
fi
