#!/usr/bin/env bash
# Throughput of zfs-stream's pipe vs the usual helper tools, as ratios measured
# in the same run (best of N runs each), plus peak RSS of the buffer stages.
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

# best-of-N wall time in ms of a bash snippet
best() {
    local best=999999999 s e ms
    for _ in $(seq "$runs"); do
        s=$(date +%s%N)
        bash -c "$1" > /dev/null 2>&1
        e=$(date +%s%N)
        ms=$(( (e - s) / 1000000 ))
        [ "$ms" -lt "$best" ] && best=$ms
    done
    echo "$best"
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

ours=$(best "$Z --quiet < $R > /dev/null")
base=$(best "cat $R | cat > /dev/null")
row "splice file->pipe->/dev/null" "$ours" "$base" "cat | cat"

ours=$(best "$Z --quiet < $R | cat > /dev/null")
base=$(best "cat $R | cat | cat > /dev/null")
row "splice file->pipe->cat" "$ours" "$base" "cat | cat | cat"

plain=$(best "$Z --quiet --buffer 64M < $R > /dev/null")
if have mbuffer; then
    base=$(best "mbuffer -q -m 64M -i $R -o /dev/null")
    row "buffer 64M" "$plain" "$base" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "$Z --quiet --buffer 64M < $R > /dev/null"), mbuffer $(rss "mbuffer -q -m 64M -i $R -o /dev/null")"
    ours=$(best "cat $R | $Z --quiet --buffer 64M | cat > /dev/null")
    base=$(best "cat $R | mbuffer -q -m 64M | cat > /dev/null")
    row "buffer 64M between pipes" "$ours" "$base" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "cat $R | $Z --quiet --buffer 64M | cat > /dev/null"), mbuffer $(rss "cat $R | mbuffer -q -m 64M | cat > /dev/null")"
fi

ours=$(best "$Z --quiet --buffer 64M --inspect < $R > /dev/null")
row "buffer 64M + inspect (fletcher-4)" "$ours" "$plain" "buffer 64M, no inspect"
ours=$(best "cat $R | $Z --quiet --buffer 64M --inspect | cat > /dev/null")
base=$(best "cat $R | $Z --quiet --buffer 64M | cat > /dev/null")
row "  same between pipes" "$ours" "$base" "buffer 64M, no inspect"

bytes=$(stat -c %s "$T")
if have zstd; then
    ours=$(best "$Z --quiet --compress zstd-1 < $T > /dev/null")
    base=$(best "zstd -q -1 -c $T > /dev/null")
    row "zstd -1 compress" "$ours" "$base" "zstd -1 -c"
    ours=$(best "$Z --quiet --compress zstd-1 --inspect < $T > /dev/null")
    row "zstd -1 compress + inspect" "$ours" "$base" "zstd -1 -c"
fi
if have lz4; then
    ours=$(best "$Z --quiet --compress lz4 < $T > /dev/null")
    base=$(best "lz4 -q -1 -c $T > /dev/null")
    row "lz4 compress" "$ours" "$base" "lz4 -1 -c"
fi
